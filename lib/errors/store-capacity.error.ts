import { MemoryStoreError } from './memory-store.error.js';

/**
 * A write would take a store with `eviction: 'reject'` past `maxRecords` or `maxSize` (or a
 * record is larger than `maxSize` by itself, which no eviction can make room for). Nothing
 * changed.
 */
export class StoreCapacityError extends MemoryStoreError {
  constructor(
    table: string,
    /** The store's `maxRecords` (undefined when only its size is capped). */
    readonly maxRecords: number | undefined,
    /** The store's `maxSize` in bytes, when the write would exceed it. */
    readonly maxSize?: number,
  ) {
    super(
      maxSize === undefined
        ? `Table '${table}' is full: it holds at most ${maxRecords} records`
        : `Table '${table}' is full: it holds at most ${maxSize} bytes of records (maxSize)`,
      table,
    );
  }
}
