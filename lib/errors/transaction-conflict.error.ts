import { MemoryStoreError } from './memory-store.error.js';

/**
 * A transaction kept conflicting with concurrent changes to what it read or wrote, and was
 * given up after its retries. Nothing of it was applied.
 */
export class TransactionConflictError extends MemoryStoreError {
  constructor(
    /** The tables the last attempt conflicted on. */
    readonly tables: readonly string[],
    /** How many times the function ran. */
    readonly attempts: number,
  ) {
    super(
      `Transaction gave up after ${attempts} attempts: concurrent changes to table${tables.length === 1 ? '' : 's'} ` +
        `${tables.map((t) => `'${t}'`).join(', ')} conflicted with what it read or wrote each time`,
      tables[0] ?? '',
    );
  }
}
