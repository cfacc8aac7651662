import { MemoryStoreError } from './memory-store.error.js';

/**
 * A write to a replicated store with `waitForReplicas` was committed in Redis and applied
 * (every instance receives it, reads see it), but fewer Redis replicas than required
 * confirmed it within `waitTimeoutMs` (Redis `WAIT`): a failover now may lose it. The
 * write is not undone; retrying it writes it again.
 */
export class ReplicationWaitError extends MemoryStoreError {
  constructor(
    table: string,
    /** How many replicas confirmed the write in time. */
    readonly replicas: number,
    /** How many `waitForReplicas` asked for. */
    readonly required: number,
    timeoutMs: number,
  ) {
    super(
      `Table '${table}': the write was committed and applied, but only ${replicas} of the ${required} ` +
        `Redis replica(s) required confirmed it within ${timeoutMs} ms: a failover now may lose it`,
      table,
    );
  }
}
