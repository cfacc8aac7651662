import { Inject, Injectable, type Type } from '@nestjs/common';
import type { TableClass } from './interfaces/table-options.interface.js';
import { MEMORY_STORE_REGISTRY } from './memory-store.constants.js';
import type { MemoryStore } from './store/memory-store.js';
import type { StoreRegistry } from './store/store-registry.js';
import { MemoryStoreError } from './errors/memory-store.error.js';
import { TransactionConflictError } from './errors/transaction-conflict.error.js';
import { currentTransaction, runInTransaction } from './transactions/transaction-context.js';
import { Transaction } from './transactions/transaction.js';

/** A store's figures, as `MemoryStoreService.stats()` reports them. */
export interface StoreStats {
  table: string;
  store: string;
  size: number;
  indexes: { field: string; unique: boolean }[];
  ready: boolean;
  /** Deliveries to `@OnStoreEvent()` listeners whose promises have not settled yet. */
  pendingEvents: number;
}

/** Options of `MemoryStoreService.transaction()`. */
export interface TransactionOptions {
  /**
   * How many times to run the function again after a conflict before giving up with
   * `TransactionConflictError`.
   * @default 5
   */
  retries?: number;
}

/** How many times a conflicting transaction runs again by default. */
export const DEFAULT_TRANSACTION_RETRIES = 5;

/**
 * The module-wide handle on every store of the application. Wherever it asks for a table,
 * the table class, the store class and the table's name all work.
 */
@Injectable()
export class MemoryStoreService {
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
   * `transaction()` joins the outer one, reads see the transaction's own writes, nobody else
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
    if (currentTransaction()) return fn();
    const retries = options.retries ?? DEFAULT_TRANSACTION_RETRIES;
    if (!Number.isSafeInteger(retries) || retries < 0) {
      throw new MemoryStoreError(`transaction(): 'retries' must be a non-negative integer`, '');
    }
    for (let attempt = 1; ; attempt++) {
      const transaction = new Transaction();
      let result: R;
      try {
        result = await runInTransaction(transaction, fn);
      } catch (error) {
        transaction.discard();
        throw error;
      }
      const conflicts = transaction.commit();
      if (conflicts.length === 0) {
        await Promise.all(this.registry.journals().map((journal) => journal.durable()));
        return result;
      }
      if (attempt > retries) throw new TransactionConflictError(conflicts, attempt);
    }
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
    }));
  }
}
