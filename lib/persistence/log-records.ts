import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { Encoded } from './value-codec.js';

/**
 * One logged change: put a record (with its deadline, the table version, and the deadline's
 * sliding period where `MemoryTable.periodOf` gives one), delete a key, clear a table, set a
 * counter.
 */
export type LogOp =
  | readonly ['p', string, RecordKey, Encoded, number | null, number?, number?]
  | readonly ['d', string, RecordKey]
  | readonly ['x', string]
  | readonly ['n', string, string, number | null];

/**
 * A snapshot frame: first `meta` (the log sequence the snapshot covers, and how many records
 * it holds), then per table `rows` (with chunks `c` of records too large for one frame,
 * `r: 1` when a row refers to them) and `counters`, and last `end`.
 */
export type SnapshotFrame =
  | { t: 'meta'; seq: number; at: string; rows?: number }
  | {
      t: 'rows';
      table: string;
      rows: [RecordKey, Encoded, number | null, number?, number?][];
      c?: unknown;
      r?: 1;
    }
  | { t: 'counters'; table: string; counters: [string, number][] }
  | { t: 'end' };

const isKey = (v: unknown): boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
const isDeadline = (v: unknown): boolean =>
  v === null || (typeof v === 'number' && Number.isFinite(v));
/** A persisted sliding period: 0 for a fixed deadline. */
const isPeriod = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A checksummed frame can still hold the wrong shape (a bug, or a file from elsewhere). */
export function isLogOp(op: unknown): op is LogOp {
  if (!Array.isArray(op) || typeof op[1] !== 'string') return false;
  switch (op[0]) {
    case 'p':
      return (
        isKey(op[2]) &&
        op[3] !== undefined &&
        isDeadline(op[4]) &&
        (op[5] === undefined || Number.isSafeInteger(op[5])) &&
        (op[6] === undefined || isPeriod(op[6]))
      );
    case 'd':
      return isKey(op[2]);
    case 'x':
      return true;
    case 'n':
      return typeof op[2] === 'string' && (op[3] === null || Number.isSafeInteger(op[3]));
    default:
      return false;
  }
}

export function isSnapshotFrame(frame: unknown): frame is SnapshotFrame {
  if (typeof frame !== 'object' || frame === null) return false;
  const f = frame as Record<string, unknown>;
  switch (f.t) {
    case 'meta':
      return Number.isSafeInteger(f.seq) && (f.rows === undefined || Number.isSafeInteger(f.rows));
    case 'rows':
      return (
        typeof f.table === 'string' &&
        Array.isArray(f.rows) &&
        f.rows.every(
          (r) =>
            Array.isArray(r) &&
            isKey(r[0]) &&
            isDeadline(r[2]) &&
            (r[4] === undefined || isPeriod(r[4])),
        )
      );
    case 'counters':
      return (
        typeof f.table === 'string' &&
        Array.isArray(f.counters) &&
        f.counters.every(
          (c) => Array.isArray(c) && typeof c[0] === 'string' && Number.isSafeInteger(c[1]),
        )
      );
    case 'end':
      return true;
    default:
      return false;
  }
}
