import type { RecordKey } from '../interfaces/table-options.interface.js';
import { decodeValue } from '../persistence/value-codec.js';

/** One table as Redis holds it, read in one transaction with the log position. */
export interface TableSnapshot {
  /** Key, fields, deadline, the log number of the record's last change, and its encoded form. */
  rows: [RecordKey, Record<string, unknown>, number | null, number, unknown][];
  counters: [string, number][];
  tableVersion: number;
}

/** Records whose JSON texts are parsed together, in one `JSON.parse`. */
const PARSE_BATCH = 10_000;

/**
 * Builds a table's snapshot from flat replies (no object built per reply): `HGETALL rows`
 * and `vers` (key, value, …), `ZRANGE ttl 0 -1 WITHSCORES` (deadlines by Redis's clock, as
 * `localDeadline` translates them), `HGETALL counters` and the table version. Record texts
 * are joined and parsed a batch at a time: one native parse instead of one call per record.
 */
export function readTableSnapshot(
  rows: readonly string[],
  versions: readonly string[],
  deadlines: readonly string[],
  counters: readonly string[],
  tableVersion: string | null,
  localDeadline: (deadline: number) => number,
): TableSnapshot {
  const versionOf = new Map<string, number>();
  for (let i = 0; i < versions.length; i += 2) versionOf.set(versions[i], Number(versions[i + 1]));
  const deadlineOf = new Map<string, number>();
  for (let i = 0; i < deadlines.length; i += 2)
    deadlineOf.set(deadlines[i], localDeadline(Number(deadlines[i + 1])));
  const out: TableSnapshot['rows'] = [];
  const keys: string[] = [];
  const records: string[] = [];
  for (let at = 0; at < rows.length; at += 2 * PARSE_BATCH) {
    keys.length = 0;
    records.length = 0;
    for (let i = at; i < rows.length && i < at + 2 * PARSE_BATCH; i += 2) {
      keys.push(rows[i]);
      records.push(rows[i + 1]);
    }
    const parsedKeys = JSON.parse(`[${keys.join(',')}]`) as RecordKey[];
    const parsed = JSON.parse(`[${records.join(',')}]`) as unknown[];
    for (let i = 0; i < keys.length; i++) {
      out.push([
        parsedKeys[i],
        decodeRecord(parsed[i]),
        deadlineOf.get(keys[i]) ?? null,
        versionOf.get(keys[i]) ?? 0,
        parsed[i],
      ]);
    }
  }
  const counted: [string, number][] = [];
  for (let i = 0; i < counters.length; i += 2) counted.push([counters[i], Number(counters[i + 1])]);
  return { rows: out, counters: counted, tableVersion: Number(tableVersion ?? 0) };
}

/**
 * An encoded record (`["O", { … }]`) decoded: its primitive fields, nearly all of them, are
 * taken as they are, the rest go through `decodeValue` (which also refuses what is not an
 * encoded record).
 */
function decodeRecord(encoded: unknown): Record<string, unknown> {
  if (!Array.isArray(encoded) || encoded[0] !== 'O' || encoded.length !== 2)
    return decodeValue(encoded) as Record<string, unknown>;
  const source = encoded[1] as Record<string, unknown>;
  if (typeof source !== 'object' || source === null || Array.isArray(source))
    return decodeValue(encoded) as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (key === '__proto__') {
      Object.defineProperty(record, key, {
        value: decodeValue(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      record[key] = typeof value === 'object' && value !== null ? decodeValue(value) : value;
    }
  }
  return record;
}
