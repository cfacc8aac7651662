import type { EvictionPolicy } from '../engine/capacity.js';
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
   * clock on every check.
   * @default 1
   */
  resolution?: number;
}

/** Options every store takes, from the module or from its own `@Store()`. */
export interface StoreRuntimeOptions {
  /** Expiry of records with a time to live. */
  ttl?: TtlOptions;
  /** The most records the store holds; see `eviction`. @default no limit */
  maxRecords?: number;
  /**
   * At `maxRecords`, a write that adds a record either evicts the least recently used one
   * (read by key or written; an `evict` change) or is refused with `StoreCapacityError`.
   * @default 'reject'
   */
  eviction?: EvictionPolicy;
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
