import type { RecordKey } from '../interfaces/table-options.interface.js';

/** What a full store does with a write that adds a record. */
export type EvictionPolicy = 'lru' | 'reject';

/** A cap on the number of records, and what happens at it. */
export interface CapacityOptions {
  readonly maxRecords: number;
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

  /** Up to `n` keys, least recently used first, skipping `spare`. */
  leastRecent(
    n: number,
    spare: ReadonlySet<RecordKey> | ReadonlyMap<RecordKey, unknown>,
  ): RecordKey[] {
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
