import { AsyncLocalStorage } from 'node:async_hooks';
import type { Savepoint, Transaction } from './transaction.js';

/** What the calling code runs in: a transaction, and the nested one (savepoint) if any. */
interface Scope {
  readonly transaction: Transaction;
  readonly savepoint: Savepoint | undefined;
}

const storage = new AsyncLocalStorage<Scope>();
/** Transactions begun and not ended yet (nested ones are part of theirs). */
let live = 0;

/**
 * The transaction the calling code runs in, if one is open or timed out (a timed-out one
 * refuses every call: see `Transaction.on`). Free when no transaction is live anywhere: the
 * AsyncLocalStorage lookup only happens while one is.
 */
export function currentTransaction(): Transaction | undefined {
  if (live === 0) return undefined;
  const transaction = storage.getStore()?.transaction;
  return transaction?.open || transaction?.timedOut ? transaction : undefined;
}

/** The innermost nested transaction the calling code runs in, if any. */
export function currentSavepoint(): Savepoint | undefined {
  if (live === 0) return undefined;
  return storage.getStore()?.savepoint;
}

/**
 * Runs `fn` with `transaction` as the current one for every async continuation it makes,
 * counting the transaction live until it has settled or `end` is called, whichever comes
 * first (a timed-out transaction ends while its function may still run).
 */
export function runInTransaction<R>(
  transaction: Transaction,
  fn: () => R | Promise<R>,
): { result: Promise<R>; end: () => void } {
  live++;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    // Once no transaction is live, nothing reads the storage (see currentTransaction), and an
    // enabled AsyncLocalStorage keeps Node's promise hooks on: on Node 20 that makes every
    // await in the process markedly slower. The next run enables it again.
    if (--live === 0) storage.disable();
  };
  const result = run({ transaction, savepoint: undefined }, fn);
  result.then(end, end);
  return { result, end };
}

/**
 * Runs `fn` outside any transaction, whatever the caller runs in: for work shared with
 * callers outside it (a read-through load), which a rollback must not take back.
 */
export function outsideTransaction<R>(fn: () => R): R {
  return live === 0 ? fn() : storage.exit(fn);
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
  return await storage.run(scope, fn);
}
