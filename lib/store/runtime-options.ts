import { CronTime } from 'cron';
import type { CapacityOptions } from '../engine/capacity.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type {
  PersistenceOptions,
  ReplicationOptions,
  StoreRuntimeOptions,
  SweepSchedule,
} from '../interfaces/memory-store-module-options.interface.js';

/** The longest delay a Node.js timer takes; longer ones fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default sweep: once a second. */
export const DEFAULT_SWEEP: SweepSchedule = { everyMs: 1000 };

/** What a store runs with once the module's and its own options are merged. */
export interface ResolvedRuntime {
  readonly persistence?: PersistenceOptions;
  readonly sweep: SweepSchedule;
  readonly resolution: number;
  readonly capacity?: CapacityOptions;
  readonly replication?: ReplicationOptions;
}

/** Refuses malformed runtime options with a message naming where they were given. */
export function checkRuntimeOptions(options: StoreRuntimeOptions, where: string): void {
  const fail = (message: string) => new MemoryStoreError(`${where}: ${message}`, '');
  const { ttl, maxRecords, maxSize, sizeOf, eviction, persistence, replication } = options;
  if (replication !== undefined && replication !== false) checkReplication(replication, fail);
  if (persistence !== undefined && persistence !== false) {
    if (
      typeof persistence !== 'object' ||
      persistence === null ||
      typeof persistence.dir !== 'string' ||
      persistence.dir === ''
    ) {
      throw fail(
        "'persistence' must be false or { dir, fsync?, snapshotEveryBytes? } with a directory path",
      );
    }
    for (const key of Object.keys(persistence)) {
      if (
        ![
          'dir',
          'fsync',
          'snapshotEveryBytes',
          'fileSystem',
          'onCorruption',
          'frameBytes',
        ].includes(key)
      )
        throw fail(`unknown option 'persistence.${key}'`);
    }
    if (
      persistence.fsync !== undefined &&
      !['always', 'everysec', 'no'].includes(persistence.fsync)
    ) {
      throw fail("'persistence.fsync' must be 'always', 'everysec' or 'no'");
    }
    if (
      persistence.onCorruption !== undefined &&
      persistence.onCorruption !== 'fail' &&
      persistence.onCorruption !== 'truncate'
    ) {
      throw fail("'persistence.onCorruption' must be 'fail' or 'truncate'");
    }
    const frame = persistence.frameBytes;
    if (frame !== undefined && !(Number.isSafeInteger(frame) && frame >= 256 && frame <= 1 << 30)) {
      throw fail("'persistence.frameBytes' must be an integer from 256 to 2^30");
    }
    const every = persistence.snapshotEveryBytes;
    if (every !== undefined && !(Number.isSafeInteger(every) && every > 0)) {
      throw fail("'persistence.snapshotEveryBytes' must be a positive integer");
    }
  }
  if (ttl !== undefined) {
    if (typeof ttl !== 'object' || ttl === null)
      throw fail("'ttl' must be an object such as { sweep: { everyMs: 1000 } }");
    for (const key of Object.keys(ttl)) {
      if (key !== 'sweep' && key !== 'resolution') throw fail(`unknown option 'ttl.${key}'`);
    }
    if (ttl.sweep !== undefined) checkSweep(ttl.sweep, fail);
    if (ttl.resolution !== undefined && !(Number.isFinite(ttl.resolution) && ttl.resolution >= 0)) {
      throw fail("'ttl.resolution' must be a non-negative number of milliseconds");
    }
  }
  if (maxRecords !== undefined && !(Number.isSafeInteger(maxRecords) && maxRecords > 0)) {
    throw fail("'maxRecords' must be a positive integer");
  }
  if (maxSize !== undefined && !(Number.isSafeInteger(maxSize) && maxSize > 0)) {
    throw fail("'maxSize' must be a positive integer of bytes");
  }
  if (sizeOf !== undefined && typeof sizeOf !== 'function') {
    throw fail("'sizeOf' must be a function of a record returning its bytes");
  }
  if (eviction !== undefined && eviction !== 'lru' && eviction !== 'reject') {
    throw fail("'eviction' must be 'lru' or 'reject'");
  }
}

function checkReplication(replication: unknown, fail: (message: string) => Error): void {
  if (typeof replication !== 'object' || replication === null) {
    throw fail(
      "'replication' must be false or { redis: 'redis://host:6379' | ioredis options, prefix?, … }",
    );
  }
  const known = [
    'redis',
    'prefix',
    'instanceId',
    'logLength',
    'connectTimeoutMs',
    'waitForReplicas',
    'waitTimeoutMs',
  ];
  for (const key of Object.keys(replication)) {
    if (!known.includes(key)) throw fail(`unknown option 'replication.${key}'`);
  }
  const { redis, prefix, instanceId, logLength, connectTimeoutMs, waitForReplicas, waitTimeoutMs } =
    replication as Partial<ReplicationOptions>;
  if (
    waitForReplicas !== undefined &&
    !(Number.isSafeInteger(waitForReplicas) && waitForReplicas >= 0)
  ) {
    throw fail("'replication.waitForReplicas' must be a non-negative integer");
  }
  if (waitTimeoutMs !== undefined && !(Number.isSafeInteger(waitTimeoutMs) && waitTimeoutMs > 0)) {
    throw fail("'replication.waitTimeoutMs' must be a positive integer of milliseconds");
  }
  if (
    !(typeof redis === 'string' && redis !== '') &&
    !(typeof redis === 'object' && redis !== null && !Array.isArray(redis))
  ) {
    throw fail("'replication.redis' must be a redis:// URL or an object of ioredis options");
  }
  const cluster = (redis as { cluster?: unknown }).cluster;
  if (cluster !== undefined && !(Array.isArray(cluster) && cluster.length > 0)) {
    throw fail("'replication.redis.cluster' must be a non-empty array of { host, port } nodes");
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[^{}\s]+$/.test(prefix))) {
    throw fail("'replication.prefix' must be a non-empty string without braces or spaces");
  }
  if (instanceId !== undefined && (typeof instanceId !== 'string' || instanceId === '')) {
    throw fail("'replication.instanceId' must be a non-empty string");
  }
  if (logLength !== undefined && !(Number.isSafeInteger(logLength) && logLength >= 100)) {
    throw fail("'replication.logLength' must be an integer of at least 100");
  }
  if (
    connectTimeoutMs !== undefined &&
    !(Number.isFinite(connectTimeoutMs) && connectTimeoutMs > 0)
  ) {
    throw fail("'replication.connectTimeoutMs' must be a positive number of milliseconds");
  }
}

function checkSweep(sweep: unknown, fail: (message: string) => Error): void {
  if (typeof sweep === 'string') {
    try {
      new CronTime(sweep);
    } catch (error) {
      throw fail(`'ttl.sweep' is not a valid cron expression: ${(error as Error).message}`);
    }
    return;
  }
  const everyMs = (sweep as { everyMs?: unknown } | null)?.everyMs;
  if (
    typeof everyMs !== 'number' ||
    !Number.isFinite(everyMs) ||
    everyMs < 1 ||
    everyMs > MAX_TIMER_MS
  ) {
    throw fail(
      `'ttl.sweep' must be a cron expression or { everyMs: n } with 1 ≤ n ≤ ${MAX_TIMER_MS} (about 24.8 days)`,
    );
  }
}

/** The store's options over the module's. */
export function resolveRuntime(
  module: StoreRuntimeOptions,
  store: StoreRuntimeOptions,
  storeName = 'A store',
): ResolvedRuntime {
  const maxRecords = store.maxRecords ?? module.maxRecords;
  const maxSize = store.maxSize ?? module.maxSize;
  const sizeOf = store.sizeOf ?? module.sizeOf;
  if (store.eviction !== undefined && maxRecords === undefined && maxSize === undefined) {
    // the module's eviction is a default for the stores that have a capacity; a store's own
    // without any maxRecords would be silently ignored
    throw new MemoryStoreError(
      `${storeName} sets eviction: '${store.eviction}' but has no maxRecords or maxSize (in @Store or forRoot): there is nothing to evict`,
      '',
    );
  }
  const eviction = store.eviction ?? module.eviction ?? 'reject';
  const persistence = store.persistence === undefined ? module.persistence : store.persistence;
  const replication = store.replication === undefined ? module.replication : store.replication;
  return {
    replication: replication || undefined,
    persistence: persistence || undefined,
    sweep: store.ttl?.sweep ?? module.ttl?.sweep ?? DEFAULT_SWEEP,
    resolution: store.ttl?.resolution ?? module.ttl?.resolution ?? 1,
    capacity:
      maxRecords === undefined && maxSize === undefined
        ? undefined
        : { maxRecords, maxSize, sizeOf, eviction },
  };
}
