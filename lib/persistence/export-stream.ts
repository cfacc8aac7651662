import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { MemoryTable } from '../engine/memory-table.js';
import { TimeSlicer } from '../engine/time-slicer.js';
import { showValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { TransferFormat } from './transfer.js';

/** Text gathered into one chunk of the stream before it is handed on. */
const CHUNK_CHARS = 256 * 1024;
/** CSV rows formatted together. */
const CSV_ROWS = 64;

/**
 * A table's records in a format, as chunks of bytes made on demand: the records are those
 * of the moment the export starts (records are immutable, so a list of them is a snapshot);
 * each chunk is a few hundred kilobytes, and the work pauses for the event loop every few
 * milliseconds. JSON holds `{ table, version, exportedAt, records }` (indented by two); NDJSON
 * a header line then a record a line; CSV a header row, dates as ISO strings and nested values
 * as JSON. Bigints become strings.
 */
export async function* exportChunks(
  table: MemoryTable<object>,
  format: TransferFormat,
  report?: (line: string) => void,
): AsyncGenerator<Buffer> {
  const records = table.all();
  const slicer = new TimeSlicer(`export of table '${table.name}'`, report, records.length);
  const header = {
    table: table.name,
    version: table.schema.version,
    exportedAt: new Date().toISOString(),
  };
  let parts: string[] = [];
  let size = 0;
  const add = (text: string): Buffer | undefined => {
    parts.push(text);
    size += text.length;
    if (size < CHUNK_CHARS) return undefined;
    const chunk = Buffer.from(parts.join(''), 'utf8');
    parts = [];
    size = 0;
    return chunk;
  };
  const line = (record: object, i: number, indent?: number): string => {
    try {
      return JSON.stringify(record, jsonReplacer, indent);
    } catch (error) {
      throw tooLarge(table, record, i, error);
    }
  };

  if (format === 'csv') {
    const columns = await csvColumns(table, records, slicer);
    slicer.phase('writing', records.length);
    add(stringify([columns]));
    for (let i = 0; i < records.length; i += CSV_ROWS) {
      const rows = records
        .slice(i, i + CSV_ROWS)
        .map((record) =>
          columns.map((column) => cell((record as Record<string, unknown>)[column])),
        );
      let text: string;
      try {
        text = stringify(rows);
      } catch (error) {
        throw tooLarge(table, records[i], i, error);
      }
      const chunk = add(text);
      if (chunk) yield chunk;
      await slicer.tick(rows.length);
    }
  } else {
    // JSON: as JSON.stringify({ ...header, records }, replacer, 2) writes it, a record at a time
    add(
      format === 'json'
        ? `${JSON.stringify(header, null, 2).slice(0, -2)},\n  "records": [`
        : `${JSON.stringify({ $export: header })}\n`,
    );
    for (let i = 0; i < records.length; i++) {
      const chunk = add(
        format === 'json'
          ? `${i === 0 ? '' : ','}\n    ${line(records[i], i, 2).replaceAll('\n', '\n    ')}`
          : `${line(records[i], i)}\n`,
      );
      if (chunk) yield chunk;
      await slicer.tick();
    }
    if (format === 'json') add(records.length === 0 ? ']\n}\n' : '\n  ]\n}\n');
  }
  if (size > 0) yield Buffer.from(parts.join(''), 'utf8');
  slicer.finish();
}

/** `exportChunks` as a byte stream that only makes a chunk when the reader wants one. */
export function exportReadable(
  table: MemoryTable<object>,
  format: TransferFormat,
  report?: (line: string) => void,
): Readable {
  return Readable.from(exportChunks(table, format, report), { objectMode: false });
}

/** Every field of every record (the key first, then the table's fields), for the CSV header. */
async function csvColumns(
  table: MemoryTable<object>,
  records: readonly object[],
  slicer: TimeSlicer,
): Promise<string[]> {
  slicer.phase('listing the columns', records.length);
  const seen = new Set<string>([table.schema.bagKey ?? table.keyField]); // a bag's row stays hidden
  for (const [field] of table.schema.defaults) seen.add(field);
  for (const record of records) {
    for (const field of Object.keys(record)) seen.add(field);
    await slicer.tick();
  }
  return [...seen];
}

function tooLarge(table: MemoryTable<object>, record: object, i: number, error: unknown): Error {
  if (!(error instanceof RangeError)) return error as Error;
  const key = table.keyOf(record);
  return new MemoryStoreError(
    `Cannot export record ${showValue(key)} (entry ${i}) of table '${table.name}': it is too large to write as one line of text (${error.message})`,
    table.name,
    { cause: error },
  );
}

export function jsonReplacer(_key: string, value: unknown): unknown {
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
