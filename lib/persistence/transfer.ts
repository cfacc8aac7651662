import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { MemoryTable } from '../engine/memory-table.js';
import { ImportError } from '../errors/import.error.js';
import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { reviveJsonDates } from '../seeds/revive-dates.js';
import { writeFileAtomically, type PersistenceFileSystem } from './file-system.js';
import { migrateRecord } from './migrate.js';

/** The file formats of `export()` and `import()`. */
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

/** One record read from an import file, with where it came from. */
export interface ImportEntry {
  readonly value: Record<string, unknown>;
  readonly line?: number;
}

/**
 * Writes a table's records to a file atomically (temporary file, sync, rename). JSON holds
 * `{ table, version, exportedAt, records }`; NDJSON a header line then a record a line; CSV a
 * header row, dates as ISO strings and nested values as JSON. Bigints become strings.
 */
export async function exportTable(
  fs: PersistenceFileSystem,
  table: MemoryTable<object>,
  path: string,
  format: TransferFormat,
): Promise<number> {
  const records = table.all();
  const header = {
    table: table.name,
    version: table.schema.version,
    exportedAt: new Date().toISOString(),
  };
  let text: string;
  if (format === 'json') {
    text = `${JSON.stringify({ ...header, records }, jsonReplacer, 2)}\n`;
  } else if (format === 'ndjson') {
    text =
      [
        JSON.stringify({ $export: header }),
        ...records.map((r) => JSON.stringify(r, jsonReplacer)),
      ].join('\n') + '\n';
  } else {
    const columns: string[] = [];
    const seen = new Set<string>();
    const addColumn = (field: string) => {
      if (seen.has(field)) return;
      seen.add(field);
      columns.push(field);
    };
    addColumn(table.keyField);
    for (const [field] of table.schema.defaults) addColumn(field);
    for (const record of records) for (const field of Object.keys(record)) addColumn(field);
    const rows = records.map((record) =>
      columns.map((column) => cell((record as Record<string, unknown>)[column])),
    );
    text = stringify([columns, ...rows]);
  }
  try {
    await writeFileAtomically(fs, path, Buffer.from(text, 'utf8'));
  } catch (error) {
    throw new MemoryStoreError(
      `Cannot export table '${table.name}' to ${path}: ${(error as Error).message}`,
      table.name,
      { cause: error },
    );
  }
  return records.length;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value, jsonReplacer);
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return value.toString();
    default:
      return '';
  }
}

/**
 * Reads the records of an import file, migrated to the table's version when the file says
 * it holds an older one, with dates revived where the table declares them. Any problem is an
 * `ImportError` naming the line.
 */
export async function readImport(
  fs: PersistenceFileSystem,
  table: MemoryTable<object>,
  path: string,
  format: TransferFormat,
  version: number | undefined,
): Promise<ImportEntry[]> {
  const name = table.name;
  let data: Buffer | undefined;
  try {
    data = await fs.readFile(path);
  } catch (error) {
    const reason = `cannot read it: ${(error as Error).message}`;
    throw new ImportError(name, path, reason, undefined, undefined, error);
  }
  if (!data) throw new ImportError(name, path, 'the file does not exist');
  const text = data.toString('utf8');
  let entries: { value: unknown; line?: number }[];
  let fileVersion = version;
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ImportError(name, path, `malformed JSON: ${(error as Error).message}`);
    }
    const envelope = parsed as { records?: unknown; version?: unknown };
    const records = Array.isArray(parsed) ? parsed : envelope?.records;
    if (!Array.isArray(records))
      throw new ImportError(
        name,
        path,
        'a JSON import holds an array of records or { records: [...] }',
      );
    if (!Array.isArray(parsed) && typeof envelope.version === 'number')
      fileVersion ??= envelope.version;
    entries = (records as unknown[]).map((value) => ({ value }));
  } else if (format === 'ndjson') {
    entries = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(lines[i]);
      } catch (error) {
        throw new ImportError(name, path, `malformed JSON: ${(error as Error).message}`, i + 1);
      }
      const header = (value as { $export?: { version?: unknown } } | null)?.$export;
      if (entries.length === 0 && header && typeof header === 'object') {
        if (typeof header.version === 'number') fileVersion ??= header.version;
        continue;
      }
      entries.push({ value, line: i + 1 });
    }
  } else {
    entries = parseCsv(table, path, text);
  }
  return entries.map(({ value, line }, entry) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ImportError(name, path, 'a record must be an object', line, entry);
    }
    const key = (value as Record<string, unknown>)[table.keyField] as RecordKey;
    let fields = value as Record<string, unknown>;
    try {
      fields = migrateRecord(table.schema, key, fields, fileVersion ?? table.schema.version);
    } catch (error) {
      throw new ImportError(name, path, (error as Error).message, line, entry, error);
    }
    return { value: reviveJsonDates(table.schema, fields) as Record<string, unknown>, line };
  });
}

/** CSV rows as records: a header row names the fields; types come from the table's defaults. */
function parseCsv(
  table: MemoryTable<object>,
  path: string,
  text: string,
): { value: unknown; line?: number }[] {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    const parsed: unknown = parse(text, {
      columns: checkHeader,
      info: true,
      skip_empty_lines: true,
      bom: true,
    });
    rows = parsed as typeof rows;
  } catch (error) {
    if (error instanceof HeaderProblem)
      throw new ImportError(table.name, path, error.message, headerLine(text));
    const line = (error as { lines?: number }).lines;
    throw new ImportError(table.name, path, `malformed CSV: ${(error as Error).message}`, line);
  }
  const defaults = new Map(table.schema.defaults);
  return rows.map(({ record, info }) => {
    const value: Record<string, unknown> = {};
    for (const [column, raw] of Object.entries(record)) {
      if (raw === '') continue;
      try {
        value[column] = typed(table, column, raw, defaults.get(column));
      } catch (error) {
        throw new ImportError(
          table.name,
          path,
          `column '${column}': ${(error as Error).message}`,
          info.lines,
        );
      }
    }
    return { value, line: info.lines };
  });
}

/** A header row the import refuses. */
class HeaderProblem extends Error {}

/**
 * The header row's column names, refused where a record could not hold them as written: a
 * forbidden key (`__proto__` would set the row's prototype and vanish, as a JSON import
 * refuses it) or a name given twice (the parser would keep the last column silently).
 */
function checkHeader(columns: string[]): string[] {
  const seen = new Set<string>();
  for (const column of columns) {
    if (FORBIDDEN_KEYS.has(column))
      throw new HeaderProblem(`the header names the column '${column}', a forbidden key`);
    if (seen.has(column)) throw new HeaderProblem(`the header names the column '${column}' twice`);
    seen.add(column);
  }
  return columns;
}

/** The 1-based line of the header row: the first line that is not empty. */
function headerLine(text: string): number {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const index = lines.findIndex((line) => line !== '');
  return index < 0 ? 1 : index + 1;
}

function typed(table: MemoryTable<object>, column: string, raw: string, example: unknown): unknown {
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
