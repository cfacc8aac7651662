import type { MemoryTable, ReplicatedChange } from '../engine/memory-table.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { ReplicationGroup } from './replication-group.js';
import { SnapshotSchedule } from './snapshot-write.js';
import type { TableSnapshot } from './table-snapshot.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a replica holds a table of any record type
type AnyTable = MemoryTable<any>;

/** The least time between two expiries asked for by reads that found a record due. */
const DUE_INTERVAL_MS = 50;

const REPLICAS = new WeakMap<object, TableReplica>();

/** The replica behind a table, if the table is replicated. */
export function replicaOf(table: object): TableReplica | undefined {
  return REPLICAS.get(table);
}

/** Makes `replica` the one `replicaOf(table)` finds. */
export function registerReplica(table: object, replica: TableReplica): void {
  REPLICAS.set(table, replica);
}

/**
 * One table's side of replication: the version (log number of the last change) of each
 * record and of the table, as this instance has applied them, and the origin of the change
 * being applied (for the change events).
 */
export class TableReplica {
  readonly versions = new Map<RecordKey, number>();
  /** The log number of the table's last change applied here. */
  tableVersion = 0;
  /** Log entries up to this number are already in the table (it was loaded after them). */
  loadedAt = 0;
  /** The instance whose change is being applied, while one is. */
  origin: string | undefined;
  /** The names of the table's unique indexes (a compound one's fields joined by ', '). */
  readonly uniqueFields: readonly string[];
  readonly uniques: readonly { readonly field: string; valueOf(record: object): unknown }[];
  /** When this instance writes the table's compacted snapshot to Redis. */
  readonly snapshot = new SnapshotSchedule();
  #lastDue = 0;

  constructor(
    readonly table: AnyTable,
    readonly group: ReplicationGroup,
    readonly maxRecords: number | undefined,
  ) {
    this.uniques = table.uniqueIndexes;
    this.uniqueFields = this.uniques.map((i) => i.field);
  }

  /** A read found a record past its deadline: ask Redis to expire what is due, now and then. */
  due(): void {
    const now = Date.now();
    if (now - this.#lastDue < DUE_INTERVAL_MS) return;
    this.#lastDue = now;
    this.group.expire().catch(() => undefined); // a sweep will try again
  }

  /** Applies one log entry's changes of this table. */
  apply(seq: number, origin: string | undefined, changes: ReplicatedChange<object>[]): void {
    this.origin = origin;
    try {
      this.table.applyReplicated(changes);
    } finally {
      this.origin = undefined;
    }
    for (const change of changes) {
      if (change.record) this.versions.set(change.key, seq);
      else this.versions.delete(change.key);
    }
    this.tableVersion = seq;
    this.snapshot.changes += changes.length;
  }

  /** Takes the record versions, table version and counters of a snapshot taken at `seq`. */
  adopt(snapshot: TableSnapshot, seq: number): void {
    this.versions.clear();
    for (const [key, , , version] of snapshot.rows) this.versions.set(key, version);
    this.tableVersion = snapshot.tableVersion;
    this.loadedAt = seq;
    // read by parts: every row counts as a change, so that a snapshot is written for the next load
    if (snapshot.compactedAt === undefined) this.snapshot.since(0, 0, snapshot.rows.length);
    else this.snapshot.since(snapshot.compactedAt, snapshot.rows.length, snapshot.replayed ?? 0);
    const counters = this.table.counters;
    const kept = new Set(snapshot.counters.map(([name]) => name));
    for (const [name] of [...counters.entries()]) if (!kept.has(name)) counters.delete(name);
    counters.restore(snapshot.counters);
  }
}
