import { MemoryStoreError } from './memory-store.error.js';

/** An operation needed an existing record (for example `update`) and there was none. */
export class RecordNotFoundError extends MemoryStoreError {
  constructor(
    table: string,
    /** The primary key that was looked up. */
    readonly key: unknown,
  ) {
    super(
      `No record with key ${typeof key === 'string' ? `'${key}'` : String(key)} in table '${table}'`,
      table,
    );
  }
}
