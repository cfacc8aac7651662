import { MemoryStoreError } from './memory-store.error.js';

/** An import or a restore could not be read, or holds an invalid record; nothing changed. */
export class ImportError extends MemoryStoreError {
  constructor(
    table: string,
    /** The file read. */
    readonly file: string,
    reason: string,
    /** The 1-based line of the bad record (NDJSON, CSV), when one is at fault. */
    readonly line?: number,
    /** The 0-based index of the bad record, when one is at fault. */
    readonly entry?: number,
    cause?: unknown,
  ) {
    super(
      `Cannot import ${file}${line === undefined ? '' : ` (line ${line})`} into table '${table}': ${reason}`,
      table,
      { cause },
    );
  }
}
