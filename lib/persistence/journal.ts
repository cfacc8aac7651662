import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { describeValue, isError } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { DirectoryLock } from './directory-lock.js';
import type { PersistenceFileSystem, AppendFile } from './file-system.js';
import { FramePacker } from './frame-packer.js';
import { encodeFrame, LOG_MAGIC, SNAPSHOT_MAGIC } from './log-format.js';
import type { LogOp, SnapshotFrame } from './log-records.js';
import {
  LogRecovery,
  SEGMENT,
  segmentName,
  SNAPSHOT,
  type CorruptionPolicy,
  type PersistedTable,
} from './log-recovery.js';
import type { RecoveryTarget } from './recovery-target.js';
import { SLICE_CHECK, TimeSlicer } from '../engine/time-slicer.js';
import { RowFrames } from './row-frames.js';

export type { LogOp } from './log-records.js';
export type { CorruptionPolicy, PersistedTable } from './log-recovery.js';

/** When a write's promise resolves: after fsync, after the write (synced each second), or after the write. */
export type FsyncPolicy = 'always' | 'everysec' | 'no';

/**
 * A live table as a snapshot reads it: its records map itself (read in slices while the
 * table goes on changing: see `Journal`), their deadlines, its counters and version.
 */
export interface TableView {
  readonly rows: ReadonlyMap<RecordKey, object>;
  deadline(key: RecordKey): number | undefined;
  /** The sliding period persisted with a record's deadline, if any (see `MemoryTable.periodOf`). */
  period?(key: RecordKey): number | undefined;
  counters(): [string, number][];
  /** The table version the records have. */
  readonly version: number;
  /**
   * The bulk operation applying to the table now, if any: it holds its log records until it
   * has applied every change (so that recovery finds all of a batch or none).
   */
  bulk?(): Promise<void> | undefined;
}

/** How a journal runs, beside its directory and fsync policy. */
export interface JournalOptions {
  /** Write a snapshot after this many bytes of log. @default 64 MiB */
  readonly snapshotEveryBytes?: number;
  /** What start-up does with damage a crash cannot explain. @default 'fail' */
  readonly onCorruption?: CorruptionPolicy;
  /** The most payload bytes of one frame (tests lower it). @default 1 MiB */
  readonly frameBytes?: number;
}

interface Waiter<T = void> {
  resolve(value: T): void;
  reject(error: unknown): void;
  readonly promise: Promise<T>;
}

type QueueItem =
  | { kind: 'batch'; ops: LogOp[]; waiter: Waiter }
  | { kind: 'rotate'; done: Waiter<number> }
  | { kind: 'sync'; done?: Waiter<number> };

/** Default payload bytes of a frame: parsed on recovery in well under 20 ms. */
export const DEFAULT_FRAME_BYTES = 1024 * 1024;
/** Records per slice of a snapshot (each slice then cut into frames by bytes). */
const ROWS_PER_SLICE = 2000;
/**
 * Bytes gathered before they are written, while a large batch or a snapshot is encoded: the
 * frames are joined into one buffer then, a copy that must stay well under a slice.
 */
const WRITE_BYTES = 1024 * 1024;
/**
 * The most payload bytes of a snapshot frame: recovery parses a frame in one step, and a
 * quarter megabyte of JSON parses in a few milliseconds.
 */
const SNAPSHOT_FRAME_BYTES = 256 * 1024;
/** A batch with more operations than this is packed operation by operation. */
const SMALL_BATCH = 256;

function waiter<T = void>(): Waiter<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a rejection is reported to whoever awaits it
  return { resolve, reject, promise };
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The write-ahead log and snapshots of one persistence directory, shared by the stores that
 * use it, and owned by one process at a time (a lock file). Every committed change is
 * appended to the log in frames of length, checksum and sequence number; all changes made in
 * one synchronous stretch of code (one write, one `writeMany`, one transaction's commit, or
 * many concurrent writes) form one batch, applied whole or not at all on recovery. A batch
 * larger than a frame spans several frames, each but the last marked "more follows"; its
 * promise resolves once the last is written. Under `'always'` a write's promise resolves once
 * its frames are fsynced, and writes waiting meanwhile share the next fsync (group commit).
 *
 * A snapshot first moves the log to a new segment, then is written to a temporary file in
 * frames, synced, renamed over the previous one and the directory synced; only then are the
 * log segments it covers deleted, so a crash at any step leaves a snapshot and the segments
 * needed to replay past it.
 */
export class Journal {
  readonly #logger = new Logger('MemoryStore');
  #recovered = new Map<string, PersistedTable>();
  readonly #live = new Map<string, TableView>();
  readonly #targets = new Map<string, RecoveryTarget>();
  readonly #frameBytes: number;
  readonly #snapshotEveryBytes: number;
  readonly #onCorruption: CorruptionPolicy;
  #lock: DirectoryLock | undefined;
  #opened: Promise<void> | undefined;
  #seq = 0;
  #segment = '';
  #file: AppendFile | undefined;
  #batch: LogOp[] = [];
  #batchWaiter: Waiter | undefined;
  #lastWaiter: Waiter | undefined;
  readonly #queue: QueueItem[] = [];
  /** Batches taken out of the queue and not yet written, to settle if writing fails. */
  readonly #inFlight = new Set<Waiter>();
  #flushing = false;
  #failure: Error | undefined;
  /** Log bytes written since the last snapshot's rotation (what the next snapshot covers). */
  #bytesSinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;
  /**
   * While a snapshot runs, the batches sealed after its rotation (all logged after its
   * sequence): the records they put need not be read into the snapshot (see `LoggedSince`).
   */
  #loggedSince: LoggedSince | undefined;
  /** Set by `close()`: no snapshot starts on its own from then on. */
  #closing = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly dir: string,
    readonly fsync: FsyncPolicy,
    private readonly fs: PersistenceFileSystem,
    options: JournalOptions = {},
  ) {
    this.#snapshotEveryBytes = options.snapshotEveryBytes ?? 64 * 1024 * 1024;
    this.#onCorruption = options.onCorruption ?? 'fail';
    this.#frameBytes = options.frameBytes ?? DEFAULT_FRAME_BYTES;
  }

  /** Why the journal stopped accepting writes, if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Takes and recovers the directory (once): the snapshot, then every log frame after it. */
  open(table: string): Promise<void> {
    return (this.#opened ??= this.#open(table));
  }

  /**
   * Has recovery, if it has not yet read the table, load it straight into `target` (then
   * `recovered` gives nothing, and the journal takes the table from the target's view).
   */
  target(table: string, target: RecoveryTarget): void {
    this.#targets.set(table, target);
  }

  /** The recovered state of a table (kept, and carried into snapshots, until `attach`). */
  recovered(table: string): PersistedTable | undefined {
    return this.#recovered.get(table);
  }

  /**
   * From now on, snapshots take the table from `view` (its live records) instead of the
   * recovered state: call it once the table has loaded that state, never before, so that a
   * store that fails to load keeps its data on disk.
   */
  attach(table: string, view: TableView): void {
    this.#recovered.delete(table);
    this.#live.set(table, view);
  }

  /** True once the journal is closed: it takes no more changes. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Adds a change to the batch being gathered. */
  log(op: LogOp): void {
    if (this.#failure) return;
    this.#batch.push(op);
    if (this.#closed) return; // never written: durable() reports it
    if (!this.#batchWaiter) {
      this.#batchWaiter = waiter();
      queueMicrotask(() => this.#seal());
    }
  }

  /**
   * Adds changes to the batch being gathered, in order, as `log` does one by one; the journal
   * takes `ops` over (a bulk operation's held records: a million pushes were one long step).
   */
  logAll(ops: LogOp[]): void {
    if (this.#failure || ops.length === 0) return;
    if (this.#batch.length === 0) this.#batch = ops;
    else for (const op of ops) this.#batch.push(op);
    if (this.#closed) return; // never written: durable() reports it
    if (!this.#batchWaiter) {
      this.#batchWaiter = waiter();
      queueMicrotask(() => this.#seal());
    }
  }

  /** Resolves when every change logged so far is as durable as the policy promises. */
  durable(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failed());
    if (this.#closed && this.#batch.length > 0) {
      return Promise.reject(
        new MemoryStoreError(
          `Persistence in ${this.dir} is closed: the application is shutting down`,
          '',
        ),
      );
    }
    return (this.#batchWaiter ?? this.#lastWaiter)?.promise ?? Promise.resolve();
  }

  /** Writes a snapshot and drops the log segments it makes unnecessary. */
  snapshot(): Promise<void> {
    return (this.#snapshotting ??= this.#snapshot().then(
      () => {
        this.#snapshotting = undefined;
        // the log grew past the threshold while this one ran: the next one is due now
        this.#snapshotIfDue();
      },
      (error: unknown) => {
        this.#snapshotting = undefined;
        throw error;
      },
    ));
  }

  /** Flushes, writes a final snapshot, closes the log and gives the directory up. */
  async close(): Promise<void> {
    if (this.#closed || !this.#opened) return;
    this.#closing = true;
    await this.#opened.catch(() => undefined);
    if (!this.#failure) {
      this.#seal();
      await this.snapshot().catch((error: unknown) => this.#fail(error));
    }
    this.#closed = true;
    clearInterval(this.#syncTimer);
    await this.#drained();
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
    await this.#lock?.release();
    this.#lock = undefined;
  }

  // ---- start-up ----------------------------------------------------------------------

  async #open(table: string): Promise<void> {
    await this.fs.mkdir(this.dir);
    this.#lock = await DirectoryLock.acquire(this.dir);
    try {
      const recovery = new LogRecovery(
        this.dir,
        this.fs,
        table,
        this.#onCorruption,
        this.#logger,
        this.#targets,
      );
      await recovery.run();
      this.#recovered = recovery.tables;
      // a table loaded into its live table is snapshotted from it at once: a store that fails
      // later in its start keeps its data on disk
      for (const name of recovery.loaded) this.#live.set(name, this.#targets.get(name)!.view);
      this.#seq = recovery.seq;
      this.#segment = segmentName(this.#seq + 1);
      const names = await this.fs.readdir(this.dir);
      // A segment of that name holds no frame (else the sequence would be past its start):
      // start it afresh.
      if (names.includes(this.#segment)) await this.fs.truncate(join(this.dir, this.#segment), 0);
      this.#file = await this.fs.openAppend(join(this.dir, this.#segment));
      await this.#file.write(LOG_MAGIC);
      await this.#file.sync();
      await this.fs.syncDir(this.dir);
      // A damaged snapshot whose loss was accepted is replaced at once: else a crash before
      // the next snapshot finds it again, and a start under 'fail' refuses what was accepted.
      if (recovery.snapshotDamaged) await this.#snapshot();
    } catch (error) {
      await this.#file?.close().catch(() => undefined);
      this.#file = undefined;
      await this.#lock.release();
      this.#lock = undefined;
      throw error;
    }
    if (this.fsync === 'everysec') {
      // through the queue, so that it never meets a file being rotated
      this.#syncTimer = setInterval(() => {
        this.#queue.push({ kind: 'sync' });
        void this.#flush();
      }, 1000);
      this.#syncTimer.unref();
    }
  }

  // ---- appending ---------------------------------------------------------------------

  #seal(): void {
    const ops = this.#batch;
    const batchWaiter = this.#batchWaiter;
    this.#batch = [];
    this.#batchWaiter = undefined;
    if (!batchWaiter) return;
    if (ops.length === 0 || this.#failure) {
      if (this.#failure) batchWaiter.reject(this.#failed());
      else batchWaiter.resolve();
      return;
    }
    this.#lastWaiter = batchWaiter;
    this.#loggedSince?.add(ops);
    this.#queue.push({ kind: 'batch', ops, waiter: batchWaiter });
    void this.#flush();
  }

  /**
   * The frames of a batch, numbered in order: one frame for a batch that fits, else frames of
   * at most `frameBytes` payload bytes, every one but the last marked `"m":1` (more follows).
   */
  *#frames(ops: readonly LogOp[]): Generator<Buffer | null> {
    if (ops.length <= SMALL_BATCH) {
      let text: string | undefined;
      try {
        text = JSON.stringify({ o: ops });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
      if (
        text !== undefined &&
        (text.length * 3 <= this.#frameBytes || Buffer.byteLength(text) <= this.#frameBytes)
      ) {
        yield encodeFrame(++this.#seq, text);
        return;
      }
    }
    let previous: string | undefined;
    for (const part of new FramePacker(this.#frameBytes).packInSteps(ops, 3)) {
      if (part === null) {
        yield null; // a run of operations encoded: a place to yield to the event loop
        continue;
      }
      if (previous !== undefined) yield encodeFrame(++this.#seq, `${previous},"m":1}`);
      previous =
        (part.chunks.length > 0 ? `{"c":[${part.chunks.join(',')}],` : '{') +
        (part.refs ? '"r":1,' : '') +
        `"o":[${part.items.join(',')}]`;
    }
    if (previous !== undefined) yield encodeFrame(++this.#seq, `${previous}}`);
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let done: Waiter[] = [];
    const writeOut = async () => {
      // a batch whose last frame filled the previous write has nothing left to write, but
      // waits for its sync and its acknowledgement all the same
      if (pending.length === 0 && done.length === 0) return;
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      if (data.length > 0) await this.#file!.write(data);
      // synced once a batch is whole (a part of one acknowledges nothing)
      if (this.fsync === 'always' && done.length > 0) await this.#file!.sync();
      this.#bytesSinceSnapshot += data.length;
      for (const w of done) {
        this.#inFlight.delete(w);
        w.resolve();
      }
      done = [];
    };
    let item: QueueItem | undefined;
    try {
      const slicer = new TimeSlicer(`log of ${this.dir}`, undefined);
      while (this.#queue.length > 0 && !this.#failure) {
        item = this.#queue.shift()!;
        if (item.kind === 'batch') {
          this.#inFlight.add(item.waiter);
          for (const frame of this.#frames(item.ops)) {
            if (frame !== null) {
              pending.push(frame);
              pendingBytes += frame.length;
              if (pendingBytes >= WRITE_BYTES) await writeOut();
            }
            if (slicer.due) await slicer.pause(); // a large batch is encoded in slices
          }
          done.push(item.waiter);
          continue;
        }
        await writeOut();
        if (item.kind === 'sync') {
          await this.#file!.sync();
          item.done?.resolve(this.#seq);
        } else {
          await this.#rotate(segmentName(this.#seq + 1));
          // what follows is the next snapshot's to cover
          this.#bytesSinceSnapshot = 0;
          item.done.resolve(this.#seq);
        }
        item = undefined;
      }
      await writeOut();
    } catch (error) {
      this.#fail(error);
      // a sync or rotation that failed is off the queue `#fail` empties: its waiter (a
      // snapshot, `close()`) would wait for ever
      if (item !== undefined && item.kind !== 'batch') item.done?.reject(this.#failed());
    } finally {
      this.#flushing = false;
    }
    this.#snapshotIfDue();
    // an item queued while the last write was under way
    if (this.#queue.length > 0 && !this.#failure) void this.#flush();
  }

  /**
   * Starts a snapshot once the log has grown by `snapshotEveryBytes` since the last one's
   * rotation. While one runs, nothing starts: it rotated before these bytes, so they are the
   * next one's, which starts as soon as it ends (from `snapshot()`).
   */
  #snapshotIfDue(): void {
    if (
      this.#bytesSinceSnapshot < this.#snapshotEveryBytes ||
      this.#snapshotting ||
      this.#closing ||
      this.#closed ||
      this.#failure
    )
      return;
    void this.snapshot().catch((error: unknown) => this.#fail(error));
  }

  async #rotate(segment: string): Promise<void> {
    if (segment === this.#segment) return;
    await this.#file!.sync();
    await this.#file!.close();
    this.#segment = segment;
    this.#file = await this.fs.openAppend(join(this.dir, segment));
    await this.#file.write(LOG_MAGIC);
    await this.#file.sync();
    await this.fs.syncDir(this.dir);
  }

  async #drained(): Promise<void> {
    while (this.#flushing || this.#queue.length > 0) {
      if (!this.#flushing) await this.#flush();
      else await nextTick();
    }
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    // an error of the file system may come from another realm (a test's VM context)
    this.#failure = isError(error) ? error : new Error(describeValue(error));
    this.#logger.error(
      `Persistence in ${this.dir} failed; its stores accept no more writes: ${this.#failure.message}`,
    );
    const failed = this.#failed();
    for (const item of this.#queue.splice(0)) {
      if (item.kind === 'batch') item.waiter.reject(failed);
      else item.done?.reject(failed);
    }
    for (const w of this.#inFlight) w.reject(failed);
    this.#inFlight.clear();
    this.#batchWaiter?.reject(failed);
    this.#lastWaiter?.reject(failed);
  }

  #failed(): MemoryStoreError {
    return new MemoryStoreError(
      `Persistence in ${this.dir} failed (${this.#failure?.message ?? 'unknown error'}): writes are refused until the application restarts and recovers`,
      '',
      { cause: this.#failure },
    );
  }

  // ---- snapshots ---------------------------------------------------------------------

  async #snapshot(): Promise<void> {
    if (this.#failure || !this.#file) return;
    this.#seal();
    // The log moves to the segment after the snapshot before the snapshot exists, so that a
    // snapshot without its next segment is damage. The snapshot's sequence is the last one
    // before the rotation. Its records are then read from the live tables in slices while
    // writes go on (a fuzzy snapshot): a record that changes meanwhile may be read before or
    // after the change, and the change is in the log after that sequence, so replaying the log
    // over the snapshot (puts, deletes, clears and counter values, each setting a final state)
    // gives every record its last value.
    const rotated = waiter<number>();
    this.#queue.push({ kind: 'rotate', done: rotated });
    const loggedSince = (this.#loggedSince = new LoggedSince());
    void this.#flush();
    try {
      await this.#snapshotAfter(await rotated.promise, loggedSince);
    } finally {
      if (this.#loggedSince === loggedSince) this.#loggedSince = undefined;
    }
  }

  /** The snapshot of sequence `seq`, once the log has moved past it. */
  async #snapshotAfter(seq: number, loggedSince: LoggedSince): Promise<void> {
    const live = [...this.#live].map(
      ([table, view]) => [table, view, view.counters(), view.rows.size] as const,
    );
    const carried = [...this.#recovered];

    const temporary = join(this.dir, `${SNAPSHOT}.tmp`);
    await this.fs.unlink(temporary).catch(() => undefined); // one a crash left: appending would extend it
    const out = await this.fs.openAppend(temporary);
    try {
      await this.#writeSnapshot(out, seq, live, carried, loggedSince);
      await out.sync();
      await out.close();
      // The snapshot may have read part of a bulk operation whose log records are still held:
      // wait for those that run now (one starting later was not read) to log them.
      const bulks = live.map(([, view]) => view.bulk?.()).filter((bulk) => bulk !== undefined);
      await Promise.all(bulks);
      // Every change the snapshot may have read is made durable in the log before the
      // snapshot takes effect, so that a crash never leaves part of a batch in it alone.
      this.#seal();
      const synced = waiter<number>();
      this.#queue.push({ kind: 'sync', done: synced });
      void this.#flush();
      await synced.promise;
    } catch (error) {
      await out.close().catch(() => undefined);
      await this.fs.unlink(temporary).catch(() => undefined);
      throw error;
    }
    await this.fs.rename(temporary, join(this.dir, SNAPSHOT));
    await this.fs.syncDir(this.dir);
    for (const name of await this.fs.readdir(this.dir)) {
      const match = SEGMENT.exec(name);
      if (match && Number(match[1]) <= seq && name !== this.#segment)
        await this.fs.unlink(join(this.dir, name));
    }
    await this.fs.syncDir(this.dir);
  }

  /** Writes the snapshot's frames, in slices of the event loop, in writes of bounded size. */
  async #writeSnapshot(
    out: AppendFile,
    seq: number,
    live: readonly (readonly [string, TableView, [string, number][], number])[],
    carried: readonly (readonly [string, PersistedTable])[],
    loggedSince: LoggedSince,
  ): Promise<void> {
    let pending: Buffer[] = [SNAPSHOT_MAGIC];
    let pendingBytes = SNAPSHOT_MAGIC.length;
    let n = 0;
    const slicer = new TimeSlicer(`snapshot of ${this.dir}`, undefined);
    const push = async (content: SnapshotFrame | string) => {
      const frame = encodeFrame(
        ++n,
        typeof content === 'string' ? content : JSON.stringify(content),
      );
      pending.push(frame);
      pendingBytes += frame.length;
      if (pendingBytes >= WRITE_BYTES) {
        const data = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        await out.write(data);
      }
      if (slicer.due) await slicer.pause(); // let writes and reads through
    };
    const packer = new FramePacker(Math.min(this.#frameBytes, SNAPSHOT_FRAME_BYTES));
    const pushRows = async (table: string, rows: readonly (readonly unknown[])[]) => {
      for (const part of packer.packInSteps(rows, 1)) {
        if (part === null) {
          if (slicer.due) await slicer.pause(); // inside a frame: let writes and reads through
          continue;
        }
        await push(
          `{"t":"rows","table":${JSON.stringify(table)},` +
            (part.chunks.length > 0 ? `"c":[${part.chunks.join(',')}],` : '') +
            (part.refs ? '"r":1,' : '') +
            `"rows":[${part.items.join(',')}]}`,
        );
      }
    };
    const total =
      live.reduce((sum, [, , , size]) => sum + size, 0) +
      carried.reduce((sum, [, t]) => sum + t.rows.size, 0);
    await push({ t: 'meta', seq, at: new Date().toISOString(), rows: total });
    for (const [table, view, counters] of live) {
      const framer = new RowFrames(table, Math.min(this.#frameBytes, SNAPSHOT_FRAME_BYTES));
      let count = 0;
      // The walk meets the records written since the rotation too (a table growing fast grows
      // under it): those the log after `seq` puts are passed over unread, as recovery would
      // pass them over, so it reads each record present at the rotation once and no more.
      await loggedSince.update(slicer);
      let since = loggedSince.table(table);
      for (const [key, record] of view.rows.entries()) {
        if (++count % SLICE_CHECK === 0 && slicer.due) await slicer.pause(); // inside a frame
        if (loggedSince.unread) {
          // batches sealed while it paused (here or writing a frame)
          await loggedSince.update(slicer);
          since = loggedSince.table(table);
        }
        if (since !== undefined && (since.cleared || since.keys.has(key))) {
          if (since.cleared) break; // recovery passes over every record the snapshot holds
          continue;
        }
        const deadline = view.deadline(key) ?? null;
        const period = view.period?.(key);
        for (const payload of framer.add(key, record, deadline, view.version, period))
          await push(payload);
      }
      for (const payload of framer.finish()) await push(payload);
      await push({ t: 'counters', table, counters });
    }
    loggedSince.stop(); // the live tables are read
    for (const [table, { rows, counters }] of carried) {
      let slice: unknown[][] = [];
      for (const [key, [record, deadline, version, period]] of rows) {
        slice.push(
          period === undefined
            ? [key, record, deadline, version]
            : [key, record, deadline, version, period],
        );
        if (slice.length === ROWS_PER_SLICE) {
          await pushRows(table, slice);
          slice = [];
        }
      }
      await pushRows(table, slice);
      await push({ t: 'counters', table, counters: [...counters] });
    }
    await push({ t: 'end' });
    await out.write(Buffer.concat(pending));
  }
}

/** What the log after a snapshot's sequence does to one table, as far as the snapshot needs. */
interface TableLoggedSince {
  /** Keys put (or deleted) after the sequence. */
  readonly keys: Set<RecordKey>;
  /** True once the table was cleared after the sequence. */
  cleared: boolean;
}

/**
 * The changes logged after a running snapshot's sequence, per table: the batches sealed
 * after its rotation, taken as they come (one push each, nothing on the write path) and read
 * into key sets by the snapshot in its own slices. Recovery passes over every record of the
 * snapshot that the log after its sequence puts, deletes or clears; so may the snapshot. Each
 * batch is in the log, and synced, before the snapshot takes effect (its last step).
 */
class LoggedSince {
  #stopped = false;
  #pending: LogOp[][] = [];
  /** The first batch not read yet, and how far it has been read (a large one is read in slices). */
  #next = 0;
  #at = 0;
  readonly #tables = new Map<string, TableLoggedSince>();

  add(ops: LogOp[]): void {
    if (!this.#stopped) this.#pending.push(ops);
  }

  /** The walk is over: batches are no longer needed (nor held). */
  stop(): void {
    this.#stopped = true;
    this.#pending = [];
    this.#next = 0;
    this.#tables.clear();
  }

  /** True when batches were sealed since the last `update`. */
  get unread(): boolean {
    return this.#next < this.#pending.length;
  }

  table(name: string): TableLoggedSince | undefined {
    return this.#tables.get(name);
  }

  /** Reads the batches sealed so far into the key sets, pausing when `slicer` is due. */
  async update(slicer: TimeSlicer): Promise<void> {
    while (this.#next < this.#pending.length) {
      const ops = this.#pending[this.#next];
      while (this.#at < ops.length) {
        const op = ops[this.#at++];
        if (op[0] === 'p' || op[0] === 'd' || op[0] === 'x') {
          let table = this.#tables.get(op[1]);
          if (!table) this.#tables.set(op[1], (table = { keys: new Set(), cleared: false }));
          if (op[0] === 'x') table.cleared = true;
          else table.keys.add(op[2]);
        }
        if (this.#at % SLICE_CHECK === 0 && slicer.due) await slicer.pause();
      }
      this.#pending[this.#next++] = []; // read: let it go
      this.#at = 0;
    }
    this.#pending = [];
    this.#next = 0;
  }
}
