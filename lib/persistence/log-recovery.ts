import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { CorruptStoreError } from '../errors/corrupt-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { PersistenceFileSystem } from './file-system.js';
import { ChunkStore } from './frame-packer.js';
import { LOG_MAGIC, magicProblem, readFrame, SNAPSHOT_MAGIC, type Frame } from './log-format.js';
import { isLogOp, isSnapshotFrame, type LogOp } from './log-records.js';
import { Slicer } from './slicer.js';
import type { Encoded } from './value-codec.js';

/** What start-up does with damage a crash cannot explain. */
export type CorruptionPolicy = 'fail' | 'truncate';

/** A table's persisted state: its records (encoded, with deadlines) and counters. */
export interface PersistedTable {
  /** Per key: the encoded record, its deadline, and the table version it was written under. */
  readonly rows: Map<RecordKey, readonly [Encoded, number | null, number]>;
  readonly counters: Map<string, number>;
}

export const SNAPSHOT = 'snapshot';
export const SEGMENT = /^wal-(\d{16})\.log$/;

export function segmentName(startSeq: number): string {
  return `wal-${String(startSeq).padStart(16, '0')}.log`;
}

/** Damage found: where, and why. */
class Damage {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/**
 * Reads a persistence directory back: the snapshot, then every log frame after it, in slices
 * that yield to the event loop, logging progress past a second. A torn end of the last
 * segment (an interrupted append, or a batch whose last frame was never written) is cut off
 * with a warning. Any other damage throws CorruptStoreError and changes no file, unless the
 * policy is 'truncate': then what follows the damage is moved aside (`*.damaged`) and
 * start-up goes on with what came before it, with an error logged.
 */
export class LogRecovery {
  readonly tables = new Map<string, PersistedTable>();
  /** The last sequence number recovered. */
  seq = 0;
  readonly #slicer: Slicer;

  constructor(
    private readonly dir: string,
    private readonly fs: PersistenceFileSystem,
    private readonly table: string,
    private readonly policy: CorruptionPolicy,
    private readonly logger: Logger,
  ) {
    this.#slicer = new Slicer((elapsed) =>
      this.logger.log(
        `Recovering ${dir}: ${this.#done.toLocaleString('en')} of ${this.#total.toLocaleString('en')} records` +
          ` (snapshot, then log: ${this.#segmentsDone} of ${this.#segments} segments) after ${(elapsed / 1000).toFixed(1)} s`,
      ),
    );
  }

  #done = 0;
  #total = 0;
  #segments = 0;
  #segmentsDone = 0;

  async run(): Promise<void> {
    const names = await this.fs.readdir(this.dir);
    const segments = names
      .map((name) => [name, SEGMENT.exec(name)] as const)
      .filter((entry): entry is readonly [string, RegExpExecArray] => entry[1] !== null)
      .map(([name, match]) => ({ name, start: Number(match[1]) }))
      .sort((a, b) => a.start - b.start);
    this.#segments = segments.length;
    if (names.includes(SNAPSHOT)) {
      const file = join(this.dir, SNAPSHOT);
      const data = await this.fs.readFile(file);
      if (data) {
        this.seq = await this.#readSnapshot(file, data);
        // every snapshot is written after the segment that follows it was created
        if (!names.includes(segmentName(this.seq + 1))) {
          await this.#damaged(
            new Damage(
              join(this.dir, segmentName(this.seq + 1)),
              0,
              `the log segment that follows the snapshot (sequence ${this.seq}) is missing: the changes after it are lost`,
            ),
            [], // the segments after the gap are moved aside below
          );
        }
      }
    }
    for (const [i, segment] of segments.entries()) {
      const later = segments.slice(i + 1).map((s) => s.name);
      if (segment.start > this.seq + 1) {
        const damage = new Damage(
          join(this.dir, segment.name),
          0,
          `a gap in the log: this segment starts at sequence ${segment.start}, but the log before it ends at ${this.seq} (a missing segment)`,
        );
        await this.#damaged(damage, [segment.name, ...later]);
        return;
      }
      const stop = await this.#replay(segment.name, segment.start, later);
      this.#segmentsDone++;
      if (stop) return;
    }
  }

  /** Fails, or under 'truncate' moves `aside` files away and logs what was lost. */
  async #damaged(damage: Damage, aside: readonly string[]): Promise<void> {
    if (this.policy === 'fail')
      throw new CorruptStoreError(this.table, damage.file, damage.offset, damage.reason);
    for (const name of aside)
      await this.fs.rename(join(this.dir, name), join(this.dir, `${name}.damaged`));
    if (aside.length > 0) await this.fs.syncDir(this.dir);
    this.logger.error(
      `Corrupt data in ${damage.file} at byte ${damage.offset}: ${damage.reason}. onCorruption is 'truncate': ` +
        `starting with what came before it; what follows is LOST` +
        (aside.length > 0 ? ` (kept aside as ${aside.map((n) => `${n}.damaged`).join(', ')})` : ''),
    );
  }

  // ---- snapshot ----------------------------------------------------------------------

  async #readSnapshot(file: string, data: Buffer): Promise<number> {
    const header = magicProblem(data, SNAPSHOT_MAGIC);
    if (header) throw new CorruptStoreError(this.table, file, 0, header.problem);
    const chunks = new ChunkStore();
    let seq: number | undefined;
    let offset = SNAPSHOT_MAGIC.length;
    for (let n = 1; ; n++) {
      await this.#slicer.tick();
      const read = readFrame(data, offset, n);
      if (read.kind === 'end') break;
      let damage: Damage | undefined;
      if (read.kind === 'bad') damage = new Damage(file, offset, read.problem);
      else if (read.frame.seq !== n)
        damage = new Damage(file, offset, 'snapshot frames out of order');
      else {
        const outcome = this.#snapshotFrame(file, read.frame, chunks, (s) => (seq = s));
        if (outcome instanceof Damage) damage = outcome;
        else if (seq === undefined)
          damage = new Damage(file, offset, 'the snapshot does not start with its sequence number');
        else if (outcome === 'end') return seq;
      }
      if (damage) {
        if (this.policy === 'fail' || seq === undefined)
          throw new CorruptStoreError(this.table, damage.file, damage.offset, damage.reason);
        await this.fs.writeFile(join(this.dir, `${SNAPSHOT}.damaged`), data);
        await this.#damaged(damage, []);
        return seq;
      }
      offset = (read as { next: number }).next;
    }
    throw new CorruptStoreError(this.table, file, offset, 'the snapshot is incomplete');
  }

  #snapshotFrame(
    file: string,
    frame: Frame,
    chunks: ChunkStore,
    setSeq: (seq: number) => void,
  ): Damage | 'end' | undefined {
    const content = parseJson(frame.payload);
    if (!isSnapshotFrame(content))
      return new Damage(file, frame.offset, 'a snapshot frame has an unknown shape');
    if ('c' in content && content.c !== undefined && !chunks.add(content.c))
      return new Damage(file, frame.offset, 'a snapshot frame holds malformed chunks');
    switch (content.t) {
      case 'meta':
        setSeq(content.seq);
        this.#total += content.rows ?? 0;
        break;
      case 'rows': {
        const state = this.#state(content.table);
        try {
          for (const [key, record, deadline, version] of content.rows) {
            state.rows.set(key, [
              (content.r ? chunks.resolve(record) : record) as Encoded,
              deadline,
              version ?? 1,
            ]);
          }
        } catch (error) {
          return new Damage(file, frame.offset, (error as Error).message);
        }
        this.#done += content.rows.length;
        break;
      }
      case 'counters': {
        const state = this.#state(content.table);
        for (const [name, value] of content.counters) state.counters.set(name, value);
        break;
      }
      default:
        return 'end';
    }
    return undefined;
  }

  // ---- log ---------------------------------------------------------------------------

  /** Replays one segment; true if recovery stops here (damage accepted under 'truncate'). */
  async #replay(name: string, start: number, later: readonly string[]): Promise<boolean> {
    const file = join(this.dir, name);
    const last = later.length === 0;
    const data = (await this.fs.readFile(file)) ?? Buffer.alloc(0);
    const header = magicProblem(data, LOG_MAGIC);
    if (header) {
      if (header.torn) {
        // created but its header never fully written (a failure or crash right after
        // creating it): it holds no record, wherever it is; the sequence check guards what follows
        this.logger.warn(
          `Ignored ${file}: a log segment whose header was never completed holds no record`,
        );
        return false;
      }
      return this.#badTail(file, data, 0, header.problem, false, later);
    }
    let expected = start;
    let offset = LOG_MAGIC.length;
    /** A batch written in several frames: applied when its last frame is read. */
    let group: { offset: number; ops: LogOp[]; chunks: ChunkStore; refs: boolean } | undefined;
    for (;;) {
      await this.#slicer.tick();
      const read = readFrame(data, offset, expected);
      if (read.kind === 'end') break;
      if (read.kind === 'bad') {
        const cut = group?.offset ?? offset;
        return this.#badTail(file, data, cut, read.problem, last && read.torn, later, offset);
      }
      const { frame } = read;
      if (frame.seq !== expected) {
        return this.#badTail(
          file,
          data,
          frame.offset,
          `sequence ${frame.seq} where ${expected} was expected`,
          false,
          later,
        );
      }
      expected++;
      offset = read.next;
      if (frame.seq <= this.seq) continue; // already in the snapshot
      if (frame.seq !== this.seq + 1 && !group) {
        return this.#badTail(
          file,
          data,
          frame.offset,
          `a gap in the log: ${frame.seq} follows ${this.seq}`,
          false,
          later,
        );
      }
      const body = parseJson(frame.payload) as LogPayload | undefined;
      group ??= { offset: frame.offset, ops: [], chunks: new ChunkStore(), refs: false };
      if (
        typeof body !== 'object' ||
        body === null ||
        !Array.isArray(body.o) ||
        !body.o.every(isLogOp) ||
        (body.c !== undefined && !group.chunks.add(body.c))
      ) {
        return this.#badTail(
          file,
          data,
          frame.offset,
          'a log frame does not hold log operations',
          false,
          later,
        );
      }
      for (const op of body.o) group.ops.push(op);
      group.refs ||= body.r === 1;
      if (body.m === 1) continue;
      try {
        for (const op of group.ops) this.#apply(group.refs ? resolveOp(op, group.chunks) : op);
      } catch (error) {
        return this.#badTail(file, data, frame.offset, (error as Error).message, false, later);
      }
      this.#done += group.ops.length;
      this.seq = frame.seq;
      group = undefined;
    }
    if (!group) return false;
    // a batch whose last frame was never written: never acknowledged, cut off like a torn frame
    return this.#badTail(
      file,
      data,
      group.offset,
      'a batch written in several frames lacks its last one',
      last,
      later,
      offset,
    );
  }

  /**
   * The bytes from `offset` on are not whole frames: a torn tail is cut off with a warning;
   * damage fails, or under 'truncate' is moved aside (with the later segments).
   */
  async #badTail(
    file: string,
    data: Buffer,
    offset: number,
    problem: string,
    torn: boolean,
    later: readonly string[],
    at = offset,
  ): Promise<boolean> {
    if (torn) {
      this.logger.warn(
        `Cut off a torn last record in ${file} at byte ${offset} (${problem}): a write interrupted by a crash, never acknowledged under fsync 'always'`,
      );
    } else {
      if (this.policy === 'fail') throw new CorruptStoreError(this.table, file, at, problem);
      await this.fs.writeFile(`${file}.damaged`, data.subarray(offset));
      await this.#damaged(new Damage(file, at, problem), later);
    }
    await this.fs.truncate(file, offset);
    const cut = await this.fs.openAppend(file);
    await cut.sync();
    await cut.close();
    return !torn;
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
    let state = this.tables.get(table);
    if (!state) this.tables.set(table, (state = { rows: new Map(), counters: new Map() }));
    return state;
  }
}

/** A log frame's payload: operations, chunks they refer to, and whether more frames follow. */
interface LogPayload {
  o?: unknown;
  c?: unknown;
  /** 1: some operation refers to chunks. */
  r?: unknown;
  /** 1: the batch goes on in the next frame. */
  m?: unknown;
}

function resolveOp(op: LogOp, chunks: ChunkStore): LogOp {
  if (op[0] !== 'p') return op;
  return [op[0], op[1], op[2], chunks.resolve(op[3]) as Encoded, op[4], op[5]];
}

function parseJson(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}
