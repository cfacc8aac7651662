import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';

/**
 * Named counters of a table. A counter starts at 0; `next` hands out 1, 2, 3, … and never the
 * same value twice (JavaScript runs it to completion, so concurrent callers cannot interleave).
 */
export class Counters {
  readonly #values = new Map<string, number>();
  /** Told of every counter value set (persistence logs them). */
  onChange: ((name: string, value: number | null) => void) | undefined;

  constructor(private readonly table: string) {}

  next(name: string): number {
    const value = this.current(name) + 1;
    if (value > Number.MAX_SAFE_INTEGER) {
      throw new MemoryStoreError(
        `Counter '${name}' has reached Number.MAX_SAFE_INTEGER and cannot count on exactly`,
        this.table,
      );
    }
    this.#set(name, value);
    return value;
  }

  current(name: string): number {
    this.#check(name);
    return this.#values.get(name) ?? 0;
  }

  has(name: string): boolean {
    this.#check(name);
    return this.#values.has(name);
  }

  reset(name: string, to: number): void {
    this.validate(name, to);
    this.#set(name, to);
  }

  /** Throws unless `name` is a counter name and `to`, when given, a value to reset it to. */
  validate(name: string, to?: number): void {
    this.#check(name);
    if (to !== undefined && (!Number.isSafeInteger(to) || to < 0)) {
      throw new MemoryStoreError(
        `Counter '${name}' can only be reset to a non-negative integer, got ${describeValue(to)}`,
        this.table,
      );
    }
  }

  /** Raises a counter to at least `value` (an explicit key must not be handed out again). */
  raise(name: string, value: number): void {
    if (Number.isSafeInteger(value) && value > (this.#values.get(name) ?? 0))
      this.#set(name, value);
  }

  /** Forgets a counter (a restore replaces all of them). */
  delete(name: string): void {
    if (this.#values.delete(name)) this.onChange?.(name, null);
  }

  /** Sets counters from persisted state, without reporting them. */
  restore(entries: Iterable<[string, number]>): void {
    for (const [name, value] of entries) this.#values.set(name, value);
  }

  #set(name: string, value: number): void {
    this.#values.set(name, value);
    this.onChange?.(name, value);
  }

  entries(): IterableIterator<[string, number]> {
    return this.#values.entries();
  }

  #check(name: string): void {
    if (typeof name !== 'string' || name === '') {
      throw new MemoryStoreError(
        `A counter's name must be a non-empty string, got ${describeValue(name)}`,
        this.table,
      );
    }
  }
}
