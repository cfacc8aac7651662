import { StringDecoder } from 'node:string_decoder';
import type { MemoryTable } from '../engine/memory-table.js';
import { TimeSlicer } from '../engine/time-slicer.js';
import { ImportError } from '../errors/import.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { reviveJsonDates } from '../seeds/revive-dates.js';
import { JsonSplitter } from './json-splitter.js';
import { migrateRecord } from './migrate.js';
import { CsvReader, CsvSyntaxError } from './csv-reader.js';
import { checkHeader, csvValue, type TransferFormat } from './transfer.js';
import { isMissingFile } from './stream-file.js';

/**
 * Text parsed between two looks at the clock (a chunk read is about a megabyte: parsed whole,
 * its thousands of small records would hold the event loop for tens of milliseconds).
 */
const PIECE = 64 * 1024;

/**
 * The records read from an import, with where each came from (`lines[i]` for `values[i]`,
 * when the format has lines). Two lists, not a list of pairs: the values go to `writeMany` as
 * they are, with no million-entry copy made in one step.
 */
export interface ImportEntries {
  readonly values: Record<string, unknown>[];
  readonly lines: readonly (number | undefined)[];
}

/** What the parser read, before the checks: each value and the line it came from. */
interface Parsed {
  readonly values: unknown[];
  readonly lines: (number | undefined)[];
}

/**
 * Reads the records of an import, a chunk at a time (never the whole text at once), migrated
 * to the table's version when the import says it holds an older one (or `version` does), with
 * dates revived where the table declares them; the work pauses for the event loop every few
 * milliseconds. Any problem is an `ImportError` naming `name` (the file, or the stream) and
 * the line or entry, the parser's error as `cause`.
 */
export async function readImportEntries(
  table: MemoryTable<object>,
  source: AsyncIterable<Buffer | string>,
  format: TransferFormat,
  version: number | undefined,
  name: string,
  report?: (line: string) => void,
): Promise<ImportEntries> {
  const slicer = new TimeSlicer(`import into table '${table.name}'`, report);
  // the parsed values and their lines, kept as two lists (no pair object per record: a
  // million small objects more for the collector); `values` becomes the records in place
  const raw: Parsed = { values: [], lines: [] };
  let fileVersion = version;
  const fail = (reason: string, line?: number, entry?: number, cause?: unknown) =>
    new ImportError(table.name, name, reason, line, entry, cause);
  const chunks = guarded(source, fail);

  if (format === 'csv') {
    await readCsv(table, chunks, raw, slicer, fail);
  } else if (format === 'ndjson') {
    let lineNo = 0;
    const onLine = (text: string) => {
      lineNo++;
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw fail(`malformed JSON: ${(error as Error).message}`, lineNo, undefined, error);
      }
      const header = (value as { $export?: { version?: unknown } } | null)?.$export;
      if (raw.values.length === 0 && header && typeof header === 'object') {
        if (typeof header.version === 'number') fileVersion ??= header.version;
        return;
      }
      raw.values.push(value);
      raw.lines.push(lineNo);
    };
    const decoder = new StringDecoder('utf8');
    let partial: string[] = []; // the pieces of a line that spans chunks
    for await (const chunk of chunks) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let from = 0;
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
        const piece = text.slice(from, at);
        onLine(partial.length === 0 ? piece : partial.join('') + piece);
        partial = [];
        from = at + 1;
        await slicer.tick();
      }
      if (from < text.length) partial.push(text.slice(from));
      if (slicer.due) await slicer.pause();
    }
    const last = partial.join('') + decoder.end();
    if (last !== '') onLine(last);
  } else {
    const splitter = new JsonSplitter((text) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw fail(
          `malformed JSON: ${(error as Error).message}`,
          undefined,
          raw.values.length,
          error,
        );
      }
      raw.values.push(value);
      raw.lines.push(undefined);
    });
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of chunks) {
        const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
        for (let at = 0; at < text.length; at += PIECE) {
          splitter.write(text.slice(at, at + PIECE));
          slicer.done = raw.values.length;
          if (slicer.due) await slicer.pause();
        }
      }
      splitter.write(decoder.end());
      splitter.end();
    } catch (error) {
      if (error instanceof ImportError) throw error;
      if (!(error instanceof SyntaxError)) throw error;
      const message = error.message.startsWith('a JSON import')
        ? error.message
        : `malformed JSON: ${error.message.replace(/^malformed JSON: /, '')}`;
      throw fail(message, undefined, undefined, error);
    }
    const envelopeVersion = splitter.members.version;
    if (typeof envelopeVersion === 'number') fileVersion ??= envelopeVersion;
  }

  const { values, lines } = raw;
  slicer.phase('checking', values.length);
  for (let entry = 0; entry < values.length; entry++) {
    const value = values[entry];
    const line = lines[entry];
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw fail('a record must be an object', line, entry);
    const key = (value as Record<string, unknown>)[table.keyField] as RecordKey;
    let fields = value as Record<string, unknown>;
    try {
      fields = migrateRecord(table.schema, key, fields, fileVersion ?? table.schema.version);
    } catch (error) {
      throw fail((error as Error).message, line, entry, error);
    }
    values[entry] = reviveJsonDates(table.schema, fields);
    await slicer.tick();
  }
  return { values: values as Record<string, unknown>[], lines };
}

/** CSV rows as records: a header row names the fields; types come from the table's defaults. */
async function readCsv(
  table: MemoryTable<object>,
  chunks: AsyncIterable<Buffer | string>,
  raw: Parsed,
  slicer: TimeSlicer,
  fail: (reason: string, line?: number, entry?: number, cause?: unknown) => ImportError,
): Promise<void> {
  const defaults = new Map(table.schema.defaults);
  let columns: string[] | undefined;
  const reader = new CsvReader((fields, line) => {
    if (!columns) {
      try {
        columns = checkHeader(fields);
      } catch (error) {
        throw fail((error as Error).message, line, undefined, error);
      }
      return;
    }
    if (fields.length !== columns.length) {
      throw new CsvSyntaxError(
        `Invalid Record Length: the header has ${columns.length} columns, got ${fields.length} on line ${line}`,
        line,
      );
    }
    const value: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const text = fields[i];
      if (text === '') continue;
      const column = columns[i];
      try {
        value[column] = csvValue(table, column, text, defaults.get(column));
      } catch (error) {
        throw fail(`column '${column}': ${(error as Error).message}`, line, undefined, error);
      }
    }
    raw.values.push(value);
    raw.lines.push(line);
  });
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of chunks) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (let at = 0; at < text.length; at += PIECE) {
        reader.write(text.slice(at, at + PIECE));
        slicer.done = raw.values.length;
        if (slicer.due) await slicer.pause();
      }
    }
    reader.write(decoder.end());
    reader.end();
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    throw fail(`malformed CSV: ${error.message}`, error.lines, undefined, error);
  }
}

/**
 * The chunks, with a failure to read them (a missing file, a directory, a stream that errs)
 * as an `ImportError` (a missing file says so, its ENOENT error as `cause`).
 */
async function* guarded(
  chunks: AsyncIterable<Buffer | string>,
  fail: (reason: string, line?: number, entry?: number, cause?: unknown) => ImportError,
): AsyncGenerator<Buffer | string> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer | string>;
      try {
        next = await iterator.next();
      } catch (error) {
        if (isMissingFile(error))
          throw fail('the file does not exist', undefined, undefined, error);
        throw fail(`cannot read it: ${(error as Error).message}`, undefined, undefined, error);
      }
      if (next.done) return;
      if (typeof next.value !== 'string' && !(next.value instanceof Uint8Array))
        throw fail(`the stream gave ${typeof next.value} chunks, not bytes or text`);
      yield next.value;
    }
  } finally {
    await iterator.return?.(); // closes the file (or stops the stream) when reading stops early
  }
}
