import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import { HashIndex } from '../indexes/hash.index.js';
import { fieldValue, type SecondaryIndex } from '../indexes/secondary-index.js';
import { UniqueIndex } from '../indexes/unique.index.js';
import { ValueMap } from '../indexes/value-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { SortedIndex } from '../indexes/sorted.index.js';
import { aggregate, type AggregateResult } from '../query/aggregate.js';
import { compileQuery, type CompiledQuery } from '../query/query-compiler.js';
import { candidates, planQuery, type PlanSource, type QueryPlan } from '../query/planner.js';
import {
  compileSelectOptions,
  finishSelection,
  NO_SELECT_OPTIONS,
} from '../query/select-options.js';
import { invalidField, RecordFactory } from './record-factory.js';

/** A patch of fields, or a function of the current record returning one. */
export type RecordUpdate<T> = Partial<T> | ((current: T) => Partial<T>);

/**
 * One table: records by primary key, secondary indexes, and the synchronous read and write
 * operations over them. Every write is checked in full before anything changes, so a
 * failed write leaves the table exactly as it was. Knows nothing of Nest.
 */
export class MemoryTable<T extends object> implements PlanSource<T> {
  readonly schema: TableSchema<T>;
  readonly keyField: string;
  readonly indexes: ReadonlyMap<string, SecondaryIndex<T>>;
  readonly rows = new Map<RecordKey, T>();
  readonly #indexList: readonly SecondaryIndex<T>[];
  readonly #uniques: readonly SecondaryIndex<T>[];
  readonly #factory: RecordFactory<T>;
  /** Sorted indexes built so far, by field (the key field included). */
  readonly #sorted = new Map<string, SortedIndex<T>>();
  readonly keyOrder: SortedIndex<T> | undefined;
  #all: readonly T[] | undefined;

  constructor(schema: TableSchema<T>) {
    this.schema = schema;
    this.keyField = schema.key;
    this.#factory = new RecordFactory(schema);
    const indexes = new Map<string, SecondaryIndex<T>>();
    for (const { field, unique } of schema.indexes) {
      indexes.set(field, unique ? new UniqueIndex<T>(field) : new HashIndex<T>(field));
    }
    this.indexes = indexes;
    this.#indexList = [...indexes.values()];
    this.#uniques = this.#indexList.filter((i) => i.unique);
    this.keyOrder = schema.type === 'ordered_set' ? this.sortedIndex(schema.key) : undefined;
  }

  /**
   * The sorted index of the key field or of an indexed field, built on first use and kept
   * up to date from then on; undefined for other fields.
   */
  sortedIndex(field: string): SortedIndex<T> | undefined {
    let sorted = this.#sorted.get(field);
    if (sorted) return sorted;
    if (field === this.keyField) sorted = new SortedIndex<T>(field, (_record, key) => key);
    else if (this.indexes.has(field))
      sorted = new SortedIndex<T>(field, (record) => fieldValue(record, field));
    else return undefined;
    for (const [key, record] of this.rows) sorted.add(key, record);
    this.#sorted.set(field, sorted);
    return sorted;
  }

  get name(): string {
    return this.schema.name;
  }

  get size(): number {
    return this.rows.size;
  }

  // ---- reads -------------------------------------------------------------------------

  get(key: RecordKey): T | undefined {
    return this.rows.get(key);
  }

  has(key: RecordKey): boolean {
    return this.rows.has(key);
  }

  /** Every key, in key order for an ordered_set table, else in insertion order. */
  keys(): RecordKey[] {
    if (this.keyOrder) return this.all().map((r) => this.#factory.keyOf(r));
    return Array.from(this.rows.keys());
  }

  /** Every record, as a frozen array shared by callers until the next write. */
  all(): readonly T[] {
    return (this.#all ??= Object.freeze(
      Array.from(this.keyOrder ? this.keyOrder.all() : this.rows.values()),
    ));
  }

  compile(query: unknown): CompiledQuery {
    return compileQuery(this.schema.name, query);
  }

  /** The plan `select(query, options)` would use. */
  plan(query?: unknown, options?: unknown): QueryPlan {
    const selectOptions = compileSelectOptions(this.schema.name, this.keyField, options);
    return planQuery(this, this.compile(query), selectOptions.order);
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

  /** Groups the records matching a query and computes counts, sums, means, minima, maxima. */
  aggregate(query: unknown, spec: unknown): AggregateResult[] {
    const compiled = this.compile(query);
    const matches = finishSelection(
      candidates(this, planQuery(this, compiled).path),
      compiled.test,
      NO_SELECT_OPTIONS,
    );
    return aggregate(this.schema.name, matches, spec);
  }

  #select(query: unknown, options: unknown, counter: { examined: number } | undefined): T[] {
    const compiled = this.compile(query);
    const selectOptions = compileSelectOptions(this.schema.name, this.keyField, options);
    const plan = planQuery(this, compiled, selectOptions.order);
    let test = compiled.test;
    if (counter) {
      const inner = test;
      test = (r) => (counter.examined++, inner(r));
    }
    return finishSelection(candidates(this, plan.path), test, selectOptions, plan.ordered);
  }

  one(query?: unknown): T | undefined {
    const compiled = this.compile(query);
    for (const record of candidates(this, planQuery(this, compiled).path)) {
      if (compiled.test(record)) return record;
    }
    return undefined;
  }

  count(query?: unknown): number {
    const compiled = this.compile(query);
    if (compiled.matchesAll) return this.rows.size;
    let n = 0;
    for (const record of candidates(this, planQuery(this, compiled).path))
      if (compiled.test(record)) n++;
    return n;
  }

  // ---- writes ------------------------------------------------------------------------

  /** Inserts or replaces a record. */
  write(input: unknown): T {
    const record = this.#factory.create(input);
    const key = this.#factory.keyOf(record);
    this.#put(key, record, this.rows.get(key));
    return record;
  }

  /** Inserts a record; `DuplicateKeyError` if its key exists. */
  insert(input: unknown): T {
    const record = this.#factory.create(input);
    const key = this.#factory.keyOf(record);
    if (this.rows.has(key)) throw new DuplicateKeyError(this.schema.name, this.keyField, key);
    this.#put(key, record, undefined);
    return record;
  }

  /** Changes fields of an existing record; `RecordNotFoundError` if there is none. */
  update(key: RecordKey, change: RecordUpdate<T>): T {
    const current = this.rows.get(key);
    if (!current) throw new RecordNotFoundError(this.schema.name, key);
    const record = this.#updated(key, current, change);
    this.#put(key, record, current);
    return record;
  }

  #updated(key: RecordKey, current: T, change: RecordUpdate<T>): T {
    const patch: unknown = typeof change === 'function' ? change(current) : change;
    const record = this.#factory.merge(current, patch);
    if (this.#factory.keyOf(record) !== key) {
      throw invalidField(
        this.schema.name,
        this.keyField,
        this.#factory.keyOf(record),
        'primaryKey',
        `${this.keyField} is the primary key and cannot change in an update`,
      );
    }
    return record;
  }

  /** Deletes the record with this key (or this record's key); returns it, if there was one. */
  delete(keyOrRecord: RecordKey | T): T | undefined {
    const key =
      typeof keyOrRecord === 'object' && keyOrRecord !== null
        ? (fieldValue(keyOrRecord, this.keyField) as RecordKey)
        : keyOrRecord;
    const record = this.rows.get(key);
    if (!record) return undefined;
    this.#apply(key, undefined, record);
    return record;
  }

  /** Deletes every record; returns how many there were. */
  deleteAll(): number {
    const n = this.rows.size;
    this.rows.clear();
    for (const index of this.#indexList) index.clear();
    for (const sorted of this.#sorted.values()) sorted.clear();
    this.#all = undefined;
    return n;
  }

  /**
   * Writes several records at once: all are built, validated and checked against the unique
   * indexes first, and only then applied, so either all are written or none.
   */
  writeMany(inputs: readonly unknown[]): T[] {
    if (!Array.isArray(inputs)) throw new TypeError(`writeMany() takes an array of records`);
    const records = inputs.map((input, i) => {
      try {
        return this.#factory.create(input);
      } catch (error) {
        if (error instanceof StoreValidationError)
          throw new StoreValidationError(this.schema.name, error.errors, i);
        throw error;
      }
    });
    const batch = new Map<RecordKey, T>();
    const entries = new Map<RecordKey, number>();
    records.forEach((record, i) => {
      const key = this.#factory.keyOf(record);
      batch.set(key, record);
      entries.set(key, i);
    });
    this.#commit(batch, entries);
    return records;
  }

  /**
   * Changes every record matching the query, all or none: every new record is built and
   * checked before any is stored. Returns the new records.
   */
  updateWhere(query: unknown, change: RecordUpdate<T>): T[] {
    const compiled = this.compile(query);
    const matches = finishSelection(
      candidates(this, planQuery(this, compiled).path),
      compiled.test,
      NO_SELECT_OPTIONS,
    );
    const batch = new Map<RecordKey, T>();
    for (const current of matches) {
      const key = this.#factory.keyOf(current);
      batch.set(key, this.#updated(key, current, change));
    }
    this.#commit(batch);
    return [...batch.values()];
  }

  /** Stores a batch of records after checking it against every unique index. */
  #commit(batch: ReadonlyMap<RecordKey, T>, entries?: ReadonlyMap<RecordKey, number>): void {
    for (const index of this.#uniques) this.#checkBatch(index as UniqueIndex<T>, batch, entries);
    for (const [key, record] of batch) this.#apply(key, record, this.rows.get(key));
  }

  /** Deletes every record matching the query; returns them. */
  deleteMany(query: unknown): T[] {
    const compiled = this.compile(query);
    if (compiled.matchesAll) {
      const records = Array.from(this.rows.values());
      this.deleteAll();
      return records;
    }
    const matches = finishSelection(
      candidates(this, planQuery(this, compiled).path),
      compiled.test,
      NO_SELECT_OPTIONS,
    );
    for (const record of matches) this.delete(record);
    return matches;
  }

  /** Finds the first record matching the query and deletes it, in one step. */
  withdraw(query: unknown): T | undefined {
    const record = this.one(query);
    if (record) this.delete(record);
    return record;
  }

  #put(key: RecordKey, record: T, previous: T | undefined): void {
    for (const index of this.#uniques) {
      if (index.conflict(record, key) !== undefined) {
        throw new DuplicateKeyError(this.schema.name, index.field, fieldValue(record, index.field));
      }
    }
    this.#apply(key, record, previous);
  }

  /** Puts `record` (or nothing) in place of `previous` under `key`, in every structure. */
  #apply(key: RecordKey, record: T | undefined, previous: T | undefined): void {
    for (const index of this.#indexList) {
      if (
        previous &&
        record &&
        fieldValue(previous, index.field) === fieldValue(record, index.field)
      ) {
        index.replace(key, record); // same value: keep the record's place in its bucket
        continue;
      }
      if (previous) index.remove(key, previous);
      if (record) index.add(key, record);
    }
    for (const sorted of this.#sorted.values()) {
      if (previous) sorted.remove(key, previous);
      if (record) sorted.add(key, record);
    }
    if (record) this.rows.set(key, record);
    else this.rows.delete(key);
    this.#all = undefined;
  }

  /** Checks that a batch, applied over the table, leaves every unique value with one owner. */
  #checkBatch(
    index: UniqueIndex<T>,
    batch: ReadonlyMap<RecordKey, T>,
    entries: ReadonlyMap<RecordKey, number> | undefined,
  ): void {
    const claims = new ValueMap<RecordKey>();
    for (const [key, record] of batch) {
      const value = fieldValue(record, index.field);
      if (value === null || value === undefined) continue;
      const claimedBy = claims.get(value);
      const owner = index.owner(value);
      if (
        (claimedBy !== undefined && claimedBy !== key) ||
        (owner !== undefined && owner !== key && !batch.has(owner))
      ) {
        throw new DuplicateKeyError(this.schema.name, index.field, value, entries?.get(key));
      }
      claims.set(value, key);
    }
  }
}
