import type { RecordKey } from '../interfaces/table-options.interface.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

const EMPTY: Iterable<never> = [];

/** The records holding one value. */
interface Bucket<T> {
  /** The records, by key, in the order their keys joined the value. */
  readonly records: Map<RecordKey, T>;
  /**
   * Keys whose entry may still hold a record since replaced by one with the same value: the
   * next read puts the table's current record in place first. `true` once there are more of
   * them than the bucket holds: the next read then refreshes every entry.
   */
  stale: RecordKey[] | true | undefined;
}

/**
 * A non-unique index: each value maps to the records holding it. Replacing a record by one
 * with the same value (the commonest write) only notes its key in the value's bucket: the
 * next read of that value swaps the records in, from the table's rows. Swapping at once
 * costs the write a lookup in a large bucket, a cache miss as dear as the rest of the
 * write's index work; deferred, it costs nothing until read, and a read then does what the
 * writes would have done.
 */
export class HashIndex<T extends object> implements SecondaryIndex<T> {
  readonly unique = false;
  readonly #buckets = new ValueMap<Bucket<T>>();

  constructor(
    readonly field: string,
    /** The table's records by key, current whenever the index is read. */
    private readonly rows: ReadonlyMap<RecordKey, T>,
  ) {}

  count(value: unknown): number {
    return this.#buckets.get(value)?.records.size ?? 0;
  }

  lookup(value: unknown): Iterable<T> {
    const bucket = this.#buckets.get(value);
    if (!bucket) return EMPTY;
    if (bucket.stale !== undefined) this.#refresh(bucket);
    return bucket.records.values();
  }

  conflict(): undefined {
    return undefined;
  }

  add(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    let bucket = this.#buckets.get(value);
    if (!bucket) this.#buckets.set(value, (bucket = { records: new Map(), stale: undefined }));
    bucket.records.set(key, record);
  }

  replace(key: RecordKey, record: T): void {
    const bucket = this.#buckets.get(fieldValue(record, this.field));
    if (!bucket) return;
    const stale = bucket.stale;
    if (stale === undefined) bucket.stale = [key];
    else if (stale !== true) {
      if (stale.length < bucket.records.size) stale.push(key);
      else bucket.stale = true;
    }
  }

  remove(key: RecordKey, record: T): void {
    const value = fieldValue(record, this.field);
    const bucket = this.#buckets.get(value);
    if (!bucket) return;
    bucket.records.delete(key);
    if (bucket.records.size === 0) this.#buckets.delete(value);
  }

  clear(): void {
    this.#buckets.clear();
  }

  /**
   * Puts the table's current records in place of replaced ones. A noted key may have left
   * the value since (it is no longer in the bucket then), or left and come back (its entry
   * then holds the current record already): the rows are the authority either way.
   */
  #refresh(bucket: Bucket<T>): void {
    const { records, stale } = bucket;
    const keys = stale === true ? records.keys() : stale!;
    for (const key of keys) {
      if (records.has(key)) records.set(key, this.rows.get(key)!);
    }
    bucket.stale = undefined;
  }
}
