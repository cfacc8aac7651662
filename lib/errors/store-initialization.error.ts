import { MemoryStoreError } from './memory-store.error.js';

/**
 * A store could not start: its configuration is wrong, or a `beforeInit` hook or the
 * `initialState` function failed. The message names the store; `cause` holds the original.
 */
export class StoreInitializationError extends MemoryStoreError {
  constructor(
    table: string,
    /** The store class's name. */
    readonly store: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`Store ${store} (table '${table}') failed to start: ${reason}`, table, { cause });
  }
}
