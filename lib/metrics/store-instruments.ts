import type {
  BatchObservableCallback,
  Histogram,
  Meter,
  Observable,
  ObservableCallback,
} from '@opentelemetry/api';
import { eventBacklog, replicationLag } from '../health/store-health.js';
import { tableOf, type MemoryStore } from '../store/memory-store.js';
import type { StoreRegistry } from '../store/store-registry.js';
import type { QueryPath } from './table-activity.js';

/** How many records `memory_store.bytes` serialises to estimate a table's size. */
export const BYTES_SAMPLE = 32;
/** Bucket bounds of the duration histograms, in seconds: 10 µs to 10 s. */
const SECONDS_BUCKETS = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
/** Bucket bounds of the fsync group size: 100 B to 64 MiB. */
const BYTES_BUCKETS = [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 67_108_864];
/** What a record costs beside its fields (the Map entry, the object header), roughly. */
const RECORD_OVERHEAD_BYTES = 80;

/**
 * Creates the store's instruments on `meter`: observable ones read the counters the engine
 * keeps (nothing runs until the meter provider collects), histograms are fed by the
 * recorders set on each table and data directory while `timed` is true. Returns a function
 * that removes the callbacks and recorders.
 */
export function registerStoreInstruments(
  meter: Meter,
  registry: StoreRegistry,
  timed: boolean,
  queryDurations = true,
): () => void {
  const counter = (name: string, description: string) =>
    meter.createObservableCounter(`memory_store.${name}`, { description });
  const gauge = (name: string, description: string, unit?: string) =>
    meter.createObservableGauge(`memory_store.${name}`, { description, unit });
  const histogram = (name: string, description: string, unit: 's' | 'By') =>
    meter.createHistogram(`memory_store.${name}`, {
      description,
      unit,
      advice: { explicitBucketBoundaries: unit === 's' ? SECONDS_BUCKETS : BYTES_BUCKETS },
    });

  const records = gauge('records', 'Records held, per table');
  const bytes = gauge('bytes', 'Estimated memory held by the records, per table', 'By');
  const reads = counter('reads', 'Records read by key, per table');
  const writes = counter('writes', 'Records inserted or replaced, per table');
  const deletes = counter('deletes', 'Records deleted, per table');
  const expiries = counter('expiries', 'Records expired (time to live), per table');
  const evictions = counter('evictions', 'Records evicted for room, per table');
  const queries = counter('queries', 'Queries run, per table and access path');
  const backlog = gauge('event_backlog', 'Listener deliveries not yet settled, per table');
  const applied = gauge('replication.applied_seq', 'Last replication log change applied here');
  const commits = counter('transaction.commits', 'Transactions committed');
  const conflicts = counter('transaction.conflicts', 'Conflicts met by transactions');
  const retries = counter('transaction.retries', 'Transaction functions run again');
  const fsyncs = counter('wal.fsyncs', 'Log fsyncs, per data directory');
  const snapshots = counter('snapshots', 'Snapshots written, per data directory');
  const observables: Observable[] = [
    records,
    bytes,
    reads,
    writes,
    deletes,
    expiries,
    evictions,
    queries,
    backlog,
    applied,
    commits,
    conflicts,
    retries,
    fsyncs,
    snapshots,
  ];

  const observe: BatchObservableCallback = (result) => {
    for (const store of registry.list() as MemoryStore<object>[]) {
      const table = tableOf(store);
      const at = { table: table.name };
      const activity = table.activity;
      result.observe(records, table.rows.size, at);
      result.observe(bytes, estimateBytes(table.rows), at);
      result.observe(reads, activity.reads, at);
      result.observe(writes, activity.writes, at);
      result.observe(deletes, activity.deletes, at);
      result.observe(expiries, activity.expiries, at);
      result.observe(evictions, activity.evictions, at);
      for (const [path, n] of Object.entries(activity.queries))
        if (n > 0) result.observe(queries, n, { ...at, access_path: path });
      result.observe(backlog, eventBacklog(registry, table.name), at);
      const replication = store.replication;
      if (replication) result.observe(applied, replication.appliedSeq, at);
    }
    const transactions = registry.transactions;
    result.observe(commits, transactions.commits);
    result.observe(conflicts, transactions.conflicts);
    result.observe(retries, transactions.retries);
    for (const [dir, activity] of registry.persistence) {
      result.observe(fsyncs, activity.fsyncs, { dir });
      result.observe(snapshots, activity.snapshots, { dir });
    }
  };
  meter.addBatchObservableCallback(observe, observables);

  // Asks Redis, so on its own callback (an async one) beside the others.
  const lag = gauge('replication.lag', 'Replication log changes not yet applied here, per table');
  const observeLag: ObservableCallback = async (result) => {
    for (const store of registry.list() as MemoryStore<object>[]) {
      if (store.replication?.state !== 'ready') continue;
      const value = await replicationLag(registry, store);
      if (value !== undefined) result.observe(value, { table: store.tableName });
    }
  };
  lag.addCallback(observeLag);

  const stopTiming = timed ? startTiming(registry, histogram, queryDurations) : () => undefined;
  return () => {
    meter.removeBatchObservableCallback(observe, observables);
    lag.removeCallback(observeLag);
    stopTiming();
  };
}

/** Sets the recorders that feed the duration histograms; returns a function unsetting them. */
function startTiming(
  registry: StoreRegistry,
  histogram: (name: string, description: string, unit: 's' | 'By') => Histogram,
  queryDurations: boolean,
): () => void {
  const query = histogram('query.duration', 'Query duration, per table and access path', 's');
  const sweep = histogram('sweep.duration', 'TTL sweep duration, per table', 's');
  const fsync = histogram('wal.fsync.duration', 'Log fsync latency, per data directory', 's');
  const group = histogram('wal.fsync.bytes', 'Bytes made durable by one log fsync', 'By');
  const snapshot = histogram('snapshot.duration', 'Snapshot write duration', 's');
  const applied = histogram(
    'replication.apply_latency',
    'Time from a change committed in Redis to its being applied here',
    's',
  );
  const tables = registry.list().map((store) => tableOf(store));
  for (const table of tables) {
    const at = { table: table.name };
    const byPath = new Map<QueryPath, { table: string; access_path: QueryPath }>();
    table.activity.recorder = {
      sweep: (ms) => sweep.record(ms / 1000, at),
      ...(queryDurations && {
        query(path: QueryPath, ms: number) {
          let attributes = byPath.get(path);
          if (!attributes) byPath.set(path, (attributes = { ...at, access_path: path }));
          query.record(ms / 1000, attributes);
        },
      }),
    };
  }
  const dirs = [...registry.persistence];
  for (const [dir, activity] of dirs) {
    const at = { dir };
    activity.recorder = {
      fsync(ms, bytes) {
        fsync.record(ms / 1000, at);
        group.record(bytes, at);
      },
      snapshot: (ms) => snapshot.record(ms / 1000, at),
    };
  }
  const groups = [...registry.replicationGroups];
  for (const replication of groups)
    replication.applyRecorder = (seconds) => applied.record(seconds);
  return () => {
    for (const table of tables) table.activity.recorder = undefined;
    for (const [, activity] of dirs) activity.recorder = undefined;
    for (const replication of groups) replication.applyRecorder = undefined;
  };
}

/** A rough size of a table's records: the first few serialised, times the count. */
function estimateBytes(rows: ReadonlyMap<unknown, object>): number {
  if (rows.size === 0) return 0;
  let sampled = 0;
  let total = 0;
  for (const record of rows.values()) {
    total += serialisedLength(record) * 2 + RECORD_OVERHEAD_BYTES; // UTF-16 strings
    if (++sampled === BYTES_SAMPLE) break;
  }
  return Math.round((total / sampled) * rows.size);
}

function serialisedLength(record: object): number {
  try {
    return JSON.stringify(record)?.length ?? 0;
  } catch {
    return 0; // a BigInt field: counted as overhead only
  }
}
