import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableView } from './journal.js';
import type { Encoded } from './value-codec.js';

/**
 * A recovered record as the snapshot stores it: key, encoded record, deadline, and the table
 * version it was written under (1 when missing), and the deadline's sliding period when one
 * was persisted (see `MemoryTable.periodOf`). Its encoded record is recovery's own (parsed
 * from the file for this load), so a target may decode it in place.
 */
export type RecoveredRow = [RecordKey, Encoded, number | null, number?, number?];

/**
 * A live table that recovery loads straight into, with no copy of the table in between. It
 * gets every record of its final state once, in batches, then its counters once.
 */
export interface RecoveryTarget {
  /** Loads records; throws (a `MemoryStoreError` naming the record) on one it cannot load. */
  load(rows: readonly RecoveredRow[]): void;
  /** Sets the table's counters. */
  counters(counters: [string, number][]): void;
  /** The table as snapshots read it, once it is loaded. */
  readonly view: TableView;
}
