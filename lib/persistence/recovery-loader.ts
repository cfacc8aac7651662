import { keysBeforeGrowth } from '../engine/map-growth.js';
import type { TimeSlicer } from '../engine/time-slicer.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { RecoveryTarget, RecoveredRow } from './recovery-target.js';
import type { Encoded } from './value-codec.js';

/** A table's persisted state: its records (encoded, with deadlines) and counters. */
export interface PersistedTable {
  /**
   * Per key: the encoded record, its deadline, the table version it was written under, and
   * the deadline's sliding period if one was persisted.
   */
  readonly rows: Map<RecordKey, readonly [Encoded, number | null, number, number?]>;
  readonly counters: Map<string, number>;
}

/**
 * What the log after the snapshot did to one table: every change sets a final state, so the
 * log is kept as that final state per key (a record, or null once deleted), whether it
 * cleared the table, and its counters' last values (null once deleted).
 */
export interface LoggedChanges {
  cleared: boolean;
  readonly rows: Map<RecordKey, RecoveredRow | null>;
  readonly counters: Map<string, number | null>;
}

/**
 * Records handed to a live table at a time, the clock looked at after each batch: few,
 * because one record can cost milliseconds where the table's maps grow (an index's buckets,
 * filled in turn, all grow within a few records of each other).
 */
const LOAD_ROWS = 20;

/** Where one table's recovered records go: straight into its live table, or kept encoded. */
type Destination =
  | { readonly kind: 'live'; readonly target: RecoveryTarget; rows: RecoveredRow[] }
  | { readonly kind: 'kept'; readonly state: PersistedTable };

/**
 * The loading half of recovery (see `LogRecovery`): puts each table's recovered records where
 * they go, straight into its live table (a `RecoveryTarget`) a few at a time, or kept encoded
 * for a table without one (`tables`), in slices that yield to the event loop. The record that
 * would make a live table's rows outgrow their map starts a slice of its own (see
 * `keysBeforeGrowth`).
 */
export class RecoveryLoader {
  /** The recovered state of the tables that have no target. */
  readonly tables = new Map<string, PersistedTable>();
  /** The tables loaded into their targets. */
  readonly loaded = new Set<string>();
  readonly #destinations = new Map<string, Destination>();
  /** Per live table, the size of its rows at which a slice was last started for growth. */
  readonly #planned = new Map<RecoveryTarget, number>();

  constructor(
    /** The live tables to load into, by name (looked up when a table's records first come). */
    private readonly targets: ReadonlyMap<string, RecoveryTarget>,
    private readonly slicer: TimeSlicer,
  ) {}

  /**
   * Loads a frame of the snapshot's records into `table`, but those the log changed after
   * the snapshot (`changes`: all of them, if the log cleared the table).
   */
  async snapshotRows(
    table: string,
    rows: readonly RecoveredRow[],
    changes: LoggedChanges | undefined,
  ): Promise<void> {
    const destination = this.#destination(table);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (changes && (changes.cleared || changes.rows.has(row[0]))) continue;
      await this.#put(destination, row);
    }
    await this.#flush(destination);
  }

  /** Applies the log's final states over the snapshot's records and counters. */
  async applyChanges(
    changes: ReadonlyMap<string, LoggedChanges>,
    snapshotCounters: ReadonlyMap<string, Map<string, number>>,
  ): Promise<void> {
    const tables = new Set([...changes.keys(), ...snapshotCounters.keys()]);
    for (const table of tables) {
      const changed = changes.get(table);
      const destination = this.#destination(table);
      if (changed) {
        if (destination.kind === 'kept' && changed.cleared) destination.state.rows.clear();
        for (const [key, row] of changed.rows) {
          if (row) await this.#put(destination, row);
          else if (destination.kind === 'kept') destination.state.rows.delete(key);
        }
        await this.#flush(destination);
      }
      const counters = snapshotCounters.get(table) ?? new Map<string, number>();
      for (const [name, value] of changed?.counters ?? []) {
        if (value === null) counters.delete(name);
        else counters.set(name, value);
      }
      if (destination.kind === 'kept')
        for (const [name, value] of counters) destination.state.counters.set(name, value);
      else destination.target.counters([...counters]);
    }
  }

  /** Where a table's records go, decided when they first come and kept. */
  #destination(table: string): Destination {
    let destination = this.#destinations.get(table);
    if (!destination) {
      const target = this.targets.get(table);
      destination = target
        ? { kind: 'live', target, rows: [] }
        : { kind: 'kept', state: { rows: new Map(), counters: new Map() } };
      if (destination.kind === 'kept') this.tables.set(table, destination.state);
      else this.loaded.add(table);
      this.#destinations.set(table, destination);
    }
    return destination;
  }

  /** Puts one record where it goes; a live table takes them a few at a time. */
  async #put(destination: Destination, row: RecoveredRow): Promise<void> {
    if (destination.kind === 'kept') {
      destination.state.rows.set(
        row[0],
        row[4] === undefined
          ? [row[1], row[2], row[3] ?? 1]
          : [row[1], row[2], row[3] ?? 1, row[4]],
      );
      const pause = this.slicer.tick();
      if (pause) await pause;
      return;
    }
    destination.rows.push(row);
    if (destination.rows.length >= LOAD_ROWS) await this.#flush(destination);
  }

  async #flush(destination: Destination): Promise<void> {
    if (destination.kind === 'kept' || destination.rows.length === 0) return;
    const { target } = destination;
    let rows = destination.rows;
    destination.rows = [];
    const size = target.view.rows.size;
    const ahead = keysBeforeGrowth(size);
    if (ahead < rows.length) {
      // the batch would make the rows' map grow: the records before that, then a fresh
      // slice for the one that does (and the rest)
      if (ahead > 0) {
        target.load(rows.slice(0, ahead));
        rows = rows.slice(ahead);
        this.slicer.done += ahead;
      }
      if (this.#planned.get(target) !== target.view.rows.size) {
        this.#planned.set(target, target.view.rows.size);
        await this.slicer.pause();
      }
    }
    target.load(rows);
    const pause = this.slicer.step(rows.length);
    if (pause) await pause;
  }
}
