import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { CorruptStoreError } from '../errors/corrupt-store.error.js';
import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { PersistenceFileSystem, AppendFile } from './file-system.js';
import { encodeFrame, LOG_MAGIC, parseFrames, SNAPSHOT_MAGIC } from './log-format.js';
import { encodeValue, type Encoded } from './value-codec.js';

/** When a write's promise resolves: after fsync, after the write (synced each second), or after the write. */
export type FsyncPolicy = 'always' | 'everysec' | 'no';

/** One logged change: put a record (with its deadline), delete a key, clear a table, set a counter. */
export type LogOp =
  | readonly ['p', string, RecordKey, Encoded, number | null, number?]
  | readonly ['d', string, RecordKey]
  | readonly ['x', string]
  | readonly ['n', string, string, number | null];

/** A table's persisted state: its records (encoded, with deadlines) and counters. */
export interface PersistedTable {
  /** Per key: the encoded record, its deadline, and the table version it was written under. */
  readonly rows: Map<RecordKey, readonly [Encoded, number | null, number]>;
  readonly counters: Map<string, number>;
}

/** What a live table hands to a snapshot: its records as they are now, and its counters. */
export interface TableCapture {
  readonly rows: readonly (readonly [RecordKey, object, number | undefined])[];
  readonly counters: readonly [string, number][];
  /** The table version the records have. */
  readonly version: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
  readonly promise: Promise<void>;
}

type QueueItem =
  | { kind: 'frame'; data: Buffer; waiter: Waiter }
  | { kind: 'rotate'; segment: string; done: Waiter }
  | { kind: 'sync' };

const SNAPSHOT = 'snapshot';
const SEGMENT = /^wal-(\d{16})\.log$/;
const ROWS_PER_FRAME = 5000;

function segmentName(startSeq: number): string {
  return `wal-${String(startSeq).padStart(16, '0')}.log`;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a rejection is reported to whoever awaits it
  return { resolve, reject, promise };
}

/**
 * The write-ahead log and snapshots of one persistence directory, shared by the stores that
 * use it. Every committed change is appended to the log in frames of length, checksum and
 * sequence number; all changes made in one synchronous stretch of code (one write, one
 * `writeMany`, one transaction's commit, or many concurrent writes) form one frame, applied
 * whole or not at all on recovery. Under `'always'` a write's promise resolves once its frame
 * is fsynced, and writes waiting meanwhile share the next fsync (group commit).
 *
 * A snapshot is written to a temporary file, synced, renamed over the previous one and the
 * directory synced; only then are the log segments it covers deleted, so a crash at any
 * step leaves a snapshot and the segments needed to replay past it.
 */
export class Journal {
  readonly #logger = new Logger('MemoryStore');
  readonly #recovered = new Map<string, PersistedTable>();
  readonly #live = new Map<string, () => TableCapture>();
  #opened: Promise<void> | undefined;
  #seq = 0;
  #segment = '';
  #file: AppendFile | undefined;
  #batch: LogOp[] = [];
  #batchWaiter: Waiter | undefined;
  #lastWaiter: Waiter | undefined;
  readonly #queue: QueueItem[] = [];
  #flushing = false;
  #failure: Error | undefined;
  #bytesSinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly dir: string,
    readonly fsync: FsyncPolicy,
    private readonly fs: PersistenceFileSystem,
    private readonly snapshotEveryBytes = 64 * 1024 * 1024,
  ) {}

  /** Why the journal stopped accepting writes, if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Recovers the directory (once): the snapshot, then every log frame after it. */
  open(table: string): Promise<void> {
    return (this.#opened ??= this.#open(table));
  }

  /** The recovered state of a table (kept, and carried into snapshots, until `attach`). */
  recovered(table: string): PersistedTable | undefined {
    return this.#recovered.get(table);
  }

  /**
   * From now on, snapshots take the table from `capture` (its live records) instead of the
   * recovered state: call it once the table has loaded that state, never before, so that a
   * store that fails to load keeps its data on disk.
   */
  attach(table: string, capture: () => TableCapture): void {
    this.#recovered.delete(table);
    this.#live.set(table, capture);
  }

  /** True once the journal is closed: it takes no more changes. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Adds a change to the frame being gathered. */
  log(op: LogOp): void {
    if (this.#failure) return;
    if (this.#closed) {
      this.#batch.push(op); // never written: durable() reports it
      return;
    }
    this.#batch.push(op);
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
    return (this.#snapshotting ??= this.#snapshot().finally(
      () => (this.#snapshotting = undefined),
    ));
  }

  /** Flushes, writes a final snapshot and closes the log. */
  async close(): Promise<void> {
    if (this.#closed || !this.#opened) return;
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
  }

  // ---- recovery ----------------------------------------------------------------------

  async #open(table: string): Promise<void> {
    await this.fs.mkdir(this.dir);
    const names = await this.fs.readdir(this.dir);
    let snapshotSeq = 0;
    const snapshotFile = join(this.dir, SNAPSHOT);
    const snapshot = names.includes(SNAPSHOT) ? await this.fs.readFile(snapshotFile) : undefined;
    if (snapshot) snapshotSeq = this.#readSnapshot(table, snapshotFile, snapshot);
    this.#seq = snapshotSeq;
    const segments = names
      .map((name) => [name, SEGMENT.exec(name)] as const)
      .filter((entry): entry is readonly [string, RegExpExecArray] => entry[1] !== null)
      .map(([name, match]) => ({ name, start: Number(match[1]) }))
      .sort((a, b) => a.start - b.start);
    for (const [i, segment] of segments.entries()) {
      await this.#replay(table, segment.name, segment.start, i === segments.length - 1);
    }
    this.#segment = segmentName(this.#seq + 1);
    // A segment of that name holds no frame (else #seq would be past its start): start it afresh.
    if (segments.some((segment) => segment.name === this.#segment))
      await this.fs.truncate(join(this.dir, this.#segment), 0);
    this.#file = await this.fs.openAppend(join(this.dir, this.#segment));
    await this.#file.write(LOG_MAGIC);
    await this.#file.sync();
    await this.fs.syncDir(this.dir);
    if (this.fsync === 'everysec') {
      // through the queue, so that it never meets a file being rotated
      this.#syncTimer = setInterval(() => {
        this.#queue.push({ kind: 'sync' });
        void this.#flush();
      }, 1000);
      this.#syncTimer.unref();
    }
  }

  #readSnapshot(table: string, file: string, data: Buffer): number {
    const parsed = parseFrames(data, SNAPSHOT_MAGIC, 1);
    if (parsed.problem) throw new CorruptStoreError(table, file, parsed.end, parsed.problem);
    let seq: number | undefined;
    let ended = false;
    for (const [i, frame] of parsed.frames.entries()) {
      if (frame.seq !== i + 1)
        throw new CorruptStoreError(table, file, frame.offset, 'snapshot frames out of order');
      const content = parseJson(table, file, frame.offset, frame.payload) as SnapshotFrame;
      if (!isSnapshotFrame(content)) {
        throw new CorruptStoreError(
          table,
          file,
          frame.offset,
          'a snapshot frame has an unknown shape',
        );
      }
      if (content.t === 'meta') seq = content.seq;
      else if (content.t === 'rows') {
        const state = this.#state(content.table);
        for (const [key, record, deadline, version] of content.rows)
          state.rows.set(key, [record, deadline, version ?? 1]);
      } else if (content.t === 'counters') {
        const state = this.#state(content.table);
        for (const [name, value] of content.counters) state.counters.set(name, value);
      } else if (content.t === 'end') ended = true;
    }
    if (seq === undefined || !ended)
      throw new CorruptStoreError(table, file, parsed.end, 'the snapshot is incomplete');
    return seq;
  }

  async #replay(table: string, name: string, start: number, last: boolean): Promise<void> {
    const file = join(this.dir, name);
    const data = (await this.fs.readFile(file)) ?? Buffer.alloc(0);
    const parsed = parseFrames(data, LOG_MAGIC, start);
    let expected = start;
    for (const frame of parsed.frames) {
      if (frame.seq !== expected) {
        throw new CorruptStoreError(
          table,
          file,
          frame.offset,
          `sequence ${frame.seq} where ${expected} was expected`,
        );
      }
      expected++;
      if (frame.seq <= this.#seq) continue; // already in the snapshot
      if (frame.seq !== this.#seq + 1) {
        throw new CorruptStoreError(
          table,
          file,
          frame.offset,
          `a gap in the log: ${frame.seq} follows ${this.#seq}`,
        );
      }
      const body = parseJson(table, file, frame.offset, frame.payload) as { o?: unknown } | null;
      const ops = typeof body === 'object' && body !== null ? body.o : undefined;
      if (!Array.isArray(ops) || !ops.every(isLogOp)) {
        throw new CorruptStoreError(
          table,
          file,
          frame.offset,
          'a log frame does not hold log operations',
        );
      }
      for (const op of ops) this.#apply(op);
      this.#seq = frame.seq;
    }
    if (!parsed.problem) return;
    if (parsed.end === 0 && parsed.tornTail) {
      // created but its header never fully written (a failure or crash right after creating
      // it): it holds no record, wherever it is; the sequence check guards what follows
      this.#logger.warn(
        `Ignored ${file}: a log segment whose header was never completed holds no record`,
      );
      return;
    }
    if (!last || !parsed.tornTail)
      throw new CorruptStoreError(table, file, parsed.end, parsed.problem);
    this.#logger.warn(
      `Cut off a torn last record in ${file} at byte ${parsed.end} (${parsed.problem}): a write interrupted by a crash, never acknowledged under fsync 'always'`,
    );
    await this.fs.truncate(file, parsed.end);
    const cut = await this.fs.openAppend(file);
    await cut.sync();
    await cut.close();
  }

  #apply(op: LogOp): void {
    const state = this.#state(op[1]);
    switch (op[0]) {
      case 'p':
        state.rows.set(op[2], [op[3], op[4], op[5] ?? 1]);
        break;
      case 'd':
        state.rows.delete(op[2]);
        break;
      case 'x':
        state.rows.clear();
        break;
      case 'n':
        if (op[3] === null) state.counters.delete(op[2]);
        else state.counters.set(op[2], op[3]);
        break;
    }
  }

  #state(table: string): PersistedTable {
    let state = this.#recovered.get(table);
    if (!state) this.#recovered.set(table, (state = { rows: new Map(), counters: new Map() }));
    return state;
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
    this.#seq++;
    const data = encodeFrame(this.#seq, JSON.stringify({ o: ops }));
    this.#lastWaiter = batchWaiter;
    this.#queue.push({ kind: 'frame', data, waiter: batchWaiter });
    void this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    let items: QueueItem[] = [];
    try {
      while (this.#queue.length > 0 && !this.#failure) {
        items = this.#queue.splice(0);
        let frames: Extract<QueueItem, { kind: 'frame' }>[] = [];
        for (const item of items) {
          if (item.kind === 'frame') {
            frames.push(item);
            continue;
          }
          await this.#write(frames);
          frames = [];
          if (item.kind === 'sync') await this.#file!.sync();
          else {
            await this.#rotate(item.segment);
            item.done.resolve();
          }
        }
        await this.#write(frames);
        items = [];
      }
    } catch (error) {
      this.#fail(error);
      // what was taken out of the queue but not written settles too (resolving twice is a no-op)
      const failed = this.#failed();
      for (const item of items) {
        if (item.kind === 'frame') item.waiter.reject(failed);
        else if (item.kind === 'rotate') item.done.reject(failed);
      }
    } finally {
      this.#flushing = false;
    }
    if (this.#bytesSinceSnapshot >= this.snapshotEveryBytes && !this.#closed) {
      this.#bytesSinceSnapshot = 0;
      void this.snapshot().catch((error: unknown) => this.#fail(error));
    }
  }

  async #write(frames: { data: Buffer; waiter: Waiter }[]): Promise<void> {
    if (frames.length === 0) return;
    const data = frames.length === 1 ? frames[0].data : Buffer.concat(frames.map((f) => f.data));
    await this.#file!.write(data);
    if (this.fsync === 'always') await this.#file!.sync();
    this.#bytesSinceSnapshot += data.length;
    for (const frame of frames) frame.waiter.resolve();
  }

  async #rotate(segment: string): Promise<void> {
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
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error instanceof Error ? error : new Error(describeValue(error));
    this.#logger.error(
      `Persistence in ${this.dir} failed; its stores accept no more writes: ${this.#failure.message}`,
    );
    const failed = this.#failed();
    for (const item of this.#queue.splice(0)) {
      if (item.kind === 'frame') item.waiter.reject(failed);
      else if (item.kind === 'rotate') item.done.reject(failed);
    }
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
    const seq = this.#seq;
    const captured = [...this.#live].map(([table, capture]) => [table, capture()] as const);
    const carried = [...this.#recovered];
    const next = segmentName(seq + 1);
    const rotated = waiter();
    if (next !== this.#segment) {
      this.#queue.push({ kind: 'rotate', segment: next, done: rotated });
      void this.#flush();
    } else rotated.resolve();

    const frames: Buffer[] = [SNAPSHOT_MAGIC];
    let n = 0;
    const push = (content: SnapshotFrame) => frames.push(encodeFrame(++n, JSON.stringify(content)));
    push({ t: 'meta', seq, at: new Date().toISOString() });
    for (const [table, { rows, counters, version }] of captured) {
      for (let i = 0; i < rows.length; i += ROWS_PER_FRAME) {
        push({
          t: 'rows',
          table,
          rows: rows
            .slice(i, i + ROWS_PER_FRAME)
            .map(([key, record, deadline]) => [
              key,
              encodeValue(record),
              deadline ?? null,
              version,
            ]),
        });
        await new Promise((resolve) => setImmediate(resolve)); // let writes and reads through
      }
      push({ t: 'counters', table, counters: [...counters] });
    }
    for (const [table, { rows, counters }] of carried) {
      const list = [...rows];
      for (let i = 0; i < list.length; i += ROWS_PER_FRAME) {
        push({
          t: 'rows',
          table,
          rows: list
            .slice(i, i + ROWS_PER_FRAME)
            .map(([key, [record, deadline, version]]) => [key, record, deadline, version]),
        });
      }
      push({ t: 'counters', table, counters: [...counters] });
    }
    push({ t: 'end' });

    const temporary = join(this.dir, `${SNAPSHOT}.tmp`);
    await this.fs.writeFile(temporary, Buffer.concat(frames));
    await this.fs.rename(temporary, join(this.dir, SNAPSHOT));
    await this.fs.syncDir(this.dir);
    await rotated.promise;
    for (const name of await this.fs.readdir(this.dir)) {
      const match = SEGMENT.exec(name);
      if (match && Number(match[1]) <= seq && name !== this.#segment)
        await this.fs.unlink(join(this.dir, name));
    }
    await this.fs.syncDir(this.dir);
  }
}

type SnapshotFrame =
  | { t: 'meta'; seq: number; at: string }
  | { t: 'rows'; table: string; rows: [RecordKey, Encoded, number | null, number?][] }
  | { t: 'counters'; table: string; counters: [string, number][] }
  | { t: 'end' };

function parseJson(table: string, file: string, offset: number, payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch (error) {
    throw new CorruptStoreError(
      table,
      file,
      offset,
      `a frame holds malformed JSON (${(error as Error).message})`,
    );
  }
}

const isKey = (v: unknown): boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
const isDeadline = (v: unknown): boolean =>
  v === null || (typeof v === 'number' && Number.isFinite(v));

/** A checksummed frame can still hold the wrong shape (a bug, or a file from elsewhere). */
function isLogOp(op: unknown): op is LogOp {
  if (!Array.isArray(op) || typeof op[1] !== 'string') return false;
  switch (op[0]) {
    case 'p':
      return (
        isKey(op[2]) &&
        op[3] !== undefined &&
        isDeadline(op[4]) &&
        (op[5] === undefined || Number.isSafeInteger(op[5]))
      );
    case 'd':
      return isKey(op[2]);
    case 'x':
      return true;
    case 'n':
      return typeof op[2] === 'string' && (op[3] === null || Number.isSafeInteger(op[3]));
    default:
      return false;
  }
}

function isSnapshotFrame(frame: unknown): frame is SnapshotFrame {
  if (typeof frame !== 'object' || frame === null) return false;
  const f = frame as Record<string, unknown>;
  switch (f.t) {
    case 'meta':
      return Number.isSafeInteger(f.seq);
    case 'rows':
      return (
        typeof f.table === 'string' &&
        Array.isArray(f.rows) &&
        f.rows.every((r) => Array.isArray(r) && isKey(r[0]) && isDeadline(r[2]))
      );
    case 'counters':
      return (
        typeof f.table === 'string' &&
        Array.isArray(f.counters) &&
        f.counters.every(
          (c) => Array.isArray(c) && typeof c[0] === 'string' && Number.isSafeInteger(c[1]),
        )
      );
    case 'end':
      return true;
    default:
      return false;
  }
}
