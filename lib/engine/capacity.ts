import { StoreCapacityError } from '../errors/store-capacity.error.js';
import type { KeysHeld } from './sharded-key-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';

/** What a full store does with a write that adds a record. */
export type EvictionPolicy = 'lru' | 'reject';

/** A cap on the number of records and/or their bytes, and what happens at it. */
export interface CapacityOptions {
  readonly maxRecords?: number;
  /** The most bytes of records, each measured by `sizeOf`. */
  readonly maxSize?: number;
  readonly sizeOf?: (record: object) => number;
  readonly eviction: EvictionPolicy;
}

/**
 * The order in which records were last used (read by key or written), least recent first,
 * for `eviction: 'lru'`: a `Map` re-inserts a key at the end in O(1).
 */
export class RecencyList {
  readonly #order = new Map<RecordKey, true>();

  touch(key: RecordKey): void {
    this.#order.delete(key);
    this.#order.set(key, true);
  }

  delete(key: RecordKey): void {
    this.#order.delete(key);
  }

  clear(): void {
    this.#order.clear();
  }

  /** Every key, least recently used first. */
  keys(): IterableIterator<RecordKey> {
    return this.#order.keys();
  }

  /** Up to `n` keys, least recently used first, skipping `spare`. */
  leastRecent(n: number, spare: KeysHeld): RecordKey[] {
    const keys: RecordKey[] = [];
    if (n <= 0) return keys;
    for (const key of this.#order.keys()) {
      if (spare.has(key)) continue;
      keys.push(key);
      if (keys.length === n) break;
    }
    return keys;
  }
}

/** What a table holds, as a capacity counts it. */
export interface Occupancy {
  readonly records: number;
  readonly bytes: number;
}

/** True when `added` more records of `bytes` more bytes fit. */
export function fits(
  capacity: CapacityOptions,
  held: Occupancy,
  added: number,
  bytes: number,
): boolean {
  return (
    (capacity.maxRecords === undefined || held.records + added <= capacity.maxRecords) &&
    (capacity.maxSize === undefined || bytes <= 0 || held.bytes + bytes <= capacity.maxSize)
  );
}

/**
 * The least recently used records (not in `spare`) to evict so that `added` records of
 * `bytes` bytes fit, or undefined when evicting every one of them would not do.
 */
export function victims(
  capacity: CapacityOptions,
  held: Occupancy,
  added: number,
  bytes: number,
  recency: RecencyList,
  spare: KeysHeld,
  sizes: { sizeAt(key: RecordKey): number } | undefined,
): RecordKey[] | undefined {
  if (capacity.maxSize === undefined) {
    const excess = held.records + added - capacity.maxRecords!;
    const keys = recency.leastRecent(excess, spare);
    return keys.length < excess ? undefined : keys;
  }
  const keys: RecordKey[] = [];
  let records = held.records;
  let total = held.bytes;
  for (const key of recency.keys()) {
    if (fits(capacity, { records, bytes: total }, added, bytes)) return keys;
    if (spare.has(key)) continue;
    keys.push(key);
    records--;
    total -= sizes ? sizes.sizeAt(key) : 0;
  }
  return fits(capacity, { records, bytes: total }, added, bytes) ? keys : undefined;
}

/** The error for a write that does not fit: naming `maxSize` when the count would fit. */
export function capacityError(
  table: string,
  capacity: CapacityOptions,
  held: Occupancy,
  added: number,
): StoreCapacityError {
  const countFits = fits({ ...capacity, maxSize: undefined }, held, added, 0);
  return new StoreCapacityError(
    table,
    capacity.maxRecords,
    countFits ? capacity.maxSize : undefined,
  );
}
