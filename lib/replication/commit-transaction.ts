import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { Transaction } from '../transactions/transaction.js';
import { replicaOf, type ReplicationGroup } from './replication-group.js';

/**
 * Commits a transaction: in memory when it touched no replicated store, else in Redis (its
 * reads checked there, its writes applied by every instance in log order). Resolves to the
 * tables that conflicted (nothing applied), or `[]` once committed.
 */
export async function commitTransaction(transaction: Transaction): Promise<string[]> {
  const views = transaction.views();
  const groups = new Set<ReplicationGroup>();
  for (const view of views) {
    const replica = replicaOf(view.table);
    if (replica) groups.add(replica.group);
  }
  if (groups.size === 0) return transaction.commit();
  transaction.discard();
  const written = views.filter((view) => view.staged.size > 0);
  const local = written.filter((view) => !replicaOf(view.table)).map((view) => view.table.name);
  const fail = (message: string) => new MemoryStoreError(message, views[0]?.table.name ?? '');
  if (local.length > 0) {
    throw fail(
      `A transaction wrote to replicated stores and to stores that are not (${local.join(', ')}): it cannot ` +
        'commit both atomically, so it was not applied. Replicate all the stores a transaction writes, or none',
    );
  }
  if (groups.size > 1) {
    throw fail(
      'A transaction touched stores replicated through different Redis servers or prefixes: it cannot commit ' +
        'them atomically, so it was not applied',
    );
  }
  const conflicts = views.filter((view) => view.conflicts()).map((view) => view.table.name);
  if (conflicts.length > 0) return conflicts;
  if (written.length === 0) return [];
  for (const view of written) view.table.checkStaged(view.staged);
  const [group] = groups;
  return group.commit(
    views.filter((view) => replicaOf(view.table)),
    'transaction',
  );
}
