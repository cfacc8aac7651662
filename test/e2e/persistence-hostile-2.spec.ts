import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptStoreError } from 'nestjs-memory-store';
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
