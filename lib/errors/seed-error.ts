import { MemoryStoreError } from './memory-store.error.js';

/** Where in a seed file the problem is. */
export interface SeedErrorLocation {
  /** The seed file's path. */
  file: string;
  /** The index of the entry (0-based), when one entry is at fault. */
  entry?: number;
  /** The line (1-based), for NDJSON files. */
  line?: number;
}

/** A seed file could not be read or parsed, or one of its entries is not a valid record. */
export class SeedError extends MemoryStoreError {
  readonly file: string;
  readonly entry?: number;
  readonly line?: number;

  constructor(table: string, location: SeedErrorLocation, reason: string, cause?: unknown) {
    const where = [
      location.entry !== undefined ? `entry ${location.entry}` : undefined,
      location.line !== undefined ? `line ${location.line}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(
      `Seed file ${location.file}${where ? ` (${where})` : ''} for table '${table}': ${reason}`,
      table,
      { cause },
    );
    this.file = location.file;
    this.entry = location.entry;
    this.line = location.line;
  }
}
