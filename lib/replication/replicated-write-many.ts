import { stageBulk } from '../engine/bulk-write.js';
import type { MemoryTable, TtlSetting } from '../engine/memory-table.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { StoreCapacityError } from '../errors/store-capacity.error.js';
import { TransactionConflictError } from '../errors/transaction-conflict.error.js';
import type { TableReplica } from './replication-group.js';

/** How many times a batch is staged again when Redis lost data under it. */
const ATTEMPTS = 3;

/**
 * `writeMany` of a large batch into a replicated store: built, validated and checked against
 * the local copy in slices (`stageBulk`: the event loop runs every few milliseconds), then
 * committed in Redis in parts (`commitBatch`), each encoded in its turn. A clash with the
 * local copy, which may lag behind Redis, is checked again once caught up. Resolves to the
 * records built, once every part is applied here.
 */
export async function writeManyReplicated<T extends object>(
  table: MemoryTable<T>,
  replica: TableReplica,
  inputs: readonly unknown[],
  ttl: TtlSetting,
  report?: (line: string) => void,
): Promise<T[]> {
  let synced = false;
  for (let attempt = 1; ; attempt++) {
    replica.group.assertWritable(table.name);
    let staged: Awaited<ReturnType<typeof stageBulk<T>>>;
    try {
      staged = await stageBulk(table, inputs, report);
    } catch (error) {
      const lagging = error instanceof DuplicateKeyError || error instanceof StoreCapacityError;
      if (!lagging || synced) throw error;
      synced = true;
      await replica.group.sync(table.name);
      attempt--;
      continue;
    }
    const conflicts = await replica.group.commitBatch(
      table,
      staged.keys,
      staged.records,
      table.writeTtl(ttl),
    );
    if (conflicts.length === 0) return staged.built;
    if (attempt >= ATTEMPTS) throw new TransactionConflictError(conflicts, attempt);
  }
}
