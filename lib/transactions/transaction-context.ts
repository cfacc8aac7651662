import { AsyncLocalStorage } from 'node:async_hooks';
import type { Savepoint, Transaction } from './transaction.js';

/** What the calling code runs in: a transaction, and the nested one (savepoint) if any. */
interface Scope {
  readonly transaction: Transaction;
  readonly savepoint: Savepoint | undefined;
}

const storage = new AsyncLocalStorage<Scope>();
let running = 0;

/**
 * The transaction the calling code runs in, if one is open. Free when no transaction runs
 * anywhere: the AsyncLocalStorage lookup only happens while one does.
 */
export function currentTransaction(): Transaction | undefined {
  if (running === 0) return undefined;
  const transaction = storage.getStore()?.transaction;
  return transaction?.open ? transaction : undefined;
}

/** The innermost nested transaction the calling code runs in, if any. */
export function currentSavepoint(): Savepoint | undefined {
  if (running === 0) return undefined;
  return storage.getStore()?.savepoint;
}

/** Runs `fn` with `transaction` as the current one for every async continuation it makes. */
export function runInTransaction<R>(
  transaction: Transaction,
  fn: () => R | Promise<R>,
): Promise<R> {
  return run({ transaction, savepoint: undefined }, fn);
}

/** Runs `fn` inside `transaction` as the nested transaction `savepoint`. */
export function runInSavepoint<R>(
  transaction: Transaction,
  savepoint: Savepoint,
  fn: () => R | Promise<R>,
): Promise<R> {
  return run({ transaction, savepoint }, fn);
}

async function run<R>(scope: Scope, fn: () => R | Promise<R>): Promise<R> {
  running++;
  try {
    return await storage.run(scope, fn);
  } finally {
    // Once no transaction runs, nothing reads the storage (see currentTransaction), and an
    // enabled AsyncLocalStorage keeps Node's promise hooks on: on Node 20 that makes every
    // await in the process several times slower. The next run() enables it again.
    if (--running === 0) storage.disable();
  }
}
