import { MemoryStoreError } from './memory-store.error.js';

/** A write would give two records the same primary key or the same value of a unique index. */
export class DuplicateKeyError extends MemoryStoreError {
  constructor(
    table: string,
    /** The primary key field or the unique index's field. */
    readonly field: string,
    /** The value that is already taken. */
    readonly value: unknown,
    /** In a batch (`writeMany`, seeds), the index of the record that clashed. */
    readonly entry?: number,
  ) {
    super(
      `Duplicate value for '${field}' in table '${table}': ${show(value)} already exists` +
        (entry === undefined ? '' : ` (batch entry ${entry})`),
      table,
    );
  }
}

function show(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return 'an object';
    }
  }
  return String(value);
}
