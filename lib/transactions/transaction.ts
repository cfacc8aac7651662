import type { MemoryTable, RecordUpdate, StagedWrite, TtlSetting } from '../engine/memory-table.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import { TransactionTimeoutError } from '../errors/transaction-timeout.error.js';
import { fieldValue } from '../indexes/secondary-index.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { aggregate, type AggregateResult } from '../query/aggregate.js';
import { currentSavepoint, runInSavepoint } from './transaction-context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a transaction spans tables of every record type
type AnyTable = MemoryTable<any>;

/**
 * One attempt of a transaction: what it read (to detect conflicts at commit) and what it
 * wrote (staged, visible only to itself), per table.
 */
export class Transaction {
  readonly #tables = new Map<AnyTable, TableTransaction<object>>();
  #open = true;
  /** The time the transaction was given, once it has timed out. */
  #timedOutAfter: number | undefined;
  /** A nested transaction that failed after another scope wrote over its writes. */
  #entangled: Savepoint | undefined;

  get open(): boolean {
    return this.#open;
  }

  /** True once the transaction was given up for its timeout. */
  get timedOut(): boolean {
    return this.#timedOutAfter !== undefined;
  }

  /**
   * Gives the transaction up for its timeout: nothing it staged will be applied, and every
   * later call inside it (a read, a write, a nested transaction) throws the error returned.
   */
  timeOut(timeoutMs: number): TransactionTimeoutError {
    this.#open = false;
    this.#timedOutAfter = timeoutMs;
    return new TransactionTimeoutError(timeoutMs, this.#tableNames());
  }

  #tableNames(): string[] {
    return [...this.#tables.keys()].map((t) => t.name);
  }

  /** The transaction's view of a table; throws once the transaction has timed out. */
  on<T extends object>(table: MemoryTable<T>): TableTransaction<T> {
    if (this.#timedOutAfter !== undefined)
      throw new TransactionTimeoutError(this.#timedOutAfter, [table.name], true);
    let view = this.#tables.get(table) as TableTransaction<T> | undefined;
    if (!view) {
      view = new TableTransaction(table);
      this.#tables.set(table, view as unknown as TableTransaction<object>);
    }
    return view;
  }

  /** The transaction's view of each table it touched. */
  views(): TableTransaction<object>[] {
    return [...this.#tables.values()];
  }

  /** Resolves once the tables the transaction wrote have made its changes durable. */
  durable(): Promise<unknown> {
    return Promise.all(
      [...this.#tables.values()].filter((t) => t.staged.size > 0).map((t) => t.table.durable()),
    );
  }

  /** True when something the transaction read or wrote has changed since: it cannot commit. */
  conflicts(): boolean {
    return [...this.#tables.values()].some((t) => t.conflicts());
  }

  /**
   * Runs a nested transaction's function inside this one, as a savepoint: what it stages is
   * part of this transaction if it returns, and undone if it throws, so that an outer
   * function that catches the error does not commit the failed part. What it read still
   * counts for conflicts. Nested transactions may run concurrently (Promise.all): each undoes
   * only its own writes; if one fails after another scope wrote over a record it wrote, the
   * two cannot be told apart and the whole transaction fails at commit.
   */
  async nested<R>(fn: () => R | Promise<R>): Promise<R> {
    if (this.#timedOutAfter !== undefined)
      throw new TransactionTimeoutError(this.#timedOutAfter, this.#tableNames(), true);
    const savepoint = new Savepoint(currentSavepoint());
    let result: R;
    try {
      result = await runInSavepoint(this, savepoint, fn);
    } catch (error) {
      for (const [view, undo] of savepoint.undo) {
        if (!view.rollBack(savepoint, undo)) this.#entangled ??= savepoint;
      }
      throw error;
    }
    for (const [view, undo] of savepoint.undo) view.release(savepoint, undo);
    return result;
  }

  /** Ends the attempt without applying anything. */
  discard(): void {
    this.#open = false;
  }

  /**
   * Applies every staged write of every table at once, or nothing: returns the names of the
   * tables that changed under the transaction (a conflict: nothing applied), or throws what
   * applying would throw (a unique clash, a full store: nothing applied), or applies all and
   * returns an empty list.
   */
  commit(): string[] {
    this.#open = false;
    if (this.#entangled) {
      throw new MemoryStoreError(
        'A nested transaction failed after another part of the transaction, running concurrently, ' +
          'wrote over a record it had written: its writes cannot be undone alone, so nothing was committed',
        [...this.#tables.keys()][0]?.name ?? '',
      );
    }
    const conflicts = [...this.#tables.values()]
      .filter((t) => t.conflicts())
      .map((t) => t.table.name);
    if (conflicts.length > 0) return conflicts;
    const journals = new Set(
      [...this.#tables.values()].filter((t) => t.staged.size > 0).map((t) => t.table.persistence),
    );
    journals.delete(undefined);
    if (journals.size > 1) {
      throw new MemoryStoreError(
        `A transaction wrote to stores persisted in ${journals.size} different directories: their logs cannot commit it ` +
          'atomically, so it was not applied. Keep the stores a transaction writes in one persistence directory',
        [...this.#tables.keys()][0]?.name ?? '',
      );
    }
    for (const view of this.#tables.values()) view.table.checkStaged(view.staged);
    for (const view of this.#tables.values()) view.table.applyStaged(view.staged);
    return [];
  }
}

/** A key's staged state before a nested transaction first wrote it. */
interface Prior<T> {
  readonly staged: StagedWrite<T> | undefined;
  readonly overlaid: boolean;
  readonly overlay: T | null | undefined;
  readonly owner: Savepoint | undefined;
}

/**
 * A nested transaction: for each table view and key it wrote, what was staged before it
 * first did (to undo), kept only while it runs and handed to the enclosing one when it
 * returns. Costs nothing per write outside nested transactions.
 */
export class Savepoint {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- views of tables of every record type
  readonly undo = new Map<TableTransaction<any>, Map<RecordKey, Prior<object>>>();

  constructor(readonly parent: Savepoint | undefined) {}

  /** True when `scope` is this savepoint or runs inside it. */
  encloses(scope: Savepoint | undefined): boolean {
    for (let s = scope; s !== undefined; s = s.parent) if (s === this) return true;
    return false;
  }
}

/** A transaction's reads and staged writes on one table. */
export class TableTransaction<T extends object> {
  readonly staged = new Map<RecordKey, StagedWrite<T>>();
  /** The record (or undefined) each key held when the transaction first looked at it. */
  readonly #seen = new Map<RecordKey, T | undefined>();
  /** The table's version when the transaction first queried it. */
  #scannedAt: number | undefined;
  readonly #overlay = new Map<RecordKey, T | null>();
  /** The nested transaction whose write each key's staged write is, if one is. */
  readonly #owners = new Map<RecordKey, Savepoint>();

  constructor(readonly table: MemoryTable<T>) {}

  /**
   * Undoes what `savepoint` (and the nested transactions it ran) staged here. False when a
   * key it wrote was written since by a scope outside it: that write and its own cannot be
   * told apart, so the key is left as it is.
   */
  rollBack(savepoint: Savepoint, undo: Map<RecordKey, Prior<T>>): boolean {
    let clean = true;
    for (const [key, prior] of undo) {
      if (!savepoint.encloses(this.#owners.get(key))) {
        clean = false;
        continue;
      }
      this.staged.delete(key);
      if (prior.staged) this.staged.set(key, prior.staged);
      if (prior.overlaid) this.#overlay.set(key, prior.overlay as T | null);
      else this.#overlay.delete(key);
      if (prior.owner) this.#owners.set(key, prior.owner);
      else this.#owners.delete(key);
    }
    return clean;
  }

  /** Hands what `savepoint` staged here to the scope around it, as it returned. */
  release(savepoint: Savepoint, undo: Map<RecordKey, Prior<T>>): void {
    const parent = savepoint.parent;
    let outer = parent?.undo.get(this) as Map<RecordKey, Prior<T>> | undefined;
    if (parent && !outer) parent.undo.set(this, (outer = new Map<RecordKey, Prior<T>>()));
    for (const [key, prior] of undo) {
      if (outer && !outer.has(key)) outer.set(key, prior);
      if (this.#owners.get(key) !== savepoint) continue;
      if (parent) this.#owners.set(key, parent);
      else this.#owners.delete(key);
    }
  }

  /** The record (or undefined) each key read or written held when first looked at. */
  get reads(): ReadonlyMap<RecordKey, T | undefined> {
    return this.#seen;
  }

  /** True once the transaction queried the table (any change to it is then a conflict). */
  get scanned(): boolean {
    return this.#scannedAt !== undefined;
  }

  /** True when a record it read or wrote, or a table it queried, changed since. */
  conflicts(): boolean {
    if (this.#scannedAt !== undefined && this.table.version !== this.#scannedAt) return true;
    for (const [key, seen] of this.#seen) if (this.table.get(key) !== seen) return true;
    return false;
  }

  // ---- reads ---------------------------------------------------------------------------

  get(key: RecordKey): T | undefined {
    if (this.#overlay.has(key)) return this.#overlay.get(key) ?? undefined;
    return this.#look(key);
  }

  /**
   * Milliseconds until the record expires as the transaction would leave it: the time to
   * live it staged (counted from the commit), none if it staged none or deleted the record,
   * else the committed one.
   */
  ttl(key: RecordKey): number | undefined {
    const staged = this.staged.get(key);
    if (staged === undefined) {
      this.#look(key);
      return this.table.ttl(key);
    }
    if (staged.record === null) return undefined;
    if (typeof staged.ttl === 'number') return staged.ttl;
    return staged.ttl === null ? undefined : this.table.ttl(key);
  }

  select(query?: unknown, options?: unknown): T[] {
    this.table.expire(); // before noting the version, so that expiring records is no conflict
    this.#scannedAt ??= this.table.version;
    return this.#overlay.size > 0
      ? this.table.selectOver(this.#overlay, query, options)
      : this.table.select(query, options);
  }

  aggregate(query: unknown, spec: unknown): AggregateResult[] {
    return aggregate(this.table.name, this.select(query), spec);
  }

  // ---- writes --------------------------------------------------------------------------

  write(input: unknown, ttl: TtlSetting): T {
    const record = this.table.build(input, 'write');
    this.#stage(this.table.keyOf(record), record, this.table.writeTtl(ttl));
    return record;
  }

  /** Stages a record `table.build` made (a bag's write, once its rules are checked). */
  put(record: T, ttl: TtlSetting): T {
    this.#stage(this.table.keyOf(record), record, this.table.writeTtl(ttl));
    return record;
  }

  /**
   * Notes that the transaction depends on the whole table (as a query does): any change to
   * it before the commit is a conflict. A bag's write reads a key's records this way.
   */
  dependOnTable(): void {
    this.table.expire();
    this.#scannedAt ??= this.table.version;
  }

  insert(input: unknown, ttl: TtlSetting): T {
    const record = this.table.build(input, 'insert');
    const key = this.table.keyOf(record);
    if (this.get(key))
      throw new DuplicateKeyError(this.table.name, this.table.keyField, key, undefined, key);
    this.#stage(key, record, this.table.writeTtl(ttl));
    return record;
  }

  update(key: RecordKey, change: RecordUpdate<T>, ttl: TtlSetting): T {
    const current = this.get(key);
    if (!current) throw new RecordNotFoundError(this.table.name, key);
    const record = this.table.rebuild(key, current, change);
    this.#stage(key, record, ttl === undefined ? this.staged.get(key)?.ttl : ttl);
    return record;
  }

  updateWhere(query: unknown, change: RecordUpdate<T>, ttl: TtlSetting): T[] {
    const updated = this.select(query).map((current) => {
      const key = this.table.keyOf(current);
      return [key, this.table.rebuild(key, current, change)] as const;
    });
    for (const [key, record] of updated)
      this.#stage(key, record, ttl === undefined ? this.staged.get(key)?.ttl : ttl);
    return updated.map(([, record]) => record);
  }

  writeMany(inputs: readonly unknown[], ttl: TtlSetting): T[] {
    if (!Array.isArray(inputs)) {
      throw new MemoryStoreError('writeMany() takes an array of records', this.table.name);
    }
    const records = new Array<T>(inputs.length); // (a hole reads as undefined: refused)
    for (let i = 0; i < inputs.length; i++) {
      try {
        records[i] = this.table.build(inputs[i], 'writeMany');
      } catch (error) {
        if (error instanceof StoreValidationError)
          throw new StoreValidationError(this.table.name, error.errors, i, error.key);
        throw error;
      }
    }
    for (const record of records)
      this.#stage(this.table.keyOf(record), record, this.table.writeTtl(ttl));
    return records;
  }

  delete(keyOrRecord: RecordKey | T): T | undefined {
    const key =
      typeof keyOrRecord === 'object' && keyOrRecord !== null
        ? (fieldValue(keyOrRecord, this.table.keyField) as RecordKey)
        : keyOrRecord;
    this.table.assertIdle('delete');
    const current = this.get(key);
    if (current) this.#stage(key, null, undefined);
    return current;
  }

  deleteMany(query: unknown): T[] {
    this.table.assertIdle('deleteMany');
    const matches = this.select(query);
    for (const record of matches) this.#stage(this.table.keyOf(record), null, undefined);
    return matches;
  }

  withdraw(query: unknown): T | undefined {
    const [record] = this.select(query, { limit: 1 });
    if (record) this.delete(record);
    return record;
  }

  /**
   * Reads a key from the table. A key read before reads as it did then (repeatable reads):
   * if it changed meanwhile, the commit will find the conflict and run the function again,
   * but until then the function sees one consistent value.
   */
  #look(key: RecordKey): T | undefined {
    if (this.#seen.has(key)) return this.#seen.get(key);
    const record = this.table.get(key);
    this.#seen.set(key, record);
    return record;
  }

  #stage(key: RecordKey, record: T | null, ttl: TtlSetting): void {
    const savepoint = currentSavepoint();
    if (savepoint) {
      let undo = savepoint.undo.get(this) as Map<RecordKey, Prior<T>> | undefined;
      if (!undo) savepoint.undo.set(this, (undo = new Map<RecordKey, Prior<T>>()));
      if (!undo.has(key)) {
        undo.set(key, {
          staged: this.staged.get(key),
          overlaid: this.#overlay.has(key),
          overlay: this.#overlay.get(key),
          owner: this.#owners.get(key),
        });
      }
      this.#owners.set(key, savepoint);
    } else if (this.#owners.size > 0) {
      this.#owners.delete(key);
    }
    if (!this.#overlay.has(key)) this.#look(key);
    this.staged.delete(key); // keep the order of the last change
    this.staged.set(key, { record, ttl });
    this.#overlay.set(key, record);
  }
}
