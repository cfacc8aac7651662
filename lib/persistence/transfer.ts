import { extname } from 'node:path';
import type { MemoryTable } from '../engine/memory-table.js';
import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import type { PersistenceFileSystem } from './file-system.js';
import { exportChunks } from './export-stream.js';
import { readImportEntries, type ImportEntries } from './import-stream.js';
import { readChunks, writeStreamAtomically } from './stream-file.js';

/** The formats of `export()`, `import()`, `exportStream()` and `importStream()`. */
export type TransferFormat = 'json' | 'ndjson' | 'csv';

const EXTENSIONS: Readonly<Record<string, TransferFormat>> = {
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.csv': 'csv',
};

/** The format given, or the one the file's extension names. */
export function formatOf(table: string, path: string, given: unknown): TransferFormat {
  if (given !== undefined) {
    if (given === 'json' || given === 'ndjson' || given === 'csv') return given;
    throw new MemoryStoreError(
      `The format must be 'json', 'ndjson' or 'csv', got ${describeValue(given)}`,
      table,
    );
  }
  const format = EXTENSIONS[extname(path).toLowerCase()];
  if (!format)
    throw new MemoryStoreError(
      `Cannot tell the format of ${path}: give 'json', 'ndjson' or 'csv'`,
      table,
    );
  return format;
}

/**
 * Writes a table's records to a file atomically (temporary file, sync, rename), streamed in
 * bounded memory (see `exportChunks` for the formats). Resolves to how many records.
 */
export async function exportTable(
  fs: PersistenceFileSystem,
  table: MemoryTable<object>,
  path: string,
  format: TransferFormat,
  report?: (line: string) => void,
): Promise<number> {
  let count = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    count = table.all().length; // the records exportChunks takes (the same frozen list)
    yield* exportChunks(table, format, report);
  }
  try {
    await writeStreamAtomically(fs, path, counted());
  } catch (error) {
    if (error instanceof MemoryStoreError) throw error;
    throw new MemoryStoreError(
      `Cannot export table '${table.name}' to ${path}: ${(error as Error).message}`,
      table.name,
      { cause: error },
    );
  }
  return count;
}

/**
 * Reads the records of an import file, a chunk at a time (see `readImportEntries`). Any
 * problem is an `ImportError` naming the file and the line.
 */
export function readImport(
  fs: PersistenceFileSystem,
  table: MemoryTable<object>,
  path: string,
  format: TransferFormat,
  version: number | undefined,
  report?: (line: string) => void,
): Promise<ImportEntries> {
  return readImportEntries(table, readChunks(fs, path), format, version, path, report);
}

/** A header row the import refuses. */
class HeaderProblem extends Error {}

/**
 * The header row's column names, refused where a record could not hold them as written: a
 * forbidden key (`__proto__` would set the row's prototype and vanish, as a JSON import
 * refuses it) or a name given twice (the parser would keep the last column silently).
 */
export function checkHeader(columns: string[]): string[] {
  const seen = new Set<string>();
  for (const column of columns) {
    if (FORBIDDEN_KEYS.has(column))
      throw new HeaderProblem(`the header names the column '${column}', a forbidden key`);
    if (seen.has(column)) throw new HeaderProblem(`the header names the column '${column}' twice`);
    seen.add(column);
  }
  return columns;
}

/** A CSV cell's value, of the type of the column's default (or the table's declared dates). */
export function csvValue(
  table: MemoryTable<object>,
  column: string,
  raw: string,
  example: unknown,
): unknown {
  if (column === table.keyField && table.schema.autoIncrement) return number(raw);
  if (table.schema.dateFields.has(column) || example instanceof Date) {
    const date = new Date(raw);
    if (Number.isNaN(date.getTime())) throw new Error(`'${raw}' is not a date`);
    return date;
  }
  switch (typeof example) {
    case 'number':
      return number(raw);
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new Error(`'${raw}' is not true or false`);
    case 'bigint':
      return BigInt(raw);
    case 'object':
      return JSON.parse(raw) as unknown;
    default:
      return raw;
  }
}

function number(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new Error(`'${raw}' is not a number`);
  return n;
}
