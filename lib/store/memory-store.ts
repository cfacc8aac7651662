import { Logger, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  BULK_THRESHOLD,
  bulkDelete,
  bulkUpdate,
  bulkWrite,
  type BulkOptions,
} from '../engine/bulk-write.js';
import {
  MemoryTable,
  type RecordUpdate,
  type TableChange,
  type TtlSetting,
} from '../engine/memory-table.js';
import type { Journal, LogOp } from '../persistence/journal.js';
import { encodeValue } from '../persistence/value-codec.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { ReadOnlyStoreError } from '../errors/read-only-store.error.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StoreCapacityError } from '../errors/store-capacity.error.js';
import { StoreInitializationError } from '../errors/store-initialization.error.js';
import { TransactionConflictError } from '../errors/transaction-conflict.error.js';
import type { ReplicationStatus, TableReplica } from '../replication/replication-group.js';
import { writeManyReplicated } from '../replication/replicated-write-many.js';
import { QueryError } from '../errors/query.error.js';
import type { StoreOptions } from '../interfaces/store-options.interface.js';
import type { RecordKey, TableClass } from '../interfaces/table-options.interface.js';
import { STORE_METADATA } from '../metadata/store-metadata.storage.js';
import { getTableSchema } from '../metadata/table-schema.js';
import { aggregate, type AggregateResult, type AggregateSpec } from '../query/aggregate.js';
import { selectJoined, type JoinSide } from '../query/join.js';
import type {
  JoinExplanation,
  JoinedPaths,
  JoinMap,
  Joined,
  JoinSelectOptions,
} from '../query/join.types.js';
import { liveQuery, type WatchOptions } from '../query/live-query.js';
import { MatchQuery } from '../query/match.js';
import { compilePageOptions, pageOfSorted } from '../query/cursor.js';
import type { AccessPath } from '../query/planner.js';
import type {
  Page,
  PageOptions,
  DataKeys,
  NestedPaths,
  NumericKeys,
  Query,
  QueryExplanation,
  SelectOptions,
} from '../query/query.types.js';
import { BAG_STORE, BagRules } from './bag-rules.js';
import { resolveStrictness } from './field-check.js';
import type { NewRecord } from './new-record.js';
import { dependenciesReady } from './store-dependencies.js';
import { startStore } from './store-lifecycle.js';
import { TableLoader } from './table-loader.js';
import { registryOf, type StoreReference } from './store-registry.js';
import { filter as filterChanges, type Observable } from 'rxjs';
import { compileChangeFilter } from '../events/change-filter.js';
import type { ChangeFilter, StoreChange } from '../events/store-change.interface.js';
import { currentTransaction } from '../transactions/transaction-context.js';
import { Transaction, type TableTransaction } from '../transactions/transaction.js';
import { CoarseClock } from '../ttl/clock.js';
import { mergedChange, type MergeMode } from '../update/deep-merge.js';
import type { DeepPatch, NoOperators, OperatorsOnly } from '../update/update.types.js';
import type { Duration } from '../ttl/duration.js';
import { parseTtl, type SlidingTtl } from '../cache/sliding-ttl.js';
import {
  ReadThrough,
  type FetchOptions,
  type Loader,
  type ReadThroughTarget,
} from '../cache/read-through.js';
import { noteStarted } from '../cache/started-stores.js';

/**
 * The fields a caller passes to write a record: any data field of the table class. An
 * optional field (`firstName?: string`) also takes `null`, which clears it.
 */
export type RecordInput<T> = {
  [K in DataKeys<T>]?: undefined extends T[K] ? T[K] | null : T[K];
};

/** A record or a projection of it, as `select()` returns it. */
export type Selected<T, F extends DataKeys<T>> = [DataKeys<T>] extends [F] ? T : Pick<T, F>;

type Phase = 'new' | 'starting' | 'ready' | 'failed';

/**
 * What a store serves: `'set'` tables (`'set'` and `'ordered_set'`, one record per key) or
 * bag tables (`'bag'` and `'duplicate_bag'`, served by `BagStore`).
 */
export type StoreKind = 'set' | 'bag';

/** A read or write by key's type: `Bag` for a `BagStore`, else `One`. */
export type ByKind<K extends StoreKind, Bag, One> = K extends 'bag' ? Bag : One;

/** How a store's bulk operations report and log (for the module's own services). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
export let bulkOptionsOf: (store: MemoryStore<any, any, any, any>) => BulkOptions;

/**
 * A store of one table's records. Extend it in a class decorated with `@Store()`; Nest
 * creates, starts and injects it like any provider. Reads are synchronous and return the
 * stored records themselves (frozen instances of the table class, never copies); writes
 * return a promise that resolves once the write is as durable as the store promises, and
 * have synchronous `dirty*` twins.
 *
 * A subclass that defines `onModuleInit()` must call `await super.onModuleInit()`.
 */
export class MemoryStore<
  T extends object = object,
  S = unknown,
  D extends DataKeys<T> = DataKeys<T>,
  K extends StoreKind = 'set',
> implements OnModuleInit {
  static {
    bulkOptionsOf = (store) => store.#bulkOptions();
  }
  readonly #table: MemoryTable<T>;
  #phase: Phase = 'new';
  #starting: Promise<void> | undefined;
  #journal: Journal | undefined;
  #replica: TableReplica | undefined;
  #state: unknown;
  readonly #options: StoreOptions;
  /** Log records of a bulk operation's changes, held to be logged together when it ends. */
  #held: LogOp[] | undefined;
  #readThrough: ReadThrough<T> | undefined;
  /** A bag table's reads and writes by key; undefined for other tables. */
  readonly #bag: BagRules<T> | undefined;

  constructor() {
    const options = STORE_METADATA.get(new.target);
    if (!options) {
      throw new MemoryStoreError(
        `${new.target.name} extends MemoryStore but is not decorated with @Store()`,
        '',
      );
    }
    this.#options = options;
    this.#table = new MemoryTable(getTableSchema(options.table as TableClass<T>));
    this.#bag = this.#table.schema.bagKey === undefined ? undefined : new BagRules(this.#table);
    TABLES.set(this, this.#table as unknown as MemoryTable<object>);
  }

  /** The table's name. */
  get tableName(): string {
    return this.#table.name;
  }

  /** The `@Table()` class of the records. */
  get table(): TableClass<T> {
    return this.#table.schema.target;
  }

  /**
   * The store's state, set at start-up by `initialState`. Its type is the store's second type
   * argument (`class PeopleStore extends MemoryStore<Person, { tag: string }>`), `unknown`
   * without one.
   * @default `{ startedAt: Date, tableName: string }`
   */
  get state(): S {
    return this.#state as S;
  }

  /** The table's secondary indexes; a compound one's `field` is its fields joined by ', '. */
  indexes(): { field: string; unique: boolean }[] {
    const { indexes, compoundIndexes } = this.#table.schema;
    return [
      ...indexes.map(({ field, unique }) => ({ field, unique })),
      ...compoundIndexes.map(({ fields, unique }) => ({ field: fields.join(', '), unique })),
    ];
  }

  /** True once the store has finished starting. */
  get isReady(): boolean {
    return this.#phase === 'ready';
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /**
   * Starts the store: table and indexes, `beforeInit` hooks, seeds, initial state. Nest
   * calls it once per module that lists the store; every call shares one start.
   */
  onModuleInit(): Promise<void> {
    return (this.#starting ??= this.#start());
  }

  async #start(): Promise<void> {
    const registry = registryOf(this);
    if (!registry) {
      throw new MemoryStoreError(
        `${this.constructor.name} is not managed by MemoryStoreModule: import MemoryStoreModule.forRoot() once ` +
          "and list the store in forRoot({ stores }) or forFeature([...]), not in a module's providers",
        this.#table.name,
      );
    }
    const runtime = registry.runtimeFor(this);
    const table = this.#table;
    const name = table.name;
    try {
      const strict = resolveStrictness(table.schema, registry.options, this.constructor.name);
      this.#checkKind(runtime.capacity?.eviction);
      // recovery first: writes are refused until it is done (the phase is still 'new')
      const journal = registry.journalFor(this);
      this.#journal = journal;
      if (journal) {
        const loader = new TableLoader(table, {
          rows: table.rows,
          deadline: (key) => table.deadlineOf(key),
          period: (key) => table.periodOf(key),
          counters: () => [...table.counters.entries()],
          version: table.schema.version,
          bulk: () => table.bulk,
        });
        // recovery loads the table straight from the files, if it has not run yet
        journal.target(name, loader);
        try {
          await journal.open(name);
        } catch (error) {
          // Damage is a CorruptStoreError (documented); a raw file-system error is not.
          if (error instanceof MemoryStoreError) throw error;
          throw new StoreInitializationError(
            name,
            this.constructor.name,
            `cannot use the persistence directory ${journal.dir}: ${(error as Error).message}`,
            error,
          );
        }
        // else, the state recovery kept, in slices so that a large table does not stall the event loop
        const state = journal.recovered(name);
        if (state) await loader.loadKept(state);
        journal.attach(name, loader.view);
      }
      const replication = registry.replicationFor(this);
      if (replication) {
        if (journal) {
          throw new MemoryStoreError(
            `${this.constructor.name} is both persisted and replicated: a replicated store is as durable as ` +
              "its Redis server (see the README); give it 'persistence: false' or 'replication: false'",
            name,
          );
        }
        if (table.schema.sliding) {
          throw new MemoryStoreError(
            `${this.constructor.name} is replicated and its table's ttl slides: renewals on reads would be ` +
              'local while Redis decides deadlines, so a record in use could expire; use a fixed ttl (and ' +
              'write the record again to extend it)',
            name,
          );
        }
        if (runtime.capacity?.maxSize !== undefined) {
          throw new MemoryStoreError(
            `${this.constructor.name} is replicated with maxSize, which Redis cannot check (it sees no record ` +
              'sizes); use maxRecords',
            name,
          );
        }
        if (runtime.capacity?.eviction === 'lru') {
          throw new MemoryStoreError(
            `${this.constructor.name} is replicated with eviction: 'lru', which needs one notion of "least recently ` +
              "used\" across instances; use eviction: 'reject' (checked in Redis)",
            name,
          );
        }
        // a bag's rows are made on every instance: each makes its own (random prefix, counter)
        if (this.#bag) table.distinctRows(`${randomBytes(6).toString('base64url')}.`);
        this.#replica = await replication.attach(table, runtime.capacity?.maxRecords);
      }
      const replica = this.#replica;
      this.#phase = 'starting';
      const interest = registry.hub.interestIn(name);
      table.configure({
        clock: new CoarseClock(runtime.resolution),
        capacity: runtime.capacity,
        onFirstDeadline: () => registry.scheduleSweep(this),
        wantsChanges: journal ? undefined : () => interest.active,
        onChange: (change) => {
          if (journal) {
            const op = logOp(table, change);
            if (this.#held) this.#held.push(op);
            else journal.log(op);
          }
          const bag = this.#bag;
          registry.hub.publish(name, bag ? bagChange(bag, change) : change, replica?.origin);
        },
        onDue: replica ? () => replica.due() : undefined,
        onRenew: journal
          ? (key, deadline) => {
              const record = encodeValue(table.rows.get(key));
              const { version } = table.schema;
              const period = table.periodOf(key);
              const op: LogOp =
                period === undefined
                  ? ['p', name, key, record, deadline, version]
                  : ['p', name, key, record, deadline, version, period];
              if (this.#held) this.#held.push(op);
              else journal.log(op);
            }
          : undefined,
        onCounter: journal
          ? (counter, value) => {
              // a bulk operation's (a restore's counters) are logged with its records
              const op: LogOp = ['n', name, counter, value];
              if (this.#held) this.#held.push(op);
              else journal.log(op);
            }
          : undefined,
        persistence: journal,
        strict,
      });
      await dependenciesReady(this, registry);
      this.#state = await startStore(
        this,
        table,
        this.#options,
        journal !== undefined || replica !== undefined,
        replica ? (records) => this.#seed(records) : (records) => this.#seedLocal(records),
      );
      this.#phase = 'ready';
      noteStarted(this);
    } catch (error) {
      this.#phase = 'failed';
      throw error;
    }
    if (this.#table.schema.ttl !== undefined) registry.scheduleSweep(this);
  }

  /** The options this store was declared with. */
  get storeOptions(): StoreOptions {
    return this.#options;
  }

  /**
   * Removes the records whose time to live has passed, each as an `expire` change, and
   * returns how many. The scheduled sweep calls it; reads never see expired records anyway.
   */
  sweep(): number {
    if (this.#replica) {
      this.#replica.group.expire().catch(() => undefined); // reported by the connection; the next sweep retries
      return 0;
    }
    return this.#table.expire();
  }

  /**
   * Where a replicated store stands with Redis (`state` is `'degraded'` while Redis cannot be
   * reached); undefined for a store that is not replicated.
   */
  get replication(): ReplicationStatus | undefined {
    return this.#replica?.group.status;
  }

  // ---- reads -------------------------------------------------------------------------

  /**
   * The record with this primary key; without one, `fallback` if given, else `undefined`.
   * A `BagStore` returns the key's records, and `fallback` (if given) when it holds none.
   *
   * @example
   * ```ts
   * const theme = settings.get('theme', DEFAULT_THEME); // Setting, never undefined
   * ```
   */
  get<F>(key: RecordKey, fallback: F): ByKind<K, T[] | F, T | F>;
  get(key: RecordKey): ByKind<K, T[], T | undefined>; // last: ReturnType<Store['get']> reads this one
  get(key: RecordKey, fallback?: unknown): unknown {
    if (this.#bag) {
      const records = this.#bagGet(key, 'get');
      return records.length === 0 && fallback !== undefined ? fallback : records;
    }
    const tx = currentTransaction();
    return (tx ? tx.on(this.#table).get(key) : this.#table.get(key)) ?? fallback;
  }

  /**
   * The record with this primary key; `RecordNotFoundError` if there is none. A `BagStore`
   * returns the key's records, and throws when it holds none.
   */
  getOrThrow(key: RecordKey): ByKind<K, T[], T> {
    const found = this.#bag ? this.#bagGet(key, 'getOrThrow') : (this.get(key) as T | undefined);
    if (found === undefined || (Array.isArray(found) && found.length === 0))
      throw new RecordNotFoundError(this.#table.name, key);
    return found as ByKind<K, T[], T>;
  }

  /** A bag's records under a key, as the current transaction (if any) sees them. */
  #bagGet(key: RecordKey, operation: string): T[] {
    const bag: BagRules<T> = this.#bag!;
    bag.checkKey(key, operation);
    const tx = currentTransaction();
    return tx ? bag.recordsIn(tx.on(this.#table), key, true) : bag.records(key);
  }

  /**
   * Uses the record as `get()` does without reading it: renews its sliding deadline (see
   * `SlidingTtl`) and its place in the LRU order. Returns false when there is no such record.
   * A renewal is persisted lazily, like one made by `get()`.
   */
  touch(key: RecordKey): boolean {
    if (this.#bag) return this.exists(key); // a bag has no sliding ttl or LRU order to renew
    return this.#table.touch(key);
  }

  /**
   * The record with this key, or, when the store lacks it, the one `loader(key)` returns,
   * stored with `options.ttl`. However many callers fetch a key meanwhile, its loader runs
   * once and they all get its record (or its error, which is not cached). With
   * `staleWhileRevalidate`, a record past its `ttl` is still returned while one call of the
   * loader refreshes it. A loader returning `undefined` stores nothing (the promise resolves
   * to `undefined`).
   *
   * @example
   * ```ts
   * const user = await users.fetch(id, (key) => api.loadUser(key), { ttl: '5m' });
   * ```
   */
  fetch<R extends RecordInput<T> | undefined>(
    key: RecordKey,
    loader: Loader<R>,
    options?: FetchOptions,
  ): Promise<T | Extract<R, undefined>> {
    if (this.#bag === undefined && options?.staleWhileRevalidate === undefined) {
      // a record found: the least a promise of it costs (no load to join, nothing stale)
      const tx = currentTransaction();
      const record = tx ? tx.on(this.#table).get(key) : this.#table.get(key);
      if (record !== undefined) return Promise.resolve(record);
    }
    return this.#fetch(key, loader, options);
  }

  #fetch<R extends RecordInput<T> | undefined>(
    key: RecordKey,
    loader: Loader<R>,
    options?: FetchOptions,
  ): Promise<T | Extract<R, undefined>> {
    if (this.#bag) {
      return rejected(
        new MemoryStoreError(
          `fetch() loads one record per key, and '${this.#table.name}' is a bag (many records per key): use get() and write()`,
          this.#table.name,
        ),
      );
    }
    const target = this as unknown as ReadThroughTarget<T>; // a set store: bags returned above
    const reads = (this.#readThrough ??= new ReadThrough<T>(target, this.#table.keyField, () =>
      this.#table.schema.sliding ? undefined : this.#table.schema.ttl,
    ));
    try {
      return reads.fetch(key, loader, options) as Promise<T | Extract<R, undefined>>;
    } catch (error) {
      return rejected(error);
    }
  }

  /** True if a record has this primary key. */
  exists(key: RecordKey): boolean {
    if (this.#bag) return this.#bagGet(key, 'exists').length > 0;
    const tx = currentTransaction();
    return tx ? tx.on(this.#table).get(key) !== undefined : this.#table.has(key);
  }

  /** Every record. The array is frozen and shared until the next write. */
  all(): readonly T[] {
    const tx = currentTransaction();
    return tx ? Object.freeze(tx.on(this.#table).select()) : this.#table.all();
  }

  /** Every primary key (a bag's keys once each, in the order of their first record). */
  keys(): RecordKey[] {
    const bag = this.#bag;
    if (bag) return [...new Set(this.all().map((r) => bag.keyOf(r)))];
    const tx = currentTransaction();
    return tx
      ? tx
          .on(this.#table)
          .select()
          .map((r) => this.#table.keyOf(r))
      : this.#table.keys();
  }

  /** How many records the store holds. */
  get size(): number {
    const tx = currentTransaction();
    return tx ? tx.on(this.#table).select().length : this.#table.size;
  }

  /**
   * Milliseconds until the record expires; undefined without a deadline or a record. A
   * `BagStore` takes a record (its own deadline) or a key (until its last record expires;
   * undefined if one of them has no deadline).
   */
  ttl(key: ByKind<K, RecordKey | T, RecordKey>): number | undefined {
    const tx = currentTransaction();
    const read = (row: RecordKey) => (tx ? tx.on(this.#table).ttl(row) : this.#table.ttl(row));
    return this.#bag ? this.#bag.ttl(key, read) : read(key as RecordKey);
  }

  /** The first record matching the query. */
  one(query?: Query<T>): T | undefined {
    const tx = currentTransaction();
    return tx ? tx.on(this.#table).select(query, { limit: 1 })[0] : this.#table.one(query);
  }

  /**
   * The records matching the query, ordered, paged and projected as the options say. With
   * `join`, each record comes with the related records of other stores attached (see `Join`).
   *
   * @example
   * ```ts
   * people.select({ active: true }, { join: { dept: { store: DepartmentsStore, on: 'department' } } });
   * // [{ uuid: 'u-1', department: 'sales', …, dept: { name: 'sales', floor: 3 } }, …]
   * ```
   */
  select<const J extends JoinMap<T, J>, F extends DataKeys<T> = DataKeys<T>>(
    query: Query<T> | undefined,
    options: JoinSelectOptions<T, F, J>,
  ): (Selected<T, F> & Joined<J>)[];
  select<F extends DataKeys<T> = DataKeys<T>>(
    query?: Query<T>,
    options?: SelectOptions<T, F>,
  ): Selected<T, F>[];
  select(query?: Query<T>, options?: SelectOptions<T>): object[] {
    if ((options as { join?: unknown } | undefined)?.join !== undefined)
      return this.#joined(query, options as Record<string, unknown>);
    const tx = currentTransaction();
    return tx ? tx.on(this.#table).select(query, options) : this.#table.select(query, options);
  }

  /**
   * The current result of `select(query, { orderBy, limit })` as an RxJS Observable: emitted
   * at subscription, then after each commit that changes it (never for one that does not),
   * kept up to date from the changed records alone. Without `orderBy`, in key order.
   *
   * @example
   * ```ts
   * people.watch({ active: true }, { orderBy: { visits: 'desc' }, limit: 20 }).subscribe(render);
   * ```
   */
  watch(query?: Query<T>, options?: WatchOptions<T>): Observable<T[]> {
    const registry = registryOf(this);
    if (!registry) {
      throw new MemoryStoreError(
        `${this.constructor.name} is not managed by MemoryStoreModule`,
        this.#table.name,
      );
    }
    return liveQuery(this.#table, registry.hub.changes(this.#table.name), query, options);
  }

  /** A select with joins; `explanations` receives each join's access path. */
  #joined(
    query: unknown,
    options: Record<string, unknown>,
    explanations?: Record<string, JoinExplanation>,
  ): object[] {
    const view = currentTransaction()?.on(this.#table);
    return selectJoined(
      this.#table as unknown as MemoryTable<object>,
      view ? (q, o) => view.select(q, o) : (q, o) => this.#table.select(q, o),
      query,
      options,
      (store, alias) => joinSide(this, store, alias),
      explanations,
    );
  }

  /**
   * A page of the records matching the query, in `orderBy` order (the primary key's by
   * default), and the cursor of the next page (`undefined` after the last). The cursor
   * holds the last record's order values and key, not an offset: records written or deleted
   * between pages neither repeat nor skip the others, and with an index on the order every
   * page is a seek. A cursor of another table or order is a `QueryError`.
   *
   * @example
   * ```ts
   * let page = people.page({ active: true }, { orderBy: { age: 'asc' }, limit: 50 });
   * while (page.next) page = people.page({ active: true }, { orderBy: { age: 'asc' }, limit: 50, after: page.next });
   * ```
   */
  page(query: Query<T> | undefined, options: PageOptions<T>): Page<T> {
    const tx = currentTransaction();
    if (!tx) return this.#table.page(query, options);
    const { keyField, schema } = this.#table;
    const compiled = compilePageOptions(this.#table.name, keyField, options, schema.bagKey);
    const view = tx.on(this.#table);
    return pageOfSorted(
      view.select(query, { orderBy: options.orderBy ?? { [schema.bagKey ?? keyField]: 'asc' } }),
      compiled,
    );
  }

  /** How many records match the query (all of them without one). */
  count(query?: Query<T>): number {
    const tx = currentTransaction();
    return tx ? tx.on(this.#table).select(query).length : this.#table.count(query);
  }

  /**
   * Runs the select and tells how: the access path the planner chose (key lookup, index
   * lookup, index range, index order, index union or full scan), the rows it expected, the
   * rows it examined and the rows it returned. With `join`, also how each join reached the
   * other store (`joins`: key lookup, index lookup, or a hash map built by one scan of it).
   */
  explain<
    const J extends JoinMap<T, J> = Record<never, never>,
    F extends DataKeys<T> = DataKeys<T>,
  >(
    query?: Query<T>,
    options?: SelectOptions<T, F> | JoinSelectOptions<T, F, J>,
  ): QueryExplanation {
    const { join, ...rest } = (options ?? {}) as Record<string, unknown>;
    const joins: Record<string, JoinExplanation> | undefined = join === undefined ? undefined : {};
    const joined = joins && this.#joined(query, options as Record<string, unknown>, joins);
    const explained = this.#table.explain(query, joins ? rest : options);
    const { plan, examinedRows } = explained;
    const returnedRows = joined ? joined.length : explained.returnedRows;
    const path = plan.path;
    return {
      ...(joins ? { joins } : {}),
      strategy: STRATEGIES[path.kind],
      ...('field' in path ? { field: path.field } : {}),
      ordered: plan.ordered,
      estimatedRows: plan.estimatedRows,
      examinedRows,
      returnedRows,
      path,
    };
  }

  /**
   * Groups the records matching the query and computes figures per group: `count`, and
   * `sum`/`avg` of numeric fields, `min`/`max` and `countDistinct` of any field. Without
   * `groupBy`, one result covers every match.
   *
   * @example
   * ```ts
   * people.aggregate({ active: true }, { groupBy: 'department', count: true, avg: 'age' });
   * // [{ group: { department: 'sales' }, count: 3, avg: { age: 41.3 } }, …]
   * ```
   */
  aggregate<S extends AggregateSpec<DataKeys<T> | NestedPaths<T>, NumericKeys<T>>>(
    query: Query<T> | undefined,
    spec: S,
  ): AggregateOutput<S>;
  /** Aggregates over a join: group by, count or sum the joined fields too (`'dept.region'`). */
  aggregate<
    const J extends JoinMap<T, J>,
    S extends AggregateSpec<
      DataKeys<T> | NestedPaths<T> | JoinedPaths<J>,
      NumericKeys<T> | JoinedPaths<J>
    >,
  >(query: Query<T> | undefined, spec: S, options: { join: J }): AggregateOutput<S>;
  aggregate(
    query: Query<T> | undefined,
    spec: AggregateSpec,
    options?: { join: unknown },
  ): AggregateResult | AggregateResult[] {
    const tx = currentTransaction();
    const results = options
      ? aggregate(this.#table.name, this.#joined(query, { join: options.join }), spec)
      : tx
        ? tx.on(this.#table).aggregate(query, spec)
        : this.#table.aggregate(query, spec);
    return spec.groupBy === undefined ? results[0] : results;
  }

  // ---- writes: synchronous -----------------------------------------------------------

  /** Inserts or replaces a record, synchronously. */
  dirtyWrite(record: NewRecord<T, D>, options?: WriteOptions): T {
    this.#assertWritable();
    this.#assertDirty('dirtyWrite');
    const bag = this.#bag;
    if (bag) {
      const ttl = this.#ttlOf(options);
      return this.#bagNow((view) => bag.write(view, record, ttl, false));
    }
    return this.#table.write(record, this.#ttlOf(options));
  }

  /** Inserts a record, synchronously; `DuplicateKeyError` if its key exists. */
  dirtyInsert(record: NewRecord<T, D>, options?: WriteOptions): T {
    this.#assertWritable();
    this.#assertDirty('dirtyInsert');
    const bag = this.#bag;
    if (bag) {
      const ttl = this.#ttlOf(options);
      return this.#bagNow((view) => bag.insert(view, record, ttl, false));
    }
    return this.#table.insert(record, this.#ttlOf(options));
  }

  /**
   * Changes fields of the record with this key, synchronously (`RecordNotFoundError` if it
   * is missing), or of every record matching a query (all or none; returns the new records).
   */
  dirtyUpdate<Target extends RecordKey | Query<T>>(
    target: Target,
    change: DeepChange<T>,
    options: UpdateOptions & { merge: 'deep' },
  ): Target extends RecordKey ? T : T[];
  dirtyUpdate<Target extends RecordKey | Query<T>>(
    target: Target,
    change: Change<T>,
    options?: UpdateOptions,
  ): Target extends RecordKey ? T : T[];
  dirtyUpdate(
    target: RecordKey | Query<T>,
    change: Change<T> | DeepChange<T>,
    options?: UpdateOptions,
  ): T | T[] {
    this.#assertWritable();
    this.#assertDirty('dirtyUpdate');
    this.#target(target, 'dirtyUpdate');
    const ttl = this.#ttlOf(options, true);
    change = mergedChange(this.#table.name, change, options?.merge);
    const bag = this.#bag;
    if (bag) {
      this.#bagByQuery(target, 'dirtyUpdate');
      const update = change as RecordUpdate<T>;
      return this.#bagNow((view) => bag.updateWhere(view, target, update, ttl, false));
    }
    if (isKey(target)) return this.#table.update(target, change as RecordUpdate<T>, ttl);
    return this.#table.updateWhere(target, change as RecordUpdate<T>, ttl);
  }

  /**
   * Deletes the record with this key (or the given record), synchronously, returning it if
   * it existed; or every record matching a query, returning them.
   */
  dirtyDelete(key: RecordKey): ByKind<K, T[], T | undefined>;
  dirtyDelete(record: T): T | undefined;
  dirtyDelete(keyOrRecord: RecordKey | T): ByKind<K, T[] | T | undefined, T | undefined>;
  dirtyDelete(query: Query<T>): T[];
  dirtyDelete(target: RecordKey | T | Query<T>): T | T[] | undefined {
    this.#assertWritable();
    this.#assertDirty('dirtyDelete');
    this.#target(target, 'dirtyDelete');
    if (this.#bag) return this.#bagNow((view) => this.#bagDelete(view, target, false));
    if (isQuery(target)) return this.#table.deleteMany(target);
    return this.#table.delete(target as RecordKey | T);
  }

  /** Deletes every record, synchronously; returns how many there were. */
  dirtyDeleteAll(): number {
    this.#assertWritable();
    this.#assertDirty('dirtyDeleteAll');
    return this.#table.deleteAll();
  }

  /** Writes several records, all or none, synchronously. */
  dirtyWriteMany(records: readonly NewRecord<T, D>[], options?: WriteOptions): T[] {
    this.#assertWritable();
    this.#assertDirty('dirtyWriteMany');
    const bag = this.#bag;
    if (bag) {
      const ttl = this.#ttlOf(options);
      return this.#bagNow((view) => bag.writeMany(view, records, ttl, false));
    }
    return this.#table.writeMany(records, this.#ttlOf(options));
  }

  /** Deletes every record matching the query, synchronously; returns how many. */
  dirtyDeleteMany(query: Query<T>): number {
    this.#assertWritable();
    this.#assertDirty('dirtyDeleteMany');
    this.#target(query, 'dirtyDeleteMany');
    return this.#table.deleteMany(query).length;
  }

  /** Removes and returns the first record matching the query, synchronously. */
  dirtyWithdraw(query: Query<T>): T | undefined {
    this.#assertWritable();
    this.#assertDirty('dirtyWithdraw');
    this.#target(query, 'dirtyWithdraw');
    return this.#table.withdraw(query);
  }

  // ---- writes: acknowledged ----------------------------------------------------------
  //
  // Inside `MemoryStoreService.transaction()`, these stage their change in the transaction
  // (visible to it alone until it commits); the dirty* twins always apply at once. The
  // single-record writes spell out what `#write` does: passing it two closures costs them
  // allocations and a call V8 cannot inline, about a sixth of an awaited write.

  /**
   * Inserts or replaces a record. `options.ttl` gives it a time to live (else the table's
   * default, else none: writing again replaces the deadline).
   */
  write(record: NewRecord<T, D>, options?: WriteOptions): Promise<T> {
    const bag = this.#bag;
    if (bag)
      return this.#bagWrite(options, false, (view, ttl, shared) =>
        bag.write(view, record, ttl, shared),
      );
    if (this.#replica && this.#lacksKeys([record]))
      return this.#keyed([record]).then(([keyed]) => this.write(keyed, options));
    if (this.#replica || currentTransaction() || this.#table.bulk) {
      return this.#write(
        (tx) => tx.write(record, this.#ttlOf(options)),
        () => this.dirtyWrite(record, options),
        true,
      );
    }
    try {
      return this.#acknowledged(this.dirtyWrite(record, options));
    } catch (error) {
      return rejected(error);
    }
  }

  /** Inserts a record; rejects with `DuplicateKeyError` if its key exists. */
  insert(record: NewRecord<T, D>, options?: WriteOptions): Promise<T> {
    const bag = this.#bag;
    if (bag)
      return this.#bagWrite(options, false, (view, ttl, shared) =>
        bag.insert(view, record, ttl, shared),
      );
    if (this.#replica && this.#lacksKeys([record]))
      return this.#keyed([record]).then(([keyed]) => this.insert(keyed, options));
    if (this.#replica || currentTransaction() || this.#table.bulk) {
      return this.#write(
        (tx) => tx.insert(record, this.#ttlOf(options)),
        () => this.dirtyInsert(record, options),
      );
    }
    try {
      return this.#acknowledged(this.dirtyInsert(record, options));
    } catch (error) {
      return rejected(error);
    }
  }

  /**
   * Changes fields of the record with this key: a patch, or a function of the current
   * record returning one; rejects with `RecordNotFoundError` if there is no such record.
   * Given a query instead of a key, changes every matching record, all or none, and
   * resolves to the new records. A record keeps its deadline unless `options.ttl` is given.
   */
  update<Target extends RecordKey | Query<T>>(
    target: Target,
    change: DeepChange<T>,
    options: UpdateOptions & { merge: 'deep' },
  ): Promise<Target extends RecordKey ? T : T[]>;
  update<Target extends RecordKey | Query<T>>(
    target: Target,
    change: Change<T>,
    options?: UpdateOptions,
  ): Promise<Target extends RecordKey ? T : T[]>;
  update(
    target: RecordKey | Query<T>,
    change: Change<T> | DeepChange<T>,
    options?: UpdateOptions,
  ): Promise<T | T[]> {
    try {
      change = mergedChange(this.#table.name, change, options?.merge);
      if (this.#bag) this.#bagByQuery(target, 'update');
    } catch (error) {
      return rejected(error);
    }
    const bag = this.#bag;
    if (bag) {
      const update = change as RecordUpdate<T>;
      if (this.#sliceable() && isQuery(target) && this.#isBulk(target)) {
        try {
          this.#assertWritable();
          const ttl = this.#ttlOf(options, true);
          const verify = bag.distinct
            ? (records: readonly T[], tick: () => Promise<void> | undefined) =>
                bag.assertDistinct(records, tick)
            : undefined;
          return bulkUpdate(this.#table, target, update, ttl, this.#bulkOptions(), verify).then(
            (updated) => this.#acknowledged(updated),
          );
        } catch (error) {
          return rejected(error);
        }
      }
      return this.#bagWrite(options, true, (view, ttl, shared) =>
        bag.updateWhere(view, target, update, ttl, shared),
      );
    }
    if (!isKey(target) && this.#sliceable() && isQuery(target) && this.#isBulk(target)) {
      try {
        this.#assertWritable();
        const ttl = this.#ttlOf(options, true);
        return bulkUpdate(
          this.#table,
          target,
          change as RecordUpdate<T>,
          ttl,
          this.#bulkOptions(),
        ).then((updated) => this.#acknowledged(updated));
      } catch (error) {
        return rejected(error);
      }
    }
    if (this.#replica || currentTransaction() || this.#table.bulk) {
      return this.#write(
        (tx) => {
          this.#target(target, 'update');
          return isKey(target)
            ? tx.update(target, change as RecordUpdate<T>, this.#ttlOf(options, true))
            : tx.updateWhere(target, change as RecordUpdate<T>, this.#ttlOf(options, true));
        },
        () => this.dirtyUpdate(target as Query<T>, change as Change<T>, options),
      );
    }
    try {
      this.#target(target, 'update');
      return this.#acknowledged(this.dirtyUpdate(target as Query<T>, change as Change<T>, options));
    } catch (error) {
      return rejected(error);
    }
  }

  /**
   * Deletes the record with this key (or the given record) and resolves to it, if it
   * existed; given a query, deletes every match and resolves to them.
   */
  delete(key: RecordKey): Promise<ByKind<K, T[], T | undefined>>;
  delete(record: T): Promise<T | undefined>;
  delete(keyOrRecord: RecordKey | T): Promise<ByKind<K, T[] | T | undefined, T | undefined>>;
  delete(query: Query<T>): Promise<T[]>;
  delete(target: RecordKey | T | Query<T>): Promise<T | T[] | undefined> {
    if (this.#bag) {
      try {
        this.#target(target, 'delete');
        // a key of very many records, or a large query: in slices, as deleteMany
        const query = isKey(target) ? { [this.#bag.field]: target } : target;
        if (this.#sliceable() && isQuery(query) && this.#isBulk(query)) {
          this.#assertWritable();
          return bulkDelete(this.#table, query, this.#bulkOptions()).then((deleted) =>
            this.#acknowledged(deleted),
          );
        }
      } catch (error) {
        return rejected(error);
      }
      return this.#bagWrite(undefined, false, (view, _ttl, shared) =>
        this.#bagDelete(view, target, shared),
      );
    }
    if (this.#replica || currentTransaction() || this.#table.bulk) {
      return this.#write(
        (tx) => {
          this.#target(target, 'delete');
          return isQuery(target) ? tx.deleteMany(target) : tx.delete(target as RecordKey | T);
        },
        () => this.dirtyDelete(target as Query<T>),
      );
    }
    try {
      this.#target(target, 'delete');
      return this.#acknowledged(this.dirtyDelete(target as Query<T>));
    } catch (error) {
      return rejected(error);
    }
  }

  /** Deletes every record; resolves to how many there were. */
  deleteAll(): Promise<number> {
    return this.#write(
      (tx) => tx.deleteMany(undefined).length,
      () => this.dirtyDeleteAll(),
    );
  }

  /** Writes several records: all are validated and checked first, then all are written. */
  writeMany(records: readonly NewRecord<T, D>[], options?: WriteOptions): Promise<T[]> {
    const bag = this.#bag;
    if (bag && !(Array.isArray(records) && records.length >= BULK_THRESHOLD && this.#sliceable()))
      return this.#bagWrite(options, false, (view, ttl, shared) =>
        bag.writeMany(view, records, ttl, shared),
      );
    if (Array.isArray(records) && this.#lacksKeys(records))
      return this.#keyed(records).then((keyed) => this.writeMany(keyed, options));
    if (Array.isArray(records) && records.length >= BULK_THRESHOLD && this.#sliceable()) {
      try {
        this.#assertWritable();
        const ttl = this.#ttlOf(options);
        // a bag's large batch too, each record built then looked for among those held
        const held = bag?.heldRecords();
        return bulkWrite(this.#table, records, ttl, this.#bulkOptions(), held).then((written) =>
          this.#acknowledged(written),
        );
      } catch (error) {
        return rejected(error);
      }
    }
    if (Array.isArray(records) && records.length >= BULK_THRESHOLD && this.#replicaOutside()) {
      try {
        const ttl = this.#ttlOf(options);
        return writeManyReplicated(this.#table, this.#replica!, records, ttl, (line) =>
          BULK_LOGGER.log(line),
        );
      } catch (error) {
        return rejected(error);
      }
    }
    return this.#write(
      (tx) => tx.writeMany(records, this.#ttlOf(options)),
      () => this.dirtyWriteMany(records, options),
      true,
    );
  }

  /** Deletes every record matching the query; resolves to how many. */
  deleteMany(query: Query<T>): Promise<number> {
    if (this.#sliceable() && query !== undefined && query !== null && this.#isBulk(query)) {
      try {
        this.#assertWritable();
      } catch (error) {
        return rejected(error);
      }
      return bulkDelete(this.#table, query, this.#bulkOptions()).then((deleted) =>
        this.#acknowledged(deleted.length),
      );
    }
    return this.#write(
      (tx) => {
        this.#target(query, 'deleteMany');
        return tx.deleteMany(query).length;
      },
      () => {
        this.#target(query, 'deleteMany');
        return this.dirtyDeleteMany(query);
      },
    );
  }

  /** Removes and returns the first record matching the query, in one step. */
  withdraw(query: Query<T>): Promise<T | undefined> {
    return this.#write(
      (tx) => {
        this.#target(query, 'withdraw');
        return tx.withdraw(query);
      },
      () => {
        this.#target(query, 'withdraw');
        return this.dirtyWithdraw(query);
      },
    );
  }

  /**
   * Runs a write in the current transaction if there is one (the commit makes it durable),
   * else at once, resolving once it is as durable as the store's persistence promises.
   */
  #write<R>(
    inTransaction: (tx: TableTransaction<T>) => R,
    now: () => R,
    /** The write reads nothing (a replicated commit need not check versions). */
    blind = false,
  ): Promise<R> {
    const tx = currentTransaction();
    if (tx) return this.#staged(tx, inTransaction);
    if (this.#replica) return this.#replicated(inTransaction, blind);
    const bulk = this.#table.bulk;
    if (bulk) return bulk.then(() => this.#write(inTransaction, now, blind));
    return this.#durable(now);
  }

  /**
   * Runs a bag's write: staged in the current transaction if there is one (`shared`: the
   * transaction's function may run again, so its reads are checked at commit), else applied
   * at once, resolving when durable. A write's options are read first (a bad one rejects).
   */
  #bagWrite<R>(
    options: UpdateOptions | undefined,
    update: boolean,
    op: (view: TableTransaction<T>, ttl: TtlSetting, shared: boolean) => R,
  ): Promise<R> {
    let ttl: TtlSetting;
    try {
      ttl = this.#ttlOf(options, update);
    } catch (error) {
      return rejected(error);
    }
    return this.#write(
      (view) => op(view, ttl, true),
      () => {
        this.#assertWritable();
        return this.#bagNow((view) => op(view, ttl, false));
      },
    );
  }

  /**
   * Applies a bag's write now, as a transaction of its own: its rules read the key's
   * records and stage rows over one view, then all of it commits (logged and published
   * like any commit) or none of it does.
   */
  #bagNow<R>(op: (view: TableTransaction<T>) => R): R {
    const tx = new Transaction();
    const result = op(tx.on(this.#table));
    // synchronous from read to commit: nothing else can have changed the table
    const conflicts = tx.commit();
    if (conflicts.length > 0) throw new TransactionConflictError(conflicts, 1);
    return result;
  }

  /** A bag's delete: every record of a key, one record, or every match of a query. */
  #bagDelete(view: TableTransaction<T>, target: unknown, shared: boolean): T | T[] | undefined {
    const bag: BagRules<T> = this.#bag!;
    if (isQuery(target)) return view.deleteMany(target);
    if (typeof target === 'object' && target !== null)
      return bag.deleteRecord(view, target as T, shared);
    bag.checkKey(target, 'delete');
    return bag.deleteKey(view, target, shared);
  }

  /** The key field as users know it: a bag's key, never its hidden row identity. */
  get #userKeyField(): string {
    return this.#table.schema.bagKey ?? this.#table.keyField;
  }

  /** A bag's key names several records: an update takes a query (which may be the key's). */
  #bagByQuery(target: unknown, operation: string): asserts target is Query<T> {
    this.#target(target, operation);
    if (isQuery(target)) return;
    throw new MemoryStoreError(
      `${operation}() on bag table '${this.#table.name}' takes a query, not a key: a key holds several ` +
        `records (update every one with ${operation}({ ${this.#bag!.field}: key }, …))`,
      this.#table.name,
    );
  }

  /**
   * Refuses, at start-up, a store whose class does not fit its table (a `BagStore` serves
   * bag tables, a `MemoryStore` the others), and what a bag cannot do: renew deadlines or
   * an LRU order on reads (its reads by key are index lookups, not reads of one record).
   */
  #checkKind(eviction: string | undefined): void {
    const schema = this.#table.schema;
    const name = this.constructor.name;
    const fail = (reason: string) => new StoreInitializationError(schema.name, name, reason);
    const bagStore = (this.constructor as { [BAG_STORE]?: boolean })[BAG_STORE] === true;
    if (this.#bag && !bagStore)
      throw fail(
        `its table is a '${schema.type}' (many records per key): extend BagStore<${schema.target.name}>, ` +
          "whose get(key) returns the key's records",
      );
    if (!this.#bag && bagStore)
      throw fail(
        `a BagStore serves tables of type 'bag' or 'duplicate_bag', and '${schema.name}' is a '${schema.type}': extend MemoryStore`,
      );
    if (this.#bag && schema.sliding)
      throw fail(`a '${schema.type}' table's ttl cannot slide (its reads renew no deadline)`);
    if (this.#bag && eviction === 'lru')
      throw fail(
        `a '${schema.type}' table cannot evict by 'lru' (its reads keep no recency): use eviction: 'reject'`,
      );
  }

  /** True when replicated and not in a transaction (a large batch is then staged in slices). */
  #replicaOutside(): boolean {
    return this.#replica !== undefined && currentTransaction() === undefined;
  }

  /** True when a bulk operation may run in slices here: not replicated, not in a transaction. */
  #sliceable(): boolean {
    return this.#replica === undefined && currentTransaction() === undefined;
  }

  /** True when a query matches enough records (or a bulk operation runs) to work in slices. */
  #isBulk(query: Query<T>): boolean {
    const table = this.#table;
    if (table.bulk !== undefined) return true;
    if (table.rows.size < BULK_THRESHOLD) return false;
    try {
      return table.matches(query).length >= BULK_THRESHOLD;
    } catch {
      return false; // a bad query: the usual path reports it
    }
  }

  /**
   * How this store's bulk operations report progress (to Nest's Logger) and log their
   * changes: held while they apply, then logged as one journal entry, so that recovery
   * finds all of a batch or none of it.
   */
  #bulkOptions(): BulkOptions {
    return {
      report: (line) => BULK_LOGGER.log(line),
      hold: () => {
        const journal = this.#journal;
        if (!journal) return () => undefined;
        const held: LogOp[] = (this.#held = []);
        return () => {
          this.#held = undefined;
          journal.logAll(held);
        };
      },
    };
  }

  /** Stages a write in a transaction; the promise settles with its outcome. */
  #staged<R>(tx: Transaction, stage: (staged: TableTransaction<T>) => R): Promise<R> {
    try {
      this.#assertWritable();
      return Promise.resolve(stage(tx.on(this.#table)));
    } catch (error) {
      return rejected(error);
    }
  }

  /**
   * Runs one write of a replicated store: staged over the local copy (validation, the
   * record it builds), then committed in Redis, which checks that what it read is unchanged
   * and that unique values and capacity hold there; resolves once applied here. A conflict
   * (another instance changed a record it read) runs it again over the newer copy.
   */
  async #replicated<R>(write: (tx: TableTransaction<T>) => R, blind: boolean): Promise<R> {
    const replica = this.#replica!;
    let synced = false;
    for (let attempt = 1; ; attempt++) {
      this.#assertWritable();
      const view = new Transaction().on(this.#table);
      let result: R;
      try {
        result = write(view);
        if (view.staged.size > 0) this.#table.checkStaged(view.staged);
      } catch (error) {
        // The local copy may lag behind Redis: catch up once before refusing for what it holds.
        if (!synced && isStateError(error)) {
          synced = true;
          await replica.group.sync(this.#table.name);
          attempt--;
          continue;
        }
        throw error;
      }
      if (view.staged.size === 0) return result;
      // a bag's write that read a key's records checks, in Redis, that the table is unchanged
      const mode = this.#bag && view.scanned ? 'transaction' : blind ? 'blind' : 'single';
      const conflicts = await replica.group.commit([view], mode);
      if (conflicts.length === 0) return result;
      if (attempt >= REPLICATED_WRITE_ATTEMPTS)
        throw new TransactionConflictError(conflicts, attempt);
    }
  }

  /** True for a replicated autoIncrement table given records without their key. */
  #lacksKeys(records: readonly unknown[]): boolean {
    if (!this.#replica || !this.#table.schema.autoIncrement) return false;
    const field = this.#table.keyField;
    return records.some((r) => {
      if (typeof r !== 'object' || r === null) return false;
      const key = (r as Record<string, unknown>)[field];
      return key === undefined || key === null;
    });
  }

  /** The records, each given a key from the table's counter in Redis where it lacks one. */
  async #keyed<R>(records: readonly R[]): Promise<R[]> {
    if (currentTransaction()) {
      throw new MemoryStoreError(
        `In a transaction, records of the replicated autoIncrement table '${this.#table.name}' need their key: ` +
          `take one with await store.nextId('${this.#table.keyField}') first`,
        this.#table.name,
      );
    }
    const field = this.#table.keyField;
    const keyed: R[] = [];
    for (const record of records) {
      const key = (record as Record<string, unknown>)[field];
      keyed.push(
        key === undefined || key === null
          ? { ...record, [field]: await this.nextId(field) }
          : record,
      );
    }
    return keyed;
  }

  /**
   * Loads seed records into a replicated store: with `seedMode: 'always'`, written over what
   * is there at every start; else only into a table empty in Redis (once, however many
   * instances start together).
   */
  /**
   * Writes seed records into a store that is not replicated: a large seed file goes in slices
   * (a bulk write, which logs its progress past a second), so that start-up does not hold the
   * event loop; a small one at once.
   */
  async #seedLocal(records: readonly unknown[]): Promise<void> {
    const bag = this.#bag;
    if (bag && records.length < BULK_THRESHOLD) {
      this.#bagNow((view) => bag.writeMany(view, records, undefined, false));
      return;
    }
    if (records.length < BULK_THRESHOLD) this.#table.writeMany(records);
    else await bulkWrite(this.#table, records, undefined, this.#bulkOptions(), bag?.heldRecords());
  }

  async #seed(records: readonly unknown[]): Promise<void> {
    const replica = this.#replica!;
    if (this.#options.seedMode === 'always') {
      await this.writeMany(records as NewRecord<T, D>[]);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const view = new Transaction().on(this.#table);
      view.select(undefined, { limit: 1 }); // the table must not change meanwhile
      if (this.#bag) this.#bag.writeMany(view, records, undefined, true);
      else view.writeMany(records, undefined);
      this.#table.checkStaged(view.staged);
      const conflicts = await replica.group.commit([view], 'transaction');
      if (conflicts.length === 0) return;
      // another instance wrote first (its seeds, most likely): seed only an empty table
      if (this.#table.size > 0 || attempt >= REPLICATED_WRITE_ATTEMPTS) return;
    }
  }

  /** Runs a write now and resolves with its result once it is durable. */
  #durable<R>(write: () => R): Promise<R> {
    try {
      return this.#acknowledged(write());
    } catch (error) {
      return rejected(error);
    }
  }

  /** Resolves with the result of a write made now, once it is durable. */
  #acknowledged<R>(result: R): Promise<R> {
    const done = Promise.resolve(result);
    const journal = this.#journal;
    return journal ? done.then((value) => journal.durable().then(() => value)) : done;
  }

  // ---- changes -----------------------------------------------------------------------

  /**
   * The store's committed changes as an RxJS Observable, delivered in commit order after
   * each commit, optionally only some operations, keys, or records matching a query.
   * Unsubscribe when done. Delivery does not wait for observers: one that processes
   * changes asynchronously must bound its own buffering (RxJS `bufferTime`, `throttle`…).
   *
   * @example
   * ```ts
   * people.changes({ op: 'update', where: { admin: true } }).subscribe((c) => audit(c.diff));
   * ```
   */
  changes(filter?: ChangeFilter<Query<T>>): Observable<StoreChange<T>> {
    const registry = registryOf(this);
    if (!registry) {
      throw new MemoryStoreError(
        `${this.constructor.name} is not managed by MemoryStoreModule`,
        this.#table.name,
      );
    }
    const matches = compileChangeFilter(this.#table, filter);
    const changes = registry.hub.changes(this.#table.name) as Observable<StoreChange<T>>;
    return matches ? changes.pipe(filterChanges(matches)) : changes;
  }

  // ---- counters ----------------------------------------------------------------------

  /** The next value of a named counter (1 for a new one); never the same value twice. */
  nextId(name: string): Promise<number> {
    if (this.#replica) {
      try {
        this.#assertWritable();
        this.#table.counters.validate(name);
      } catch (error) {
        return rejected(error);
      }
      return this.#replica.group.counter(this.#table, name, 'next');
    }
    // a bulk operation applying holds the table's log records, counters' too: wait for it
    const bulk = this.#table.bulk;
    if (bulk) return bulk.then(() => this.nextId(name));
    return this.#durable(() => {
      this.#assertWritable();
      return this.#table.counters.next(name);
    });
  }

  /** The last value a counter handed out (0 if it never did). */
  counter(name: string): number {
    return this.#table.counters.current(name);
  }

  /** Sets a counter, so that `nextId` hands out `to + 1` next. */
  resetCounter(name: string, to = 0): Promise<void> {
    if (this.#replica) {
      try {
        this.#assertWritable();
        this.#table.counters.validate(name, to);
      } catch (error) {
        return rejected(error);
      }
      return this.#replica.group.counter(this.#table, name, 'reset', to).then(() => undefined);
    }
    const bulk = this.#table.bulk;
    if (bulk) return bulk.then(() => this.resetCounter(name, to));
    return this.#durable(() => {
      this.#assertWritable();
      this.#table.counters.reset(name, to);
    });
  }

  /** True once a counter has been used or reset. */
  hasCounter(name: string): boolean {
    return this.#table.counters.has(name);
  }

  #ttlOf(options: UpdateOptions | undefined, update = false): TtlSetting {
    if (options === undefined) return undefined;
    if (typeof options !== 'object' || options === null) {
      throw new MemoryStoreError(
        'write options must be an object such as { ttl: "15m" }',
        this.#table.name,
      );
    }
    for (const key in options) {
      if (key !== 'ttl' && !(update && key === 'merge')) {
        throw new MemoryStoreError(
          `unknown write option '${key}' (${update ? 'an update takes { ttl, merge }' : 'a write takes { ttl }'})`,
          this.#table.name,
        );
      }
    }
    const { ttl } = options;
    if (ttl === undefined || ttl === null) return ttl;
    const parsed = parseTtl(ttl, `The ttl of a write to '${this.#table.name}'`, this.#table.name);
    if (typeof parsed === 'object' && this.#bag) {
      throw new MemoryStoreError(
        `A sliding ttl cannot be given to a write to the bag table '${this.#table.name}': its reads renew no deadline`,
        this.#table.name,
      );
    }
    if (typeof parsed === 'object' && this.#replica) {
      throw new MemoryStoreError(
        `A sliding ttl cannot be given to a write to the replicated '${this.#table.name}': renewals on reads ` +
          'would be local while Redis decides deadlines',
        this.#table.name,
      );
    }
    if (typeof parsed === 'object') this.#table.allowSliding(); // before the record is built
    return parsed;
  }

  /**
   * Refuses a missing key or an empty query (`{}`, `[]`) as the target of a write: it must
   * not mean "every record". Every write by query (update, delete, deleteMany, withdraw and
   * their dirty twins) follows this one rule; `deleteAll()` deletes every record.
   */
  #target(target: unknown, operation: string): void {
    if (target === undefined || target === null) {
      throw new QueryError(
        this.#table.name,
        `${operation}() got ${String(target)} instead of a key or a query (${everyRecordHint(operation, this.#userKeyField)})`,
      );
    }
    if (isEmptyQuery(target)) {
      throw new QueryError(
        this.#table.name,
        `${operation}() got an empty query (${Array.isArray(target) ? '[]' : '{}'}), which matches every record (${everyRecordHint(operation, this.#userKeyField)})`,
      );
    }
  }

  /**
   * `dirty*` writes apply at once on this instance: inside a transaction they would break its
   * isolation, and a replicated store decides every write in Redis.
   */
  #assertDirty(operation: string): void {
    if (this.#table.bulk) {
      throw new MemoryStoreError(
        `${operation}() applies at once, but a bulk operation (a large writeMany, update or deleteMany, an ` +
          `import or a restore) is being applied to '${this.#table.name}' in slices: use ` +
          `${operation.replace(/^dirty(.)/, (_, c: string) => c.toLowerCase())}(), which waits for it`,
        this.#table.name,
      );
    }
    if (this.#replica) {
      throw new MemoryStoreError(
        `${operation}() applies synchronously on this instance alone, which a replicated store cannot do: ` +
          `use ${operation.replace(/^dirty(.)/, (_, c: string) => c.toLowerCase())}()`,
        this.#table.name,
      );
    }
    if (currentTransaction()) {
      throw new MemoryStoreError(
        `${operation}() applies at once and cannot run inside a transaction: use ${operation.replace(/^dirty(.)/, (_, c: string) => c.toLowerCase())}() there`,
        this.#table.name,
      );
    }
  }

  #assertWritable(): void {
    this.#replica?.group.assertWritable(this.#table.name);
    if (this.#journal?.closed) {
      throw new MemoryStoreError(
        `${this.constructor.name} refuses writes: the application has shut down its persistence`,
        this.#table.name,
      );
    }
    if (this.#journal?.failure) {
      throw new MemoryStoreError(
        `${this.constructor.name} refuses writes: persistence failed (${this.#journal.failure.message}); restart to recover`,
        this.#table.name,
        { cause: this.#journal.failure },
      );
    }
    if (this.#phase === 'ready') {
      if (this.#options.access === 'read_only')
        throw new ReadOnlyStoreError(this.#table.name, this.constructor.name, 'read_only');
      return;
    }
    if (this.#phase === 'starting') return;
    throw new MemoryStoreError(
      this.#phase === 'failed'
        ? `${this.constructor.name} failed to start and accepts no writes`
        : `${this.constructor.name} has not started: it starts in onModuleInit ` +
            '(a subclass that defines onModuleInit() must call await super.onModuleInit())',
      this.#table.name,
    );
  }
}

/** `aggregate()`'s result: an array with `groupBy`, one result without, either when unknown. */
export type AggregateOutput<S> = S extends { groupBy: string | readonly string[] }
  ? AggregateResult[]
  : 'groupBy' extends keyof S
    ? AggregateResult | AggregateResult[]
    : AggregateResult;

/** Options of a write. */
export interface WriteOptions {
  /**
   * The record's time to live: milliseconds or `'30s'`, `'15m'`, `'1h'`, `'2d'`; `null` for
   * none; `{ sliding: true, duration }` for one that `get()` renews (see `SlidingTtl`).
   * Without it, `write`/`insert` use the table's default TTL (or none) and `update` keeps
   * the record's deadline.
   */
  ttl?: Duration | SlidingTtl | null;
}

const TABLES = new WeakMap<object, MemoryTable<object>>();

const BULK_LOGGER = new Logger('MemoryStore');

/** The engine table behind a store (for the module's own services, not for applications). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
export function tableOf(store: MemoryStore<any, any, any, any>): MemoryTable<object> {
  return TABLES.get(store)!;
}

/** A view of a store (a protected store's read-only proxy) reads the store's table: joins find it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
export function shareTable(view: object, store: MemoryStore<any, any, any, any>): void {
  TABLES.set(view, tableOf(store));
}

/**
 * What `update()` applies: a plain patch of top-level fields, an update operator document
 * (`{ $inc: { visits: 1 } }`), or a function of the current record returning either.
 */
export type Change<T> = Patch<T> | ((current: T) => Patch<T>);

/** A plain patch (its top-level fields replace the record's), or update operators. */
export type Patch<T> = (RecordInput<T> & NoOperators) | OperatorsOnly<T>;

/** What `update(…, { merge: 'deep' })` applies: a deep patch, or a function returning one. */
export type DeepChange<T> = DeepPatch<T> | ((current: T) => DeepPatch<T>);

/** Options of `update()`. */
export interface UpdateOptions extends WriteOptions {
  /**
   * How a plain patch combines with the record: `'shallow'` replaces each top-level field it
   * names; `'deep'` merges nested plain objects field by field (arrays and other values
   * replace what is there). Update operators name their own paths and take neither.
   * @default 'shallow'
   */
  merge?: MergeMode;
}

const STRATEGIES: Record<AccessPath['kind'], QueryExplanation['strategy']> = {
  key: 'key lookup',
  index: 'index lookup',
  range: 'index range',
  ordered: 'index order',
  compound: 'compound index',
  union: 'index union',
  scan: 'full scan',
};

/** How many times a replicated write runs when other instances keep changing what it read. */
const REPLICATED_WRITE_ATTEMPTS = 100;

/** An error about what the table holds, which a lagging local copy may cause. */
function isStateError(error: unknown): boolean {
  return (
    error instanceof DuplicateKeyError ||
    error instanceof RecordNotFoundError ||
    error instanceof StoreCapacityError
  );
}

function isKey(target: unknown): target is RecordKey {
  return typeof target === 'string' || typeof target === 'number';
}

/** A query with no condition: `{}` or `[]` (a `match` query always has one). */
function isEmptyQuery(target: unknown): boolean {
  if (Array.isArray(target)) return target.length === 0;
  if (typeof target !== 'object' || target === null || target instanceof MatchQuery) return false;
  const proto = Object.getPrototypeOf(target) as unknown;
  return (proto === Object.prototype || proto === null) && Object.keys(target).length === 0;
}

/** What to use instead of an empty or missing target, per write. */
function everyRecordHint(operation: string, keyField: string): string {
  if (/delete/i.test(operation)) return 'use deleteAll() to delete every record';
  if (/update/i.test(operation))
    return `to change every record, say so with a condition they all meet, such as { ${keyField}: { $exists: true } }`;
  return 'give a query that names the records';
}

/** A query rather than a key or a record: a plain object, an array or a `match` query. */
function isQuery(target: unknown): target is Query<never> {
  if (target instanceof MatchQuery || Array.isArray(target)) return true;
  if (typeof target !== 'object' || target === null) return false;
  const proto = Object.getPrototypeOf(target) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A bag's change as its listeners see it: under the record's key, not its row. */
function bagChange<T extends object>(bag: BagRules<T>, change: TableChange<T>): TableChange<T> {
  const record = change.record ?? change.previous;
  return record === undefined ? change : { ...change, key: bag.keyOf(record) };
}

/** The log record of a table change. */
function logOp<T extends object>(table: MemoryTable<T>, change: TableChange<T>): LogOp {
  switch (change.op) {
    case 'insert':
    case 'update': {
      const key = change.key!;
      const record = encodeValue(change.record);
      const deadline = table.deadlineOf(key) ?? null;
      const period = table.periodOf(key); // (a deadline that slides slides again once recovered)
      return period === undefined
        ? ['p', table.name, key, record, deadline, table.schema.version]
        : ['p', table.name, key, record, deadline, table.schema.version, period];
    }
    case 'clear':
      return ['x', table.name];
    default:
      return ['d', table.name, change.key!];
  }
}

/** The other side of a join from `store`: the store given, or the one of the class given. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
function joinSide(from: MemoryStore<any, any, any, any>, store: unknown, alias: string): JoinSide {
  const other =
    store instanceof MemoryStore
      ? store
      : typeof store === 'function'
        ? registryOf(from)?.find(store as StoreReference)
        : undefined;
  if (!other) {
    throw new QueryError(
      from.tableName,
      `join '${alias}' names no store of this application: give a store (or its class) listed in MemoryStoreModule`,
    );
  }
  const table = TABLES.get(other)!;
  const view = currentTransaction()?.on(table);
  return view
    ? { table, get: (key) => view.get(key), select: () => view.select(), staged: true }
    : { table, get: (key) => table.get(key), select: () => table.select(), staged: false };
}

/** A promise rejected with what a synchronous operation threw. */
function rejected(error: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the operation threw
  return Promise.reject(error);
}
