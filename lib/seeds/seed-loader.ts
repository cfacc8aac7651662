import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MemoryTable } from '../engine/memory-table.js';
import { valuesEqual } from '../engine/stored-values.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { SeedError } from '../errors/seed-error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import type { SeedFile } from '../interfaces/store-options.interface.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { migrateRecord } from '../persistence/migrate.js';
import { reviveJsonDates } from './revive-dates.js';

/** One record read from a seed file, with where it came from. */
interface SeedEntry {
  readonly file: string;
  readonly entry: number;
  readonly line?: number;
  /** The table version an export's header names: its records are migrated from it. */
  readonly version?: number;
  value: unknown;
}

/** What an export (`export()`, `exportStream()`) says of itself in its header. */
interface ExportHeader {
  table?: unknown;
  version?: unknown;
}

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

/**
 * Reads every seed file, then writes all their records in one all-or-nothing batch. Any
 * problem is a `SeedError` naming the file and, where one entry is at fault, the entry (and
 * its line in NDJSON); the table is then unchanged.
 */
export async function loadSeeds(
  table: MemoryTable<object>,
  seedFile: SeedFile | readonly SeedFile[],
  write?: (records: readonly unknown[]) => Promise<void>,
): Promise<number> {
  const files = Array.isArray(seedFile)
    ? (seedFile as readonly SeedFile[])
    : [seedFile as SeedFile];
  const entries: SeedEntry[] = [];
  for (const file of files) entries.push(...(await readSeedFile(table.name, file)));
  for (const entry of entries) migrate(table, entry);
  for (const entry of entries) reviveDates(table, entry);
  checkDistinctKeys(table, entries);
  try {
    const records = entries.map((e) => e.value);
    if (write) await write(records);
    else table.writeMany(records);
  } catch (error) {
    throw explain(table, entries, error);
  }
  return entries.length;
}

async function readSeedFile(tableName: string, file: SeedFile): Promise<SeedEntry[]> {
  let path: string;
  try {
    path = file instanceof URL ? fileURLToPath(file) : resolve(file);
  } catch (cause) {
    throw new SeedError(tableName, { file: String(file) }, 'not a file path or file: URL', cause);
  }
  const extension = extname(path).toLowerCase();
  if (MODULE_EXTENSIONS.has(extension)) return readModule(tableName, path);
  if (extension !== '.json' && extension !== '.ndjson' && extension !== '.jsonl') {
    throw new SeedError(
      tableName,
      { file: path },
      `unsupported file type '${extension}' (use .json, .ndjson, .jsonl, .js, .mjs, .cjs or .ts)`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SeedError(
      tableName,
      { file: path },
      `cannot read the file: ${(cause as Error).message}`,
      cause,
    );
  }
  return extension === '.json'
    ? parseJson(tableName, path, text)
    : parseNdjson(tableName, path, text);
}

function parseJson(tableName: string, file: string, text: string): SeedEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new SeedError(tableName, { file }, `malformed JSON: ${(cause as Error).message}`, cause);
  }
  // A JSON export is { table, version, exportedAt, records: [...] }: its records seed as well.
  const envelope = data as (ExportHeader & { records?: unknown }) | null;
  const records = Array.isArray(data) ? data : envelope?.records;
  if (!Array.isArray(records))
    throw new SeedError(
      tableName,
      { file },
      'a JSON seed file must hold an array of records, or an export ({ "records": [...] })',
    );
  const version = Array.isArray(data) ? undefined : exportVersion(tableName, file, envelope!);
  return (records as unknown[]).map((value, entry) => ({ file, entry, version, value }));
}

function parseNdjson(tableName: string, file: string, text: string): SeedEntry[] {
  const entries: SeedEntry[] = [];
  const lines = text.split(/\r?\n/);
  let version: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const location = { file, entry: entries.length, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch (cause) {
      throw new SeedError(
        tableName,
        location,
        `malformed JSON: ${(cause as Error).message}`,
        cause,
      );
    }
    // An NDJSON export starts with a { "$export": { table, version, … } } line.
    const header = (value as { $export?: unknown } | null)?.$export;
    if (entries.length === 0 && typeof header === 'object' && header !== null) {
      version = exportVersion(tableName, file, header);
      continue;
    }
    entries.push({ ...location, version, value });
  }
  return entries;
}

/** An export's table version; an export of another table is refused. */
function exportVersion(tableName: string, file: string, header: ExportHeader): number | undefined {
  if (typeof header.table === 'string' && header.table !== tableName)
    throw new SeedError(
      tableName,
      { file },
      `the file is an export of table '${header.table}', not of '${tableName}'`,
    );
  return typeof header.version === 'number' ? header.version : undefined;
}

async function readModule(tableName: string, file: string): Promise<SeedEntry[]> {
  let exported: unknown;
  try {
    const module = (await import(pathToFileURL(file).href)) as {
      default?: unknown;
      seeds?: unknown;
    };
    exported = module.default ?? module.seeds;
    if (typeof exported === 'function') exported = await (exported as () => unknown)();
  } catch (cause) {
    throw new SeedError(
      tableName,
      { file },
      `cannot load the module: ${(cause as Error).message}`,
      cause,
    );
  }
  if (!Array.isArray(exported)) {
    throw new SeedError(
      tableName,
      { file },
      'a seed module must export (as default or as `seeds`) an array of records or a function returning one',
    );
  }
  return (exported as unknown[]).map((value, entry) => ({ file, entry, value }));
}

/** Brings a record of an export made under an older table version up to the current one. */
function migrate(table: MemoryTable<object>, entry: SeedEntry): void {
  if (entry.version === undefined || typeof entry.value !== 'object' || entry.value === null)
    return;
  const fields = entry.value as Record<string, unknown>;
  try {
    entry.value = migrateRecord(
      table.schema,
      fields[table.keyField] as RecordKey,
      fields,
      entry.version,
    );
  } catch (error) {
    throw new SeedError(table.name, entry, (error as Error).message, error);
  }
}

function reviveDates(table: MemoryTable<object>, entry: SeedEntry): void {
  entry.value = reviveJsonDates(table.schema, entry.value);
}

function explain(table: MemoryTable<object>, entries: SeedEntry[], error: unknown): unknown {
  if (error instanceof StoreValidationError && error.entry !== undefined) {
    const at = entries[error.entry];
    return new SeedError(
      table.name,
      at,
      error.message.replace(/^Invalid record.*? for table '[^']*': /, 'invalid record: '),
      error,
    );
  }
  if (error instanceof DuplicateKeyError && error.entry !== undefined) {
    const at = entries[error.entry];
    const first = entries.findIndex((e) => valuesEqual(fieldOf(e.value, error.field), error.value));
    const also =
      first >= 0 && first !== error.entry
        ? `; entry ${entries[first].entry} of ${entries[first].file} holds it too`
        : '';
    return new SeedError(
      table.name,
      at,
      `${error.message.replace(/ \(batch entry \d+\)$/, '')}${also}`,
      error,
    );
  }
  return error;
}

/** Refuses two seed entries with one primary key: a later one would silently replace the first. */
function checkDistinctKeys(table: MemoryTable<object>, entries: SeedEntry[]): void {
  const seen = new Map<unknown, SeedEntry>();
  for (const entry of entries) {
    const key = fieldOf(entry.value, table.keyField);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (first) {
      throw new SeedError(
        table.name,
        entry,
        `duplicate primary key ${table.keyField} = ${JSON.stringify(key)}; entry ${first.entry} of ${first.file} has it too`,
      );
    }
    seen.set(key, entry);
  }
}

function fieldOf(value: unknown, field: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[field]
    : undefined;
}
