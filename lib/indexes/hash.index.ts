import type { RecordKey } from '../interfaces/table-options.interface.js';
import { arrayElements, indexedValues, lookedUpValues } from './multikey.js';
import { fieldReader, type SecondaryIndex } from './secondary-index.js';
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
  /** Files arrays under their elements alone, and other values under nothing. */
  readonly #elementsOnly: boolean;
  /** The values an array is filed under. */
  readonly #filed: (value: readonly unknown[]) => readonly unknown[];
  /** The indexed field's value in a record (`fieldValue`, specialised to the field). */
  readonly #read: (record: object) => unknown;

  constructor(
    readonly field: string,
    elementsOnly = false,
  ) {
    this.#elementsOnly = elementsOnly;
    this.#filed = elementsOnly ? arrayElements : indexedValues;
    this.#read = fieldReader(field);
  }

  valueOf(record: T): unknown {
    return this.#read(record);
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
    this.#file(key, record, this.#read(record));
  }

  update(key: RecordKey, record: T, previous: T): void {
    const value = this.#read(record);
    const before = this.#read(previous);
    if (value !== before) {
      this.#unfile(key, before);
      this.#file(key, record, value);
    } else if (!Array.isArray(value)) {
      if (!this.#elementsOnly) this.#buckets.get(value)?.set(key, record);
    } else {
      for (const element of this.#filed(value)) this.#buckets.get(element)?.set(key, record);
    }
  }

  remove(key: RecordKey, record: T): void {
    this.#unfile(key, this.#read(record));
  }

  /** Files the record under `value` (a scalar without building a list of values for it). */
  #file(key: RecordKey, record: T, value: unknown): void {
    if (!Array.isArray(value)) {
      if (!this.#elementsOnly) this.#fileUnder(value, key, record);
      return;
    }
    for (const element of this.#filed(value)) this.#fileUnder(element, key, record);
  }

  #fileUnder(value: unknown, key: RecordKey, record: T): void {
    const bucket = this.#buckets.get(value);
    if (bucket) bucket.set(key, record);
    else this.#buckets.set(value, new Map<RecordKey, T>().set(key, record));
  }

  #unfile(key: RecordKey, value: unknown): void {
    if (!Array.isArray(value)) {
      if (!this.#elementsOnly) this.#unfileFrom(value, key);
      return;
    }
    for (const element of this.#filed(value)) this.#unfileFrom(element, key);
  }

  #unfileFrom(value: unknown, key: RecordKey): void {
    const bucket = this.#buckets.get(value);
    if (!bucket) return;
    bucket.delete(key);
    if (bucket.size === 0) this.#buckets.delete(value);
  }

  clear(): void {
    this.#buckets.clear();
  }
}
