import { Logger } from '@nestjs/common';
import type { MemoryTable } from '../engine/memory-table.js';
import { TimeSlicer } from '../engine/time-slicer.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableView } from '../persistence/journal.js';
import type { PersistedTable } from '../persistence/log-recovery.js';
import type { RecoveredRow, RecoveryTarget } from '../persistence/recovery-target.js';
import { decodeOwnValue, decodeValue } from '../persistence/value-codec.js';

/** Records restored at a time: the slice's clock then counts restoring (indexing) as well as decoding. */
const LOAD_ROWS = 256;

/**
 * Loads a store's persisted records into its table, reporting no change: straight from
 * recovery (a `RecoveryTarget`), or from the state recovery kept for a store that started
 * after it. Records of the current version are not validated again; older ones are migrated
 * and validated (`MemoryTable.reviveStored`).
 */
export class TableLoader<T extends object> implements RecoveryTarget {
  constructor(
    private readonly table: MemoryTable<T>,
    readonly view: TableView,
  ) {}

  load(rows: readonly RecoveredRow[]): void {
    this.#restore(rows, decodeOwnValue);
  }

  counters(counters: [string, number][]): void {
    this.table.restoreBuilt([], counters);
  }

  /** Loads the state recovery kept (encoded records it may carry on: decoded as copies), in slices. */
  async loadKept(state: PersistedTable): Promise<void> {
    const name = this.table.name;
    const slicer = new TimeSlicer(
      `Loading table '${name}'`,
      (line) => new Logger('MemoryStore').log(line),
      state.rows.size,
    );
    let slice: RecoveredRow[] = [];
    for (const [key, [record, deadline, version, period]] of state.rows) {
      slice.push([key, record, deadline, version, period]);
      if (slice.length >= LOAD_ROWS) {
        this.#restore(slice, decodeValue);
        slice = [];
        const pause = slicer.tick(LOAD_ROWS);
        if (pause) await pause;
      }
    }
    this.#restore(slice, decodeValue);
    this.table.restoreBuilt([], state.counters);
    slicer.finish();
  }

  #restore(rows: readonly RecoveredRow[], decode: (encoded: unknown) => unknown): void {
    const table = this.table;
    const built = new Array<[RecordKey, T, number | null]>(rows.length);
    const periods = new Array<number | undefined>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const key = row[0];
      // a deadline that slides gives the table's records their slot before this one is built
      if (row[4] !== undefined && row[4] > 0 && row[2] !== null) table.allowSliding();
      periods[i] = row[4];
      let fields: unknown;
      try {
        fields = decode(row[1]);
      } catch (error) {
        throw new MemoryStoreError(
          `Table '${table.name}': the persisted record ${JSON.stringify(key)} cannot be decoded (${(error as Error).message})`,
          table.name,
        );
      }
      built[i] = [key, table.reviveStored(key, fields, row[3] ?? 1), row[2]];
    }
    table.restoreBuilt(built, [], periods);
  }
}
