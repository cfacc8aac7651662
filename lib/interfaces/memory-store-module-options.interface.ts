import type { EvictionPolicy } from '../engine/capacity.js';
import type { PersistenceFileSystem } from '../persistence/file-system.js';
import type { FsyncPolicy } from '../persistence/journal.js';
import type { TableClass } from './table-options.interface.js';

/** A store class (decorated with `@Store()`) or a bare `@Table()` class. */
export type StoreEntry = abstract new (...args: never[]) => object;

/** When expired records are swept: a cron expression (with seconds), or an interval. */
export type SweepSchedule = string | { everyMs: number };

/** How records with a time to live are expired. */
export interface TtlOptions {
  /**
   * When the sweep that removes expired records runs (each removal is an `expire` change).
   * Expired records are never seen even between sweeps: every operation removes them first.
   * @default { everyMs: 1000 }
   */
  sweep?: SweepSchedule;
  /**
   * How often, at most, the store reads the clock to check deadlines, in ms (as lru-cache's
   * `ttlResolution`): a record may be seen up to this long after its deadline. `0` reads the
   * clock on every check. A write that sets a deadline always reads the clock afresh.
   * @default 1
   */
  resolution?: number;
}

/** Where and how durably a store keeps its records on disk. */
export interface PersistenceOptions {
  /** The directory of the write-ahead log and snapshots (created if missing). */
  dir: string;
  /**
   * When a write's promise resolves: `'always'` after its log record is fsynced (no
   * acknowledged write is ever lost; concurrent writes share an fsync), `'everysec'` once
   * written, with an fsync every second (a crash loses at most about one second), `'no'` once
   * written (the OS decides when it reaches the disk).
   * @default 'everysec'
   */
  fsync?: FsyncPolicy;
  /** Write a snapshot (and drop the log it covers) after this many bytes of log. @default 64 MiB */
  snapshotEveryBytes?: number;
  /** The file operations to use; tests inject failures here. @default node:fs */
  fileSystem?: PersistenceFileSystem;
  /**
   * What start-up does with damage a crash cannot explain (a whole frame whose checksum
   * fails, a damaged length field, a missing log segment): `'fail'` stops start-up with
   * `CorruptStoreError` and changes no file; `'truncate'` accepts the loss: it starts with
   * what comes before the damage, moves what follows aside (`*.damaged` files) and logs an
   * error. A torn last record (a crash while appending) is always cut off with a warning.
   * @default 'fail'
   */
  onCorruption?: 'fail' | 'truncate';
  /**
   * The most payload bytes of one log or snapshot frame; larger batches and records span
   * several frames. For tests.
   * @internal
   * @default 1 MiB
   */
  frameBytes?: number;
}

/** Options every store takes, from the module or from its own `@Store()`. */
/**
 * How to reach Redis: a `redis://` URL, or ioredis options (`{ host, port, password, tls, … }`,
 * optionally with a `url`; Sentinel: `{ sentinels: [{ host, port }], name: 'mymaster' }`;
 * a Cluster: `{ cluster: [{ host, port }, …] }` with ioredis `Cluster` options beside it).
 */
export type RedisConnection =
  | string
  | ({ url?: string; cluster?: readonly { host: string; port: number }[] } & Record<
      string,
      unknown
    >);

export interface ReplicationOptions {
  /** The Redis server every instance shares. */
  redis: RedisConnection;
  /**
   * The prefix of every Redis key the stores use (wrapped in a hash tag: `{prefix}:…`).
   * Instances that share a prefix share the stores; give each application its own.
   * @default 'nestjs-memory-store'
   */
  prefix?: string;
  /**
   * This instance's name, reported as `StoreChange.origin` of the changes it makes.
   * @default `<hostname>:<pid>:<random>`
   */
  instanceId?: string;
  /**
   * About how many changes the Redis Stream keeps (`XADD MAXLEN ~`). An instance that falls
   * further behind (a long disconnect) reloads every replicated store from Redis.
   * @default 100000
   */
  logLength?: number;
  /** How long start-up waits for Redis, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Acknowledge a write only once this many Redis replicas hold it (Redis `WAIT` after each
   * commit), so that it survives a failover to one of them. When fewer confirm within
   * `waitTimeoutMs`, the write (committed and applied all the same) rejects with
   * `ReplicationWaitError`.
   * @default 0 (a write is acknowledged once the master committed it)
   */
  waitForReplicas?: number;
  /** How long a write waits for `waitForReplicas` replicas, in ms. @default 1000 */
  waitTimeoutMs?: number;
}

export interface StoreRuntimeOptions {
  /**
   * Keep the store's records on disk: every committed change goes to a write-ahead log,
   * replayed (after the last snapshot) when the application starts. `false` in a store's
   * options keeps that store in memory only.
   * @default memory only
   */
  persistence?: PersistenceOptions | false;
  /** Expiry of records with a time to live. */
  ttl?: TtlOptions;
  /** The most records the store holds; see `eviction`. @default no limit */
  maxRecords?: number;
  /**
   * The most bytes of records the store holds, each record measured by `sizeOf`; see
   * `eviction`. A record larger than this alone is always refused. Not for a replicated store.
   * @default no limit
   */
  maxSize?: number;
  /**
   * A record's size in bytes, for `maxSize`: called once per record written (records are
   * frozen, so the size is kept), so it should be cheap.
   * @default an estimate of the record's bytes on the heap: 16 per object or array, 8 per field or element, 16 + 2 per character of a string, 8 per number or boolean (see the README's Caching section)
   */
  sizeOf?: (record: object) => number;
  /**
   * At `maxRecords` or `maxSize`, a write that adds a record (or bytes) either evicts the
   * least recently used records (read by key or written; an `evict` change each) or is
   * refused with `StoreCapacityError`.
   * @default 'reject'
   */
  eviction?: EvictionPolicy;
  /**
   * Keep the store on every instance of the application, in agreement through Redis: reads
   * stay local and synchronous; writes, counters, unique checks, TTL deadlines and
   * transactions are decided in Redis and applied by every instance in the same order.
   * `false` in a store's options keeps that store local.
   * @default not replicated
   */
  replication?: ReplicationOptions | false;
}

/**
 * Options of `MemoryStoreModule.forRoot()` / `forRootAsync()` shared by every store of the
 * application; a store's `@Store()` options override them.
 */
export interface MemoryStoreModuleOptions extends StoreRuntimeOptions {
  /**
   * Publish committed changes to `@OnStoreEvent()` listeners and, when the app imports
   * `EventEmitterModule`, as EventEmitter2 events `memory-store.<table>.<op>`. `false` turns
   * both off (`store.changes()` still works: subscribing to it is explicit).
   * `highWaterMark`: a listener with that many unsettled promises is warned about.
   * @default true, highWaterMark 10000
   */
  events?: boolean | { highWaterMark?: number };
  /**
   * The default of `@Table({ strict })` for every table of the application: refuse
   * undeclared fields and check initialised fields' types (see `TableOptions.strict`).
   * @default false
   */
  strict?: boolean;
}

/** Options given to `forRoot()` / `forRootAsync()` beside the module options. */
export interface MemoryStoreModuleExtras {
  /**
   * Stores (or bare tables) provided and exported by the root module. Feature modules list
   * theirs with `forFeature()`.
   * @default []
   */
  stores?: readonly StoreEntry[];
}

export type { TableClass };
