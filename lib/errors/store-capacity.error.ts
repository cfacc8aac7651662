import { MemoryStoreError } from './memory-store.error.js';

/** A write would take a store with `eviction: 'reject'` past `maxRecords`. Nothing changed. */
export class StoreCapacityError extends MemoryStoreError {
  constructor(
    table: string,
    /** The store's `maxRecords`. */
    readonly maxRecords: number,
  ) {
    super(`Table '${table}' is full: it holds at most ${maxRecords} records`, table);
  }
}
