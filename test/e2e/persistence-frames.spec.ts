import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CorruptStoreError,
  MemoryStoreService,
  NODE_FILE_SYSTEM,
  type AppendFile,
  type PersistenceFileSystem,
} from 'nestjs-memory-store';
import { encodeFrame } from '../../lib/persistence/log-format.js';
import {
  NotesStore,
  startPersistedApp,
  type PersistedApp,
} from './fixtures/persistence-app.module.js';
import {
  FRAME_HEADER,
  GatedFileSystem,
  SNAPSHOT,
  crashImage,
  filesOf,
  framesOf,
  removeDir,
  tempDir,
} from './fixtures/persistence-files.js';

/**
 * Frames of bounded size: a batch larger than a frame spans several frames and is recovered
 * all or nothing; a record larger than a frame is logged in chunks and comes back equal; a
 * snapshot is written in frames bounded by bytes. The frame size is lowered (an internal
 * option) so that small data exceeds it.
 */
describe('persistence: frames of bounded size', () => {
  const FRAME = 4096;
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
  });

  afterAll(async () => {
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  async function dir(label = 'frames'): Promise<string> {
    const made = await tempDir(label);
    dirs.push(made);
    return made;
  }

  async function start(
    on: string,
    fileSystem?: PersistenceFileSystem,
    frameBytes: number | 'default' = FRAME,
  ): Promise<PersistedApp> {
    const started = await startPersistedApp({
      dir: on,
      fsync: 'always',
      frameBytes: frameBytes === 'default' ? undefined : frameBytes,
      fileSystem,
    });
    apps.add(started.app);
    return started;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.delete(app);
    await app.close();
  }

  /** A crash image of `on` (the application keeps running on the original). */
  async function image(on: string, gate: GatedFileSystem): Promise<string> {
    const copy = await crashImage(on, gate);
    dirs.push(copy);
    return copy;
  }

  const records = (count: number, tag: string) =>
    Array.from({ length: count }, (_, i) => ({
      id: `${tag}${i}`,
      n: i,
      data: 'x'.repeat(100) + i,
    }));

  /** A record far larger than a frame: long strings (one with split surrogate pairs), a long array, many keys. */
  function largeRecord(id: string) {
    const keys: Record<string, unknown> = {};
    for (let i = 0; i < 1500; i++)
      keys[`k${i}`] = { i, when: new Date(i), big: BigInt(i) * 10n ** 20n };
    return {
      id,
      n: 1,
      data: {
        text: 'ab\u00e9\u{1f600}"\\\n'.repeat(20_000),
        list: Array.from({ length: 3000 }, (_, i) =>
          i % 3 === 0 ? `item ${i}` : i % 3 === 1 ? [i, null] : { i },
        ),
        keys,
        nested: { deeper: { text: 'z'.repeat(30_000) } },
      },
    };
  }

  it('a writeMany larger than a frame spans several frames, each within the limit, and is recovered whole', async () => {
    const on = await dir();
    const gate = new GatedFileSystem();
    const { app } = await start(on, gate);
    await app.get(NotesStore).write({ id: 'before', n: -1 });
    await app.get(NotesStore).writeMany(records(400, 'r'));
    const crashed = await image(on, gate);
    await stop(app);

    const frames = framesOf(
      (await filesOf(crashed)).get((await readdir(crashed)).find((n) => n.startsWith('wal-'))!)!,
    );
    expect(frames.length).toBeGreaterThan(10);
    for (const frame of frames)
      expect(frame.end - frame.offset - FRAME_HEADER).toBeLessThanOrEqual(FRAME);
    for (const from of [crashed, on]) {
      const { app: again } = await start(from);
      expect(again.get(NotesStore).size).toBe(401);
      expect(again.get(NotesStore).get('r399')).toMatchObject({
        n: 399,
        data: `${'x'.repeat(100)}399`,
      });
      await stop(again);
    }
  });

  it('a batch whose last frames were never written (a crash while writing it) is cut off whole, with a warning', async () => {
    const on = await dir();
    const gate = new GatedFileSystem();
    const { app } = await start(on, gate);
    await app.get(NotesStore).write({ id: 'before', n: -1 });
    await app.get(NotesStore).writeMany(records(100, 'r'));
    const crashed = await image(on, gate);
    await stop(app);
    const segment = join(
      crashed,
      (await readdir(crashed)).find((n) => n.startsWith('wal-'))!,
    );
    const frames = framesOf((await filesOf(crashed)).get(segment.slice(crashed.length + 1))!);
    const batch = frames.slice(1);
    expect(batch.length).toBeGreaterThan(2);
    // cut after each of the batch's frames but the last: none of the batch is recovered
    for (const cut of batch.slice(0, -1)) {
      const copy = await dir('frames-cut');
      await crashCopyTo(crashed, copy);
      await truncate(join(copy, segment.slice(crashed.length + 1)), cut.end);
      const { app: again, logger } = await start(copy);
      expect({ cut: cut.end, keys: again.get(NotesStore).keys() }).toEqual({
        cut: cut.end,
        keys: ['before'],
      });
      const warnings = logger.messages('warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`byte ${batch[0].offset}`);
      // the log goes on after the cut
      await again.get(NotesStore).write({ id: 'after', n: 1 });
      await stop(again);
      const { app: third } = await start(copy);
      expect(third.get(NotesStore).keys().sort()).toEqual(['after', 'before']);
      await stop(third);
    }
  });

  it('a record larger than a frame is logged in chunks and comes back equal, from the log and from a snapshot', async () => {
    const on = await dir();
    const gate = new GatedFileSystem();
    const { app } = await start(on, gate);
    const notes = app.get(NotesStore);
    await notes.write(largeRecord('big'));
    await notes.writeMany([largeRecord('big2'), ...records(50, 'r')]);
    const expected = JSON.stringify([notes.get('big'), notes.get('big2')], (_, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v,
    );
    const crashed = await image(on, gate);
    await stop(app); // a snapshot

    const show = (a: INestApplication) =>
      JSON.stringify(
        [a.get(NotesStore).get('big'), a.get(NotesStore).get('big2')],
        (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v),
      );
    for (const from of [crashed, on]) {
      const { app: again } = await start(from);
      expect(again.get(NotesStore).size).toBe(52);
      expect(show(again) === expected).toBe(true);
      await stop(again);
    }
    const snapshot = framesOf((await filesOf(on)).get(SNAPSHOT)!);
    expect(snapshot.length).toBeGreaterThan(10);
    for (const frame of snapshot)
      expect(frame.end - frame.offset - FRAME_HEADER).toBeLessThanOrEqual(FRAME);
  });

  it('a record larger than a frame is backed up in pieces, every frame within the limit, and restored equal', async () => {
    const on = await dir();
    const { app } = await start(on);
    const notes = app.get(NotesStore);
    await notes.writeMany([...records(30, 'a'), largeRecord('big'), ...records(30, 'b')]);
    const show = (a: INestApplication) =>
      JSON.stringify(a.get(NotesStore).get('big'), (_, v: unknown) =>
        typeof v === 'bigint' ? `${v}n` : v,
      );
    const expected = show(app);
    const file = join(await dir('backups'), 'all.bak');
    const memory = app.get(MemoryStoreService);
    expect(await memory.backup(file)).toEqual({ tables: 2, records: 61 });
    const frames = framesOf(await readFile(file));
    expect(frames.length).toBeGreaterThan(10);
    for (const frame of frames)
      expect(frame.end - frame.offset - FRAME_HEADER).toBeLessThanOrEqual(FRAME);

    await notes.deleteAll();
    await notes.write({ id: 'other', n: 0 });
    expect(await memory.restore(file)).toEqual({ tables: ['notes', 'orders'], records: 61 });
    expect(notes.size).toBe(61);
    expect(notes.get('other')).toBeUndefined();
    expect(show(app) === expected).toBe(true);
    expect(notes.get('b29')).toEqual(records(30, 'b')[29]);

    // a frame whose pieces are malformed (content no writer makes, its checksum good)
    const carrying = frames.findIndex((frame) => frame.payload.includes('"c":['));
    const cut = Buffer.concat([
      Buffer.from('NMSBAK1\n'),
      ...frames.map((frame, i) =>
        encodeFrame(
          i + 1,
          i === carrying ? frame.payload.replace('"c":[', '"c":[[null],') : frame.payload,
        ),
      ),
    ]);
    const damaged = join(await dir('backups'), 'cut.bak');
    await writeFile(damaged, cut);
    const before = notes.keys().length;
    await expect(memory.restore(damaged)).rejects.toThrow(CorruptStoreError);
    await expect(memory.restore(damaged)).rejects.toThrow(/pieces/);
    expect(notes.keys().length).toBe(before);
  });

  /**
   * The file with the frame that holds the large record's row (`"r":1`) left out and the
   * frames after it renumbered: checksums and sequence numbers all good, the row's pieces
   * there, the row never coming.
   */
  function withoutPiecedRow(data: Buffer): Buffer {
    const frames = framesOf(data);
    const row = frames.findIndex((frame) => frame.payload.includes('"r":1'));
    expect(row).toBeGreaterThan(0);
    expect(frames[row - 1].payload).toContain('"c":[');
    const kept = frames.filter((_, i) => i !== row);
    return Buffer.concat([
      data.subarray(0, frames[0].offset),
      ...kept.map((frame, i) => encodeFrame(i + 1, frame.payload)),
    ]);
  }

  it("a backup holding a large record's pieces but not its row is refused as damaged, nothing restored", async () => {
    const on = await dir();
    const { app } = await start(on);
    const notes = app.get(NotesStore);
    await notes.writeMany([...records(5, 'a'), largeRecord('big'), ...records(5, 'b')]);
    const file = join(await dir('backups'), 'all.bak');
    const memory = app.get(MemoryStoreService);
    await memory.backup(file);
    const damaged = join(await dir('backups'), 'damaged.bak');
    await writeFile(damaged, withoutPiecedRow(await readFile(file)));

    await notes.deleteAll();
    await notes.write({ id: 'other', n: 0 });
    const error = await memory.restore(damaged).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStoreError);
    expect(notes.size).toBe(1);
    expect(notes.get('other')).toEqual({ id: 'other', n: 0 });
  });

  it("a snapshot holding a large record's pieces but not its row stops start-up with CorruptStoreError", async () => {
    const on = await dir();
    const { app } = await start(on);
    await app
      .get(NotesStore)
      .writeMany([...records(5, 'a'), largeRecord('big'), ...records(5, 'b')]);
    await stop(app); // a final snapshot holds every record
    const file = join(on, SNAPSHOT);
    await writeFile(file, withoutPiecedRow(await readFile(file)));
    const error = await start(on).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStoreError);
  });

  it('a batch whose last frame fills a write of the log is acknowledged, and recovered', async () => {
    // 12 MB in frames of about 1 MB: the log writes a megabyte at a time, so the batch's last
    // frame ends a write and nothing is left to write after it (its acknowledgement once waited
    // for a write that never came)
    const on = await dir();
    const gate = new GatedFileSystem();
    const { app } = await start(on, gate, 'default');
    const notes = Array.from({ length: 120 }, (_, i) => ({
      id: `big${i}`,
      n: i,
      data: `${i}`.padEnd(100_000, 'x'),
    }));
    await app.get(NotesStore).writeMany(notes);
    const crashed = await image(on, gate);
    await stop(app);
    const { app: again } = await start(crashed, undefined, 'default');
    expect(again.get(NotesStore).size).toBe(120);
    expect(again.get(NotesStore).get('big119')?.data).toBe(notes[119].data);
  });

  it('at the default frame size, a record with a 6 MB field is logged and recovered', async () => {
    const on = await dir();
    const gate = new GatedFileSystem();
    const { app } = await start(on, gate, 'default');
    const text = 'q'.repeat(6 * 1024 * 1024);
    await app.get(NotesStore).write({ id: 'huge', n: 1, data: { text } });
    const crashed = await image(on, gate);
    await stop(app);
    const { app: again } = await start(crashed, undefined, 'default');
    expect((again.get(NotesStore).get('huge')?.data as { text: string }).text === text).toBe(true);
  });

  it('recovery reads snapshots and log segments in parts, never whole: files past what one read can hold come back', async () => {
    const on = await dir('parts');
    const first = await start(on);
    await first.app.get(NotesStore).writeMany(records(300, 'a'));
    await stop(first.app); // a snapshot
    const gate = new GatedFileSystem();
    const second = await start(on, gate);
    await second.app.get(NotesStore).writeMany(records(200, 'b'));
    await second.app.get(NotesStore).delete('a7');
    const copy = await image(on, gate); // a crash image: the snapshot, then a log after it

    // Node reads no file of 2 GiB or more whole (ERR_FS_FILE_TOO_LARGE): here, none at all
    const partsOnly: PersistenceFileSystem = {
      ...NODE_FILE_SYSTEM,
      readFile: (file) =>
        Promise.reject(
          Object.assign(new RangeError(`File size of ${file} is greater than 2 GiB`), {
            code: 'ERR_FS_FILE_TOO_LARGE',
          }),
        ),
    };
    const third = await start(copy, partsOnly);
    const notes = third.app.get(NotesStore);
    expect(notes.size).toBe(499);
    expect(notes.get('a7')).toBeUndefined();
    expect(notes.get('b199')?.data).toBe('x'.repeat(100) + 199);
  });

  it('a snapshot that fails removes its partial temporary file, and the data stays recoverable', async () => {
    const on = await dir();
    let failing = false;
    const fileSystem: PersistenceFileSystem = {
      ...NODE_FILE_SYSTEM,
      async openAppend(file: string): Promise<AppendFile> {
        const handle = await NODE_FILE_SYSTEM.openAppend(file);
        if (!failing || !file.endsWith(`${SNAPSHOT}.tmp`)) return handle;
        return {
          ...handle,
          sync: () => Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })),
        };
      },
    };
    const { app } = await start(on, fileSystem);
    await app.get(NotesStore).writeMany(records(300, 'r'));
    failing = true;
    await app.close().catch(() => undefined); // the closing snapshot fails
    apps.delete(app);
    expect((await readdir(on)).filter((n) => n.includes('tmp'))).toEqual([]);
    const { app: again } = await start(on);
    expect(again.get(NotesStore).size).toBe(300);
  });
});

async function crashCopyTo(from: string, to: string): Promise<void> {
  const { cp } = await import('node:fs/promises');
  await cp(from, to, { recursive: true });
}
