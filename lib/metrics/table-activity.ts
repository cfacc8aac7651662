import type { AccessPath } from '../query/planner.js';

/** The access paths a query can take, as metrics label them. */
export type QueryPath = AccessPath['kind'];

/**
 * What a table has done since it was created: plain integers the engine bumps on its hot
 * paths (an increment each, nothing else), read by the metrics' observable instruments only
 * when a meter provider collects. Durations are timed only while a recorder is set.
 */
export class TableActivity {
  /** `get(key)` calls. */
  reads = 0;
  /** Records inserted or replaced. */
  writes = 0;
  /** Records deleted (one by one, by query, or by `deleteAll`). */
  deletes = 0;
  /** Records removed because their time to live passed. */
  expiries = 0;
  /** Records evicted to make room (`eviction: 'lru'`). */
  evictions = 0;
  /** `select()` and `explain()` calls, by the access path the planner chose. */
  readonly queries: Record<QueryPath, number> = {
    key: 0,
    index: 0,
    range: 0,
    ordered: 0,
    compound: 0,
    union: 0,
    scan: 0,
  };
  /** Set by the metrics module while a meter provider records: times queries and sweeps. */
  recorder: ActivityRecorder | undefined;

  /** Counts a committed change of one record. */
  changed(op: 'insert' | 'update' | 'delete' | 'expire' | 'evict' | 'clear'): void {
    if (op === 'insert' || op === 'update') this.writes++;
    else if (op === 'delete') this.deletes++;
    else if (op === 'expire') this.expiries++;
    else if (op === 'evict') this.evictions++;
  }

  /** A time to pass to `queried` (0 unless query durations are recorded). */
  start(): number {
    return this.recorder?.query ? performance.now() : 0;
  }

  /** Counts a query, and records its duration from `started` when durations are recorded. */
  queried(path: QueryPath, started: number): void {
    this.queries[path]++;
    this.recorder?.query?.(path, performance.now() - started);
  }

  /** Records how long a TTL sweep took. */
  swept(started: number): void {
    this.recorder?.sweep(performance.now() - started);
  }
}

/** Where timed activity goes (histograms of the metrics module). */
export interface ActivityRecorder {
  /** Absent when query durations are not recorded (then queries are not timed). */
  query?(path: QueryPath, ms: number): void;
  sweep(ms: number): void;
}
