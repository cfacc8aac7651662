import type { RecordKey } from '../interfaces/table-options.interface.js';
import { arrayElements, indexedValues, lookedUpValues } from './multikey.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

const EMPTY: Iterable<never> = [];

/**
 * A non-unique index: each value maps to the records holding it. It is multikey: a record
 * holding an array is filed under each of its elements (see `indexedValues`; with
 * `elementsOnly`, for a unique index's arrays, an empty array under nothing), and a lookup of
 * an array finds the records holding it (see `lookedUpValues`), with some that the query's
 * re-check drops.
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

  valueOf(record: T): unknown {
    return fieldValue(record, this.field);
  }

  count(value: unknown): number {
    if (Array.isArray(value) && value.length > 0) {
      let n = 0;
      for (const v of lookedUpValues(value)) n += this.#buckets.get(v)?.size ?? 0;
      return n;
    }
    return this.#buckets.get(value)?.size ?? 0;
  }

  lookup(value: unknown): Iterable<T> {
    if (Array.isArray(value) && value.length > 0) return this.#lookupArray(value);
    return this.#buckets.get(value)?.values() ?? EMPTY;
  }

  /** The records filed under an array (holding it as an element) or under its first element. */
  *#lookupArray(value: readonly unknown[]): Generator<T> {
    const seen = new Set<RecordKey>();
    for (const v of lookedUpValues(value)) {
      const bucket = this.#buckets.get(v);
      if (!bucket) continue;
      for (const [key, record] of bucket) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield record;
      }
    }
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
