import type { RecordKey } from '../interfaces/table-options.interface.js';
import { decodeValue } from '../persistence/value-codec.js';

/** A record as a snapshot holds it: key, record, deadline, its last change's log number, its encoded form. */
export type SnapshotRow = [RecordKey, object, number | null, number, unknown];

/** Builds a table's record from stored fields (`MemoryTable.reviveStored`). */
export type Revive = (key: RecordKey, fields: Record<string, unknown>) => object;

/** One table as Redis holds it at a log position. */
export interface TableSnapshot {
  rows: SnapshotRow[];
  counters: [string, number][];
  tableVersion: number;
  /** The log position of the compacted snapshot the rows were read from (undefined: read by parts). */
  compactedAt?: number;
  /** How many of the log's changes were replayed onto the rows read. */
  replayed?: number;
}

/**
 * A table's rows read in parts (`SCAN_SCRIPT`), while other instances may write: each part
 * is as Redis held it when that part was read. Replaying the log's changes from before the
 * first part to after the last one, each skipped when the row read already holds it (its
 * version is at least the change's number), brings every row to the log position of the
 * last change replayed. Records are built as their part arrives (while Redis reads the next).
 */
export class SnapshotRows {
  readonly #rows = new Map<RecordKey, SnapshotRow>();
  /** Rows set by a replayed change: a later change of the same log entry applies over them. */
  readonly #replayed = new WeakSet<SnapshotRow>();
  readonly #revive: Revive;
  readonly #localDeadline: (deadline: number) => number;

  constructor(revive: Revive, localDeadline: (deadline: number) => number) {
    this.#revive = revive;
    this.#localDeadline = localDeadline;
  }

  /**
   * Adds a part (or a compacted snapshot's chunk): one JSON array text, flat (key, encoded
   * record, version, deadline by Redis's clock or null, key, …), parsed at once. A row HSCAN
   * returns twice keeps its newer read. Returns how many rows the part held.
   */
  addPart(text: string): number {
    const flat = JSON.parse(text) as unknown[];
    for (let i = 0; i < flat.length; i += 4) {
      const key = flat[i] as RecordKey;
      const version = flat[i + 2] as number;
      const held = this.#rows.get(key);
      if (held && held[3] >= version) continue;
      this.#put(key, flat[i + 1], flat[i + 3] as number | null, version);
    }
    return flat.length / 4;
  }

  /** Replays a put logged at `seq` (deadline by Redis's clock). */
  replayPut(key: RecordKey, encoded: unknown, deadline: number | null, seq: number): void {
    if (!this.#holds(key, seq)) this.#replayed.add(this.#put(key, encoded, deadline, seq));
  }

  /** Replays a delete or expiry logged at `seq`. */
  replayDelete(key: RecordKey, seq: number): void {
    if (!this.#holds(key, seq)) this.#rows.delete(key);
  }

  /** The rows, at the position of the last change replayed. */
  rows(): SnapshotRow[] {
    return [...this.#rows.values()];
  }

  /** True when the row read holds the change logged at `seq` (its version is at least that). */
  #holds(key: RecordKey, seq: number): boolean {
    const held = this.#rows.get(key);
    return held !== undefined && held[3] >= seq && !(held[3] === seq && this.#replayed.has(held));
  }

  #put(key: RecordKey, encoded: unknown, deadline: number | null, version: number): SnapshotRow {
    const local = deadline === null ? null : this.#localDeadline(deadline);
    const row: SnapshotRow = [
      key,
      this.#revive(key, decodeRecord(encoded)),
      local,
      version,
      encoded,
    ];
    this.#rows.set(key, row);
    return row;
  }
}

/** Counters from a flat `HGETALL` reply (name, value, …). */
export function readCounters(flat: readonly string[]): [string, number][] {
  const counted: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) counted.push([flat[i], Number(flat[i + 1])]);
  return counted;
}

/**
 * An encoded record (`["O", { … }]`) decoded. Its fields are nearly always primitives, taken
 * as they are: the parsed object itself is the record's fields then (the table copies them
 * into a record of its class). Otherwise the fields are copied, the others through
 * `decodeValue` (which also refuses what is not an encoded record).
 */
function decodeRecord(encoded: unknown): Record<string, unknown> {
  if (!Array.isArray(encoded) || encoded[0] !== 'O' || encoded.length !== 2)
    return decodeValue(encoded) as Record<string, unknown>;
  const source = encoded[1] as Record<string, unknown>;
  if (typeof source !== 'object' || source === null || Array.isArray(source))
    return decodeValue(encoded) as Record<string, unknown>;
  let plain = true;
  for (const key in source) {
    const value = source[key];
    if ((typeof value === 'object' && value !== null) || key === '__proto__') {
      plain = false;
      break;
    }
  }
  if (plain) return source;
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
