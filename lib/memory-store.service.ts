import { resolve } from 'node:path';
import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { describeValue } from './errors/describe-value.js';
import { ImportError } from './errors/import.error.js';
import type { Readable } from 'node:stream';
import { TableReplacement } from './engine/bulk-write.js';
import { TimeSlicer } from './engine/time-slicer.js';
import { CorruptStoreError } from './errors/corrupt-store.error.js';
import { readBackup, writeBackup, type BackupFrame } from './persistence/backup.js';
import { exportReadable } from './persistence/export-stream.js';
import { readImportEntries, type ImportEntries } from './persistence/import-stream.js';
import { NODE_FILE_SYSTEM, type PersistenceFileSystem } from './persistence/file-system.js';
import { exportTable, formatOf, readImport, type TransferFormat } from './persistence/transfer.js';
import { decodeValue } from './persistence/value-codec.js';
import { bulkOptionsOf, tableOf } from './store/memory-store.js';
import { injectedStore } from './store/store-access.js';
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

/** Options of `MemoryStoreService.exportStream()`. */
export interface ExportStreamOptions {
  /**
   * The format of the text.
   * @default 'ndjson'
   */
  format?: TransferFormat;
}

/** Options of `MemoryStoreService.importStream()`. */
export interface ImportStreamOptions {
  /**
   * The format of the text.
   * @default 'ndjson'
   */
  format?: TransferFormat;
  /**
   * The table version the records were written under, when the text does not say (CSV):
   * older records are migrated.
   * @default the version a JSON or NDJSON export records, else the table's current one
   */
  version?: number;
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
    return injectedStore(this.registry.get(reference));
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
      // a bulk operation applying to a table it wrote goes first (see writeMany)
      for (;;) {
        const busy: Promise<void>[] = [];
        for (const view of transaction.views()) if (view.table.bulk) busy.push(view.table.bulk);
        if (busy.length === 0) break;
        await Promise.all(busy);
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
   * synced, then renamed over `path`), streamed in bounded memory and in slices that let the
   * event loop run (see `README`, Backup: what a backup taken while writes go on holds). A
   * file that cannot be written rejects with a `MemoryStoreError` naming it, the system's
   * error as `cause`.
   */
  async backup(path: string): Promise<{ tables: number; records: number }> {
    const file = filePath('backup', path, '');
    const stores = this.registry.list();
    for (const store of stores) tableOf(store).expire(Infinity); // no record that has already expired
    const { persistence } = this.registry.options;
    const records = await writeBackup(
      this.#fileSystem(),
      file,
      stores.map((store) => tableOf(store)),
      this.#report,
      persistence ? persistence.frameBytes : undefined, // lowered by tests
    );
    return { tables: stores.length, records };
  }

  /**
   * Replaces the records and counters of every store the backup holds with the backup's,
   * all or none: the file is read a chunk at a time and every record is migrated if older
   * and validated first; then each store is replaced in slices (its other writes wait
   * meanwhile). Tables the backup holds that no store has are skipped with a warning; stores
   * it does not hold are left as they are. A file that cannot be read is an `ImportError`, a
   * damaged one a `CorruptStoreError`.
   */
  async restore(path: string): Promise<{ tables: string[]; records: number }> {
    const file = filePath('restore', path, '');
    const replacements = new Map<string, TableReplacement<object> | null>();
    const slicer = new TimeSlicer(`restore of ${file}`, this.#report);
    const onFrame = async (frame: BackupFrame): Promise<void> => {
      if (frame.t === 'meta' || frame.t === 'end') return;
      const name = frame.table;
      let replacement = replacements.get(name);
      if (replacement === undefined) {
        const store = this.registry.find(name);
        if (!store) {
          this.#logger.warn(
            `The backup ${file} holds table '${name}', which no store of this application has: skipped`,
          );
          replacements.set(name, null);
          return;
        }
        if (store.replication) {
          throw new ImportError(
            name,
            file,
            'restoring a backup into a replicated store is not supported: import its records with import() instead',
            undefined,
            undefined,
            undefined,
            'restore',
          );
        }
        replacement = new TableReplacement(tableOf(store), slicer);
        replacements.set(name, replacement);
      }
      if (replacement === null) return;
      try {
        if (frame.t === 'counters') replacement.counters(frame.counters);
        else if (frame.t === 'rows') {
          for (const [key, encoded, deadline, version, period] of frame.rows) {
            let fields: Record<string, unknown>;
            try {
              fields = decodeValue(encoded) as Record<string, unknown>;
            } catch (error) {
              throw new CorruptStoreError(
                '',
                file,
                0,
                `record ${JSON.stringify(key)} of table '${name}' cannot be decoded (${(error as Error).message})`,
                'Nothing was restored',
              );
            }
            await replacement.add([key, fields, deadline, version, period]);
          }
        }
      } catch (error) {
        if (error instanceof ImportError || error instanceof CorruptStoreError) throw error;
        throw restoreError(name, file, error);
      }
    };
    await readBackup(this.#fileSystem(), file, onFrame);
    const tables = [...replacements].filter(
      (entry): entry is [string, TableReplacement<object>] => entry[1] !== null,
    );
    for (const [name, replacement] of tables) {
      try {
        await replacement.check();
      } catch (error) {
        throw restoreError(name, file, error);
      }
    }
    // Every table's changes are logged together once all are applied: one journal entry
    // for the whole restore, as when it was one synchronous step. Every table is taken first
    // (in the order of their names, as any other restore takes them) and given back only once
    // that entry is logged: a write to a table already replaced would otherwise be held with
    // the restore's changes, acknowledged before it is logged, or (its counters) logged before
    // them; and a snapshot would not wait for the entry (see Journal).
    const releases: (() => void)[] = [];
    const taken: (() => void)[] = [];
    let records = 0;
    try {
      for (const [, replacement] of [...tables].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        taken.push(await replacement.take());
      for (const [name, replacement] of tables) {
        const options = bulkOptionsOf(this.registry.get(name));
        records += await replacement.replace({
          ...options,
          hold: () => {
            const release = options.hold?.();
            if (release) releases.push(release);
            return () => undefined;
          },
        });
      }
    } finally {
      for (const release of releases) release();
      for (const give of taken) give();
    }
    slicer.finish();
    await Promise.all(tables.map(([name]) => tableOf(this.registry.get(name)).durable()));
    return { tables: tables.map(([name]) => name), records };
  }

  /**
   * Writes a store's records to a file: `'json'`, `'ndjson'` or `'csv'` (by default, from the
   * extension), atomically, streamed in bounded memory (see `exportStream`). Resolves to how
   * many. A file that cannot be written rejects with a `MemoryStoreError` naming it, the
   * system's error as `cause`.
   */
  async export(table: StoreReference, path: string, format?: TransferFormat): Promise<number> {
    const target = tableOf(this.registry.get(table));
    const file = filePath('export', path, target.name);
    return exportTable(
      this.#fileSystem(),
      target,
      file,
      formatOf(target.name, file, format),
      this.#report,
    );
  }

  /**
   * A store's records as a byte stream in a format (`'ndjson'` by default; the same text
   * `export()` writes), made a chunk at a time as the reader asks for more: memory stays
   * bounded, whatever the table's size, and the work pauses for the event loop every few
   * milliseconds. The records are those of the moment the stream starts. Pipe it to a file,
   * an HTTP response (`new StreamableFile(stream)` in a controller), or anywhere.
   *
   * @example
   * ```ts
   * await pipeline(memory.exportStream(Person, { format: 'csv' }), createWriteStream('people.csv'));
   * ```
   */
  exportStream(table: StoreReference, options: ExportStreamOptions = {}): Readable {
    const target = tableOf(this.registry.get(table));
    return exportReadable(
      target,
      formatOf(target.name, 'stream.ndjson', streamFormat(target.name, options, 'exportStream')),
      this.#report,
    );
  }

  /**
   * Writes the records of a file into a store (inserting or replacing each), all or none:
   * an invalid record rejects the whole import with an `ImportError` naming its line.
   * Records of an older table version (as the file says, or `options.version`) are
   * migrated. CSV values take the type of the table's defaults (numbers, booleans, dates,
   * objects as JSON); other columns are strings; empty cells are absent. The file is read a
   * chunk at a time, and a large import is written in slices (see `writeMany`).
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
      this.#report,
    );
    return this.#write(store as MemoryStore<object>, entries, file);
  }

  /**
   * `import()` from a stream of bytes or text (an HTTP request, a file stream…) in a format
   * (`'ndjson'` by default): read a chunk at a time, then written all or none as `import()`
   * does. A stream that is not of the format, or that fails, rejects with an `ImportError`
   * naming `importStream()` (and the line), the parser's or the stream's error as `cause`.
   */
  async importStream(
    table: StoreReference,
    readable: AsyncIterable<Buffer | string> | Readable,
    options: ImportStreamOptions = {},
  ): Promise<number> {
    const store = this.registry.get(table);
    const target = tableOf(store);
    const format = streamFormat(target.name, options, 'importStream');
    if (
      typeof readable !== 'object' ||
      readable === null ||
      typeof (readable as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function'
    ) {
      throw new MemoryStoreError(
        `importStream() takes a readable stream, got ${describeValue(readable)}`,
        target.name,
      );
    }
    const entries = await readImportEntries(
      target,
      readable as AsyncIterable<Buffer | string>,
      format,
      options.version,
      STREAM,
      this.#report,
    );
    return this.#write(store as MemoryStore<object>, entries, STREAM);
  }

  /** Writes imported records, all or none, in slices when many. */
  async #write(
    store: MemoryStore<object>,
    { values, lines }: ImportEntries,
    source: string,
  ): Promise<number> {
    const target = tableOf(store);
    try {
      await injectedStore(store).writeMany(values); // a protected store's view refuses
    } catch (error) {
      const entry = (error as { entry?: number }).entry;
      const line = entry === undefined ? undefined : lines[entry];
      throw new ImportError(target.name, source, (error as Error).message, line, entry, error);
    }
    await target.durable();
    return values.length;
  }

  readonly #report = (line: string): void => this.#logger.log(line);

  #fileSystem(): PersistenceFileSystem {
    const persistence = this.registry.options.persistence;
    return (persistence && persistence.fileSystem) || NODE_FILE_SYSTEM;
  }

  /** Every store of the application. */
  stores(): MemoryStore<object>[] {
    return this.registry.list().map(injectedStore) as MemoryStore<object>[];
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

/** How an `ImportError` names a stream given to `importStream()`. */
const STREAM = 'the stream given to importStream()';

/** The format of `exportStream()` / `importStream()` options: `'ndjson'` by default. */
function streamFormat(table: string, options: unknown, method: string): TransferFormat {
  if (typeof options !== 'object' || options === null)
    throw new MemoryStoreError(
      `${method}(): options must be an object such as { format: 'csv' }`,
      table,
    );
  const { format } = options as { format?: unknown };
  return formatOf(table, 'stream.ndjson', format);
}

/** A table of a backup that cannot be restored: the error names the record (`entry`) at fault. */
function restoreError(table: string, file: string, error: unknown): ImportError {
  const entry = (error as { entry?: number }).entry;
  return new ImportError(table, file, (error as Error).message, undefined, entry, error, 'restore');
}
