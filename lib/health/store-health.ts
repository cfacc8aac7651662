import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { StoreRegistry } from '../store/store-registry.js';
import type { ReplicationState } from '../replication/replication-group.js';

/** Limits past which a store is reported `degraded` (it still serves). */
export interface HealthThresholds {
  /**
   * Changes of the replication log not yet applied on this instance.
   * @default 1000
   */
  maxReplicationLag?: number;
  /**
   * Deliveries to `@OnStoreEvent()` listeners not yet settled.
   * @default 1000
   */
  maxEventBacklog?: number;
  /**
   * The share of `maxRecords` in use, from 0 to 1.
   * @default 0.9
   */
  maxCapacityUsed?: number;
}

/**
 * Refuses thresholds that could never be passed or always are: not a number (`'90%'`, NaN),
 * negative, or a capacity share outside 0 to 1 (`90` meant as a percentage).
 */
export function checkThresholds(thresholds: HealthThresholds): void {
  const limits: [keyof HealthThresholds, number][] = [
    ['maxReplicationLag', Infinity],
    ['maxEventBacklog', Infinity],
    ['maxCapacityUsed', 1],
  ];
  for (const [name, max] of limits) {
    const value: unknown = thresholds[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > max)
      throw new MemoryStoreError(
        `MemoryStoreHealthIndicator: '${name}' must be a number from 0 to ${max === 1 ? 1 : 'Infinity'}, got ${describeValue(value)}`,
        '',
      );
  }
}

/** How long the health check waits for Redis to say how far behind an instance is. */
export const LAG_TIMEOUT_MS = 1000;

/** Where one store stands, as the health indicator reports it. */
export interface StoreHealth {
  /** `down`: it cannot take writes; `degraded`: it serves but a threshold is passed. */
  status: 'up' | 'degraded' | 'down';
  ready: boolean;
  records: number;
  /** Present when the store is persisted. */
  persistence?: { dir: string; state: 'writable' | 'failed' | 'closed'; error?: string };
  /** Present when the store is replicated; `lag` is absent when Redis cannot say. */
  replication?: { state: ReplicationState; appliedSeq: number; lag?: number };
  /** Deliveries to `@OnStoreEvent()` listeners not yet settled. */
  eventBacklog: number;
  /** Present when the store has `maxRecords`. */
  capacity?: { used: number; max: number; ratio: number };
  /** Why it is not `up`. */
  reasons?: string[];
}

/** Reads a store's state from the registry (its journal, replication group, change hub). */
export async function storeHealth(
  registry: StoreRegistry,
  store: MemoryStore<object>,
  thresholds: HealthThresholds = {},
): Promise<StoreHealth> {
  const down: string[] = [];
  const degraded: string[] = [];
  const health: StoreHealth = {
    status: 'up',
    ready: store.isReady,
    records: store.size,
    eventBacklog: eventBacklog(registry, store.tableName),
  };
  if (!health.ready) down.push('not ready');

  const runtime = registry.runtimeFor(store);
  const journal = runtime.persistence ? registry.journalFor(store) : undefined;
  if (journal) {
    const failure = journal.failure;
    const state = failure ? 'failed' : journal.closed ? 'closed' : 'writable';
    health.persistence = {
      dir: journal.dir,
      state,
      ...(failure ? { error: failure.message } : {}),
    };
    if (state !== 'writable') down.push(`persistence ${state}`);
  }

  const status = store.replication;
  if (status) {
    health.replication = { state: status.state, appliedSeq: status.appliedSeq };
    if (status.state !== 'ready') down.push(`replication ${status.state}`);
    else {
      const lag = await replicationLag(registry, store);
      if (lag !== undefined) health.replication.lag = lag;
      if (lag !== undefined && lag > (thresholds.maxReplicationLag ?? 1000))
        degraded.push(`replication lag ${lag}`);
    }
  }

  if (health.eventBacklog > (thresholds.maxEventBacklog ?? 1000))
    degraded.push(`event backlog ${health.eventBacklog}`);

  const max = runtime.capacity?.maxRecords;
  if (max !== undefined) {
    const ratio = max === 0 ? 1 : health.records / max;
    health.capacity = { used: health.records, max, ratio };
    if (ratio > (thresholds.maxCapacityUsed ?? 0.9))
      degraded.push(`capacity ${Math.round(ratio * 100)}% used`);
  }

  if (down.length > 0) health.status = 'down';
  else if (degraded.length > 0) health.status = 'degraded';
  if (down.length + degraded.length > 0) health.reasons = [...down, ...degraded];
  return health;
}

/** Deliveries to a table's `@OnStoreEvent()` listeners not yet settled. */
export function eventBacklog(registry: StoreRegistry, table: string): number {
  let pending = 0;
  for (const listener of registry.hub.pending())
    if (listener.table === table) pending += listener.pending;
  return pending;
}

/** How far behind the replication log this instance is, or undefined if Redis does not say in time. */
export async function replicationLag(
  registry: StoreRegistry,
  store: MemoryStore<object>,
): Promise<number | undefined> {
  const group = registry.replicationFor(store);
  if (!group) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, LAG_TIMEOUT_MS, undefined);
  });
  try {
    return await Promise.race([group.lag().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
