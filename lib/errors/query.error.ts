import { MemoryStoreError } from './memory-store.error.js';

/**
 * A query is malformed: an unknown operator, a value of the wrong shape, a forbidden field
 * name. A malformed query is refused; it never silently matches everything or nothing.
 */
export class QueryError extends MemoryStoreError {
  constructor(
    /** The table queried; empty for a query misused before it reaches a table (`match('x')`). */
    table: string,
    message: string,
    /** For `match` queries, the character offset of the problem in the query text. */
    readonly position?: number,
  ) {
    super(`Invalid query${table === '' ? '' : ` on table '${table}'`}: ${message}`, table);
  }
}
