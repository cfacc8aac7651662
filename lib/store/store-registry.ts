import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { ChangeHub } from '../events/change-hub.js';
import { NODE_FILE_SYSTEM } from '../persistence/file-system.js';
import { Journal } from '../persistence/journal.js';
import { ReplicationGroup } from '../replication/replication-group.js';
import { resolve } from 'node:path';
import type { MemoryStoreModuleOptions } from '../interfaces/memory-store-module-options.interface.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { getTableName } from '../metadata/table-schema.js';
import { tableOf, type MemoryStore } from './memory-store.js';
import { PersistenceActivity } from '../metrics/persistence-activity.js';
import { resolveRuntime, type ResolvedRuntime } from './runtime-options.js';

/** A reference to a store: its table class, its store class, or its table's name. */
export type StoreReference = string | (abstract new (...args: never[]) => object);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds stores of every record type
type AnyStore = MemoryStore<any, any, any, any>;

const HOSTS = new WeakMap<object, StoreRegistry>();

/** The registry that created a store (listed in forRoot/forFeature), if any. */
export function registryOf(store: object): StoreRegistry | undefined {
  return HOSTS.get(store);
}

/** The SchedulerRegistry name of a store's TTL sweep. */
export function sweepName(table: string): string {
  return `memory-store:${table}:ttl-sweep`;
}

/**
 * The stores of one application. A store class has one instance per application, however
 * many modules list it, and a table belongs to one store class.
 */
export class StoreRegistry implements OnApplicationShutdown {
  readonly #logger = new Logger('MemoryStore');
  readonly #sweeps = new Map<string, 'cron' | 'interval'>();
  readonly #journals = new Map<string, Journal>();
  readonly #replication = new Map<string, ReplicationGroup>();
  #instanceId: string | undefined;
  #closed = false;
  readonly #instances = new Map<object, Promise<AnyStore>>();
  readonly #byTable = new Map<string, AnyStore>();
  readonly #byClass = new Map<object, AnyStore>();

  /** Delivers the changes of every store of the application. */
  readonly hub: ChangeHub;
  /** Transactions run through `MemoryStoreService.transaction()`, counted for metrics. */
  readonly transactions = { commits: 0, conflicts: 0, retries: 0 };
  /** The fsyncs and snapshots of each data directory, counted for metrics. */
  readonly persistence = new Map<string, PersistenceActivity>();

  constructor(
    readonly options: MemoryStoreModuleOptions,
    private readonly scheduler: SchedulerRegistry,
  ) {
    const events = options.events;
    this.hub = new ChangeHub(typeof events === 'object' ? events.highWaterMark : undefined);
  }

  /** The application's instance of a store class, created by `create` the first time. */
  instance(storeClass: object, create: () => Promise<AnyStore>): Promise<AnyStore> {
    let instance = this.#instances.get(storeClass);
    if (!instance) {
      instance = create().then((store) => this.#register(storeClass, store));
      this.#instances.set(storeClass, instance);
    }
    return instance;
  }

  #register(storeClass: object, store: AnyStore): AnyStore {
    const name = store.tableName;
    const existing = this.#byTable.get(name);
    if (existing) {
      throw new MemoryStoreError(
        `Table '${name}' is claimed by two stores, ${existing.constructor.name} and ${nameOf(storeClass)}: ` +
          'a table belongs to one store class',
        name,
      );
    }
    this.#byTable.set(name, store);
    this.#byClass.set(storeClass, store);
    HOSTS.set(store, this);
    return store;
  }

  /** The store for a table class, a store class or a table name. */
  get(reference: StoreReference): AnyStore {
    const found = this.find(reference);
    if (!found) {
      throw new MemoryStoreError(
        `No store for ${typeof reference === 'string' ? `table '${reference}'` : nameOf(reference)}: ` +
          'is it listed in MemoryStoreModule.forRoot({ stores }) or forFeature()?',
        typeof reference === 'string' ? reference : '',
      );
    }
    return found;
  }

  find(reference: StoreReference): AnyStore | undefined {
    if (typeof reference === 'string') return this.#byTable.get(reference);
    if (TABLE_METADATA.isTable(reference)) return this.#byTable.get(getTableName(reference));
    return this.#byClass.get(reference);
  }

  /** Every registered store, in registration order. */
  list(): AnyStore[] {
    return [...this.#byTable.values()];
  }

  /** The module's options merged with a store's own. */
  runtimeFor(store: AnyStore): ResolvedRuntime {
    return resolveRuntime(this.options, store.storeOptions, store.constructor.name);
  }

  /**
   * Registers a store's TTL sweep with the SchedulerRegistry (once), under
   * `memory-store:<table>:ttl-sweep`: a cron job or an interval, as configured.
   */
  scheduleSweep(store: AnyStore): void {
    const name = sweepName(store.tableName);
    if (this.#closed || this.#sweeps.has(name)) return;
    const { sweep } = this.runtimeFor(store);
    const run = () => {
      try {
        const started = performance.now();
        store.sweep();
        tableOf(store).activity.swept(started);
      } catch (error) {
        this.#logger.error(
          `TTL sweep of table '${store.tableName}' failed: ${(error as Error).message}`,
          (error as Error).stack,
        );
      }
    };
    if (typeof sweep === 'string') {
      const job = CronJob.from({ cronTime: sweep, onTick: run, start: true });
      this.scheduler.addCronJob(name, job);
      this.#sweeps.set(name, 'cron');
    } else {
      const interval = setInterval(run, sweep.everyMs);
      interval.unref?.();
      this.scheduler.addInterval(name, interval);
      this.#sweeps.set(name, 'interval');
    }
  }

  /** The journal of a store's persistence directory (shared by the stores using it), if any. */
  journalFor(store: AnyStore): Journal | undefined {
    const options = this.runtimeFor(store).persistence;
    if (!options) return undefined;
    const dir = resolve(options.dir);
    let journal = this.#journals.get(dir);
    if (!journal) {
      journal = new Journal(
        dir,
        options.fsync ?? 'everysec',
        this.#activityOf(dir).instrument(options.fileSystem ?? NODE_FILE_SYSTEM),
        {
          snapshotEveryBytes: options.snapshotEveryBytes,
          onCorruption: options.onCorruption,
          frameBytes: options.frameBytes,
        },
      );
      this.#journals.set(dir, journal);
    } else if (journal.fsync !== (options.fsync ?? 'everysec')) {
      throw new MemoryStoreError(
        `Stores persisted in ${dir} disagree on 'fsync' (${journal.fsync} and ${options.fsync ?? 'everysec'}): one directory has one policy`,
        store.tableName,
      );
    }
    return journal;
  }

  #activityOf(dir: string): PersistenceActivity {
    let activity = this.persistence.get(dir);
    if (!activity) this.persistence.set(dir, (activity = new PersistenceActivity()));
    return activity;
  }

  /**
   * The replication group of a store (shared by the stores that use the same Redis and
   * prefix), if the store is replicated.
   */
  /** The application's replication groups (one per Redis server and prefix). */
  get replicationGroups(): Iterable<ReplicationGroup> {
    return this.#replication.values();
  }

  replicationFor(store: AnyStore): ReplicationGroup | undefined {
    const options = this.runtimeFor(store).replication;
    if (!options) return undefined;
    const id = JSON.stringify([options.redis, options.prefix ?? null, options.instanceId ?? null]);
    let group = this.#replication.get(id);
    if (!group) {
      this.#instanceId ??= ReplicationGroup.defaultInstanceId();
      group = new ReplicationGroup(options, this.#instanceId);
      this.#replication.set(id, group);
    }
    return group;
  }

  /** Stops every sweep, delivers what changes are queued, and closes the journals (a final snapshot). */
  async onApplicationShutdown(): Promise<void> {
    this.#closed = true;
    this.hub.close();
    await Promise.all([...this.#journals.values()].map((journal) => journal.close()));
    await Promise.all([...this.#replication.values()].map((group) => group.close()));
    for (const [name, kind] of this.#sweeps) {
      if (!this.scheduler.doesExist(kind, name)) continue;
      if (kind === 'cron') this.scheduler.deleteCronJob(name);
      else this.scheduler.deleteInterval(name);
    }
    this.#sweeps.clear();
  }
}

function nameOf(target: object): string {
  return typeof target === 'function' ? target.name : Object.prototype.toString.call(target);
}
