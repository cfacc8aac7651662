import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  CorruptStoreError,
  MemoryStoreError,
  MemoryStoreService,
  NODE_FILE_SYSTEM,
  type AppendFile,
} from 'nestjs-memory-store';
import { encodeFrame, LOG_MAGIC } from '../../lib/persistence/log-format.js';
import { encodeValue } from '../../lib/persistence/value-codec.js';
import { failedStartUp } from './fixtures/app.factory.js';
import {
  NotesStore,
  PersistenceAppModule,
  startPersistedApp,
  type PersistedApp,
} from './fixtures/persistence-app.module.js';
import {
  RealFileSystem,
  FRAME_HEADER,
  GatedFileSystem,
  crashImage,
  SNAPSHOT,
  filesOf,
  framesOf,
  removeDir,
  tempDir,
} from './fixtures/persistence-files.js';

/**
 * Persistence attacked at its edges after bounded frames landed (issue 13): damage kept aside
 * when an earlier copy is already there, and a snapshot cut short exactly between two frames.
 */
describe('persistence: hostile edges (2)', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();

  async function start(
    dir: string,
    onCorruption: 'fail' | 'truncate' = 'fail',
  ): Promise<PersistedApp> {
    const started = await startPersistedApp({ dir, fsync: 'always', onCorruption });
    apps.add(started.app);
    return started;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.delete(app);
    await app.close();
  }

  const keysOf = (app: INestApplication) => app.get(NotesStore).keys().map(String).sort();

  /** A directory whose app wrote `count` notes of `size` characters, then closed (a snapshot). */
  async function snapshotted(count: number, size = 10): Promise<string> {
    const dir = await tempDir('hostile2');
    dirs.push(dir);
    const { app } = await start(dir);
    await app
      .get(NotesStore)
      .writeMany(
        Array.from({ length: count }, (_, i) => ({ id: `n${i}`, n: i, data: 'x'.repeat(size) })),
      );
    await stop(app);
    return dir;
  }

  /** A directory whose only log segment holds n0..n<count-1>, one frame each (no snapshot). */
  async function logged(count: number): Promise<{ dir: string; file: string }> {
    const dir = await tempDir('hostile2');
    dirs.push(dir);
    const frames = Array.from({ length: count }, (_, i) =>
      encodeFrame(
        i + 1,
        JSON.stringify({ o: [['p', 'notes', `n${i}`, encodeValue({ id: `n${i}`, n: i }), null]] }),
      ),
    );
    const file = join(dir, 'wal-0000000000000001.log');
    await writeFile(file, Buffer.concat([LOG_MAGIC, ...frames]));
    return { dir, file };
  }

  /** The contents of every file of the directory whose name contains `.damaged`. */
  async function damagedCopies(dir: string): Promise<string[]> {
    const files = await filesOf(dir);
    return [...files]
      .filter(([name]) => name.includes('.damaged'))
      .map(([, data]) => data.toString('latin1'));
  }

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
  });

  afterAll(async () => {
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  describe("onCorruption 'truncate' keeps an earlier copy of damage it put aside", () => {
    it('a damaged log tail, where the same segment already has a .damaged copy', async () => {
      const { dir, file } = await logged(4);
      const data = await readFile(file);
      const last = framesOf(data).at(-1)!;
      const damaged = Buffer.from(data);
      damaged[last.end - 1] ^= 1; // a whole frame whose checksum fails: damage
      await writeFile(file, damaged);
      // what an earlier start under 'truncate' kept aside from this same segment name
      await writeFile(`${file}.damaged`, 'EARLIER LOSS');

      const { app } = await start(dir, 'truncate');
      expect(keysOf(app)).toEqual(['n0', 'n1', 'n2']);
      const copies = await damagedCopies(dir);
      expect(copies).toContain('EARLIER LOSS');
      expect(copies).toContain(damaged.subarray(last.offset).toString('latin1'));
      await stop(app);
    });

    it('a damaged snapshot, where a snapshot.damaged is already there', async () => {
      const dir = await snapshotted(20);
      const data = await readFile(join(dir, SNAPSHOT));
      const end = framesOf(data).at(-1)!;
      const damaged = Buffer.from(data);
      damaged[end.offset + FRAME_HEADER] ^= 1; // the 'end' frame: every record comes before it
      await writeFile(join(dir, SNAPSHOT), damaged);
      await writeFile(join(dir, `${SNAPSHOT}.damaged`), 'EARLIER SNAPSHOT');

      const { app } = await start(dir, 'truncate');
      expect(keysOf(app)).toHaveLength(20);
      const copies = await damagedCopies(dir);
      expect(copies).toContain('EARLIER SNAPSHOT');
      expect(copies).toContain(damaged.toString('latin1'));
      await stop(app);
    });
  });

  it("a loss accepted under 'truncate' stays accepted: a crash before the next snapshot does not stop a normal start again", async () => {
    const dir = await snapshotted(20);
    const data = await readFile(join(dir, SNAPSHOT));
    const frames = framesOf(data);
    const damaged = Buffer.from(data);
    damaged[frames.at(-1)!.offset + FRAME_HEADER] ^= 1;
    await writeFile(join(dir, SNAPSHOT), damaged);
    const gate = new GatedFileSystem();
    const truncating = await startPersistedApp({
      dir,
      fsync: 'always',
      onCorruption: 'truncate',
      fileSystem: gate,
    });
    apps.add(truncating.app);
    await truncating.app.get(NotesStore).write({ id: 'after', n: -1 });
    const crashed = await crashImage(dir, gate); // a crash now, before any snapshot
    dirs.push(crashed);
    await stop(truncating.app);

    const { app } = await start(crashed); // 'fail', the default
    expect(keysOf(app)).toHaveLength(21);
    expect(app.get(NotesStore).get('after')?.n).toBe(-1);
    await stop(app);
  });

  it('a record larger than a snapshot frame, its text cut inside multi-byte characters, survives a snapshot and a crash', async () => {
    const dir = await tempDir('hostile2-big');
    dirs.push(dir);
    // 'é' (2 bytes), '€' (3), '😀' (4, a surrogate pair): every cut falls inside one of them somewhere
    const data = 'a' + 'é€😀'.repeat(90_000); // about 810 KB of UTF-8
    const gate = new GatedFileSystem();
    const first = await startPersistedApp({ dir, fsync: 'always', fileSystem: gate });
    apps.add(first.app);
    await first.app.get(NotesStore).write({ id: 'big', n: 1, data });
    await first.app.get(NotesStore).write({ id: 'big2', n: 2, data: { text: data, list: [data] } });
    const crashed = await crashImage(dir, gate);
    dirs.push(crashed);
    await stop(first.app); // a final snapshot
    const frames = framesOf((await filesOf(dir)).get(SNAPSHOT)!);
    expect(frames.length).toBeGreaterThan(6);
    for (const frame of frames) expect(frame.end - frame.offset).toBeLessThan(260 * 1024);
    for (const from of [dir, crashed]) {
      const { app } = await start(from);
      expect(app.get(NotesStore).get('big')?.data).toBe(data);
      expect(app.get(NotesStore).get('big2')?.data).toEqual({ text: data, list: [data] });
      await stop(app);
    }
  });

  describe('a disk fault in the middle of a batch of several megabytes', () => {
    /** The real file system; the `nth` log write or fsync from arming fails as `kind` says. */
    class FailingWrites extends RealFileSystem {
      armed:
        { operation: 'write' | 'sync'; nth: number; kind: 'error' | 'short' | 'late' } | undefined;
      #calls = 0;
      fired = false;
      override openAppend = async (file: string): Promise<AppendFile> => {
        const handle = await NODE_FILE_SYSTEM.openAppend(file);
        const fail = async (
          operation: 'write' | 'sync',
          real: () => Promise<void>,
          half: () => Promise<void>,
        ) => {
          const fault = this.armed;
          if (!fault || fault.operation !== operation || ++this.#calls !== fault.nth) return real();
          this.armed = undefined;
          this.fired = true;
          if (fault.kind === 'late') await real();
          if (fault.kind === 'short') await half();
          throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
        };
        return {
          write: (data) =>
            fail(
              'write',
              () => handle.write(data),
              () => handle.write(data.subarray(0, data.length >> 1)),
            ),
          sync: () =>
            fail(
              'sync',
              () => handle.sync(),
              () => Promise.resolve(),
            ),
          close: () => handle.close(),
        };
      };
    }

    const cases = [
      ...(['error', 'short', 'late'] as const).flatMap((kind) =>
        [1, 2, 3].map((nth) => ({ operation: 'write' as const, nth, kind })),
      ),
      { operation: 'sync' as const, nth: 1, kind: 'error' as const },
      { operation: 'sync' as const, nth: 1, kind: 'late' as const },
    ];
    it.each(cases)(
      '$kind in $operation #$nth: the batch is refused, and a restart holds every acknowledged write and the batch whole or not at all',
      async (fault) => {
        const dir = await tempDir('hostile2-fault');
        dirs.push(dir);
        const files = new FailingWrites();
        const first = await startPersistedApp({ dir, fsync: 'always', fileSystem: files });
        apps.add(first.app);
        const notes = first.app.get(NotesStore);
        for (let i = 0; i < 3; i++) await notes.write({ id: `before${i}`, n: i });
        files.armed = fault;
        // 40 records of 100 KB: four frames of about a megabyte, in several writes, one fsync
        const batch = Array.from({ length: 40 }, (_, i) => ({
          id: `b${i}`,
          n: i,
          data: `${i}`.padEnd(100_000, 'é'),
        }));
        const concurrent = notes.write({ id: 'alongside', n: 99 }); // shares the batch's writes
        const outcomes = await Promise.allSettled([notes.writeMany(batch), concurrent]);
        expect(files.fired).toBe(true);
        expect(outcomes[0].status).toBe('rejected');
        await expect(notes.write({ id: 'later', n: 0 })).rejects.toBeInstanceOf(MemoryStoreError);
        await stop(first.app);

        const { app } = await start(dir);
        const keys = keysOf(app);
        for (let i = 0; i < 3; i++) expect(keys).toContain(`before${i}`);
        if (outcomes[1].status === 'fulfilled') expect(keys).toContain('alongside');
        const held = batch.filter((note) => keys.includes(note.id)).length;
        expect([0, batch.length]).toContain(held);
        if (held > 0) expect(app.get(NotesStore).get('b39')?.data).toBe(batch[39].data);
        expect(keys).not.toContain('later');
        await stop(app);
      },
    );
  });

  describe('what a crash recovers equals what the store held (keys given twice, deletes and writes in one step)', () => {
    /** Runs `act` on a fresh persisted app; a crash image taken after it must recover the same records. */
    async function recoversAsHeld(
      act: (app: INestApplication, folder: string) => Promise<void>,
    ): Promise<void> {
      const dir = await tempDir('hostile2-same');
      dirs.push(dir);
      const gate = new GatedFileSystem();
      const first = await startPersistedApp({ dir, fsync: 'always', fileSystem: gate });
      apps.add(first.app);
      await act(first.app, dir);
      const held = first.app
        .get(NotesStore)
        .all()
        .map((note) => ({ ...note }));
      const crashed = await crashImage(dir, gate);
      dirs.push(crashed);
      await stop(first.app);
      const { app } = await start(crashed);
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect(
        app
          .get(NotesStore)
          .all()
          .map((note) => ({ ...note }))
          .sort(byId),
      ).toEqual(held.sort(byId));
      await stop(app);
    }

    it('writeMany naming a key twice, small and in slices (past 5,000 records)', async () => {
      for (const size of [3, 6_000]) {
        await recoversAsHeld(async (app) => {
          const records = Array.from({ length: size }, (_, i) => ({
            id: `k${i % (size - 1)}`,
            n: i,
          }));
          await app.get(NotesStore).writeMany(records);
          expect(app.get(NotesStore).get('k0')?.n).toBe(size - 1);
        });
      }
    });

    it('deleteMany and writeMany of the same keys in one synchronous step, and an empty writeMany', async () => {
      await recoversAsHeld(async (app) => {
        const notes = app.get(NotesStore);
        await notes.writeMany(Array.from({ length: 6_000 }, (_, i) => ({ id: `k${i}`, n: i })));
        const both = [
          notes.deleteMany({ n: { $lt: 3_000 } }),
          notes.writeMany(Array.from({ length: 6_000 }, (_, i) => ({ id: `k${i}`, n: -i }))),
          notes.writeMany([]),
        ];
        await Promise.all(both);
        await notes.writeMany([]);
      });
    });

    it('an NDJSON import naming a key twice', async () => {
      await recoversAsHeld(async (app, folder) => {
        const file = join(folder, '..', `${basename(folder)}-import.ndjson`);
        dirs.push(file);
        const lines = Array.from({ length: 6_001 }, (_, i) =>
          JSON.stringify({ id: `k${i % 6_000}`, n: i }),
        );
        await writeFile(file, `${lines.join('\n')}\n`);
        await app.get(MemoryStoreService).import('notes', file, 'ndjson');
        expect(app.get(NotesStore).get('k0')?.n).toBe(6_000);
      });
    });

    it('a restore from a backup whose rows name a key twice', async () => {
      await recoversAsHeld(async (app, folder) => {
        const notes = app.get(NotesStore);
        await notes.writeMany(Array.from({ length: 10 }, (_, i) => ({ id: `k${i}`, n: i })));
        const file = join(folder, '..', `${basename(folder)}.bak`);
        dirs.push(file);
        await app.get(MemoryStoreService).backup(file);
        // the rows frame of 'notes' gets a second row for k0, later, with another value
        const data = await readFile(file);
        const rebuilt = framesOf(data).map((frame) => {
          const content = JSON.parse(frame.payload) as {
            t: string;
            table?: string;
            rows?: unknown[][];
          };
          if (content.t !== 'rows' || content.table !== 'notes')
            return encodeFrame(frame.seq, frame.payload);
          const again = structuredClone(content.rows![0]) as [string, [string, { n: number }]];
          again[1][1].n = 777;
          content.rows!.push(again);
          return encodeFrame(frame.seq, JSON.stringify(content));
        });
        await writeFile(file, Buffer.concat([data.subarray(0, 8), ...rebuilt]));
        await notes.writeMany(Array.from({ length: 10 }, (_, i) => ({ id: `k${i}`, n: -i })));
        await app.get(MemoryStoreService).restore(file);
        expect(notes.get('k0')?.n).toBe(777);
      });
    });
  });

  it('lone surrogates in keys and values (one cut by a frame), through the log and a snapshot', async () => {
    const dir = await tempDir('hostile2-surrogates');
    dirs.push(dir);
    const lone = '\ud83d';
    const data = `${lone}${'😀'.repeat(150_000)}\udc00${lone}`; // past a snapshot frame; pairs cut everywhere
    const keys = [`${lone}k`, `k\udc00`, '😀'];
    const gate = new GatedFileSystem();
    const first = await startPersistedApp({ dir, fsync: 'always', fileSystem: gate });
    apps.add(first.app);
    for (const id of keys) await first.app.get(NotesStore).write({ id, n: 1, data });
    const crashed = await crashImage(dir, gate);
    dirs.push(crashed);
    await stop(first.app);
    for (const from of [dir, crashed]) {
      const { app } = await start(from);
      expect(app.get(NotesStore).keys().sort()).toEqual([...keys].sort());
      for (const id of keys) expect(app.get(NotesStore).get(id)?.data).toBe(data);
      await stop(app);
    }
  });

  describe('a snapshot cut short (it has no torn tail)', () => {
    /** The snapshot of 20 notes, cut to `length` bytes. */
    async function cutTo(dir: string, length: (frames: ReturnType<typeof framesOf>) => number) {
      const data = await readFile(join(dir, SNAPSHOT));
      const cut = data.subarray(0, length(framesOf(data)));
      await writeFile(join(dir, SNAPSHOT), cut);
      return cut;
    }

    it("is refused under 'fail', cut inside its last frame or exactly before it", async () => {
      for (const at of ['inside', 'boundary'] as const) {
        const dir = await snapshotted(20);
        const before = await cutTo(dir, (frames) =>
          at === 'inside' ? frames.at(-1)!.end - 1 : frames.at(-1)!.offset,
        );
        const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
        await app?.close();
        expect(error).toBeInstanceOf(CorruptStoreError);
        expect((await filesOf(dir)).get(SNAPSHOT)).toEqual(before);
      }
    });

    it("under 'truncate' starts with its records whether it is cut inside a frame or between two", async () => {
      for (const at of ['inside', 'boundary'] as const) {
        const dir = await snapshotted(20);
        const cut = await cutTo(dir, (frames) =>
          at === 'inside' ? frames.at(-1)!.end - 1 : frames.at(-1)!.offset,
        );
        const { app, logger } = await start(dir, 'truncate');
        expect(keysOf(app)).toHaveLength(20);
        expect(logger.messages('error').join()).toContain('LOST');
        expect(await readFile(join(dir, `${SNAPSHOT}.damaged`))).toEqual(cut);
        await stop(app);
      }
    });
  });
});
