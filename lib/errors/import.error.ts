import { MemoryStoreError } from './memory-store.error.js';

/** An import or a restore could not be read, or holds an invalid record; nothing changed. */
export class ImportError extends MemoryStoreError {
  constructor(
    /** The table imported into; empty for a backup that cannot be read as a whole. */
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
      `Cannot import ${file}${line === undefined ? '' : ` (line ${line})`}${table === '' ? '' : ` into table '${table}'`}: ${reason}`,
      table,
      { cause },
    );
  }
}
