import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { StoreCapacityError } from '../errors/store-capacity.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import { ValueMap } from '../indexes/value-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { DeadlineSetting, MemoryTable, RecordUpdate, TtlSetting } from './memory-table.js';
import { ShardedKeyMap } from './sharded-key-map.js';
import { TimeSlicer } from './time-slicer.js';

/**
 * Batches at least this large are written in slices (see `BulkOptions`); smaller ones at
 * once, as one synchronous step.
 */
export const BULK_THRESHOLD = 5_000;
/** Records applied between two looks at the clock. */
const APPLY_STEP = 128;

/** How a bulk operation reports progress and hands over the changes it makes. */
export interface BulkOptions {
  /** Where progress lines go (records done, total, elapsed) for an operation over a second. */
  report?: (line: string) => void;
  /**
   * Called when the apply phase starts; the function it returns is called when it ends,
   * however it ends. The store uses it to log the whole batch as one journal entry.
   */
  hold?: () => () => void;
}

/**
 * Records built and checked, ready to apply: one entry per key (a key given twice keeps its
 * first place and its last record, as a Map would), with the batch entry each came from.
 */
class StagedBatch<T> {
  readonly keys: RecordKey[] = [];
  readonly records: T[] = [];
  readonly entries: number[] = [];
  readonly deadlines: DeadlineSetting[] = [];
  readonly at = new ShardedKeyMap<number>();

  add(key: RecordKey, record: T, entry: number, deadline: DeadlineSetting = null): void {
    const at = this.at.get(key);
    if (at === undefined) {
      this.at.set(key, this.keys.length);
      this.keys.push(key);
      this.records.push(record);
      this.entries.push(entry);
      this.deadlines.push(deadline);
    } else {
      this.records[at] = record;
      this.entries[at] = entry;
      this.deadlines[at] = deadline;
    }
  }
}

/**
 * Takes the table for a bulk operation: waits for one already running, then marks the
 * table busy until the returned function is called.
 */
async function acquire(table: { bulk: Promise<void> | undefined }): Promise<() => void> {
  while (table.bulk) await table.bulk;
  let release!: () => void;
  table.bulk = new Promise<void>((resolve) => (release = resolve));
  return () => {
    table.bulk = undefined;
    release();
  };
}

/**
 * Checks a staged batch against every unique index (values claimed twice within it, or held
 * by a record outside it) and the capacity; throws what applying would throw. `replacing`:
 * the batch replaces the whole table (a restore), so only its own records count.
 */
async function check<T extends object>(
  table: MemoryTable<T>,
  batch: StagedBatch<T>,
  slicer: TimeSlicer,
  replacing: boolean,
): Promise<void> {
  const { keys, records } = batch;
  for (const index of table.uniqueIndexes) {
    const claims = new ValueMap<RecordKey>();
    for (let i = 0; i < keys.length; i++) {
      const value = index.valueOf(records[i]);
      if (value !== null && value !== undefined) {
        const key = keys[i];
        const claimedBy = claims.get(value);
        const owner = replacing ? undefined : index.owner(value);
        if (
          (claimedBy !== undefined && claimedBy !== key) ||
          (owner !== undefined && owner !== key && !batch.at.has(owner))
        ) {
          throw new DuplicateKeyError(table.name, index.field, value, batch.entries[i]);
        }
        claims.set(value, key);
      }
      await slicer.tick();
    }
  }
  if (replacing) {
    const capacity = table.capacityLimit;
    if (capacity !== undefined && keys.length > capacity)
      throw new StoreCapacityError(table.name, capacity);
    return;
  }
  let added = 0;
  for (let i = 0; i < keys.length; i++) {
    if (!table.rows.has(keys[i])) added++;
    await slicer.tick();
  }
  table.checkRoom(added, batch.at, table.sizeDelta(keys, records));
}

/** Applies a checked batch in slices, under `options.hold`. */
async function apply<T extends object>(
  table: MemoryTable<T>,
  batch: StagedBatch<T>,
  deadlines: DeadlineSetting | readonly DeadlineSetting[],
  slicer: TimeSlicer,
  options: BulkOptions,
  before?: () => void,
): Promise<void> {
  const released = options.hold?.();
  try {
    before?.();
    for (let from = 0; from < batch.keys.length; from += APPLY_STEP) {
      const to = Math.min(from + APPLY_STEP, batch.keys.length);
      table.applyBulk(batch.keys, batch.records, from, to, deadlines, batch.at);
      await slicer.tick(to - from);
    }
  } finally {
    released?.();
  }
}

/**
 * `writeMany` in slices: every record is built and validated, then the batch is checked
 * against the unique indexes and the capacity, then applied, each phase letting the event
 * loop run every few milliseconds. All or none: a bad record or a clash stops it before
 * anything is stored. Other writes to the table wait until it is done; reads made while it
 * applies see the part applied so far.
 */
export async function bulkWrite<T extends object>(
  table: MemoryTable<T>,
  inputs: readonly unknown[],
  ttl: TtlSetting,
  options: BulkOptions = {},
  held?: HeldRecord<T>,
): Promise<T[]> {
  const release = await acquire(table);
  const slicer = new TimeSlicer(`writeMany into '${table.name}'`, options.report, inputs.length);
  try {
    const { built, batch } = await buildChecked(table, inputs, slicer, held);
    slicer.phase('applying', batch.keys.length);
    await apply(table, batch, table.deadlineFor(table.writeTtl(ttl)), slicer, options);
    slicer.finish();
    return built;
  } finally {
    release();
  }
}

/**
 * For a `'bag'`'s bulk write: the record its table (or the batch so far) holds equal to a
 * built one, which is then not written (the held one stands for it in the result); else
 * undefined, and the record counts as held from then on.
 */
export type HeldRecord<T> = (record: T) => T | undefined;

/** The build and check phases of `bulkWrite`: every record built and validated, then checked. */
async function buildChecked<T extends object>(
  table: MemoryTable<T>,
  inputs: readonly unknown[],
  slicer: TimeSlicer,
  held?: HeldRecord<T>,
): Promise<{ built: T[]; batch: StagedBatch<T> }> {
  table.expire();
  const built = new Array<T>(inputs.length);
  const batch = new StagedBatch<T>();
  for (let i = 0; i < inputs.length; i++) {
    try {
      built[i] = table.build(inputs[i]);
    } catch (error) {
      if (error instanceof StoreValidationError)
        throw new StoreValidationError(table.name, error.errors, i, error.key);
      throw error;
    }
    const equal = held?.(built[i]);
    if (equal !== undefined) built[i] = equal;
    else batch.add(table.keyOf(built[i]), built[i], i);
    await slicer.tick();
  }
  slicer.phase('checking', batch.keys.length * (table.uniqueIndexes.length + 1));
  await check(table, batch, slicer, false);
  return { built, batch };
}

/**
 * `writeMany`'s build and check phases in slices, as `bulkWrite` runs them, without applying
 * (a replicated store commits the batch in Redis, which it then applies from): resolves to
 * the records built (one per input), and the keys and records to write (one per key).
 */
export async function stageBulk<T extends object>(
  table: MemoryTable<T>,
  inputs: readonly unknown[],
  report?: (line: string) => void,
): Promise<{ built: T[]; keys: RecordKey[]; records: T[] }> {
  const slicer = new TimeSlicer(`writeMany into '${table.name}'`, report, inputs.length);
  const { built, batch } = await buildChecked(table, inputs, slicer);
  slicer.finish();
  return { built, keys: batch.keys, records: batch.records };
}

/**
 * `update(query, change)` in slices, as `bulkWrite` does; resolves to the new records.
 * `verify` checks the new records before anything changes (a bag's: no two equal under a key).
 */
export async function bulkUpdate<T extends object>(
  table: MemoryTable<T>,
  query: unknown,
  change: RecordUpdate<T>,
  ttl: TtlSetting,
  options: BulkOptions = {},
  verify?: (records: readonly T[], tick: () => Promise<void> | undefined) => Promise<void>,
): Promise<T[]> {
  const release = await acquire(table);
  try {
    const matches = table.matches(query);
    const slicer = new TimeSlicer(`update of '${table.name}'`, options.report, matches.length);
    const batch = new StagedBatch<T>();
    for (let i = 0; i < matches.length; i++) {
      const key = table.keyOf(matches[i]);
      batch.add(key, table.rebuild(key, matches[i], change), i);
      await slicer.tick();
    }
    slicer.phase('checking', batch.keys.length * (table.uniqueIndexes.length + 1));
    await verify?.(batch.records, () => slicer.tick());
    await check(table, batch, slicer, false);
    slicer.phase('applying', batch.keys.length);
    await apply(table, batch, table.deadlineFor(ttl), slicer, options);
    slicer.finish();
    return batch.records;
  } finally {
    release();
  }
}

/** `deleteMany(query)` in slices; resolves to the deleted records. */
export async function bulkDelete<T extends object>(
  table: MemoryTable<T>,
  query: unknown,
  options: BulkOptions = {},
): Promise<T[]> {
  const release = await acquire(table);
  try {
    const matches = table.matches(query);
    const slicer = new TimeSlicer(`deleteMany of '${table.name}'`, options.report, matches.length);
    const released = options.hold?.();
    try {
      for (let from = 0; from < matches.length; from += APPLY_STEP) {
        const to = Math.min(from + APPLY_STEP, matches.length);
        table.deleteBulk(matches, from, to);
        await slicer.tick(to - from);
      }
    } finally {
      released?.();
    }
    slicer.finish();
    return matches;
  } finally {
    release();
  }
}

/**
 * One persisted record to restore: key, fields, deadline, the table version it was saved by,
 * and the deadline's sliding period if one was saved (see `MemoryTable.periodOf`).
 */
export type RestoredRow = readonly [
  RecordKey,
  Record<string, unknown>,
  number | null,
  number,
  (number | undefined)?,
];

/**
 * A table's replacement (a restore), built and checked in slices, applied by `replace()`.
 * Records whose deadline has passed are skipped.
 */
export class TableReplacement<T extends object> {
  readonly #batch = new StagedBatch<T>();
  #counters: [string, number][] = [];
  #entry = 0;
  readonly #now: number;

  constructor(
    readonly table: MemoryTable<T>,
    readonly slicer: TimeSlicer,
  ) {
    this.#now = table.clockNow();
  }

  /** How many records it holds. */
  get size(): number {
    return this.#batch.keys.length;
  }

  /** Builds and validates a record (migrated if older); a bad one throws, naming its entry. */
  add([key, fields, deadline, version, period]: RestoredRow): Promise<void> | undefined {
    if (deadline !== null && deadline <= this.#now) return undefined; // expired since it was saved
    const entry = this.#entry++;
    const setting = this.table.restoredDeadline(deadline, period); // (before the record is built)
    let record: T;
    try {
      record = this.table.buildRestored(key, fields, version);
    } catch (error) {
      if (error instanceof StoreValidationError)
        throw new StoreValidationError(this.table.name, error.errors, entry, error.key);
      throw error;
    }
    this.#batch.add(this.table.keyOf(record), record, entry, setting);
    return this.slicer.tick();
  }

  /** Sets the counters the table gets. */
  counters(counters: readonly [string, number][]): void {
    for (const [name, value] of counters) {
      if (typeof name !== 'string' || name === '' || !Number.isSafeInteger(value) || value < 0) {
        throw new MemoryStoreError(
          `Table '${this.table.name}': counter ${JSON.stringify(name)} = ${String(value)} is not a counter value`,
          this.table.name,
        );
      }
    }
    this.#counters = [...counters];
  }

  /** Checks unique values and capacity over the whole replacement. */
  check(): Promise<void> {
    this.slicer.phase('checking', this.size * this.table.uniqueIndexes.length);
    return check(this.table, this.#batch, this.slicer, true);
  }

  /**
   * Replaces the table's records and counters (a `clear`, then an `insert` per record), in
   * slices, other writes to the table waiting meanwhile. Cannot fail.
   */
  async replace(options: BulkOptions): Promise<number> {
    const release = await acquire(this.table);
    this.slicer.phase(`applying to '${this.table.name}'`, this.size);
    try {
      await apply(this.table, this.#batch, this.#batch.deadlines, this.slicer, options, () => {
        this.table.deleteAll();
        this.table.replaceCounters(this.#counters);
      });
      return this.#batch.keys.length;
    } finally {
      release();
    }
  }
}
