import { MemoryStoreError } from './memory-store.error.js';

/**
 * A write to a store that does not take it from there: a `read_only` store after start-up,
 * or a `protected` store written through its read-only view (by code other than its own
 * methods). Nothing was changed.
 */
export class ReadOnlyStoreError extends MemoryStoreError {
  constructor(
    table: string,
    /** The store class's name. */
    readonly store: string,
    /** The store's `@Store({ access })`. */
    readonly access: 'read_only' | 'protected',
    /** The refused operation, when known (`'write'`, `'update'`…). */
    readonly operation?: string,
  ) {
    const what = operation === undefined ? 'a write' : `${operation}()`;
    super(
      access === 'read_only'
        ? `${store} is read-only (access: 'read_only'): ${what} is refused once it has started; ` +
            'its records come from start-up (recovery, beforeInit hooks, seeds, initialState)'
        : `${store} is protected (access: 'protected'): ${what} is refused here, as only ${store}'s own ` +
            'methods write to it; other code gets its read-only view',
      table,
    );
  }
}
