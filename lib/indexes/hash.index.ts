import type { RecordKey } from '../interfaces/table-options.interface.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

const EMPTY: Iterable<never> = [];

/** A non-unique index: each value maps to the records holding it. */
export class HashIndex<T extends object> implements SecondaryIndex<T> {
  readonly unique = false;
  readonly #buckets = new ValueMap<Map<RecordKey, T>>();

  constructor(readonly field: string) {}

  valueOf(record: T): unknown {
    return fieldValue(record, this.field);
  }

  count(value: unknown): number {
    return this.#buckets.get(value)?.size ?? 0;
  }

  lookup(value: unknown): Iterable<T> {
    return this.#buckets.get(value)?.values() ?? EMPTY;
  }

  conflict(): undefined {
    return undefined;
  }

  add(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    let bucket = this.#buckets.get(value);
    if (!bucket) this.#buckets.set(value, (bucket = new Map<RecordKey, T>()));
    bucket.set(key, record);
  }

  replace(key: RecordKey, record: T): void {
    this.#buckets.get(fieldValue(record, this.field))?.set(key, record);
  }

  remove(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    const bucket = this.#buckets.get(value);
    if (!bucket) return;
    bucket.delete(key);
    if (bucket.size === 0) this.#buckets.delete(value);
  }

  clear(): void {
    this.#buckets.clear();
  }
}
