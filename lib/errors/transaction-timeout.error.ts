import { MemoryStoreError } from './memory-store.error.js';

/**
 * A transaction's function did not return within its `timeoutMs`: the transaction was given
 * up and nothing it staged was applied. Store calls the function still makes from inside the
 * transaction fail with this error too (see the README, Transactions).
 */
export class TransactionTimeoutError extends MemoryStoreError {
  constructor(
    /** The time the transaction was given, in milliseconds. */
    readonly timeoutMs: number,
    /** The tables the transaction had touched (the first is the error's `table`). */
    readonly tables: readonly string[],
    /** Set when the error is raised by a call made after the timeout. */
    late = false,
  ) {
    super(
      late
        ? `A store call was made inside a transaction that had timed out after ${timeoutMs} ms: ` +
            'it is refused, as is everything the transaction staged (its function should have stopped)'
        : `Transaction timed out after ${timeoutMs} ms (timeoutMs) before its function returned: nothing it ` +
            'staged was applied, and the store calls the function still makes inside it are refused',
      tables[0] ?? '',
    );
  }
}
