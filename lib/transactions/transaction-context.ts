import { AsyncLocalStorage } from 'node:async_hooks';
import type { Transaction } from './transaction.js';

const storage = new AsyncLocalStorage<Transaction>();
let running = 0;

/**
 * The transaction the calling code runs in, if one is open. Free when no transaction runs
 * anywhere: the AsyncLocalStorage lookup only happens while one does.
 */
export function currentTransaction(): Transaction | undefined {
  if (running === 0) return undefined;
  const transaction = storage.getStore();
  return transaction?.open ? transaction : undefined;
}

/** Runs `fn` with `transaction` as the current one for every async continuation it makes. */
export async function runInTransaction<R>(
  transaction: Transaction,
  fn: () => R | Promise<R>,
): Promise<R> {
  running++;
  try {
    return await storage.run(transaction, fn);
  } finally {
    // Once no transaction runs, nothing reads the storage (see currentTransaction), and an
    // enabled AsyncLocalStorage keeps Node's promise hooks on: on Node 20 that makes every
    // await in the process several times slower. The next run() enables it again.
    if (--running === 0) storage.disable();
  }
}
