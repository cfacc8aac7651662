import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  CorruptStoreError,
  MemoryStoreError,
  NODE_FILE_SYSTEM,
  type PersistenceFileSystem,
  type ReadFile,
} from 'nestjs-memory-store';
import { encodeFrame, LOG_MAGIC } from '../../lib/persistence/log-format.js';
import { failedStartUp } from './fixtures/app.factory.js';
import {
  NotesStore,
  PersistenceAppModule,
  startPersistedApp,
  type PersistedApp,
} from './fixtures/persistence-app.module.js';
import {
  RealFileSystem,
  GatedFileSystem,
  FRAME_HEADER,
  SNAPSHOT,
  crashCopy,
  crashImage,
  filesOf,
  framesOf,
  removeDir,
  segmentsOf,
  tempDir,
  type FileFrame,
} from './fixtures/persistence-files.js';

/** Bytes recovery reads from a file at a time (its window). */
const READ_WINDOW = 4 * 1024 * 1024;

/** The real file system, noting the largest read asked of a file opened in parts. */
class ReadSizes extends RealFileSystem {
  largest = 0;
  override openRead = async (file: string): Promise<ReadFile | undefined> => {
    const opened = await NODE_FILE_SYSTEM.openRead!(file);
    if (!opened) return undefined;
    return {
      size: opened.size,
      read: (target, offset, length, position) => {
        this.largest = Math.max(this.largest, length);
        return opened.read(target, offset, length, position);
      },
      close: () => opened.close(),
    };
  };
}

/**
 * Damaged directories: a torn last record (what a crash leaves) is cut off with a warning;
 * any other damage (a flipped bit anywhere else, in the log or in the snapshot) stops
 * start-up with CorruptStoreError naming the file and the offset, and changes no file.
 */
describe('persistence: damaged files', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();

  async function copyOf(dir: string): Promise<string> {
    const copy = await crashCopy(dir);
    dirs.push(copy);
    return copy;
  }

  async function start(dir: string, fileSystem?: GatedFileSystem): Promise<PersistedApp> {
    const started = await startPersistedApp({ dir, fsync: 'always', fileSystem });
    apps.add(started.app);
    return started;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.delete(app);
    await app.close();
  }

  /** Writes notes n<from>..n<to>, each acknowledged before the next (one frame each). */
  async function writeNotes(app: INestApplication, from: number, to: number): Promise<void> {
    for (let i = from; i <= to; i++) await app.get(NotesStore).write({ id: `n${i}`, n: i });
  }

  /** Writes n16..n20 into a crash image of `dir` (a snapshot, then a segment of five frames). */
  async function writeNotesAfter(dir: string): Promise<void> {
    const gate = new GatedFileSystem();
    const { app } = await start(dir, gate);
    await writeNotes(app, 16, 20);
    const image = await crashImage(dir, gate);
    await stop(app);
    await rm(dir, { recursive: true, force: true });
    await cp(image, dir, { recursive: true });
    await rm(image, { recursive: true, force: true });
  }

  /** n1, n2, … in order, then any other key. */
  const rank = (key: string) => (/^n\d+$/.test(key) ? Number(key.slice(1)) : Infinity);
  const keysOf = (app: INestApplication) =>
    app
      .get(NotesStore)
      .keys()
      .map(String)
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const notesUpTo = (k: number) => Array.from({ length: k }, (_, i) => `n${i + 1}`);

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
  });

  afterAll(async () => {
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  /** A crash image of a first run that wrote n1..n10: one segment of ten frames, no snapshot. */
  let oneSegment: string;
  /** A crash image of a second run on it that wrote n11..n15: two segments, no snapshot. */
  let twoSegments: string;
  /** The same after a clean shutdown: a snapshot and an empty segment. */
  let snapshotted: string;

  beforeAll(async () => {
    const dir = await tempDir('damage');
    dirs.push(dir);
    const gate = new GatedFileSystem();
    const first = await start(dir, gate);
    await writeNotes(first.app, 1, 10);
    oneSegment = await crashImage(dir, gate);
    dirs.push(oneSegment);
    await stop(first.app);

    const second = await copyOf(oneSegment);
    const gate2 = new GatedFileSystem();
    const run = await start(second, gate2);
    await writeNotes(run.app, 11, 15);
    twoSegments = await crashImage(second, gate2);
    dirs.push(twoSegments);
    await stop(run.app);
    snapshotted = second;
  });

  it('the fixtures are what the tests assume', async () => {
    expect([...(await filesOf(oneSegment)).keys()]).toEqual(['wal-0000000000000001.log']);
    expect(await segmentsOf(twoSegments)).toEqual([
      'wal-0000000000000001.log',
      'wal-0000000000000011.log',
    ]);
    const files = await filesOf(twoSegments);
    expect(framesOf(files.get('wal-0000000000000001.log')!).map((f) => f.seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(framesOf(files.get('wal-0000000000000011.log')!).map((f) => f.seq)).toEqual([
      11, 12, 13, 14, 15,
    ]);
    expect((await filesOf(snapshotted)).has(SNAPSHOT)).toBe(true);
  });

  describe('a torn last record', () => {
    it('cut at every byte of the last three frames: the frames before it recover, it is cut off with a warning, and the log works on', async () => {
      const segmentName = 'wal-0000000000000001.log';
      const original = (await filesOf(oneSegment)).get(segmentName)!;
      const frames = framesOf(original);
      const lastThree = frames.slice(-3);
      const checked = { cuts: 0, warned: 0 };
      for (let length = lastThree[0].offset; length < original.length; length++) {
        const torn = frames.findIndex((f) => f.offset <= length && length < f.end);
        const clean = frames[torn].offset === length; // the file ends between two frames
        const dir = await copyOf(oneSegment);
        const segment = join(dir, segmentName);
        await truncate(segment, length);

        const gate = new GatedFileSystem();
        const { app, logger } = await start(dir, gate);
        const expected = notesUpTo(torn);
        expect({ length, keys: keysOf(app) }).toEqual({ length, keys: expected });
        const warnings = logger.messages('warn');
        if (clean) expect({ length, warnings }).toEqual({ length, warnings: [] });
        else {
          expect(warnings).toHaveLength(1);
          expect(warnings[0]).toContain(segment);
          expect(warnings[0]).toContain(`byte ${frames[torn].offset}`);
          checked.warned++;
        }
        expect((await readFile(segment)).length).toBe(frames[torn].offset);

        // A write after recovery is acknowledged and survives a crash and a clean restart.
        await app.get(NotesStore).write({ id: 'after', n: -1 });
        const crashed = await crashImage(dir, gate);
        dirs.push(crashed);
        await stop(app);
        for (const from of [crashed, dir]) {
          const { app: again, logger: quiet } = await start(from);
          expect({ length, keys: keysOf(again) }).toEqual({ length, keys: [...expected, 'after'] });
          expect(quiet.messages('warn')).toEqual([]);
          await stop(again);
        }
        await rm(crashed, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
        checked.cuts++;
      }
      expect(checked.cuts).toBe(original.length - lastThree[0].offset);
      expect(checked.warned).toBe(checked.cuts - 3);
    }, 120_000); // a recovery per byte cut: slow on a loaded machine

    it('zeros or garbage after the last frame (a file extended but not written by a crash) are cut off as a torn tail', async () => {
      const segmentName = 'wal-0000000000000001.log';
      const original = (await filesOf(oneSegment)).get(segmentName)!;
      for (const [label, tail] of [
        ['a few zeros', Buffer.alloc(5)],
        ['a header of zeros', Buffer.alloc(FRAME_HEADER)],
        ['a page of zeros', Buffer.alloc(4096)],
        ['random bytes', Buffer.from('9f3a0c7de1b2', 'hex')],
      ] as const) {
        const dir = await copyOf(oneSegment);
        const segment = join(dir, segmentName);
        await writeFile(segment, Buffer.concat([original, tail]));
        const { app, logger } = await start(dir);
        expect({ label, keys: keysOf(app) }).toEqual({ label, keys: notesUpTo(10) });
        expect({ label, warnings: logger.messages('warn').length }).toEqual({ label, warnings: 1 });
        expect((await readFile(segment)).length).toBe(original.length);
        await stop(app);
      }
    });

    it('a last segment cut inside its header (a crash as it was created) is recovered', async () => {
      const after = await filesOf(snapshotted);
      const segmentName = (await segmentsOf(snapshotted)).at(-1)!;
      expect(after.get(segmentName)!.length).toBe(8); // the header alone
      for (let length = 0; length <= 8; length++) {
        const dir = await copyOf(snapshotted);
        await truncate(join(dir, segmentName), length);
        const gate = new GatedFileSystem();
        const { app, logger } = await start(dir, gate);
        expect({ length, keys: keysOf(app) }).toEqual({ length, keys: notesUpTo(15) });
        // Cut inside the header, even to nothing, is a torn write too; a whole header is not.
        expect({ length, warnings: logger.messages('warn').length }).toEqual({
          length,
          warnings: length < 8 ? 1 : 0,
        });
        await app.get(NotesStore).write({ id: 'after', n: -1 });
        const crashed = await crashImage(dir, gate);
        dirs.push(crashed);
        await stop(app);
        const { app: again } = await start(crashed);
        expect({ length, keys: keysOf(again) }).toEqual({
          length,
          keys: [...notesUpTo(15), 'after'],
        });
        await stop(again);
      }
    });

    it('a torn snapshot.tmp (a crash while a snapshot was written) is ignored, and replaced by the next snapshot', async () => {
      const snapshot = (await filesOf(snapshotted)).get(SNAPSHOT)!;
      const older = (await filesOf(oneSegment)).get('wal-0000000000000001.log')!;
      const temporaries: [string, Buffer][] = [
        ['half a snapshot', snapshot.subarray(0, Math.floor(snapshot.length / 2))],
        ['a snapshot without its last byte', snapshot.subarray(0, snapshot.length - 1)],
        ['garbage', Buffer.from('not a snapshot at all')],
        ['empty', Buffer.alloc(0)],
        ['a whole snapshot never renamed', snapshot],
        ['a log segment', older],
      ];
      for (const [label, temporary] of temporaries) {
        for (const base of [twoSegments, snapshotted]) {
          const dir = await copyOf(base);
          await writeFile(join(dir, `${SNAPSHOT}.tmp`), temporary);
          const { app } = await start(dir);
          expect({ label, keys: keysOf(app) }).toEqual({ label, keys: notesUpTo(15) });
          await app.get(NotesStore).write({ id: 'after', n: -1 });
          await stop(app);
          expect((await filesOf(dir)).has(`${SNAPSHOT}.tmp`)).toBe(false);
          const { app: again } = await start(dir);
          expect(keysOf(again)).toEqual([...notesUpTo(15), 'after']);
          await stop(again);
        }
      }
    });

    it('a crash after a snapshot replaced the old one but before the log it covers was deleted recovers each record once', async () => {
      const dir = await copyOf(twoSegments);
      const after = await filesOf(snapshotted);
      // the log moved to the segment after the snapshot before the snapshot was renamed in
      const next = (await segmentsOf(snapshotted)).at(-1)!;
      expect(next).toBe('wal-0000000000000016.log');
      await writeFile(join(dir, next), after.get(next)!);
      await writeFile(join(dir, SNAPSHOT), after.get(SNAPSHOT)!);
      const { app } = await start(dir);
      expect(keysOf(app)).toEqual(notesUpTo(15));
      await writeNotes(app, 16, 17);
      await stop(app);
      const { app: again } = await start(dir);
      expect(keysOf(again)).toEqual(notesUpTo(17));
    });
  });

  describe('damage a crash cannot explain', () => {
    /** Flips one bit and expects start-up to stop at `offset` of `file`, changing no file. */
    async function expectCorrupt(
      base: string,
      file: string,
      byte: number,
      offset: number,
      bit = byte % 8,
    ): Promise<void> {
      const dir = await copyOf(base);
      const path = join(dir, file);
      const data = await readFile(path);
      data[byte] ^= 1 << bit;
      await writeFile(path, data);
      const before = await filesOf(dir);

      const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
      const afterFailure = await filesOf(dir);
      await app?.close();
      const afterClose = await filesOf(dir);
      const where = { file, byte, bit };
      expect({ ...where, error }).toEqual({ ...where, error: expect.any(CorruptStoreError) });
      const corrupt = error as CorruptStoreError;
      expect({ ...where, file: corrupt.file, offset: corrupt.offset }).toEqual({
        ...where,
        file: path,
        offset,
      });
      expect(corrupt.message).toContain(path);
      expect(corrupt.message).toContain(`byte ${offset}`);
      expect({ ...where, files: afterFailure }).toEqual({ ...where, files: before });
      expect({ ...where, files: afterClose }).toEqual({ ...where, files: before });
      await rm(dir, { recursive: true, force: true });
    }

    /** Bytes to flip in a frame: each header field and the payload's first, middle and last byte. */
    const bytesOf = (frame: FileFrame) => [
      frame.offset,
      frame.offset + 3,
      frame.offset + 4,
      frame.offset + 7,
      frame.offset + 8,
      frame.offset + 15,
      frame.offset + FRAME_HEADER,
      Math.floor((frame.offset + FRAME_HEADER + frame.end) / 2),
      frame.end - 1,
    ];

    it('a flipped bit in any frame of the last segment, its last one included (a whole frame is no torn write)', async () => {
      const file = 'wal-0000000000000011.log';
      const frames = framesOf((await filesOf(twoSegments)).get(file)!);
      for (const frame of frames)
        for (const byte of bytesOf(frame))
          await expectCorrupt(twoSegments, file, byte, frame.offset);
      // Every byte of the last frame: the acknowledged write it holds is never dropped.
      const last = frames.at(-1)!;
      for (let byte = last.offset; byte < last.end; byte++)
        await expectCorrupt(twoSegments, file, byte, last.offset);
      // Every byte of the frame just before the last one, the nearest to a torn tail.
      const nextToLast = frames.at(-2)!;
      for (let byte = nextToLast.offset; byte < nextToLast.end; byte++)
        await expectCorrupt(twoSegments, file, byte, nextToLast.offset);
    });

    it("the last frame's length field damaged to claim more than the file holds (the frame is whole at its true length)", async () => {
      const file = 'wal-0000000000000011.log';
      const data = (await filesOf(twoSegments)).get(file)!;
      const last = framesOf(data).at(-1)!;
      for (const claimed of [last.end - last.offset - FRAME_HEADER + 1, 0x3fffffff, 1 << 29]) {
        const dir = await copyOf(twoSegments);
        const damaged = Buffer.from(data);
        damaged.writeUInt32LE(claimed, last.offset);
        await writeFile(join(dir, file), damaged);
        const before = await filesOf(dir);
        const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
        await app?.close();
        expect({ claimed, error }).toEqual({ claimed, error: expect.any(CorruptStoreError) });
        expect((error as CorruptStoreError).offset).toBe(last.offset);
        expect((error as CorruptStoreError).message).toContain('length field');
        expect(await filesOf(dir)).toEqual(before);
      }
    });

    it('the segment after the snapshot deleted: CorruptStoreError, not an empty start', async () => {
      const dir = await copyOf(snapshotted);
      await writeNotesAfter(dir);
      const next = (await segmentsOf(dir)).at(-1)!;
      await rm(join(dir, next));
      const before = await filesOf(dir);
      const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
      await app?.close();
      expect(error).toBeInstanceOf(CorruptStoreError);
      expect((error as CorruptStoreError).file).toBe(join(dir, next));
      expect((error as CorruptStoreError).offset).toBe(0);
      expect((error as CorruptStoreError).message).toContain('missing');
      expect(await filesOf(dir)).toEqual(before);
    });

    it('a flipped bit in any frame of an earlier segment, its last one included', async () => {
      const file = 'wal-0000000000000001.log';
      const frames = framesOf((await filesOf(twoSegments)).get(file)!);
      for (const frame of [frames[0], frames[4], frames.at(-1)!])
        for (const byte of bytesOf(frame))
          await expectCorrupt(twoSegments, file, byte, frame.offset);
    });

    it("a flipped bit in a segment's header", async () => {
      for (const file of ['wal-0000000000000001.log', 'wal-0000000000000011.log'])
        for (const byte of [0, 3, 7]) await expectCorrupt(twoSegments, file, byte, 0);
    });

    it('a flipped bit anywhere in the snapshot', async () => {
      const data = (await filesOf(snapshotted)).get(SNAPSHOT)!;
      const frames = framesOf(data);
      expect(frames.length).toBeGreaterThanOrEqual(3);
      for (const byte of [0, 4, 7]) await expectCorrupt(snapshotted, SNAPSHOT, byte, 0);
      for (const frame of frames)
        for (const byte of bytesOf(frame))
          await expectCorrupt(snapshotted, SNAPSHOT, byte, frame.offset);
    });

    it('a snapshot cut short (it is renamed into place whole, so this is not a crash)', async () => {
      const data = (await filesOf(snapshotted)).get(SNAPSHOT)!;
      const frames = framesOf(data);
      for (const frame of frames) {
        for (const cut of [frame.offset + 1, frame.end - 1]) {
          const dir = await copyOf(snapshotted);
          await writeFile(join(dir, SNAPSHOT), data.subarray(0, cut));
          const before = await filesOf(dir);
          const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
          await app?.close();
          expect({ cut, error }).toEqual({ cut, error: expect.any(CorruptStoreError) });
          expect((error as CorruptStoreError).file).toBe(join(dir, SNAPSHOT));
          expect(await filesOf(dir)).toEqual(before);
        }
      }
    });

    it('frames out of order, and a missing segment', async () => {
      const file = 'wal-0000000000000011.log';
      const data = (await filesOf(twoSegments)).get(file)!;
      const [, second, third] = framesOf(data);
      const swapped = Buffer.concat([
        data.subarray(0, second.offset),
        data.subarray(third.offset, third.end),
        data.subarray(second.offset, second.end),
        data.subarray(third.end),
      ]);
      const dir = await copyOf(twoSegments);
      await writeFile(join(dir, file), swapped);
      const before = await filesOf(dir);
      const outOfOrder = await failedStartUp(PersistenceAppModule.register({ dir }));
      await outOfOrder.app?.close();
      expect(outOfOrder.error).toBeInstanceOf(CorruptStoreError);
      expect((outOfOrder.error as CorruptStoreError).file).toBe(join(dir, file));
      expect((outOfOrder.error as CorruptStoreError).offset).toBe(second.offset);
      expect(await filesOf(dir)).toEqual(before);

      const gap = await copyOf(twoSegments);
      await rm(join(gap, 'wal-0000000000000001.log'));
      const missing = await failedStartUp(PersistenceAppModule.register({ dir: gap }));
      await missing.app?.close();
      expect(missing.error).toBeInstanceOf(CorruptStoreError);
      expect(basename((missing.error as CorruptStoreError).file)).toBe(file);
    });
  });

  describe("onCorruption: 'truncate' accepts the loss", () => {
    async function startTruncating(dir: string): Promise<PersistedApp> {
      const started = await startPersistedApp({ dir, fsync: 'always', onCorruption: 'truncate' });
      apps.add(started.app);
      return started;
    }

    it('a damaged last frame: starts with the frames before it, keeps the cut bytes aside, says so loudly', async () => {
      const file = 'wal-0000000000000011.log';
      const data = (await filesOf(twoSegments)).get(file)!;
      const last = framesOf(data).at(-1)!;
      const dir = await copyOf(twoSegments);
      const damaged = Buffer.from(data);
      damaged[last.end - 1] ^= 1;
      await writeFile(join(dir, file), damaged);

      const { app, logger } = await startTruncating(dir);
      expect(keysOf(app)).toEqual(notesUpTo(14));
      const errors = logger.messages('error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(join(dir, file));
      expect(errors[0]).toContain(`byte ${last.offset}`);
      expect(errors[0]).toContain('LOST');
      expect(await readFile(join(dir, `${file}.damaged`))).toEqual(damaged.subarray(last.offset));
      await app.get(NotesStore).write({ id: 'after', n: -1 });
      await stop(app);
      // the damage is gone from the log: a normal start is clean
      const { app: again, logger: quiet } = await start(dir);
      expect(keysOf(again)).toEqual([...notesUpTo(14), 'after']);
      expect(quiet.messages('error')).toEqual([]);
    });

    it('the bytes kept aside outlive a crash: their file and its directory entry are synced before the damaged file is cut', async () => {
      const file = 'wal-0000000000000011.log';
      const data = (await filesOf(twoSegments)).get(file)!;
      const last = framesOf(data).at(-1)!;
      const dir = await copyOf(twoSegments);
      const damaged = Buffer.from(data);
      damaged[last.end - 1] ^= 1;
      await writeFile(join(dir, file), damaged);
      const steps: string[] = [];
      const recording: PersistenceFileSystem = {
        ...NODE_FILE_SYSTEM,
        openAppend: async (path) => {
          const opened = await NODE_FILE_SYSTEM.openAppend(path);
          steps.push(`create ${basename(path)}`);
          return {
            ...opened,
            sync: async () => {
              await opened.sync();
              steps.push(`sync ${basename(path)}`);
            },
          };
        },
        syncDir: async (path) => {
          await NODE_FILE_SYSTEM.syncDir(path);
          steps.push(`sync directory ${path}`);
        },
        truncate: async (path, length) => {
          steps.push(`cut ${basename(path)}`);
          await NODE_FILE_SYSTEM.truncate(path, length);
        },
      };
      const started = await startPersistedApp({
        dir,
        fsync: 'always',
        onCorruption: 'truncate',
        fileSystem: recording,
      });
      apps.add(started.app);
      expect(keysOf(started.app)).toEqual(notesUpTo(14));
      const created = steps.indexOf(`create ${file}.damaged`);
      const cut = steps.indexOf(`cut ${file}`);
      expect(created).toBeGreaterThanOrEqual(0);
      expect(cut).toBeGreaterThan(created);
      const between = steps.slice(created, cut);
      expect(between).toContain(`sync ${file}.damaged`);
      expect(between).toContain(`sync directory ${dir}`);
    });

    it('a missing segment: starts with what comes before the gap, later segments moved aside', async () => {
      const gap = await copyOf(twoSegments);
      await rm(join(gap, 'wal-0000000000000001.log'));
      const { app, logger } = await startTruncating(gap);
      expect(keysOf(app)).toEqual([]);
      expect(logger.messages('error').join()).toContain('missing segment');
      expect(await segmentsOf(gap)).toEqual(['wal-0000000000000001.log']);
      expect((await filesOf(gap)).has('wal-0000000000000011.log.damaged')).toBe(true);
      await stop(app);

      const dir = await copyOf(snapshotted);
      await writeNotesAfter(dir);
      await rm(join(dir, (await segmentsOf(dir)).at(-1)!));
      const { app: second, logger: loud } = await startTruncating(dir);
      expect(keysOf(second)).toEqual(notesUpTo(15));
      expect(loud.messages('error').join()).toContain('missing');
    });

    it('a damaged snapshot larger than a read window: starts with the records before the damage, copies it aside in parts, never reads it whole', async () => {
      const dir = await tempDir('damage-large');
      dirs.push(dir);
      const written = await start(dir);
      const notes = Array.from({ length: 120 }, (_, i) => ({
        id: `big${i}`,
        n: i,
        data: `${i}`.padEnd(100_000, 'x'),
      }));
      await written.app.get(NotesStore).writeMany(notes);
      await stop(written.app); // a final snapshot of about 12 MB, in frames of a quarter megabyte
      const data = (await filesOf(dir)).get(SNAPSHOT)!;
      expect(data.length).toBeGreaterThan(2 * READ_WINDOW);
      const frames = framesOf(data);
      const hit = frames[3];
      const before = frames
        .slice(0, 3)
        .map((frame) => JSON.parse(frame.payload) as { t: string; rows: [string][] })
        .flatMap((content) => (content.t === 'rows' ? content.rows.map(([key]) => key) : []));
      expect(before.length).toBeGreaterThan(0);
      const damaged = Buffer.from(data);
      damaged[hit.offset + FRAME_HEADER + 10] ^= 1;
      await writeFile(join(dir, SNAPSHOT), damaged);

      const files = new ReadSizes();
      const started = await startPersistedApp({
        dir,
        fsync: 'always',
        onCorruption: 'truncate',
        fileSystem: files,
      });
      apps.add(started.app);
      expect(started.app.get(NotesStore).keys().map(String).sort()).toEqual([...before].sort());
      const errors = started.logger.messages('error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`byte ${hit.offset}`);
      expect(errors[0]).toContain('LOST');
      const aside = await readFile(join(dir, `${SNAPSHOT}.damaged`));
      expect(aside.equals(damaged)).toBe(true); // (toEqual compares 12 MB byte by byte, slowly)
      // a window (and a frame) at a time: never the rest of the file, nor all of it
      expect(files.largest).toBeLessThanOrEqual(READ_WINDOW + 2 * 1024 * 1024);
      await stop(started.app);
    });

    it('is checked: any other value is refused', async () => {
      const dir = await copyOf(oneSegment);
      const { error } = await failedStartUp(
        PersistenceAppModule.register({ dir, onCorruption: 'drop' as 'fail' }),
      );
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect(String((error as Error).message)).toContain(
        "'persistence.onCorruption' must be 'fail' or 'truncate'",
      );
    });
  });

  describe('frames with a good checksum but content no writer makes (a bug, a hand edit)', () => {
    /** A directory whose log holds one frame with this payload. */
    async function logOf(payload: string): Promise<string> {
      const dir = await tempDir('crafted');
      dirs.push(dir);
      await writeFile(
        join(dir, 'wal-0000000000000001.log'),
        Buffer.concat([LOG_MAGIC, encodeFrame(1, payload)]),
      );
      return dir;
    }

    /** Why start-up failed; a frame that cannot be read also leaves every file as it was. */
    async function failure(payload: string, unreadable = false): Promise<unknown> {
      const dir = await logOf(payload);
      const before = await filesOf(dir);
      const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
      await app?.close();
      if (unreadable) expect(await filesOf(dir)).toEqual(before);
      return error;
    }

    it('a frame that is not an object of operations: CorruptStoreError at the frame', async () => {
      const error = await failure('null', true);
      expect(error).toBeInstanceOf(CorruptStoreError);
      expect((error as CorruptStoreError).offset).toBe(LOG_MAGIC.length);
    });

    it('records that cannot be loaded stop start-up naming the table and the key', async () => {
      const cases: [string, string][] = [
        [
          '["O",{"id":"b","n":1}]',
          "The stored record under key 'a' of table 'notes' holds 'b' in its key field 'id'",
        ],
        [
          '5',
          "The stored record 'a' of table 'notes' cannot be loaded: it is number, not a record",
        ],
        [
          '["O",{"id":"a","__proto__":["O",{"n":2}]}]',
          "The stored record 'a' of table 'notes' cannot be loaded: __proto__ is a forbidden key",
        ],
      ];
      for (const [record, message] of cases) {
        const error = await failure(`{"o":[["p","notes","a",${record},null]]}`);
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect(String((error as Error).message)).toContain(message);
      }
    });
  });
});
