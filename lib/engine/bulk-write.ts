import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { StoreCapacityError } from '../errors/store-capacity.error.js';
import { StoreValidationError } from '../errors/store-validation.error.js';
import { ValueMap } from '../indexes/value-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { DeadlineSetting, MemoryTable, RecordUpdate, TtlSetting } from './memory-table.js';
import { keysBeforeGrowth } from './map-growth.js';
import { valuesEqual } from './stored-values.js';
import { ShardedKeyMap } from './sharded-key-map.js';
import { TimeSlicer } from './time-slicer.js';

/**
 * Batches at least this large are written in slices (see `BulkOptions`); smaller ones at
 * once, as one synchronous step.
 */
export const BULK_THRESHOLD = 5_000;
/**
 * Records applied between two looks at the clock: few, because one record can cost
 * milliseconds where a map grows (an index's buckets, filled in turn, all grow within a few
 * records of each other).
 */
const APPLY_STEP = 4;

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
  /** Per record, its own deadline: only in a batch made `withDeadlines` (a restore). */
  readonly deadlines: DeadlineSetting[] = [];
  readonly at = new ShardedKeyMap<number>();
  /**
   * Per record, the batch entry it came from, in a typed list. A list grown a push at a time
   * copies itself whole at every half again (at 869,000 records 5–10 ms), all the batch's
   * lists at the same record: the fewer lists grow that way, the shorter that step. (Making
   * them a million long at once is no better: three such lists take 18–97 ms to make.) A
   * typed list is made zeroed by the system, at no cost, and copied fast when it grows.
   */
  #entries = new Int32Array(1024);
  readonly #withDeadlines: boolean;

  constructor(withDeadlines = false) {
    this.#withDeadlines = withDeadlines;
  }

  /** How many keys it holds. */
  get size(): number {
    return this.keys.length;
  }

  /** The batch entry the `i`-th record came from. */
  entry(i: number): number {
    return this.#entries[i];
  }

  add(key: RecordKey, record: T, entry: number, deadline: DeadlineSetting = null): void {
    let at = this.at.get(key);
    if (at === undefined) {
      at = this.keys.length;
      this.at.set(key, at);
      this.keys.push(key);
      this.records.push(record);
      if (this.#withDeadlines) this.deadlines.push(deadline);
      if (at >= this.#entries.length) {
        const grown = new Int32Array(this.#entries.length * 2);
        grown.set(this.#entries);
        this.#entries = grown;
      }
    } else {
      this.records[at] = record;
      if (this.#withDeadlines) this.deadlines[at] = deadline;
    }
    this.#entries[at] = entry;
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
          throw new DuplicateKeyError(table.name, index.field, value, batch.entry(i));
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
  gone?: number[],
): Promise<void> {
  const released = options.hold?.();
  try {
    before?.();
    await applySteps(table, batch, deadlines, slicer, gone);
  } finally {
    released?.();
  }
}

/**
 * Applies a batch a few records at a time, looking at the clock after each step; the record
 * that would make the table's rows outgrow their map starts a slice of its own (see
 * `keysBeforeGrowth`). `gone`: the batch updates stored records, and one whose key is no
 * longer stored is not written (see `MemoryTable.applyBulk`).
 */
async function applySteps<T extends object>(
  table: MemoryTable<T>,
  batch: StagedBatch<T>,
  deadlines: DeadlineSetting | readonly DeadlineSetting[],
  slicer: TimeSlicer,
  gone?: number[],
): Promise<void> {
  const { keys, records, at } = batch;
  let plannedAt = -1;
  for (let from = 0; from < keys.length;) {
    const size = table.rows.size;
    const ahead = keysBeforeGrowth(size);
    if (ahead === 0 && plannedAt !== size) {
      plannedAt = size;
      await slicer.pause();
    }
    const to = Math.min(from + (ahead > 0 && ahead < APPLY_STEP ? ahead : APPLY_STEP), keys.length);
    table.applyBulk(keys, records, from, to, deadlines, at, gone);
    const pause = slicer.step(to - from);
    if (pause) await pause;
    from = to;
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
 * `update(query, change)` in slices, as `bulkWrite` does; resolves to the new records (not
 * those of matched records that expired before they were written: they stay gone).
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
    const slicer = new TimeSlicer(`update of '${table.name}'`, options.report);
    const matches = await matching(table, query, slicer);
    slicer.phase('building', matches.length);
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
    // a matched record that expired since it was found is gone: the update does not bring it back
    const gone: number[] = [];
    await apply(table, batch, table.deadlineFor(ttl), slicer, options, undefined, gone);
    slicer.finish();
    if (gone.length === 0) return batch.records;
    const skipped = new Set(gone);
    return batch.records.filter((_, i) => !skipped.has(i));
  } finally {
    release();
  }
}

/**
 * The records matching a query, found in slices (a scan of a million records takes tens of
 * milliseconds): in the order `matches` finds them. The table is the operation's own
 * meanwhile (other writes wait), so nothing but expiry changes it on the way.
 */
async function matching<T extends object>(
  table: MemoryTable<T>,
  query: unknown,
  slicer: TimeSlicer,
): Promise<T[]> {
  slicer.phase('matching');
  const { candidates, test } = table.matchWalk(query);
  const found: T[] = [];
  for (const record of candidates) {
    if (test(record)) found.push(record);
    const pause = slicer.tick();
    if (pause) await pause;
  }
  return found;
}

/** `deleteMany(query)` in slices; resolves to the deleted records. */
export async function bulkDelete<T extends object>(
  table: MemoryTable<T>,
  query: unknown,
  options: BulkOptions = {},
): Promise<T[]> {
  const release = await acquire(table);
  try {
    const slicer = new TimeSlicer(`deleteMany of '${table.name}'`, options.report);
    const matches = await matching(table, query, slicer);
    slicer.phase('deleting', matches.length);
    const released = options.hold?.();
    try {
      await deleteSteps(table, matches, slicer);
    } finally {
      released?.();
    }
    slicer.finish();
    return matches;
  } finally {
    release();
  }
}

/** Deletes the records still stored a few at a time, looking at the clock after each step. */
async function deleteSteps<T extends object>(
  table: MemoryTable<T>,
  records: readonly T[],
  slicer: TimeSlicer,
): Promise<void> {
  for (let from = 0; from < records.length; from += APPLY_STEP) {
    const to = Math.min(from + APPLY_STEP, records.length);
    table.deleteBulk(records, from, to);
    const pause = slicer.step(to - from);
    if (pause) await pause;
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
  readonly #batch: StagedBatch<T>;
  #counters: [string, number][] = [];
  #entry = 0;
  readonly #now: number;
  /** Set while `take()` holds the table: `replace` then runs under that hold. */
  #taken = false;

  constructor(
    readonly table: MemoryTable<T>,
    readonly slicer: TimeSlicer,
  ) {
    this.#now = table.clockNow();
    this.#batch = new StagedBatch<T>(true);
  }

  /** How many records it holds. */
  get size(): number {
    return this.#batch.size;
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
   * Takes the table for the replacement before `replace` runs, until the returned function
   * is called (other writes to it wait meanwhile): a restore of several tables holds them all
   * until the changes of all are logged, so that no write lands between a table's
   * replacement and the log entry that records it.
   */
  async take(): Promise<() => void> {
    const release = await acquire(this.table);
    this.#taken = true;
    return () => {
      this.#taken = false;
      release();
    };
  }

  /**
   * Replaces the table's records and counters, in slices, other writes to the table waiting
   * meanwhile. Cannot fail. In place: the records the replacement lacks are deleted, then
   * each of its records is written over the one under its key (an `update`) or added (an
   * `insert`), so that the table's map and indexes never empty and refill (a refill of a
   * million keys grows them, in steps of tens of milliseconds). A table with a capacity is
   * cleared and refilled instead (a `clear`, then an `insert` per record): in place, its
   * records could outgrow it on the way and be evicted.
   */
  async replace(options: BulkOptions): Promise<number> {
    const release = this.#taken ? () => undefined : await acquire(this.table);
    const table = this.table;
    try {
      if (table.bounded) {
        this.slicer.phase(`applying to '${table.name}'`, this.size);
        await apply(table, this.#batch, this.#batch.deadlines, this.slicer, options, () => {
          table.deleteAll();
          table.replaceCounters(this.#counters);
        });
        return this.size;
      }
      const released = options.hold?.();
      try {
        table.expire(Infinity); // what has expired is reported as expired, not as replaced
        this.slicer.phase(`replacing in '${table.name}'`, table.rows.size);
        await deleteSteps(table, await this.#leaving(), this.slicer);
        table.replaceCounters(this.#counters);
        this.slicer.phase(`applying to '${table.name}'`, this.size);
        await applySteps(table, this.#batch, this.#batch.deadlines, this.slicer);
      } finally {
        released?.();
      }
      return this.size;
    } finally {
      release();
    }
  }

  /**
   * The table's records that cannot be written over: those whose key the replacement lacks,
   * and those whose unique values it changes (deleted first, no unique value is ever held
   * twice on the way).
   */
  async #leaving(): Promise<T[]> {
    const { at, records } = this.#batch;
    const uniques = this.table.uniqueIndexes;
    const leaving: T[] = [];
    for (const [key, record] of this.table.rows) {
      const i = at.get(key);
      if (i === undefined) leaving.push(record);
      else {
        for (const index of uniques) {
          if (!valuesEqual(index.valueOf(record), index.valueOf(records[i]))) {
            leaving.push(record);
            break;
          }
        }
      }
      const pause = this.slicer.tick();
      if (pause) await pause;
    }
    return leaving;
  }
}
