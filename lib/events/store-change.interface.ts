import type { RecordKey } from '../interfaces/table-options.interface.js';

/** What a change did. */
export type StoreChangeOp = 'insert' | 'update' | 'delete' | 'expire' | 'evict' | 'clear';

/** One committed change of a store, as subscribers receive it. */
export interface StoreChange<T = object> {
  /** The table's name. */
  readonly table: string;
  readonly op: StoreChangeOp;
  /** The record's key (absent for `clear`). */
  readonly key?: RecordKey;
  /** The record after the change (insert, update). */
  readonly record?: T;
  /** The record before the change (update, delete, expire, evict). */
  readonly previous?: T;
  /**
   * Only the fields that changed, with their new values: every field for an insert, the
   * changed ones for an update (a field that disappeared is present with `undefined`).
   */
  readonly diff?: Partial<T>;
  /** When the change was committed. */
  readonly at: Date;
  /** The instance that made the change (replication). */
  readonly origin?: string;
}

/** Which changes `store.changes()` delivers; every condition given must hold. */
export interface ChangeFilter<Q = unknown> {
  /** Only these operations. */
  op?: StoreChangeOp | readonly StoreChangeOp[];
  /** Only changes of this key (or these keys), and `clear`, which removes every key. */
  key?: RecordKey | readonly RecordKey[];
  /**
   * Only changes whose record matches this query before or after the change (an update that
   * moves a record into or out of the query, a removal of a matching record), and `clear`.
   */
  where?: Q;
}
