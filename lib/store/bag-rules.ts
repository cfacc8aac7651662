import { rowOf } from '../engine/bag-rows.js';
import type { MemoryTable, RecordUpdate, TtlSetting } from '../engine/memory-table.js';
import { valueHash, valuesEqual } from '../engine/stored-values.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableTransaction } from '../transactions/transaction.js';

/**
 * What a bag table (`@Table({ type: 'bag' | 'duplicate_bag' })`) does on top of its rows:
 * reads and writes by key, over a transaction's view of the table (a store's own
 * transaction, committed at once, when the caller is in none). The engine keys a bag's rows
 * by a row identity (`BAG_ROW`) and indexes the key field, so a key's records are one index
 * lookup; the rules here keep a `'bag'` free of two equal records under one key.
 */
export class BagRules<T extends object> {
  readonly table: MemoryTable<T>;
  /** The key field, which many records share. */
  readonly field: string;
  /** `'bag'`: no two equal records under a key; `'duplicate_bag'` allows them. */
  readonly distinct: boolean;
  /** Each record's hash, made once (a bag's write compares it with its key's records). */
  readonly #hashes = new WeakMap<T, number>();

  constructor(table: MemoryTable<T>) {
    this.table = table;
    this.field = table.schema.bagKey!;
    this.distinct = table.schema.type === 'bag';
  }

  /** The key a record is filed under. */
  keyOf(record: T): RecordKey {
    return (record as Record<string, RecordKey>)[this.field];
  }

  /** Refuses what cannot be a key: a key read is never taken for a query. */
  checkKey(key: unknown, operation: string): asserts key is RecordKey {
    if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))) return;
    throw new MemoryStoreError(
      `${operation}() on bag table '${this.table.name}' takes a key (a string or a finite number), got ${typeof key}`,
      this.table.name,
    );
  }

  /** The key's committed records, in the order they were written. */
  records(key: RecordKey): T[] {
    return this.table.select({ [this.field]: key });
  }

  /**
   * The key's records as the transaction sees them: committed ones it has not changed, its
   * own versions of those it has, and the rows it added. Inside a transaction of the
   * application, the whole table counts as read (another writer adding a record under the
   * key is a conflict).
   */
  recordsIn(view: TableTransaction<T>, key: RecordKey, shared: boolean): T[] {
    if (shared) view.dependOnTable();
    if (view.staged.size === 0) return this.records(key);
    const out: T[] = [];
    for (const committed of this.records(key)) {
      const row = this.table.keyOf(committed);
      if (!view.staged.has(row)) out.push(committed);
    }
    for (const { record } of view.staged.values())
      if (record !== null && valuesEqual(this.keyOf(record), key)) out.push(record);
    return out;
  }

  /**
   * Adds a record under its key. In a `'bag'`, a record equal to one the key holds (the
   * project's value equality, as queries compare) changes nothing and the held one is
   * returned, as ETS ignores it.
   */
  write(view: TableTransaction<T>, input: unknown, ttl: TtlSetting, shared: boolean): T {
    const record = this.table.build(input, 'write');
    if (this.distinct) {
      const held = this.#equal(this.recordsIn(view, this.keyOf(record), shared), record);
      if (held) return held;
    }
    return view.put(record, ttl);
  }

  /** Adds a record; `DuplicateKeyError` if its key holds any record (ETS's `insert_new`). */
  insert(view: TableTransaction<T>, input: unknown, ttl: TtlSetting, shared: boolean): T {
    const record = this.table.build(input, 'insert');
    const key = this.keyOf(record);
    if (this.recordsIn(view, key, shared).length > 0)
      throw new DuplicateKeyError(this.table.name, this.field, key, undefined, key);
    return view.put(record, ttl);
  }

  /** Writes several records in order, as `write` each (a batch's equal records too). */
  writeMany(
    view: TableTransaction<T>,
    inputs: readonly unknown[],
    ttl: TtlSetting,
    shared: boolean,
  ): T[] {
    if (!Array.isArray(inputs))
      throw new MemoryStoreError('writeMany() takes an array of records', this.table.name);
    const records = new Array<T>(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      try {
        records[i] = this.table.build(inputs[i], 'writeMany');
      } catch (error) {
        if (error instanceof StoreValidationError)
          throw new StoreValidationError(this.table.name, error.errors, i, error.key);
        throw error;
      }
    }
    // the key's records by hash, read once per key and kept up to date as the batch adds
    // to them: a batch of n records under one key compares each with its few of one hash
    const held = new Map<RecordKey, Map<number, T[]>>();
    return records.map((record) => {
      if (!this.distinct) return view.put(record, ttl);
      const key = this.keyOf(record);
      let under = held.get(key);
      if (!under) held.set(key, (under = this.#byHash(this.recordsIn(view, key, shared))));
      const hash = this.#hash(record);
      const same = under.get(hash);
      const equal = same?.find((other) => valuesEqual(other, record));
      if (equal) return equal;
      if (same) same.push(record);
      else under.set(hash, [record]);
      return view.put(record, ttl);
    });
  }

  /**
   * For a large `writeMany` written in slices (`bulkWrite`, the table held meanwhile): the
   * committed record, or one of the batch, equal to a built record; a `'duplicate_bag'` has
   * none to look for.
   */
  heldRecords(): ((record: T) => T | undefined) | undefined {
    if (!this.distinct) return undefined;
    const held = new Map<RecordKey, Map<number, T[]>>();
    return (record) => {
      const key = this.keyOf(record);
      let under = held.get(key);
      if (!under) held.set(key, (under = this.#byHash(this.records(key))));
      const hash = this.#hash(record);
      const same = under.get(hash);
      const equal = same?.find((other) => valuesEqual(other, record));
      if (equal) return equal;
      if (same) same.push(record);
      else under.set(hash, [record]);
      return undefined;
    };
  }

  /** Deletes every record of the key; returns them. */
  deleteKey(view: TableTransaction<T>, key: RecordKey, shared: boolean): T[] {
    this.table.assertIdle('delete');
    const records = this.recordsIn(view, key, shared);
    for (const record of records) view.delete(record);
    return records;
  }

  /**
   * Deletes one record: the row of a record the store returned (even an older version of
   * it; nothing once that row is gone), else the first record of its key equal to the one
   * given. In a `'duplicate_bag'` that is one of the equal ones.
   */
  deleteRecord(view: TableTransaction<T>, record: T, shared: boolean): T | undefined {
    this.table.assertIdle('delete');
    const key = this.keyOf(record);
    this.checkKey(key, 'delete');
    const records = this.recordsIn(view, key, shared);
    const row = rowOf(record);
    // A record this table made names its row, whichever version of it the caller holds: once
    // that row is gone, deleting it again deletes nothing (never another, equal copy).
    const target =
      row !== undefined && record instanceof this.table.schema.target
        ? records.find((r) => r === record || rowOf(r) === row)
        : this.#equal(records, this.#asStored(record));
    if (target) view.delete(target);
    return target;
  }

  /**
   * Updates every record the query matches; in a `'bag'`, refused with `DuplicateKeyError`
   * (nothing changed) when an updated record would equal another of its key.
   */
  updateWhere(
    view: TableTransaction<T>,
    query: unknown,
    change: RecordUpdate<T>,
    ttl: TtlSetting,
    shared: boolean,
  ): T[] {
    const updated = view.updateWhere(query, change, ttl);
    if (this.distinct) {
      // each key the update touched, read once: two equal records share a hash
      const keys = new Set(updated.map((record) => this.keyOf(record)));
      for (const key of keys) {
        for (const same of this.#byHash(this.recordsIn(view, key, shared)).values()) {
          for (let i = 1; i < same.length; i++)
            for (let j = 0; j < i; j++)
              if (valuesEqual(same[i], same[j]))
                throw new DuplicateKeyError(this.table.name, this.field, key, undefined, key);
        }
      }
    }
    return updated;
  }

  /**
   * For a large update in slices (`bulkUpdate`): throws `DuplicateKeyError` when the updated
   * records would leave two equal records under a key, counting the key's other records.
   * Pauses with `tick` as it goes.
   */
  async assertDistinct(
    updated: readonly T[],
    tick: () => Promise<void> | undefined,
  ): Promise<void> {
    const byKey = new Map<RecordKey, T[]>();
    for (const record of updated) {
      const key = this.keyOf(record);
      const list = byKey.get(key);
      if (list) list.push(record);
      else byKey.set(key, [record]);
    }
    for (const [key, records] of byKey) {
      const rows = new Set(records.map((record) => rowOf(record)));
      const after = [...records, ...this.records(key).filter((record) => !rows.has(rowOf(record)))];
      for (const same of this.#byHash(after).values()) {
        for (let i = 1; i < same.length; i++) {
          for (let j = 0; j < i; j++)
            if (valuesEqual(same[i], same[j]))
              throw new DuplicateKeyError(this.table.name, this.field, key, undefined, key);
          await tick();
        }
      }
    }
  }

  /**
   * Milliseconds until a record expires (a record given), or until the key's last record
   * does (a key); undefined when there is no record or one of them has no deadline.
   */
  ttl(target: RecordKey | T, read: (row: RecordKey) => number | undefined): number | undefined {
    if (typeof target === 'object') {
      const row = rowOf(target);
      return row === undefined ? undefined : read(row);
    }
    let longest: number | undefined;
    for (const record of this.records(target)) {
      const left = read(this.table.keyOf(record));
      if (left === undefined) return undefined;
      longest = longest === undefined ? left : Math.max(longest, left);
    }
    return longest;
  }

  /**
   * A record as a write would store it (defaults filled in, fields left undefined dropped),
   * for comparing with stored ones: `new Tag()` holds its declared fields as undefined.
   * Undefined when no write could store it (so none is equal to it).
   */
  #asStored(record: T): T | undefined {
    try {
      return this.table.build(record, 'delete');
    } catch (error) {
      if (error instanceof StoreValidationError) return undefined;
      throw error;
    }
  }

  #equal(records: readonly T[], record: T | undefined): T | undefined {
    if (record === undefined) return undefined;
    const hash = this.#hash(record);
    return records.find((other) => this.#hash(other) === hash && valuesEqual(other, record));
  }

  /** A record's `valueHash`, kept while the record lives (records are frozen). */
  #hash(record: T): number {
    let hash = this.#hashes.get(record);
    if (hash === undefined) this.#hashes.set(record, (hash = valueHash(record)));
    return hash;
  }

  #byHash(records: readonly T[]): Map<number, T[]> {
    const byHash = new Map<number, T[]>();
    for (const record of records) {
      const hash = this.#hash(record);
      const same = byHash.get(hash);
      if (same) same.push(record);
      else byHash.set(hash, [record]);
    }
    return byHash;
  }
}

/** Marks `BagStore`, the store class of bag tables (a static property, inherited). */
export const BAG_STORE = Symbol('BagStore');
