import { MemoryStoreError } from './memory-store.error.js';

/**
 * A write to a replicated store was refused because Redis could not be reached, or the
 * instance is still catching up with the replication log after a reconnect. Nothing was
 * applied on this instance. Reads go on from the local copy meanwhile.
 *
 * When the reply to a write was lost (the connection dropped, or Redis did not answer in
 * time), the write is looked up in the replication log first: a committed write resolves
 * instead, and the message says whether it was not committed or whether Redis could not
 * tell (then, if it was, it reaches every instance through the log like any other change).
 * Also thrown while an instance reloads after Redis lost data.
 */
export class ReplicationUnavailableError extends MemoryStoreError {
  constructor(table: string, reason: string, options?: { cause?: unknown }) {
    super(`Table '${table}' refuses writes: ${reason}`, table, options);
  }
}
