import { describeValue } from './describe-value.js';
import { MemoryStoreError } from './memory-store.error.js';

/** An operation needed an existing record (for example `update`) and there was none. */
export class RecordNotFoundError extends MemoryStoreError {
  constructor(
    table: string,
    /** The primary key that was looked up. */
    readonly key: unknown,
  ) {
    super(
      `No record with key ${typeof key === 'string' ? `'${key}'` : typeof key === 'number' ? String(key) : describeValue(key)} in table '${table}'`,
      table,
    );
  }
}
