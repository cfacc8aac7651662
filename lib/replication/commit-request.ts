import type { MemoryTable, TtlSetting } from '../engine/memory-table.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { encodeValue } from '../persistence/value-codec.js';
import type { TableTransaction } from '../transactions/transaction.js';
import type { CommitMode } from './replication-status.js';
import type { TableReplica } from './table-replica.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a commit spans tables of every record type
type AnyTable = MemoryTable<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- views of tables of every record type
type AnyView = TableTransaction<any>;

/**
 * Puts and deletes per script call of a plain `writeMany` (no reads to check): a larger batch
 * is committed in parts of this many, so that Redis answers others between them (a part of
 * 500 small records with a unique field: 12-23 ms on a 2-core machine at load average 14,
 * with and without appendfsync always; a few ms on a quiet one).
 */
export const BATCH_PART = 500;

/**
 * What a part of a large batch (`commitBatch`) aims its script's round trip at: under it,
 * Redis answers other clients between parts within a few tens of ms even on a busy machine
 * (there a part of 500 records took 20-70 ms of Redis's time, at load average 17 on 2 cores).
 */
const PART_TARGET_MS = 12;
/** Puts per part at least, and in the first part. */
const MIN_PART = 25;
const FIRST_PART = 100;

/**
 * Sizes the parts of a large batch from the round trip of the part before: as many puts as
 * fit in PART_TARGET_MS at the rate it went, between MIN_PART and BATCH_PART.
 */
export class PartSizer {
  size = FIRST_PART;

  /** A part of `count` puts took `ms` from sending its script to its reply. */
  took(count: number, ms: number): void {
    const fit = Math.floor((count * PART_TARGET_MS) / Math.max(ms, 0.5));
    this.size = Math.max(MIN_PART, Math.min(BATCH_PART, fit));
  }
}

/** What COMMIT_SCRIPT takes (its request JSON, see scripts.ts). */
export interface CommitRequest {
  c: [string, string, number][];
  tc: [string, number][];
  cap: [string, number][];
  u: Record<string, readonly string[]>;
  ai: Record<string, string>;
  ops: unknown[];
}

/**
 * The request that commits the staged writes of `views`, with the checks `mode` asks for
 * (the versions of what they read, the tables they queried), and the records put per table
 * (the very objects this instance then stores).
 */
export function commitRequest(
  views: readonly AnyView[],
  mode: CommitMode,
  replicaFor: (table: AnyTable) => TableReplica,
): { request: CommitRequest; records: Map<AnyTable, Map<RecordKey, object>> } {
  const request: CommitRequest = { c: [], tc: [], cap: [], u: {}, ai: {}, ops: [] };
  const records = new Map<AnyTable, Map<RecordKey, object>>();
  for (const view of views) {
    const table = view.table;
    const replica = replicaFor(table);
    const own = new Map<RecordKey, object>();
    records.set(table, own);
    request.u[table.name] = replica.uniqueFields;
    if (table.schema.autoIncrement) request.ai[table.name] = table.keyField;
    if (replica.maxRecords !== undefined) request.cap.push([table.name, replica.maxRecords]);
    if (mode !== 'blind') {
      for (const key of view.reads.keys())
        request.c.push([table.name, JSON.stringify(key), replica.versions.get(key) ?? 0]);
    }
    if (mode === 'transaction' && view.scanned) request.tc.push([table.name, replica.tableVersion]);
    for (const [key, staged] of view.staged) {
      const record = staged.record as object | null;
      const ttl = staged.ttl;
      const keyJson = JSON.stringify(key);
      if (!record) {
        request.ops.push(['d', table.name, keyJson]);
        continue;
      }
      own.set(key, record);
      request.ops.push(putOp(replica, keyJson, record, ttl));
    }
  }
  return { request, records };
}

/** A request for a blind batch of one table (no reads to check); its `ops` are set per part. */
export function batchRequest(replica: TableReplica): CommitRequest {
  const table = replica.table;
  return {
    c: [],
    tc: [],
    cap: replica.maxRecords === undefined ? [] : [[table.name, replica.maxRecords]],
    u: { [table.name]: replica.uniqueFields },
    ai: table.schema.autoIncrement ? { [table.name]: table.keyField } : {},
    ops: [],
  };
}

/** A put as the commit script takes it (see COMMIT_SCRIPT). */
export function putOp(
  replica: TableReplica,
  keyJson: string,
  record: object,
  ttl: TtlSetting,
): unknown[] {
  const uniques: Record<string, string | false> = {};
  for (const index of replica.uniques) {
    const value = index.valueOf(record);
    uniques[index.field] =
      value === null || value === undefined ? false : JSON.stringify(encodeValue(value));
  }
  return [
    'p',
    replica.table.name,
    keyJson,
    JSON.stringify(encodeValue(record)),
    ttlCode(ttl),
    uniques,
  ];
}

/** A TTL setting as the commit script takes it: ms from now, -1 none, -2 keep. */
function ttlCode(ttl: TtlSetting): number {
  if (typeof ttl === 'number') return Math.max(0, Math.round(ttl));
  return ttl === null ? -1 : -2;
}
