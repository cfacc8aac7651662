import type { RecordKey } from '../interfaces/table-options.interface.js';
import { HashIndex } from './hash.index.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

/**
 * A unique index: each value belongs to at most one record. `null` and missing values are
 * not constrained (as in SQL), and are kept in a non-unique index of their own.
 */
export class UniqueIndex<T extends object> implements SecondaryIndex<T> {
  readonly unique = true;
  readonly #owners = new ValueMap<[RecordKey, T]>();
  readonly #absent: HashIndex<T>;

  constructor(readonly field: string) {
    this.#absent = new HashIndex(field);
  }

  count(value: unknown): number {
    if (value === null || value === undefined) return this.#absent.count(value);
    return this.#owners.get(value) ? 1 : 0;
  }

  lookup(value: unknown): Iterable<T> {
    if (value === null || value === undefined) return this.#absent.lookup(value);
    const owner = this.#owners.get(value);
    return owner ? [owner[1]] : [];
  }

  /** The key that holds `value`, if any. */
  owner(value: unknown): RecordKey | undefined {
    return this.#owners.get(value)?.[0];
  }

  conflict(record: T, key: RecordKey): RecordKey | undefined {
    const value = fieldValue(record, this.field);
    if (value === null || value === undefined) return undefined;
    const owner = this.#owners.get(value);
    return owner && owner[0] !== key ? owner[0] : undefined;
  }

  add(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    if (value === null || value === undefined) this.#absent.add(key, record);
    else this.#owners.set(value, [key, record]);
  }

  replace(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    if (value === null || value === undefined) this.#absent.replace(key, record);
    else this.#owners.set(value, [key, record]);
  }

  remove(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    if (value === null || value === undefined) {
      this.#absent.remove(key, record);
      return;
    }
    const owner = this.#owners.get(value);
    if (owner && owner[0] === key) this.#owners.delete(value);
  }

  clear(): void {
    this.#owners.clear();
    this.#absent.clear();
  }
}
