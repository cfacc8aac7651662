import { MemoryStoreError } from './memory-store.error.js';

/**
 * An import or a restore could not be read, or holds an invalid record; nothing changed. The
 * message names the operation and the file; `cause` holds the system's or the parser's error.
 */
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
    /** What was being done: `import()`/`importStream()`, or `restore()` of a backup. */
    readonly operation: 'import' | 'restore' = 'import',
  ) {
    super(
      `Cannot ${operation} ${file}${line === undefined ? '' : ` (line ${line})`}${table === '' ? '' : ` into table '${table}'`}: ${reason}`,
      table,
      { cause },
    );
  }
}
