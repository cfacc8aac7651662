import { resolve } from 'node:path';
import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { describeValue } from './errors/describe-value.js';
import { ImportError } from './errors/import.error.js';
import { readBackup, writeBackup } from './persistence/backup.js';
import { NODE_FILE_SYSTEM, type PersistenceFileSystem } from './persistence/file-system.js';
import { exportTable, formatOf, readImport, type TransferFormat } from './persistence/transfer.js';
import { tableOf } from './store/memory-store.js';
import type { StoreReference } from './store/store-registry.js';
import type { TableClass } from './interfaces/table-options.interface.js';
import { MEMORY_STORE_REGISTRY } from './memory-store.constants.js';
import type { MemoryStore } from './store/memory-store.js';
import type { StoreRegistry } from './store/store-registry.js';
import { MemoryStoreError } from './errors/memory-store.error.js';
import { TransactionConflictError } from './errors/transaction-conflict.error.js';
import { currentTransaction, runInTransaction } from './transactions/transaction-context.js';
import { Transaction } from './transactions/transaction.js';
import { commitTransaction } from './replication/commit-transaction.js';
import type { ReplicationStatus } from './replication/replication-group.js';

/** A store's figures, as `MemoryStoreService.stats()` reports them. */
export interface StoreStats {
  table: string;
  store: string;
  size: number;
  indexes: { field: string; unique: boolean }[];
  ready: boolean;
  /** Deliveries to `@OnStoreEvent()` listeners whose promises have not settled yet. */
  pendingEvents: number;
  /** Where a replicated store stands with Redis; absent for a store that is not replicated. */
  replication?: ReplicationStatus;
}

/**
 * Runs one attempt of a transaction's function, giving the transaction up (timed out) if it
 * has not returned by `deadline` (a `performance.now()` time): the promise then rejects with
 * `TransactionTimeoutError`, and the transaction stops counting as live, whatever the
 * function still does.
 */
async function runWithin<R>(
  transaction: Transaction,
  fn: () => R | Promise<R>,
  deadline: number,
  timeoutMs: number,
): Promise<R> {
  const remaining = deadline - performance.now();
  if (remaining <= 0) throw transaction.timeOut(timeoutMs);
  const { result, end } = runInTransaction(transaction, fn);
  if (timeoutMs === Infinity) return result;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<R>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(transaction.timeOut(timeoutMs));
        end();
      }, remaining);
      result.then(resolve, reject);
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Options of `MemoryStoreService.transaction()`. */
export interface TransactionOptions {
  /**
   * How many times to run the function again after a conflict before giving up with
   * `TransactionConflictError`.
   * @default 5
   */
  retries?: number;
  /**
   * How long the transaction may take, in milliseconds, counted from the call, every retry
   * included, until its function returns (the commit that follows always runs to its end).
   * Past it, the transaction fails with `TransactionTimeoutError`, nothing it staged is
   * applied, and the store calls its function still makes inside it are refused. `Infinity`
   * waits for ever.
   * @default 30000
   */
  timeoutMs?: number;
}

/** How many times a conflicting transaction runs again by default. */
export const DEFAULT_TRANSACTION_RETRIES = 5;

/**
 * How long a transaction may run by default: far longer than any transaction over memory
 * takes, short enough that one stuck on a call that never returns is given up (and stops
 * keeping the process's async-context hooks on) within the time a request would wait.
 */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 30_000;

/** The longest timeout a timer can wait (setTimeout's limit), in milliseconds. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The module-wide handle on every store of the application. Wherever it asks for a table,
 * the table class, the store class and the table's name all work.
 */
@Injectable()
export class MemoryStoreService {
  readonly #logger = new Logger('MemoryStore');
  /** @internal Nest creates the service: inject it, or take it with `app.get(MemoryStoreService)`. */
  constructor(@Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry) {}

  /** The store of a table. */
  store<S extends MemoryStore<object>>(store: Type<S>): S;
  store<T extends object>(table: TableClass<T>): MemoryStore<T>;
  store(name: string): MemoryStore<object>;
  store(reference: string | TableClass): MemoryStore<object> {
    return this.registry.get(reference);
  }

  /**
   * Runs `fn` as one transaction across every store: each store operation inside it (found
   * through AsyncLocalStorage, so no handle is passed around) joins it, a nested
   * `transaction()` joins the outer one (as a savepoint: if it throws, what it staged is
   * undone before the error reaches the outer function; see `README`, Transactions, for
   * nested transactions that run concurrently), reads see the transaction's own writes, nobody else
   * sees them before the commit, and the commit applies all of them at once, or none. A
   * throw discards everything and is rethrown. If a record it read or wrote (or a table it
   * queried) changed meanwhile, `fn` runs again, up to `retries` times, then
   * `TransactionConflictError`. Changes are delivered after the commit, none after a
   * rollback. Counters (`nextId`) and `dirty*` operations are not part of it.
   *
   * @example
   * ```ts
   * await memory.transaction(async () => {
   *   const from = accounts.get('a')!;
   *   const to = accounts.get('b')!;
   *   await accounts.update('a', { balance: from.balance - 10 });
   *   await accounts.update('b', { balance: to.balance + 10 });
   * });
   * ```
   */
  async transaction<R>(fn: () => R | Promise<R>, options: TransactionOptions = {}): Promise<R> {
    if (typeof fn !== 'function') throw new MemoryStoreError('transaction() takes a function', '');
    if (typeof options !== 'object' || options === null) {
      throw new MemoryStoreError(
        'transaction(): options must be an object such as { retries: 5 }',
        '',
      );
    }
    for (const key in options) {
      if (key !== 'retries' && key !== 'timeoutMs') {
        throw new MemoryStoreError(
          `transaction(): unknown option '${key}' (it takes { retries, timeoutMs })`,
          '',
        );
      }
    }
    const retries = options.retries ?? DEFAULT_TRANSACTION_RETRIES;
    if (!Number.isSafeInteger(retries) || retries < 0) {
      throw new MemoryStoreError(`transaction(): 'retries' must be a non-negative integer`, '');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
    if (
      typeof timeoutMs !== 'number' ||
      !(timeoutMs > 0) ||
      (timeoutMs > MAX_TIMEOUT_MS && timeoutMs !== Infinity)
    ) {
      throw new MemoryStoreError(
        `transaction(): 'timeoutMs' must be a number of milliseconds above 0, at most ${MAX_TIMEOUT_MS}, or Infinity`,
        '',
      );
    }
    const outer = currentTransaction();
    if (outer) return outer.nested(fn); // the outer transaction's timeout governs
    const deadline = performance.now() + timeoutMs;
    const counts = this.registry.transactions;
    for (let attempt = 1; ; attempt++) {
      const transaction = new Transaction();
      let result: R;
      try {
        result = await runWithin(transaction, fn, deadline, timeoutMs);
      } catch (error) {
        transaction.discard();
        // What it read changed under it: the error may come from that; run it again.
        if (!transaction.timedOut && transaction.conflicts()) {
          counts.conflicts++;
          if (attempt <= retries) {
            counts.retries++;
            continue;
          }
        }
        throw error;
      }
      const conflicts = await commitTransaction(transaction);
      if (conflicts.length === 0) {
        counts.commits++;
        await transaction.durable();
        return result;
      }
      counts.conflicts++;
      if (attempt > retries) throw new TransactionConflictError(conflicts, attempt);
      counts.retries++;
    }
  }

  /**
   * Writes every store's records and counters to one file, atomically (a temporary file,
   * synced, then renamed over `path`). A file that cannot be written rejects with a
   * `MemoryStoreError` naming it, the system's error as `cause`.
   */
  async backup(path: string): Promise<{ tables: number; records: number }> {
    const file = filePath('backup', path, '');
    const stores = this.registry.list();
    for (const store of stores) tableOf(store).expire(Infinity); // no record that has already expired
    const records = await writeBackup(
      this.#fileSystem(),
      file,
      stores.map((store) => tableOf(store)),
    );
    return { tables: stores.length, records };
  }

  /**
   * Replaces the records and counters of every store the backup holds with the backup's,
   * all or none: every record is migrated if older and validated first. Tables the backup
   * holds that no store has are skipped with a warning; stores it does not hold are left as
   * they are. A file that cannot be read is an `ImportError`, a damaged one a
   * `CorruptStoreError`.
   */
  async restore(path: string): Promise<{ tables: string[]; records: number }> {
    const file = filePath('restore', path, '');
    const backup = await readBackup(this.#fileSystem(), file);
    const applies: (() => number)[] = [];
    const tables: string[] = [];
    for (const [name, data] of backup) {
      const store = this.registry.find(name);
      if (!store) {
        this.#logger.warn(
          `The backup ${file} holds table '${name}', which no store of this application has: skipped`,
        );
        continue;
      }
      if (store.replication) {
        throw new ImportError(
          name,
          file,
          'restoring a backup into a replicated store is not supported: import its records with import() instead',
        );
      }
      try {
        applies.push(tableOf(store).prepareReplace(data.rows, data.counters));
      } catch (error) {
        const entry = (error as { entry?: number }).entry;
        throw new ImportError(name, file, (error as Error).message, undefined, entry, error);
      }
      tables.push(name);
    }
    const records = applies.reduce((n, apply) => n + apply(), 0);
    await Promise.all(tables.map((name) => tableOf(this.registry.get(name)).durable()));
    return { tables, records };
  }

  /**
   * Writes a store's records to a file: `'json'`, `'ndjson'` or `'csv'` (by default, from the
   * extension), atomically. Resolves to how many. A file that cannot be written rejects with a
   * `MemoryStoreError` naming it, the system's error as `cause`.
   */
  async export(table: StoreReference, path: string, format?: TransferFormat): Promise<number> {
    const target = tableOf(this.registry.get(table));
    const file = filePath('export', path, target.name);
    return exportTable(this.#fileSystem(), target, file, formatOf(target.name, file, format));
  }

  /**
   * Writes the records of a file into a store (inserting or replacing each), all or none:
   * an invalid record rejects the whole import with an `ImportError` naming its line.
   * Records of an older table version (as the file says, or `options.version`) are
   * migrated. CSV values take the type of the table's defaults (numbers, booleans, dates,
   * objects as JSON); other columns are strings; empty cells are absent.
   */
  async import(
    table: StoreReference,
    path: string,
    format?: TransferFormat,
    options: { version?: number } = {},
  ): Promise<number> {
    const store = this.registry.get(table);
    const target = tableOf(store);
    const file = filePath('import', path, target.name);
    const entries = await readImport(
      this.#fileSystem(),
      target,
      file,
      formatOf(target.name, file, format),
      options.version,
    );
    try {
      const values = entries.map((e) => e.value);
      if (store.replication) await store.writeMany(values);
      else store.dirtyWriteMany(values);
    } catch (error) {
      const entry = (error as { entry?: number }).entry;
      const line = entry === undefined ? undefined : entries[entry]?.line;
      throw new ImportError(target.name, file, (error as Error).message, line, entry, error);
    }
    await target.durable();
    return entries.length;
  }

  #fileSystem(): PersistenceFileSystem {
    const persistence = this.registry.options.persistence;
    return (persistence && persistence.fileSystem) || NODE_FILE_SYSTEM;
  }

  /** Every store of the application. */
  stores(): MemoryStore<object>[] {
    return this.registry.list() as MemoryStore<object>[];
  }

  /** Size and indexes of every store. */
  stats(): StoreStats[] {
    return this.registry.list().map((store) => ({
      table: store.tableName,
      store: store.constructor.name,
      size: store.size,
      indexes: store.indexes(),
      ready: store.isReady,
      pendingEvents: this.registry.hub
        .pending()
        .filter((p) => p.table === store.tableName)
        .reduce((n, p) => n + p.pending, 0),
      ...(store.replication ? { replication: store.replication } : {}),
    }));
  }
}

/** The absolute path of a file argument, refused with a `MemoryStoreError` unless a path. */
function filePath(method: string, path: unknown, table: string): string {
  if (typeof path !== 'string' || path === '')
    throw new MemoryStoreError(`${method}() takes a file path, got ${describeValue(path)}`, table);
  return resolve(path);
}
