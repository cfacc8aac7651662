import type { RecordKey } from '../interfaces/table-options.interface.js';
import { arrayElements, indexedValues } from './multikey.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

const EMPTY: Iterable<never> = [];

/**
 * A non-unique index: each value maps to the records holding it. It is multikey: a record
 * holding an array is found under the array and under each of its elements (see
 * `indexedValues`), or under its elements only (`elementsOnly`, for a unique index's arrays).
 */
export class HashIndex<T extends object> implements SecondaryIndex<T> {
  readonly unique = false;
  readonly #buckets = new ValueMap<Map<RecordKey, T>>();
  readonly #filed: (value: unknown) => readonly unknown[];

  constructor(
    readonly field: string,
    elementsOnly = false,
  ) {
    this.#filed = elementsOnly
      ? (value) => (Array.isArray(value) ? arrayElements(value) : [])
      : indexedValues;
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
    for (const value of this.#filed(fieldValue(record, this.field))) {
      let bucket = this.#buckets.get(value);
      if (!bucket) this.#buckets.set(value, (bucket = new Map<RecordKey, T>()));
      bucket.set(key, record);
    }
  }

  replace(key: RecordKey, record: T): void {
    for (const value of this.#filed(fieldValue(record, this.field)))
      this.#buckets.get(value)?.set(key, record);
  }

  remove(key: RecordKey, record: T): void {
    for (const value of this.#filed(fieldValue(record, this.field))) {
      const bucket = this.#buckets.get(value);
      if (!bucket) continue;
      bucket.delete(key);
      if (bucket.size === 0) this.#buckets.delete(value);
    }
  }

  clear(): void {
    this.#buckets.clear();
  }
}
