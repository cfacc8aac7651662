import type { RecordKey } from '../interfaces/table-options.interface.js';
import { seqOf } from './commit-outcome.js';

/** A change as a log entry's `d` field holds it (see scripts.ts). */
export type LogChange =
  | ['p', string, RecordKey, unknown, number | null]
  | ['d' | 'e', string, RecordKey]
  | ['n', string, string, number];

/** A replication log entry's fields, by name (see scripts.ts). */
export interface LogEntry {
  readonly seq: number;
  /** The instance that made it. */
  readonly origin: string | undefined;
  /** The commit id its origin gave it. */
  readonly commit: string | undefined;
  /** Its changes: a JSON array of `LogChange`. */
  readonly data: string;
  /** Redis's clock at the commit, in µs. */
  readonly committedAt: string | undefined;
}

/** Reads a log entry as XREAD and XRANGE return it (`[id, [field, value, …]]`). */
export function readEntry([id, fields]: [string, string[]]): LogEntry {
  let origin: string | undefined;
  let commit: string | undefined;
  let data = '[]';
  let committedAt: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'o') origin = fields[i + 1];
    else if (fields[i] === 'c') commit = fields[i + 1];
    else if (fields[i] === 'd') data = fields[i + 1];
    else if (fields[i] === 't') committedAt = fields[i + 1];
  }
  return { seq: seqOf(id), origin, commit, data, committedAt };
}
