import type { RecordKey } from '../interfaces/table-options.interface.js';
import { showValue } from './describe-value.js';
import { MemoryStoreError } from './memory-store.error.js';

/** A write would give two records the same primary key or the same value of a unique index. */
export class DuplicateKeyError extends MemoryStoreError {
  constructor(
    table: string,
    /** The primary key field or the unique index's field. */
    readonly field: string,
    /** The value that is already taken. */
    readonly value: unknown,
    /** In a batch (`writeMany`, seeds), the index of the record that clashed. */
    readonly entry?: number,
    /**
     * The key of the record that holds `value` (for a primary key, the key itself). In a
     * batch whose own records clash, the batch record that claimed the value first.
     */
    readonly holder?: RecordKey,
  ) {
    super(
      `Duplicate value for '${field}' in table '${table}': ${showValue(value)} already exists` +
        (holder === undefined || holder === value ? '' : ` (held by record ${showValue(holder)})`) +
        (entry === undefined ? '' : ` (batch entry ${entry})`),
      table,
    );
  }
}
