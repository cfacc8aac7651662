import { Counters } from '../counters/counters.js';
import type { KeysHeld } from './sharded-key-map.js';
import { TableActivity } from '../metrics/table-activity.js';
import { showValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import { CompoundIndex } from '../indexes/compound.index.js';
import { HashIndex } from '../indexes/hash.index.js';
import { fieldReader, fieldValue, type SecondaryIndex } from '../indexes/secondary-index.js';
import { SortedIndex } from '../indexes/sorted.index.js';
import { UniqueIndex } from '../indexes/unique.index.js';
import { ValueMap } from '../indexes/value-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { aggregate, type AggregateResult } from '../query/aggregate.js';
import { compilePageOptions, type PageResult, readPage } from '../query/cursor.js';
import {
  EVERY_CANDIDATE,
  type CompiledQuery,
  type QueryTemplate,
} from '../query/query-compiler.js';
import { compileCached } from '../query/query-shapes.js';
import {
  candidates,
  orderedPage,
  planQuery,
  type OrderHint,
  type PlanSource,
  type QueryPlan,
  SCAN_PLAN,
} from '../query/planner.js';
import {
  compileSelectOptions,
  finishSelection,
  NO_SELECT_OPTIONS,
  projectSelection,
  type CompiledSelectOptions,
  type Matcher,
} from '../query/select-options.js';
import { compareValues } from '../query/compare.js';
import type { TtlMs } from '../cache/sliding-ttl.js';
import { CoarseClock, type Clock } from '../ttl/clock.js';
import { ExpiryQueue } from '../ttl/expiry-queue.js';
import { SlidingDeadline } from '../ttl/sliding-deadline.js';
import { capacityError, fits, RecencyList, victims, type CapacityOptions } from './capacity.js';
import { estimateSize, SizeLedger } from '../cache/record-size.js';
import { migrateRecord } from '../persistence/migrate.js';
import { invalidField, RecordFactory } from './record-factory.js';
import { withGeneratedKey } from './key-gen.js';
import { valuesEqual } from './stored-values.js';

/**
 * How many expired records one step of expiry removes at most: more wait, hidden from every
 * read, for the next step, a turn of the event loop later. Bounds the changes a step hands to
 * listeners at once (delivered in one later turn) as well as the step itself.
 */
export const EXPIRY_SLICE = 2_000;
/**
 * How long one step of expiry runs at most, in ms (checked every few dozen records): a step
 * stops early when removing is slow (records with many indexes, a busy machine, a collection
 * in the middle), so that no step holds the event loop much past this.
 */
export const EXPIRY_SLICE_MS = 3;

/** A patch of fields, or a function of the current record returning one. */
export type RecordUpdate<T> = Partial<T> | ((current: T) => Partial<T>);

/**
 * A time to live for a write: milliseconds (or a sliding period), `null` for none, or
 * `undefined` for the default (the table's default TTL on write/insert; the record's current
 * deadline on update).
 */
export type TtlSetting = TtlMs | null | undefined;

/** The deadline a write sets: a time, a sliding one (`at`, renewed by `period`), `null` to clear it, `undefined` to keep it. */
export type DeadlineSetting =
  number | { readonly at: number; readonly period: number } | null | undefined;

/** One change the table made, reported to its change sink after it is applied. */
export interface TableChange<T> {
  readonly op: 'insert' | 'update' | 'delete' | 'expire' | 'evict' | 'clear';
  /** The record's key (absent for `clear`). */
  readonly key?: RecordKey;
  /** The record after the change (insert, update). */
  readonly record?: T;
  /** The record before the change (update, delete, expire, evict). */
  readonly previous?: T;
}

/** A staged write: a record to put (with its TTL setting), or null to delete. */
export interface StagedWrite<T> {
  readonly record: T | null;
  readonly ttl: TtlSetting;
}

/** How a table runs: its clock, default TTL, capacity and change sink. */
export interface TableRuntime<T> {
  clock?: Clock;
  /** Milliseconds every written record lives unless the write says otherwise. */
  defaultTtl?: TtlMs;
  capacity?: CapacityOptions;
  /** Told of every change, in order, right after it is applied. */
  onChange?: (change: TableChange<T>) => void;
  /** Whether anyone wants changes right now; when not, none is even built. @default always */
  wantsChanges?: () => boolean;
  /**
   * Told when a read has moved a sliding deadline more than half its period past the one
   * last reported (see `ExpiryQueue.renew`): the journal logs it.
   */
  onRenew?: (key: RecordKey, deadline: number) => void;
  /** Told once, when the table first holds a record with a deadline. */
  onFirstDeadline?: () => void;
  /** Told of every counter value set. */
  onCounter?: (name: string, value: number | null) => void;
  /** The journal that persists the table's changes, if any. */
  persistence?: { durable(): Promise<void> };
  /**
   * Set when records expire elsewhere (replication: Redis decides): the table then never
   * removes a record for its deadline itself, and calls this when it finds one due.
   */
  onDue?: () => void;
  /** Refuse undeclared fields and check initialised ones' types (see `@Table({ strict })`). */
  strict?: boolean;
  /**
   * Where a step of expiry reads how long it has run (see `EXPIRY_SLICE_MS`), in ms.
   * @default performance.now
   */
  stepTimer?: () => number;
}

/** A change decided elsewhere (a replication log): a record to put, or one to remove. */
export type ReplicatedChange<T> =
  | { key: RecordKey; record: T; deadline: number | null; op: 'update' }
  | { key: RecordKey; record?: undefined; op: 'delete' | 'expire' };

/**
 * One table: records by primary key, secondary indexes, deadlines, counters, and the
 * synchronous read and write operations over them. Every write is checked in full before
 * anything changes, so a failed write leaves the table exactly as it was. Expired records
 * are removed before any operation looks at the table, so none is ever seen. Knows nothing
 * of Nest.
 */
export class MemoryTable<T extends object> implements PlanSource<T> {
  readonly schema: TableSchema<T>;
  readonly keyField: string;
  readonly indexes: ReadonlyMap<string, SecondaryIndex<T>>;
  readonly compoundIndexes: readonly CompoundIndex<T>[];
  readonly rows = new Map<RecordKey, T>();
  readonly counters: Counters;
  readonly #indexList: readonly SecondaryIndex<T>[];
  readonly #uniques: readonly SecondaryIndex<T>[];
  readonly #factory: RecordFactory<T>;
  /** Sorted indexes built so far, by field (the key field included). */
  readonly #sorted = new Map<string, SortedIndex<T>>();
  /**
   * Per query shape (see `query-shapes.ts`): true when no index of this table can serve it,
   * so that its queries scan without planning. The indexes are fixed when the table is made;
   * a shape's entry goes with its template.
   */
  readonly #unindexedShapes = new WeakMap<QueryTemplate, boolean>();
  readonly keyOrder: SortedIndex<T> | undefined;
  readonly #expiry = new ExpiryQueue((key) => SlidingDeadline.of(this.rows.get(key)));
  /** The earliest deadline, or earlier (then a purge finds nothing and corrects it). */
  #nextDeadline = Infinity;
  #clock: Clock = new CoarseClock(1);
  #defaultTtl: TtlMs | undefined;
  /** Some record has a sliding deadline: a read renews it. */
  #slides = false;
  #onRenew: ((key: RecordKey, deadline: number) => void) | undefined;
  #capacity: CapacityOptions | undefined;
  #recency: RecencyList | undefined;
  /** Every record's size, under `maxSize`. */
  #sizes: SizeLedger<T> | undefined;
  /** No secondary index and no capacity: the table has nothing to maintain beside its rows. */
  #bare = true;
  #onChange: ((change: TableChange<T>) => void) | undefined;
  #wantsChanges: (() => boolean) | undefined;
  #onFirstDeadline: (() => void) | undefined;
  #onDue: (() => void) | undefined;
  #hadDeadline = false;
  #persistence: { durable(): Promise<void> } | undefined;
  #all: readonly T[] | undefined;
  /**
   * Every record in scan order, for scans only (never handed out, so not frozen: V8 walks
   * frozen arrays slowly). Built by the first scan after a change, dropped at the next change.
   */
  #scan: T[] | undefined;
  /** Counts every change: a transaction that queried the table conflicts if it moved. */
  #version = 0;
  /** Reads, writes, queries and the like, counted for metrics. */
  readonly activity = new TableActivity();
  /**
   * The write of this table whose user code (an update function, the table class's
   * constructor, getters, validators) is running now: a write it makes to this table is
   * refused (see `#assertIdle`), and reads it makes expire nothing.
   */
  #busy: string | undefined;
  /**
   * While expired records wait to be removed (more expired at once than one step removes):
   * the time up to which deadlines have passed. Reads hide every record whose deadline is at
   * or before it; writes remove those they touch first. -Infinity when none waits.
   */
  #expiredUpTo = -Infinity;
  /** A next step of expiry is scheduled. */
  #stepScheduled = false;
  /** Where a step of expiry reads the time (see `TableRuntime.stepTimer`). */
  #stepTimer: () => number = performanceNow;
  /**
   * A scheduled step is removing records that reads already hide: nothing anyone can see
   * changes, so a transaction that queried the table does not conflict with it.
   */
  #removingHidden = false;
  /**
   * Set while a bulk operation (see `bulk-write.ts`) works on the table in slices: other
   * writes wait for it (acknowledged ones) or are refused (synchronous ones).
   */
  bulk: Promise<void> | undefined;

  constructor(schema: TableSchema<T>, runtime: TableRuntime<T> = {}) {
    this.schema = schema;
    this.keyField = schema.key;
    this.counters = new Counters(schema.name);
    this.#factory = new RecordFactory(schema);
    const indexes = new Map<string, SecondaryIndex<T>>();
    for (const { field, unique } of schema.indexes) {
      indexes.set(field, unique ? new UniqueIndex<T>(field, this.rows) : new HashIndex<T>(field));
    }
    this.indexes = indexes;
    this.compoundIndexes = schema.compoundIndexes.map(
      (c) => new CompoundIndex<T>(c.fields, c.unique, c.ordered),
    );
    this.#indexList = [...indexes.values(), ...this.compoundIndexes];
    this.#uniques = this.#indexList.filter((i) => i.unique);
    for (const { field, ordered } of schema.indexes) if (ordered) this.sortedIndex(field);
    this.keyOrder = schema.type === 'ordered_set' ? this.sortedIndex(schema.key) : undefined;
    this.configure(runtime);
  }

  /** Sets how the table runs; takes effect for later operations. */
  configure(runtime: TableRuntime<T>): void {
    if (runtime.clock) this.#clock = runtime.clock;
    this.#stepTimer = runtime.stepTimer ?? performanceNow;
    this.#defaultTtl = runtime.defaultTtl ?? this.#schemaTtl();
    if (typeof this.#defaultTtl === 'object') this.allowSliding();
    this.#onRenew = runtime.onRenew;
    this.#capacity = runtime.capacity;
    this.#onChange = runtime.onChange;
    this.#wantsChanges = runtime.wantsChanges;
    this.#onFirstDeadline = runtime.onFirstDeadline;
    this.#onDue = runtime.onDue;
    this.counters.onChange = runtime.onCounter;
    this.#persistence = runtime.persistence;
    this.#factory.strict = runtime.strict ?? this.schema.strict === true;
    this.#bare = this.#indexList.length === 0 && this.#capacity === undefined;
    if (this.#hadDeadline) this.#onFirstDeadline?.();
    if (this.#capacity?.maxSize !== undefined && !this.#sizes) {
      this.#sizes = new SizeLedger<T>(this.#capacity.sizeOf ?? estimateSize);
      for (const [key, record] of this.rows) this.#sizes.set(key, record);
    }
    if (this.#capacity?.eviction === 'lru' && !this.#recency) {
      this.#recency = new RecencyList();
      for (const key of this.rows.keys()) this.#recency.touch(key);
    }
  }

  /**
   * Every record in scan order (key order for ordered_set), as fast to walk as it gets: the
   * scan array, built now if the caller reads every record (`whole`), else while it walks.
   */
  scanRecords(whole = false): Iterable<T> {
    if (this.#scan) return this.#scan;
    if (this.keyOrder) return (this.#scan = Array.from(this.keyOrder.all()));
    if (whole) return (this.#scan = Array.from(this.rows.values()));
    return this.#collect();
  }

  /** Walks the rows and keeps what it walked as the scan array, if nothing changes meanwhile. */
  *#collect(): Generator<T> {
    const version = this.#version;
    const records: T[] = [];
    for (const record of this.rows.values()) {
      records.push(record);
      yield record;
    }
    if (this.#version === version && records.length === this.rows.size) this.#scan = records;
  }

  /**
   * The sorted index of the key field or of an indexed field, built on first use and kept
   * up to date from then on; undefined for other fields.
   */
  sortedIndex(field: string): SortedIndex<T> | undefined {
    let sorted = this.#sorted.get(field);
    if (sorted) return sorted;
    if (field === this.keyField) sorted = new SortedIndex<T>(field, (_record, key) => key);
    else if (this.indexes.has(field)) sorted = new SortedIndex<T>(field, fieldReader(field));
    else return undefined;
    for (const [key, record] of this.rows) sorted.add(key, record);
    this.#sorted.set(field, sorted);
    return sorted;
  }

  get name(): string {
    return this.schema.name;
  }

  get size(): number {
    this.expire();
    const upTo = this.#expiredUpTo;
    return upTo === -Infinity ? this.rows.size : this.rows.size - this.#expiry.countDue(upTo);
  }

  // ---- reads -------------------------------------------------------------------------

  get(key: RecordKey): T | undefined {
    this.activity.reads++;
    if (this.#nextDeadline !== Infinity && this.#expiredNow(key)) return undefined;
    const record = this.rows.get(key);
    if (record !== undefined && this.#recency) this.#recency.touch(key);
    if (record !== undefined && this.#slides) this.#renew(key, record);
    return record;
  }

  /**
   * Uses the record as a read by key does, without reading it: renews its sliding deadline
   * and its place in the LRU order. False when there is no such record.
   */
  touch(key: RecordKey): boolean {
    if (!this.has(key)) return false;
    this.#recency?.touch(key);
    if (this.#slides) this.#renew(key, this.rows.get(key)!);
    return true;
  }

  /**
   * Renews a sliding deadline: field writes in the record (see `SlidingDeadline`), the expiry
   * queue untouched; reports it when it should be logged.
   */
  #renew(key: RecordKey, record: T): void {
    const moved = SlidingDeadline.renew(record, this.#clock.now());
    if (moved !== undefined) this.#onRenew?.(key, moved);
  }

  /**
   * Gives every record built from now on a slot for a sliding deadline: called before a
   * write with a sliding TTL builds its record (a sliding table's records always have one).
   */
  allowSliding(): void {
    this.#factory.slots = true;
  }

  /** The table's default TTL as the engine takes it. */
  #schemaTtl(): TtlMs | undefined {
    const { ttl, sliding } = this.schema;
    return sliding && ttl !== undefined ? { slidingMs: ttl } : ttl;
  }

  has(key: RecordKey): boolean {
    if (this.#nextDeadline !== Infinity && this.#expiredNow(key)) return false;
    return this.rows.has(key);
  }

  /** Every key, in key order for an ordered_set table, else in insertion order. */
  keys(): RecordKey[] {
    if (this.keyOrder) return this.all().map((r) => this.#factory.keyOf(r));
    this.expire();
    if (this.#expiredUpTo !== -Infinity)
      return Array.from(this.rows.keys()).filter((k) => !this.#hidden(k));
    return Array.from(this.rows.keys());
  }

  /** Every record, as a frozen array shared by callers until the next change. */
  all(): readonly T[] {
    this.expire();
    if (this.#expiredUpTo !== -Infinity) {
      const test = this.#visible(() => true);
      return Object.freeze(
        Array.from(this.keyOrder ? this.keyOrder.all() : this.rows.values()).filter(test),
      );
    }
    return (this.#all ??= Object.freeze(
      Array.from(this.keyOrder ? this.keyOrder.all() : this.rows.values()),
    ));
  }

  /** Milliseconds until the record expires; undefined if it has no deadline or does not exist. */
  ttl(key: RecordKey): number | undefined {
    this.expire();
    const deadline = this.#expiry.deadline(key);
    return deadline === undefined || deadline <= this.#expiredUpTo
      ? undefined
      : Math.max(0, deadline - this.#clock.now());
  }

  compile(query: unknown): CompiledQuery {
    return compileCached(this.schema.name, query);
  }

  /** The plan `select(query, options)` would use. */
  plan(query?: unknown, options?: unknown): QueryPlan {
    const selectOptions = compileSelectOptions(this.schema.name, this.keyField, options);
    const compiled = this.compile(query);
    this.expire();
    return planQuery(this, compiled, selectOptions.order);
  }

  select(query?: unknown, options?: unknown): T[] {
    return this.#select(query, options, undefined);
  }

  /** Runs a select and reports its plan with the rows it examined and returned. */
  explain(
    query?: unknown,
    options?: unknown,
  ): { plan: QueryPlan; examinedRows: number; returnedRows: number } {
    const counter = { examined: 0 };
    const rows = this.#select(query, options, counter);
    return {
      plan: this.plan(query, options),
      examinedRows: counter.examined,
      returnedRows: rows.length,
    };
  }

  /** A page of the matches past a cursor, and the next page's cursor (see `cursor.ts`). */
  page(query: unknown, options: unknown): PageResult<T> {
    const pageOptions = compilePageOptions(
      this.schema.name,
      this.keyField,
      options,
      this.schema.bagKey,
    );
    const compiled = this.compile(query);
    this.expire();
    return readPage(this, compiled, this.#visible(compiled.test), pageOptions);
  }

  /** Groups the records matching a query and computes counts, sums, means, minima, maxima. */
  aggregate(query: unknown, spec: unknown): AggregateResult[] {
    return aggregate(this.schema.name, this.#matches(query), spec);
  }

  one(query?: unknown): T | undefined {
    if (this.keyOrder) return this.select(query, { limit: 1 })[0]; // the first in key order
    const compiled = this.compile(query);
    this.expire();
    const test = this.#visible(compiled.test);
    for (const record of candidates(this, planQuery(this, compiled).path)) {
      if (test(record)) return record;
    }
    return undefined;
  }

  count(query?: unknown): number {
    const compiled = this.compile(query);
    this.expire();
    if (compiled.matchesAll) return this.size;
    const test = this.#visible(compiled.test);
    let n = 0;
    for (const record of candidates(this, planQuery(this, compiled).path, true))
      if (test(record)) n++;
    return n;
  }

  #select(query: unknown, options: unknown, counter: { examined: number } | undefined): T[] {
    const started = this.activity.start();
    const compiled = this.compile(query);
    const selectOptions = compileSelectOptions(this.schema.name, this.keyField, options);
    this.expire();
    const plan = this.#plan(compiled, selectOptions.order);
    const test = this.#visible(compiled.test);
    const selection = this.#keyOrdered(selectOptions, plan);
    const whole =
      selection.limit === Infinity || (selection.compare !== undefined && !plan.ordered);
    const matcher: Matcher<T> = counter
      ? { test: (r) => (counter.examined++, test(r)) }
      : test === compiled.test
        ? plan.exact
          ? EVERY_CANDIDATE
          : compiled
        : { test };
    const { path } = plan;
    const rows =
      plan.ordered && !whole && (path.kind === 'range' || path.kind === 'ordered')
        ? projectSelection(
            orderedPage(this, path, matcher.test, selection.offset, selection.limit),
            selection,
          )
        : finishSelection<T>(candidates(this, path, whole), matcher, selection, plan.ordered);
    this.activity.queried(plan.path.kind, started);
    return rows;
  }

  /**
   * The plan of a query: a scan, without planning, for a query of a shape no index of this
   * table can serve, with no order asked for; else the planner's.
   */
  #plan(compiled: CompiledQuery, order: OrderHint | undefined): QueryPlan {
    const { template } = compiled;
    if (template !== undefined && order === undefined) {
      let unindexed = this.#unindexedShapes.get(template);
      if (unindexed === undefined) {
        unindexed = template.leaves.every(({ path: [field] }) => !this.#serves(field));
        this.#unindexedShapes.set(template, unindexed);
      }
      if (unindexed) return SCAN_PLAN;
    }
    return planQuery(this, compiled, order);
  }

  /** Whether an index can serve a condition on the field (see `planQuery`). */
  #serves(field: string): boolean {
    return (
      field === this.keyField ||
      this.indexes.has(field) ||
      this.#sorted.has(field) ||
      this.compoundIndexes.some((c) => c.fields[0] === field)
    );
  }

  /**
   * An ordered_set table returns matches in key order when no order is asked for: a scan
   * walks the keys in order already; other paths sort by key.
   */
  #keyOrdered(options: CompiledSelectOptions, plan: QueryPlan): CompiledSelectOptions {
    if (!this.keyOrder || options.compare || plan.path.kind === 'scan') return options;
    const key = this.keyField;
    return {
      ...options,
      compare: (a, b) =>
        compareValues((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    };
  }

  /** Every record matching the query, as a list (safe to change the table while walking it). */
  #matches(query: unknown): T[] {
    const compiled = this.compile(query);
    this.expire();
    const test = this.#visible(compiled.test);
    return finishSelection<T>(
      candidates(this, planQuery(this, compiled).path, true),
      test === compiled.test ? compiled : { test },
      NO_SELECT_OPTIONS,
    );
  }

  // ---- writes ------------------------------------------------------------------------

  /** Inserts or replaces a record. */
  write(input: unknown, ttl?: TtlSetting): T {
    this.expire();
    const record = this.#build(input, 'write');
    const key = this.#factory.keyOf(record);
    if (this.#expiredUpTo !== -Infinity) this.#removeWaiting(key, record);
    const setting = ttl === undefined ? (this.#defaultTtl ?? null) : ttl;
    if (setting === null && this.#storesOnly()) this.#store(key, record);
    else this.#put(key, record, this.rows.get(key), setting);
    return record;
  }

  /** Inserts a record; `DuplicateKeyError` if its key exists. */
  insert(input: unknown, ttl?: TtlSetting): T {
    this.expire();
    const record = this.#build(input, 'insert');
    const key = this.#factory.keyOf(record);
    if (this.#expiredUpTo !== -Infinity) this.#removeWaiting(key, record);
    if (this.rows.has(key))
      throw new DuplicateKeyError(this.schema.name, this.keyField, key, undefined, key);
    const setting = ttl === undefined ? (this.#defaultTtl ?? null) : ttl;
    if (setting === null && this.#storesOnly()) this.#store(key, record);
    else this.#put(key, record, undefined, setting);
    return record;
  }

  /**
   * Changes fields of an existing record; `RecordNotFoundError` if there is none. The
   * record keeps its deadline unless `ttl` is given.
   */
  update(key: RecordKey, change: RecordUpdate<T>, ttl?: TtlSetting): T {
    this.expire();
    this.assertIdle('update');
    if (this.#expiredUpTo !== -Infinity) this.#removeWaiting(key);
    const current = this.rows.get(key);
    if (!current) throw new RecordNotFoundError(this.schema.name, key);
    const record = this.#updated(key, current, change);
    if (this.#expiredUpTo !== -Infinity) this.#removeWaiting(key, record);
    // no deadline to keep or clear (the table has none) and nothing else to maintain
    if ((ttl === undefined || ttl === null) && this.#storesOnly()) this.#store(key, record);
    else this.#put(key, record, current, ttl);
    return record;
  }

  /** Deletes the record with this key (or this record's key); returns it, if there was one. */
  delete(keyOrRecord: RecordKey | T): T | undefined {
    this.expire();
    this.assertIdle('delete');
    const key =
      typeof keyOrRecord === 'object' && keyOrRecord !== null
        ? (fieldValue(keyOrRecord, this.keyField) as RecordKey)
        : keyOrRecord;
    if (this.#expiredUpTo !== -Infinity) this.#removeWaiting(key);
    const record = this.rows.get(key);
    if (record === undefined) return undefined; // (not `!record`: that reads the record)
    this.#apply(key, undefined, record);
    this.#emit('delete', key, undefined, record);
    return record;
  }

  /** Deletes every record; returns how many there were. */
  deleteAll(): number {
    this.expire();
    this.assertIdle('deleteAll');
    this.#expireWaiting(); // each reported as expired, as it would have been already
    const n = this.rows.size;
    this.rows.clear();
    for (const index of this.#indexList) index.clear();
    for (const sorted of this.#sorted.values()) sorted.clear();
    this.#expiry.clear();
    this.#recency?.clear();
    this.#sizes?.clear();
    this.#nextDeadline = Infinity;
    this.#changed();
    this.activity.deletes += n;
    if (n > 0) this.#onChange?.({ op: 'clear' });
    return n;
  }

  /**
   * Writes several records at once: all are built, validated and checked against the unique
   * indexes and the capacity first, and only then applied, so either all are written or none.
   */
  writeMany(inputs: readonly unknown[], ttl?: TtlSetting): T[] {
    if (!Array.isArray(inputs)) {
      throw new MemoryStoreError('writeMany() takes an array of records', this.schema.name);
    }
    this.expire();
    // an indexed loop, not map: a hole reads as undefined and is refused, not skipped
    const records = new Array<T>(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      try {
        records[i] = this.#build(inputs[i], 'writeMany');
      } catch (error) {
        if (error instanceof StoreValidationError)
          throw new StoreValidationError(this.schema.name, error.errors, i, error.key);
        throw error;
      }
    }
    const batch = new Map<RecordKey, T>();
    const entries = new Map<RecordKey, number>();
    records.forEach((record, i) => {
      const key = this.#factory.keyOf(record);
      batch.set(key, record);
      entries.set(key, i);
    });
    this.#commit(batch, ttl === undefined ? (this.#defaultTtl ?? null) : ttl, entries);
    return records;
  }

  /**
   * Changes every record matching the query, all or none: every new record is built and
   * checked before any is stored. Returns the new records. Deadlines stay unless `ttl` is given.
   */
  updateWhere(query: unknown, change: RecordUpdate<T>, ttl?: TtlSetting): T[] {
    this.assertIdle('update');
    const batch = new Map<RecordKey, T>();
    for (const current of this.#matches(query)) {
      const key = this.#factory.keyOf(current);
      batch.set(key, this.#updated(key, current, change));
    }
    this.#commit(batch, ttl);
    return [...batch.values()];
  }

  /** Deletes every record matching the query; returns them. */
  deleteMany(query: unknown): T[] {
    this.assertIdle('deleteMany');
    const matches = this.#matches(query);
    for (const record of matches) {
      const key = this.#factory.keyOf(record);
      this.#apply(key, undefined, record);
      this.#emit('delete', key, undefined, record);
    }
    return matches;
  }

  /** Finds the first record matching the query and deletes it, in one step. */
  withdraw(query: unknown): T | undefined {
    const record = this.one(query);
    if (record) this.delete(record);
    return record;
  }

  // ---- persistence -------------------------------------------------------------------

  /** The journal the table's changes go to (undefined for a memory-only table). */
  get persistence(): { durable(): Promise<void> } | undefined {
    return this.#persistence;
  }

  /** Resolves when the table's changes so far are as durable as its persistence promises. */
  durable(): Promise<void> {
    return this.#persistence?.durable() ?? Promise.resolve();
  }

  /** The deadline of a record, if it has one. */
  deadlineOf(key: RecordKey): number | undefined {
    return this.#expiry.deadline(key);
  }

  /** The records (with keys and deadlines) and counters as they are now, for a snapshot. */
  capture(): {
    rows: [RecordKey, T, number | undefined][];
    counters: [string, number][];
    version: number;
  } {
    const rows: [RecordKey, T, number | undefined][] = [];
    for (const [key, record] of this.rows) rows.push([key, record, this.#expiry.deadline(key)]);
    return { rows, counters: [...this.counters.entries()], version: this.schema.version };
  }

  /**
   * Loads persisted records and counters into the table, reporting no change. Records of
   * the current version were validated when first written and are not validated again;
   * older ones pass through the table's migrations and are validated. All are built before
   * any is stored. Deadlines that passed expire at the next operation.
   */
  restore(
    rows: Iterable<readonly [RecordKey, Record<string, unknown>, number | null, number]>,
    counters: Iterable<[string, number]>,
  ): void {
    const built: [RecordKey, T, number | null][] = [];
    for (const [key, fields, deadline, version] of rows)
      built.push([key, this.reviveStored(key, fields, version), deadline]);
    this.restoreBuilt(built, counters);
  }

  /**
   * A persisted record rebuilt: copied and frozen, not validated again when of the current
   * `version` (else migrated and validated). Refused, naming the table, when it is not a
   * record or its key field does not hold `key`.
   */
  reviveStored(key: RecordKey, fields: unknown, version = this.schema.version): T {
    let record: T;
    try {
      if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
        throw new TypeError(`it is ${fields === null ? 'null' : typeof fields}, not a record`);
      const current = migrateRecord(this.schema, key, fields as Record<string, unknown>, version);
      record =
        current === fields
          ? this.#factory.restore(fields, key)
          : this.#factory.create(current, key);
    } catch (error) {
      if (error instanceof MemoryStoreError) throw error;
      throw new MemoryStoreError(
        `The stored record ${showValue(key)} of table '${this.schema.name}' cannot be loaded: ${(error as Error).message}`,
        this.schema.name,
      );
    }
    if (this.#factory.keyOf(record) !== key) {
      throw new MemoryStoreError(
        `The stored record under key ${showValue(key)} of table '${this.schema.name}' holds ` +
          `${showValue(this.#factory.keyOf(record))} in its key field '${this.keyField}'`,
        this.schema.name,
      );
    }
    return record;
  }

  /**
   * Loads records built by `reviveStored` and counters into the table, reporting no change:
   * nothing is stored unless every unique value has one owner.
   */
  restoreBuilt(
    built: readonly (readonly [RecordKey, T, number | null, ...unknown[]])[],
    counters: Iterable<[string, number]>,
    periods?: readonly (number | undefined)[],
  ): void {
    this.#checkRestored(built);
    for (let i = 0; i < built.length; i++) {
      const [key, record, deadline] = built[i];
      const setting = this.restoredDeadline(deadline ?? null, periods?.[i]);
      this.#apply(key, record, this.rows.get(key), setting);
    }
    this.counters.restore(counters);
  }

  /**
   * The sliding period persisted with a record's deadline (see `restoredDeadline`): its
   * period when its deadline slides; 0 when it has a fixed one on a table where deadlines may
   * slide (so that it does not slide once restored); else undefined (nothing to persist).
   */
  periodOf(key: RecordKey): number | undefined {
    if (!this.#slides && !this.schema.sliding) return undefined;
    const record = this.rows.get(key);
    const period = SlidingDeadline.periodOf(record);
    if (period !== undefined) return period;
    return record !== undefined && this.#expiry.deadline(key) !== undefined ? 0 : undefined;
  }

  /**
   * The deadline a restored record gets (recovery, a backup's restore): sliding by the
   * persisted period, fixed when 0 was persisted; without one (files written before periods
   * were), a sliding table's records slide by its period. Call it before the record is built:
   * it gives the table's records their slot when the deadline slides.
   */
  restoredDeadline(deadline: number | null, period: number | undefined): DeadlineSetting {
    const valid = typeof period === 'number' && period >= 0 && period < Infinity;
    if (period !== undefined && (!valid || (period > 0 && this.schema.bagKey !== undefined))) {
      throw new MemoryStoreError(
        `Table '${this.schema.name}': a persisted sliding period must be a number of ms (0: none)` +
          `${valid ? ", and a bag's deadlines do not slide" : ''}; got ${showValue(period)}`,
        this.schema.name,
      );
    }
    if (deadline === null) return null;
    const slides = period === undefined ? (this.schema.sliding ? this.schema.ttl! : 0) : period;
    if (!(slides > 0)) return deadline;
    this.allowSliding();
    return { at: deadline, period: slides };
  }

  // ---- staged changes (transactions) -------------------------------------------------

  /** How many changes the table has made; it only grows. */
  get version(): number {
    return this.#version;
  }

  /** Builds (and validates) a record to write later, with its key. */
  build(input: unknown, operation = 'write'): T {
    return this.#build(input, operation);
  }

  /** The TTL setting a `write` uses: the given one, else the table's default, else none. */
  writeTtl(ttl: TtlSetting): TtlSetting {
    return ttl === undefined ? (this.#defaultTtl ?? null) : ttl;
  }

  /** Builds the record an update would make of `current`. */
  rebuild(key: RecordKey, current: T, change: RecordUpdate<T>): T {
    return this.#updated(key, current, change);
  }

  /** The primary key of a record. */
  keyOf(record: T): RecordKey {
    return this.#factory.keyOf(record);
  }

  /**
   * Matches of a query over the table as `overlay` would leave it (a record, or null for a
   * deleted one, per key), ordered, paged and projected as `options` say.
   */
  selectOver(overlay: ReadonlyMap<RecordKey, T | null>, query: unknown, options: unknown): T[] {
    const compiled = this.compile(query);
    const selectOptions = compileSelectOptions(this.schema.name, this.keyField, options);
    this.expire();
    const records: T[] = [];
    const waiting = this.#expiredUpTo !== -Infinity;
    for (const [key, record] of this.keyOrder ? this.#keyedEntries() : this.rows) {
      if (!overlay.has(key) && !(waiting && this.#hidden(key))) records.push(record);
    }
    for (const record of overlay.values()) if (record) records.push(record);
    const key = this.keyField;
    const ordered: CompiledSelectOptions =
      selectOptions.compare || !this.keyOrder
        ? selectOptions
        : {
            ...selectOptions,
            compare: (a, b) =>
              compareValues(
                (a as Record<string, unknown>)[key],
                (b as Record<string, unknown>)[key],
              ),
          };
    return finishSelection<T>(records, compiled, ordered);
  }

  *#keyedEntries(): Generator<[RecordKey, T]> {
    for (const record of this.keyOrder!.all()) yield [this.#factory.keyOf(record), record];
  }

  /**
   * Checks that a staged batch (a record to put, or null to delete, per key) can be applied:
   * unique indexes and capacity. Throws what applying would throw; changes nothing.
   */
  checkStaged(staged: ReadonlyMap<RecordKey, StagedWrite<T>>): void {
    this.expire();
    if (this.#expiredUpTo !== -Infinity)
      for (const [key, { record }] of staged) this.#removeWaiting(key, record ?? undefined);
    const puts = new Map<RecordKey, T>();
    const deletes = new Set<RecordKey>();
    for (const [key, { record }] of staged) {
      if (record) puts.set(key, record);
      else if (this.rows.has(key)) deletes.add(key);
    }
    for (const index of this.#uniques)
      this.#checkBatch(index as UniqueIndex<T>, puts, undefined, deletes);
    if (this.#capacity) {
      this.#expireWaiting();
      let added = -deletes.size;
      for (const key of puts.keys()) if (!this.rows.has(key)) added++;
      this.checkRoom(added, staged, this.#stagedBytes(staged));
    }
  }

  /**
   * Checks that `added` more records fit (evicting records not in `spare` under `'lru'`);
   * `StoreCapacityError` if they do not. Changes nothing.
   */
  checkRoom(added: number, spare: KeysHeld, bytes = 0): void {
    const capacity = this.#capacity;
    if (!capacity || fits(capacity, this.#occupancy(), added, bytes)) return;
    if (capacity.eviction === 'reject' || !this.#victims(added, bytes, spare))
      throw capacityError(this.schema.name, capacity, this.#occupancy(), added);
  }

  /** How many bytes more the table would hold with these records written (0 without `maxSize`). */
  sizeDelta(
    keys: readonly RecordKey[],
    records: readonly (T | null)[],
    from = 0,
    to = keys.length,
  ) {
    const sizes = this.#sizes;
    if (!sizes) return 0;
    let bytes = 0;
    for (let i = from; i < to; i++) {
      const record = records[i];
      bytes += (record ? sizes.measure(record) : 0) - sizes.sizeAt(keys[i]);
    }
    return bytes;
  }

  #occupancy(): { records: number; bytes: number } {
    return { records: this.rows.size, bytes: this.#sizes?.total ?? 0 };
  }

  #victims(added: number, bytes: number, spare: KeysHeld): RecordKey[] | undefined {
    const held = this.#occupancy();
    return victims(this.#capacity!, held, added, bytes, this.#recency!, spare, this.#sizes);
  }

  // ---- bulk operations in slices (see bulk-write.ts) ----------------------------------

  /** The table clock's time. */
  clockNow(): number {
    return this.#clock.now();
  }

  /** True when the table has a capacity (`maxRecords` or `maxSize`). */
  get bounded(): boolean {
    return this.#capacity !== undefined;
  }

  /** The capacity's `maxRecords`, if the table has one. */
  get capacityLimit(): number | undefined {
    return this.#capacity?.maxRecords;
  }

  /** The unique indexes, for a bulk operation's own check. */
  get uniqueIndexes(): readonly UniqueIndex<T>[] {
    return this.#uniques as UniqueIndex<T>[];
  }

  /** The deadline a write with this TTL setting sets (see `#deadline`). */
  deadlineFor(ttl: TtlSetting): DeadlineSetting {
    return this.#deadline(ttl);
  }

  /**
   * Stores checked records `from` to `to` of a bulk write, reporting each; makes room first,
   * never evicting a record of the batch (`spare`). `deadlines` is one for all or one each.
   * `gone`, when given (an update of stored records), receives the index of each record whose
   * key is no longer stored (expired meanwhile), which is then not written.
   */
  applyBulk(
    keys: readonly RecordKey[],
    records: readonly T[],
    from: number,
    to: number,
    deadlines: DeadlineSetting | readonly DeadlineSetting[],
    spare: KeysHeld,
    gone?: number[],
  ): void {
    if (this.#capacity) {
      let added = 0;
      for (let i = from; i < to; i++) if (!this.rows.has(keys[i])) added++;
      this.#makeRoom(added, spare, this.sizeDelta(keys, records, from, to));
    }
    const each = Array.isArray(deadlines);
    for (let i = from; i < to; i++) {
      const key = keys[i];
      const record = records[i];
      const previous = this.rows.get(key);
      if (gone && previous === undefined) {
        gone.push(i);
        continue;
      }
      const deadline = each ? (deadlines as readonly DeadlineSetting[])[i] : deadlines;
      this.#apply(key, record, previous, deadline as DeadlineSetting);
      this.#emit(previous === undefined ? 'insert' : 'update', key, record, previous);
    }
  }

  /** Deletes records `from` to `to` of a bulk delete (those still stored), reporting each. */
  deleteBulk(records: readonly T[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const key = this.#factory.keyOf(records[i]);
      const current = this.rows.get(key);
      if (current === undefined) continue; // expired meanwhile
      this.#apply(key, undefined, current);
      this.#emit('delete', key, undefined, current);
    }
  }

  /** Every record matching the query, as a list (safe to change the table while walking it). */
  matches(query: unknown): T[] {
    return this.#matches(query);
  }

  /**
   * What `matches` walks, for a bulk operation that walks it in slices: the candidates (from
   * the query's index, or every record, walked live) and the test each must pass.
   */
  matchWalk(query: unknown): { candidates: Iterable<T>; test: (record: T) => boolean } {
    const compiled = this.compile(query);
    this.expire();
    return {
      candidates: candidates(this, planQuery(this, compiled).path),
      test: this.#visible(compiled.test),
    };
  }

  /**
   * A record from persisted fields (migrated if older), validated, as a restore builds it. A
   * bag record keeps its row (`key`), so a record read before the restore still names it.
   */
  buildRestored(key: RecordKey, fields: Record<string, unknown>, version: number): T {
    return this.#factory.create(migrateRecord(this.schema, key, fields, version), key);
  }

  /** Replaces every counter with the given ones (a restore). */
  replaceCounters(counters: readonly [string, number][]): void {
    for (const [name] of [...this.counters.entries()]) this.counters.delete(name);
    for (const [name, value] of counters) this.counters.reset(name, value);
  }

  /** The bytes a staged batch adds (0 without `maxSize`). */
  #stagedBytes(staged: ReadonlyMap<RecordKey, StagedWrite<T>>): number {
    if (!this.#sizes) return 0;
    return this.sizeDelta(
      [...staged.keys()],
      [...staged.values()].map((s) => s.record),
    );
  }

  /** Applies a staged batch that `checkStaged` accepted, reporting each change. */
  applyStaged(staged: ReadonlyMap<RecordKey, StagedWrite<T>>): void {
    this.assertIdle('a transaction commit');
    if (this.#expiredUpTo !== -Infinity)
      for (const [key, { record }] of staged) this.#removeWaiting(key, record ?? undefined);
    let added = 0;
    for (const [key, { record }] of staged) if (record && !this.rows.has(key)) added++;
    for (const [key, { record }] of staged) if (!record && this.rows.has(key)) added--;
    this.#makeRoom(added, staged, this.#stagedBytes(staged));
    for (const [key, { record, ttl }] of staged) {
      const previous = this.rows.get(key);
      if (record) {
        this.#apply(key, record, previous, this.#deadline(ttl));
        this.#emit(previous === undefined ? 'insert' : 'update', key, record, previous);
      } else if (previous) {
        this.#apply(key, undefined, previous);
        this.#emit('delete', key, undefined, previous);
      }
    }
  }

  // ---- time to live ------------------------------------------------------------------

  /**
   * Removes every record whose deadline has passed, each reported as an `expire` change.
   * Runs before every operation; the store's sweep calls it too. Costs work in proportion
   * to the expired records. Returns how many it removed.
   */
  expire(limit = EXPIRY_SLICE): number {
    if (this.#nextDeadline === Infinity || this.#busy !== undefined) return 0;
    const now = this.#clock.now();
    if (this.#nextDeadline > now) return 0;
    if (this.#onDue) {
      this.#onDue();
      return 0;
    }
    if (this.#stepScheduled && limit === EXPIRY_SLICE) {
      // a step is on its way: hide what has expired since, and leave the work to the steps
      if (now > this.#expiredUpTo) {
        this.#expiredUpTo = now;
        this.#version++; // what queries find has changed
        this.#all = undefined;
      }
      return 0;
    }
    return this.#expireStep(now, limit);
  }

  /**
   * Removes up to `limit` records whose deadline is at or before `upTo`, for at most
   * `EXPIRY_SLICE_MS` unless `limit` is Infinity; if more wait, hides them (see
   * `#expiredUpTo`) and schedules the next step.
   */
  #expireStep(upTo: number, limit: number): number {
    let spent: (() => boolean) | undefined;
    if (limit !== Infinity) {
      const timer = this.#stepTimer;
      const stopAt = timer() + EXPIRY_SLICE_MS;
      spent = () => timer() >= stopAt;
    }
    const expired = this.#expiry.expire(upTo, this.#removeExpired, limit, spent);
    this.#nextDeadline = this.#expiry.next;
    if (this.#nextDeadline > upTo) {
      this.#expiredUpTo = -Infinity;
      return expired;
    }
    if (upTo > this.#expiredUpTo) this.#expiredUpTo = upTo;
    if (!this.#stepScheduled) {
      this.#stepScheduled = true;
      setImmediate(this.#nextStep);
    }
    return expired;
  }

  readonly #nextStep = (): void => {
    this.#stepScheduled = false;
    if (this.#expiredUpTo === -Infinity) return; // removed meanwhile (deleteAll, a full step)
    this.#removingHidden = true;
    try {
      this.#expireStep(this.#expiredUpTo, EXPIRY_SLICE);
    } finally {
      this.#removingHidden = false;
    }
  };

  /** Removes every record that waits to be removed for its deadline, at once. */
  #expireWaiting(): void {
    if (this.#expiredUpTo !== -Infinity) this.#expireStep(this.#expiredUpTo, Infinity);
  }

  /**
   * Expires what is due, then tells whether the record under `key` has expired but waits to
   * be removed. Apart from `get` and `has`, to keep them small enough for V8 to inline.
   */
  #expiredNow(key: RecordKey): boolean {
    this.expire();
    return this.#expiredUpTo !== -Infinity && this.#hidden(key);
  }

  /** True when the record under `key` waits to be removed for its deadline. */
  #hidden(key: RecordKey): boolean {
    return (this.#expiry.deadline(key) ?? Infinity) <= this.#expiredUpTo;
  }

  /** `test`, or while expired records wait to be removed, `test` for records not among them. */
  #visible(test: (record: object) => boolean): (record: T) => boolean {
    if (this.#expiredUpTo === -Infinity) return test;
    return (record) => !this.#hidden(this.#factory.keyOf(record)) && test(record);
  }

  /**
   * Removes, as expired, the waiting records a write is about to touch: the one under its key,
   * and the holders of the unique values of the record it writes.
   */
  #removeWaiting(key: RecordKey, record?: T): void {
    this.#removeIfWaiting(key);
    if (!record) return;
    for (const index of this.#uniques) {
      const owner = (index as UniqueIndex<T>).conflict(record, key);
      if (owner !== undefined) this.#removeIfWaiting(owner);
    }
  }

  #removeIfWaiting(key: RecordKey): void {
    if (!this.#hidden(key)) return;
    const record = this.rows.get(key)!;
    this.#apply(key, undefined, record);
    this.#emit('expire', key, undefined, record);
  }

  /**
   * Removes records whose keys the expiry queue has just dropped. Their records are looked up
   * together first, so that the processor overlaps the cache misses (see ExpiryQueue.expire).
   */
  readonly #removeExpired = (keys: RecordKey[]): void => {
    if (this.#removesOnly()) {
      // nothing derived to update and nobody to tell: the records themselves are not read
      const rows = this.rows;
      for (let i = 0; i < keys.length; i++) rows.delete(keys[i]);
      this.activity.expiries += keys.length;
      this.#changed();
      return;
    }
    const records: T[] = [];
    for (const key of keys) records.push(this.rows.get(key)!);
    for (let i = 0; i < keys.length; i++) {
      this.#apply(keys[i], undefined, records[i], undefined, true);
      this.#emit('expire', keys[i], undefined, records[i]);
    }
  };

  // ---- replication -------------------------------------------------------------------

  /** How many records have a deadline. */
  get deadlineCount(): number {
    return this.#expiry.size;
  }

  /**
   * A record of the table from fields that were validated where they were written; `key`
   * (its row) gives a bag record its row identity.
   */
  revive(fields: object, key?: RecordKey): T {
    return this.#factory.restore(fields, key);
  }

  /**
   * Makes a bag's new rows `<prefix><n>` (strings), so that instances sharing the table
   * through replication never hand out the same row.
   */
  distinctRows(prefix: string): void {
    this.#factory.rowPrefix = prefix;
  }

  /**
   * Applies changes decided elsewhere (a replication log), in order, reporting each. Nothing
   * is checked: the log is the authority, and applied in its order it keeps every unique
   * value with one owner.
   */
  applyReplicated(changes: readonly ReplicatedChange<T>[]): void {
    for (const change of changes) {
      const key = change.key;
      const previous = this.rows.get(key);
      if (change.op === 'update') {
        this.#apply(key, change.record, previous, change.deadline);
        this.#emit(previous ? 'update' : 'insert', key, change.record, previous);
      } else if (previous) {
        this.#apply(key, undefined, previous);
        this.#emit(change.op, key, undefined, previous);
      }
    }
    this.#nextDeadline = this.#expiry.next;
  }

  // ---- internals ---------------------------------------------------------------------

  #updated(key: RecordKey, current: T, change: RecordUpdate<T>): T {
    this.assertIdle('update');
    let record: T;
    this.#busy = 'update';
    try {
      const patch: unknown = typeof change === 'function' ? change(current) : change;
      record = this.#factory.merge(current, patch);
    } finally {
      this.#busy = undefined;
    }
    if (this.#factory.keyOf(record) !== key) {
      throw invalidField(
        this.schema.name,
        this.keyField,
        this.#factory.keyOf(record),
        'primaryKey',
        `${this.keyField} is the primary key and cannot change in an update`,
      );
    }
    const bagKey = this.schema.bagKey;
    if (bagKey !== undefined && fieldOf(record, bagKey) !== fieldOf(current, bagKey)) {
      // a record moving to another key would leave its key's listeners unaware
      throw invalidField(
        this.schema.name,
        bagKey,
        fieldOf(record, bagKey),
        'bagKey',
        `${bagKey} is the key of a '${this.schema.type}' table and cannot change in an update ` +
          `(delete the record and write it under its new key)`,
        fieldOf(current, bagKey) as RecordKey,
      );
    }
    return record;
  }

  /**
   * Builds and validates a record from a write's input: the table class's constructor,
   * getters and validators run here, marked as `operation`'s user code.
   */
  #build(input: unknown, operation: string): T {
    this.assertIdle(operation);
    this.#busy = operation;
    try {
      return this.#factory.create(this.#withKey(input));
    } finally {
      this.#busy = undefined;
    }
  }

  /**
   * Refuses a write made by user code that runs inside a write of this table (an update
   * function, a validator, a getter or the constructor of the table class): applied there,
   * it would change the table between the outer write's checks and its apply, leaving
   * indexes that disagree with the records.
   */
  assertIdle(operation: string): void {
    const busy = this.#busy;
    if (busy === undefined) return;
    throw new MemoryStoreError(
      `Table '${this.schema.name}': ${operation}() was called from code running inside ${busy}() of the ` +
        'same table (an update function, a validator, a getter or the constructor of the table class), ' +
        `which is refused: it would change the table while ${busy}() is half done. Nothing was changed ` +
        `by it; make the write after ${busy}() has returned (a listener of its change is one place)`,
      this.schema.name,
    );
  }

  /** The input with a key from the table's counter, for autoIncrement tables that lack one. */
  #withKey(input: unknown): unknown {
    if (this.schema.keyGen) return withGeneratedKey(input, this.keyField, this.#factory);
    if (
      !this.schema.autoIncrement ||
      typeof input !== 'object' ||
      input === null ||
      Array.isArray(input) // refused as a record, not spread into one
    )
      return input;
    const given = (input as Record<string, unknown>)[this.keyField];
    if (typeof given === 'number') {
      this.counters.raise(this.keyField, given);
      return input;
    }
    if (given !== undefined && given !== null) return input;
    this.#factory.assertStorable(input); // the spread below would make a Date or a Map a record
    let id: number;
    do id = this.counters.next(this.keyField);
    while (this.rows.has(id));
    return { ...input, [this.keyField]: id };
  }

  /**
   * True when a write without a deadline only has to store its record: no index, capacity
   * or deadline to maintain, and nobody to tell. Such a write then skips reading the record
   * it replaces: in a large table that read is a cache miss, as costly as the rest of the
   * write's bookkeeping together.
   */
  #storesOnly(): boolean {
    return this.#bare && this.#sorted.size === 0 && this.#expiry.size === 0 && !this.#reporting();
  }

  /** True when removing a record only has to delete its row: no index, capacity or listener. */
  #removesOnly(): boolean {
    return (
      this.#bare &&
      this.#sorted.size === 0 &&
      this.#recency === undefined &&
      this.#sizes === undefined &&
      !this.#reporting()
    );
  }

  /** Stores a record where `#storesOnly()` says nothing else needs doing. */
  #store(key: RecordKey, record: T): void {
    this.rows.set(key, record);
    this.activity.writes++;
    this.#changed();
  }

  /**
   * Stores one record after checking unique indexes and capacity. Tests `previous` against
   * undefined rather than for truth: a truth test reads the record (a likely cache miss).
   */
  #put(key: RecordKey, record: T, previous: T | undefined, ttl: TtlSetting): void {
    for (const index of this.#uniques) {
      const holder = index.conflict(record, key);
      if (holder !== undefined) {
        const value = index.valueOf(record);
        throw new DuplicateKeyError(
          this.schema.name,
          index.field,
          value,
          undefined,
          this.#userKey(holder, this.rows.get(holder)),
        );
      }
    }
    const deadline = this.#deadline(ttl);
    const bytes = this.#sizes ? this.#sizes.measure(record) - this.#sizes.sizeAt(key) : 0;
    if (previous === undefined || bytes > 0)
      this.#makeRoom(previous === undefined ? 1 : 0, new Set([key]), bytes);
    this.#apply(key, record, previous, deadline);
    this.#emit(previous === undefined ? 'insert' : 'update', key, record, previous);
  }

  /** Stores a batch of records after checking it against every unique index and the capacity. */
  #commit(
    batch: ReadonlyMap<RecordKey, T>,
    ttl: TtlSetting,
    entries?: ReadonlyMap<RecordKey, number>,
  ): void {
    if (this.#expiredUpTo !== -Infinity)
      for (const [key, record] of batch) this.#removeWaiting(key, record);
    for (const index of this.#uniques) this.#checkBatch(index as UniqueIndex<T>, batch, entries);
    const deadline = this.#deadline(ttl);
    let added = 0;
    for (const key of batch.keys()) if (!this.rows.has(key)) added++;
    this.#makeRoom(added, batch, this.sizeDelta([...batch.keys()], [...batch.values()]));
    for (const [key, record] of batch) {
      const previous = this.rows.get(key);
      this.#apply(key, record, previous, deadline);
      this.#emit(previous === undefined ? 'insert' : 'update', key, record, previous);
    }
  }

  /** The deadline a write sets: a time, `null` to clear it, `undefined` to keep it. */
  #deadline(ttl: TtlSetting): DeadlineSetting {
    if (ttl === null || ttl === undefined) return ttl;
    const clock = this.#clock;
    const now = clock.precise ? clock.precise() : clock.now();
    if (typeof ttl === 'number') return now + ttl;
    return { at: now + ttl.slidingMs, period: ttl.slidingMs };
  }

  /**
   * Makes room for `added` new records: refuses with `StoreCapacityError` under `'reject'`,
   * evicts the least recently used records (not those in `spare`) under `'lru'`.
   */
  #makeRoom(added: number, spare: KeysHeld, bytes = 0): void {
    const capacity = this.#capacity;
    if (!capacity || (added <= 0 && bytes <= 0)) return;
    if (fits(capacity, this.#occupancy(), added, bytes)) return;
    this.#expireWaiting(); // expired records make room before any is evicted or refused
    if (fits(capacity, this.#occupancy(), added, bytes)) return;
    const victims = capacity.eviction === 'lru' ? this.#victims(added, bytes, spare) : undefined;
    if (!victims) throw capacityError(this.schema.name, capacity, this.#occupancy(), added);
    for (const key of victims) {
      const record = this.rows.get(key)!;
      this.#apply(key, undefined, record);
      this.#emit('evict', key, undefined, record);
    }
  }

  /**
   * Puts `record` (or nothing) in place of `previous` under `key`, in every structure. A
   * deadline of `undefined` keeps the current one; `null` clears it.
   */
  #apply(
    key: RecordKey,
    record: T | undefined,
    previous: T | undefined,
    deadline?: DeadlineSetting,
    /** The expiry queue has already dropped the key (it is expiring). */
    expiring = false,
  ): void {
    if (typeof deadline === 'object' && deadline !== null && !SlidingDeadline.has(record!)) {
      // (MemoryStore asks for slots before any sliding write builds its record)
      throw new MemoryStoreError(
        `Table '${this.schema.name}': a sliding deadline was set on a record built without its slot (allowSliding() was not called)`,
        this.schema.name,
      );
    }
    const indexes = this.#indexList;
    if (indexes.length > 0) {
      if (record === undefined) {
        if (previous !== undefined) for (const index of indexes) index.remove(key, previous);
      } else if (previous === undefined) for (const index of indexes) index.add(key, record);
      else for (const index of indexes) index.update(key, record, previous);
    }
    if (this.#sorted.size > 0) {
      for (const sorted of this.#sorted.values()) {
        if (record === undefined) {
          if (previous !== undefined) sorted.remove(key, previous);
        } else if (previous === undefined) sorted.add(key, record);
        else sorted.update(key, record, previous);
      }
    }
    if (record) {
      this.rows.set(key, record);
      this.#recency?.touch(key);
      this.#sizes?.set(key, record);
      if (deadline === undefined) {
        if (this.#slides && previous !== undefined) SlidingDeadline.carry(previous, record);
      } else if (typeof deadline === 'number') {
        if (this.#slides) SlidingDeadline.stop(record);
        this.#setDeadline(key, deadline);
      } else if (deadline === null) {
        if (this.#slides) SlidingDeadline.stop(record);
        if (this.#expiry.size > 0) this.#expiry.delete(key);
      } else {
        SlidingDeadline.start(record, deadline.at, deadline.period);
        this.#setDeadline(key, deadline.at, true);
      }
    } else {
      this.rows.delete(key);
      this.#recency?.delete(key);
      this.#sizes?.delete(key);
      if (!expiring && this.#expiry.size > 0) this.#expiry.delete(key);
    }
    this.#changed();
  }

  /** Drops what was derived from the rows, and counts the change. */
  #changed(): void {
    this.#all = undefined;
    this.#scan = undefined;
    if (!this.#removingHidden) this.#version++;
  }

  #setDeadline(key: RecordKey, deadline: number, sliding = false): void {
    this.#expiry.set(key, deadline, this.#clock.now(), sliding);
    if (sliding) this.#slides = true;
    if (deadline < this.#nextDeadline) this.#nextDeadline = deadline;
    if (!this.#hadDeadline) {
      this.#hadDeadline = true;
      this.#onFirstDeadline?.();
    }
  }

  #emit(
    op: TableChange<T>['op'],
    key: RecordKey,
    record: T | undefined,
    previous: T | undefined,
  ): void {
    this.activity.changed(op);
    if (this.#reporting()) this.#onChange!({ op, key, record, previous });
  }

  /** Whether changes are reported now: built and handed to the change sink. */
  #reporting(): boolean {
    return (
      this.#onChange !== undefined && (this.#wantsChanges === undefined || this.#wantsChanges())
    );
  }

  /**
   * Written records were checked against the unique indexes of their day; an index declared
   * since can find two holding one value. Loading them would leave the index answering for
   * one record where a scan finds both, so loading stops, before any is stored, naming them.
   */
  #checkRestored(built: readonly (readonly [RecordKey, T, ...unknown[]])[]): void {
    if (this.#uniques.length === 0) return;
    const batch = new Map(built.map(([key, record]) => [key, record]));
    for (const index of this.#uniques) {
      try {
        this.#checkBatch(index as UniqueIndex<T>, batch, undefined);
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
        const holders = built
          .filter(([, record]) => valuesEqual(index.valueOf(record), error.value))
          .map(([key, record]) => showValue(this.#userKey(key, record)));
        throw new MemoryStoreError(
          `Records ${holders.join(' and ')} of table '${this.schema.name}' both hold ` +
            `${showValue(error.value)} in '${index.field}', which has a unique index: was the ` +
            'index declared after they were written? Give the table a new version with a ' +
            'migration that makes the values unique, or drop unique: true',
          this.schema.name,
        );
      }
    }
  }

  /**
   * The key users know a stored row by: a bag record's key field (never its hidden row),
   * else the row's key itself.
   */
  userKeyOf(row: RecordKey): RecordKey {
    return this.#userKey(row, this.rows.get(row));
  }

  /** The key users know a row by: a bag record's key field, never its hidden row. */
  #userKey(row: RecordKey, record: T | undefined): RecordKey {
    const bagKey = this.schema.bagKey;
    if (bagKey === undefined || record === undefined) return row;
    return fieldOf(record, bagKey) as RecordKey;
  }

  /** Checks that a batch, applied over the table, leaves every unique value with one owner. */
  #checkBatch(
    index: UniqueIndex<T>,
    batch: ReadonlyMap<RecordKey, T>,
    entries: ReadonlyMap<RecordKey, number> | undefined,
    deletes?: ReadonlySet<RecordKey>,
  ): void {
    const claims = new ValueMap<RecordKey>();
    for (const [key, record] of batch) {
      const value = index.valueOf(record);
      if (value === null || value === undefined) continue;
      const claimedBy = claims.get(value);
      const owner = index.owner(value);
      const holder =
        claimedBy !== undefined && claimedBy !== key
          ? claimedBy
          : owner !== undefined && owner !== key && !batch.has(owner) && !deletes?.has(owner)
            ? owner
            : undefined;
      if (holder !== undefined) {
        throw new DuplicateKeyError(
          this.schema.name,
          index.field,
          value,
          entries?.get(key),
          this.#userKey(holder, batch.get(holder) ?? this.rows.get(holder)),
        );
      }
      claims.set(value, key);
    }
  }
}

/** A record's top-level field. */
function fieldOf(record: object, field: string): unknown {
  return (record as Record<string, unknown>)[field];
}

/** The default `TableRuntime.stepTimer`. */
function performanceNow(): number {
  return performance.now();
}
