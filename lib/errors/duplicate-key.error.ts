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
  ) {
    super(
      `Duplicate value for '${field}' in table '${table}': ${showValue(value)} already exists` +
        (entry === undefined ? '' : ` (batch entry ${entry})`),
      table,
    );
  }
}
