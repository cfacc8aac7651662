import { basename, dirname, join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { TimeSlicer } from '../engine/time-slicer.js';
import { CorruptStoreError } from '../errors/corrupt-store.error.js';
import { copyInParts, openForReading, type PersistenceFileSystem } from './file-system.js';
import { ChunkStore } from './frame-packer.js';
import { FrameReader } from './frame-reader.js';
import { LOG_MAGIC, SNAPSHOT_MAGIC, type Frame } from './log-format.js';
import { isLogOp, isSnapshotFrame, type LogOp, type SnapshotFrame } from './log-records.js';
import { RecoveryLoader, type LoggedChanges, type PersistedTable } from './recovery-loader.js';
import type { RecoveryTarget, RecoveredRow } from './recovery-target.js';
import type { Encoded } from './value-codec.js';

export type { PersistedTable } from './recovery-loader.js';

/** What start-up does with damage a crash cannot explain. */
export type CorruptionPolicy = 'fail' | 'truncate';

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
 * Reads a persistence directory back: the snapshot's sequence number, then every log frame
 * after it, then the snapshot's records, in slices that yield to the event loop, logging
 * progress past a second. Files are read in windows, never whole.
 *
 * The log is read before the snapshot's records so that they can go straight into the live
 * tables (a `RecoveryTarget` each) without a copy of the table in between: the log's changes
 * are kept as the final state per key, the snapshot's records that the log changed, deleted
 * or cleared are passed over, and the log's records are loaded last. The snapshot being
 * fuzzy (read while writes went on), a record it holds that the log does not touch is the
 * record's final value, so the tables never hold two records at once that the final state
 * would not (no unique value is ever held twice on the way). Tables without a target keep
 * their records encoded (`tables`), for a store that starts later or for the next snapshot.
 *
 * A torn end of the last segment (an interrupted append, or a batch whose last frame was never
 * written) is cut off with a warning. Any other damage throws CorruptStoreError and changes no
 * file, unless the policy is 'truncate': then what follows the damage is moved aside
 * (`*.damaged`) and start-up goes on with what came before it, with an error logged. Files are
 * changed only once everything has been read.
 */
export class LogRecovery {
  /** The last sequence number recovered. */
  seq = 0;
  /**
   * True when the snapshot was damaged and its loss accepted ('truncate'): it is still in
   * place (the only copy of the records before the damage) until a new snapshot replaces it.
   */
  snapshotDamaged = false;
  readonly #slicer: TimeSlicer;
  readonly #loader: RecoveryLoader;
  readonly #changes = new Map<string, LoggedChanges>();
  /** Per table, the counters the snapshot holds. */
  readonly #snapshotCounters = new Map<string, Map<string, number>>();
  /** File changes (cutting a torn tail, moving damage aside), made once all is read. */
  readonly #fileChanges: (() => Promise<void>)[] = [];

  constructor(
    private readonly dir: string,
    private readonly fs: PersistenceFileSystem,
    private readonly table: string,
    private readonly policy: CorruptionPolicy,
    private readonly logger: Logger,
    /** The live tables to load into, by name (looked up when a table's records first come). */
    targets: ReadonlyMap<string, RecoveryTarget> = new Map(),
  ) {
    this.#slicer = new TimeSlicer(`Recovering ${dir}`, (line) => this.logger.log(line));
    this.#loader = new RecoveryLoader(targets, this.#slicer);
  }

  /** The recovered state of the tables that have no target. */
  get tables(): Map<string, PersistedTable> {
    return this.#loader.tables;
  }

  /** The tables loaded into their targets. */
  get loaded(): ReadonlySet<string> {
    return this.#loader.loaded;
  }

  async run(): Promise<void> {
    const names = await this.fs.readdir(this.dir);
    const segments = names
      .map((name) => [name, SEGMENT.exec(name)] as const)
      .filter((entry): entry is readonly [string, RegExpExecArray] => entry[1] !== null)
      .map(([name, match]) => ({ name, start: Number(match[1]) }))
      .sort((a, b) => a.start - b.start);
    const file = join(this.dir, SNAPSHOT);
    const snapshot = names.includes(SNAPSHOT) ? await openForReading(this.fs, file) : undefined;
    try {
      const reader = snapshot && new FrameReader(snapshot, undefined, false);
      let rowsFrom: number | undefined;
      if (reader) {
        rowsFrom = await this.#readSnapshotStart(file, reader);
        // every snapshot is written after the segment that follows it was created
        if (!names.includes(segmentName(this.seq + 1))) {
          this.#damaged(
            new Damage(
              join(this.dir, segmentName(this.seq + 1)),
              0,
              `the log segment that follows the snapshot (sequence ${this.seq}) is missing: the changes after it are lost`,
            ),
            [], // the segments after the gap are moved aside below
          );
        }
      }
      const snapshotSeq = this.seq;
      const snapshotRows = this.#slicer.total;
      this.#slicer.phase('log');
      await this.#replayLog(segments);
      if (reader && rowsFrom !== undefined) {
        this.#slicer.phase('snapshot', snapshotRows);
        await this.#readSnapshotRows(file, reader, rowsFrom, snapshotSeq);
      }
      await this.#loader.applyChanges(this.#changes, this.#snapshotCounters);
    } finally {
      await snapshot?.close();
    }
    for (const change of this.#fileChanges) await change();
    this.#slicer.finish();
  }

  /** Fails, or under 'truncate' (once all is read) moves `aside` files away and logs what was lost. */
  #damaged(damage: Damage, aside: readonly string[]): void {
    if (this.policy === 'fail')
      throw new CorruptStoreError(this.table, damage.file, damage.offset, damage.reason);
    this.#fileChanges.push(async () => {
      const kept: string[] = [];
      for (const name of aside) {
        const to = await this.#asideName(join(this.dir, name));
        await this.fs.rename(join(this.dir, name), to);
        kept.push(basename(to));
      }
      if (aside.length > 0) await this.fs.syncDir(this.dir);
      this.logger.error(
        `Corrupt data in ${damage.file} at byte ${damage.offset}: ${damage.reason}. onCorruption is 'truncate': ` +
          `starting with what came before it; what follows is LOST` +
          (kept.length > 0 ? ` (kept aside as ${kept.join(', ')})` : ''),
      );
    });
  }

  /**
   * The name to keep damage of `file` aside under: `<file>.damaged`, or `<file>.damaged.2`, …
   * when an earlier start under 'truncate' kept damage under that name (never replaced: it
   * may be the only copy of what was lost then).
   */
  async #asideName(file: string): Promise<string> {
    const names = new Set(await this.fs.readdir(dirname(file)));
    const first = `${basename(file)}.damaged`;
    let name = first;
    for (let n = 2; names.has(name); n++) name = `${first}.${n}`;
    return join(dirname(file), name);
  }

  // ---- snapshot ----------------------------------------------------------------------

  /** Reads the snapshot's first frame (its sequence number); returns where its records start. */
  async #readSnapshotStart(file: string, reader: FrameReader): Promise<number> {
    const header = await reader.magic(SNAPSHOT_MAGIC);
    if (header) throw new CorruptStoreError(this.table, file, 0, header.problem);
    const offset = SNAPSHOT_MAGIC.length;
    const read = await reader.read(offset, 1);
    if (read.kind === 'end')
      throw new CorruptStoreError(this.table, file, offset, 'the snapshot is incomplete');
    if (read.kind === 'bad') throw new CorruptStoreError(this.table, file, offset, read.problem);
    const content = parseJson(read.frame.payload);
    if (read.frame.seq !== 1 || !isSnapshotFrame(content) || content.t !== 'meta') {
      throw new CorruptStoreError(
        this.table,
        file,
        offset,
        'the snapshot does not start with its sequence number',
      );
    }
    this.seq = content.seq;
    this.#slicer.total = content.rows ?? 0;
    return read.next;
  }

  /** Reads the snapshot's records and counters, from frame 2 on (at `offset`). */
  async #readSnapshotRows(
    file: string,
    reader: FrameReader,
    offset: number,
    seq: number,
  ): Promise<void> {
    const chunks = new ChunkStore();
    for (let n = 2; ; n++) {
      const read = await reader.read(offset, n);
      let damage: Damage | undefined;
      // cut short between two frames: no torn tail either (a snapshot is renamed into place whole)
      if (read.kind === 'end')
        damage = new Damage(file, offset, `the snapshot (of sequence ${seq}) is incomplete`);
      else if (read.kind === 'bad') damage = new Damage(file, offset, read.problem);
      else if (read.frame.seq !== n)
        damage = new Damage(file, offset, 'snapshot frames out of order');
      else {
        const outcome = await this.#snapshotFrame(file, read.frame, chunks);
        if (outcome === 'end') return;
        damage = outcome;
      }
      if (damage) {
        if (this.policy === 'fail')
          throw new CorruptStoreError(this.table, damage.file, damage.offset, damage.reason);
        this.snapshotDamaged = true;
        // kept aside as it is (copied in parts: the snapshot may be larger than a buffer)
        this.#fileChanges.push(async () => copyInParts(this.fs, file, await this.#asideName(file)));
        this.#damaged(damage, []);
        return;
      }
      offset = (read as { next: number }).next;
    }
  }

  async #snapshotFrame(
    file: string,
    frame: Frame,
    chunks: ChunkStore,
  ): Promise<Damage | 'end' | undefined> {
    const content = parseJson(frame.payload);
    if (!isSnapshotFrame(content))
      return new Damage(file, frame.offset, 'a snapshot frame has an unknown shape');
    if ('c' in content && content.c !== undefined && !chunks.add(content.c))
      return new Damage(file, frame.offset, 'a snapshot frame holds malformed chunks');
    switch (content.t) {
      case 'meta':
        return new Damage(file, frame.offset, 'a snapshot holds a second sequence number');
      case 'rows':
        return this.#snapshotRows(file, frame, content, chunks);
      case 'counters': {
        let counters = this.#snapshotCounters.get(content.table);
        if (!counters)
          this.#snapshotCounters.set(content.table, (counters = new Map<string, number>()));
        for (const [name, value] of content.counters) counters.set(name, value);
        return undefined;
      }
      default:
        // pieces are written just before their row: pieces left over belong to a row not there
        if (chunks.size > 0)
          return new Damage(
            file,
            frame.offset,
            'the snapshot holds pieces of a record whose row never comes',
          );
        return 'end';
    }
  }

  /** Loads a frame of the snapshot's records, but those the log changed after it. */
  async #snapshotRows(
    file: string,
    frame: Frame,
    content: Extract<SnapshotFrame, { t: 'rows' }>,
    chunks: ChunkStore,
  ): Promise<Damage | undefined> {
    const rows = content.rows as RecoveredRow[];
    if (content.r) {
      try {
        for (const row of rows) row[1] = chunks.resolve(row[1]) as Encoded;
      } catch (error) {
        return new Damage(file, frame.offset, (error as Error).message);
      }
    }
    await this.#loader.snapshotRows(content.table, rows, this.#changes.get(content.table));
    return undefined;
  }

  // ---- log ---------------------------------------------------------------------------

  async #replayLog(segments: readonly { name: string; start: number }[]): Promise<void> {
    for (const [i, segment] of segments.entries()) {
      const later = segments.slice(i + 1).map((s) => s.name);
      if (segment.start > this.seq + 1) {
        const damage = new Damage(
          join(this.dir, segment.name),
          0,
          `a gap in the log: this segment starts at sequence ${segment.start}, but the log before it ends at ${this.seq} (a missing segment)`,
        );
        this.#damaged(damage, [segment.name, ...later]);
        return;
      }
      const file = await openForReading(this.fs, join(this.dir, segment.name));
      try {
        const reader = new FrameReader(
          file ?? { size: 0, read: () => Promise.resolve(0), close: () => Promise.resolve() },
        );
        if (await this.#replay(reader, segment.name, segment.start, later)) return;
      } finally {
        await file?.close();
      }
    }
  }

  /** Replays one segment; true if recovery stops here (damage accepted under 'truncate'). */
  async #replay(
    reader: FrameReader,
    name: string,
    start: number,
    later: readonly string[],
  ): Promise<boolean> {
    const file = join(this.dir, name);
    const last = later.length === 0;
    const header = await reader.magic(LOG_MAGIC);
    if (header) {
      if (header.torn) {
        // created but its header never fully written (a failure or crash right after
        // creating it): it holds no record, wherever it is; the sequence check guards what follows
        this.logger.warn(
          `Ignored ${file}: a log segment whose header was never completed holds no record`,
        );
        return false;
      }
      return this.#badTail(file, 0, header.problem, false, later);
    }
    let expected = start;
    let offset = LOG_MAGIC.length;
    /** A batch written in several frames: applied when its last frame is read. */
    let group: { offset: number; ops: LogOp[]; chunks: ChunkStore; refs: boolean } | undefined;
    for (;;) {
      const read = await reader.read(offset, expected);
      if (read.kind === 'end') break;
      if (read.kind === 'bad') {
        const cut = group?.offset ?? offset;
        return this.#badTail(file, cut, read.problem, last && read.torn, later, offset);
      }
      const { frame } = read;
      if (frame.seq !== expected) {
        return this.#badTail(
          file,
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
          frame.offset,
          'a log frame does not hold log operations',
          false,
          later,
        );
      }
      for (const op of body.o) group.ops.push(op);
      group.refs ||= body.r === 1;
      if (body.m === 1) {
        await this.#slicer.tick(body.o.length);
        continue;
      }
      try {
        for (const op of group.ops) this.#logged(group.refs ? resolveOp(op, group.chunks) : op);
      } catch (error) {
        return this.#badTail(file, frame.offset, (error as Error).message, false, later);
      }
      await this.#slicer.tick(body.o.length);
      this.seq = frame.seq;
      group = undefined;
    }
    if (!group) return false;
    // a batch whose last frame was never written: never acknowledged, cut off like a torn frame
    return this.#badTail(
      file,
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
  #badTail(
    file: string,
    offset: number,
    problem: string,
    torn: boolean,
    later: readonly string[],
    at = offset,
  ): boolean {
    if (!torn) {
      if (this.policy === 'fail') throw new CorruptStoreError(this.table, file, at, problem);
      // what follows the damage, kept aside (copied in parts: a segment may be large)
      this.#fileChanges.push(async () =>
        copyInParts(this.fs, file, await this.#asideName(file), offset),
      );
      this.#damaged(new Damage(file, at, problem), later);
    }
    this.#fileChanges.push(async () => {
      if (torn) {
        this.logger.warn(
          `Cut off a torn last record in ${file} at byte ${offset} (${problem}): a write interrupted by a crash, never acknowledged under fsync 'always'`,
        );
      }
      await this.fs.truncate(file, offset);
      const cut = await this.fs.openAppend(file);
      await cut.sync();
      await cut.close();
    });
    return !torn;
  }

  /** Keeps a logged change as the final state of its key (or table, or counter). */
  #logged(op: LogOp): void {
    let changes = this.#changes.get(op[1]);
    if (!changes) {
      changes = { cleared: false, rows: new Map(), counters: new Map() };
      this.#changes.set(op[1], changes);
    }
    switch (op[0]) {
      case 'p':
        changes.rows.set(
          op[2],
          op[6] === undefined
            ? [op[2], op[3], op[4], op[5] ?? 1]
            : [op[2], op[3], op[4], op[5] ?? 1, op[6]],
        );
        break;
      case 'd':
        changes.rows.set(op[2], null);
        break;
      case 'x':
        changes.cleared = true;
        changes.rows.clear();
        break;
      case 'n':
        changes.counters.set(op[2], op[3]);
        break;
    }
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
  const resolved = chunks.resolve(op[3]) as Encoded;
  return op[6] === undefined
    ? [op[0], op[1], op[2], resolved, op[4], op[5]]
    : [op[0], op[1], op[2], resolved, op[4], op[5], op[6]];
}

function parseJson(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}
