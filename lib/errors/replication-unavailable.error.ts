import { MemoryStoreError } from './memory-store.error.js';

/**
 * A write to a replicated store was refused because Redis could not be reached, or the
 * instance is still catching up with the replication log after a reconnect. Nothing was
 * applied on this instance. Reads go on from the local copy meanwhile.
 *
 * When the connection dropped while the write was on its way, Redis may still have
 * committed it: it then reaches every instance through the log like any other change.
 */
export class ReplicationUnavailableError extends MemoryStoreError {
  constructor(table: string, reason: string, options?: { cause?: unknown }) {
    super(`Table '${table}' refuses writes: ${reason}`, table, options);
  }
}
