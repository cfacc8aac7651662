import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreInitializationError } from 'nestjs-memory-store';
import { failedStartUp } from './fixtures/app.factory.js';
import { assertBuildCurrent, CrashWriter } from './fixtures/crash-writer-process.js';
import {
  NotesStore,
  PersistenceAppModule,
  startPersistedApp,
} from './fixtures/persistence-app.module.js';
import { LOCK, removeDir, tempDir } from './fixtures/persistence-files.js';
import { Table, Store, MemoryStore } from 'nestjs-memory-store';

/** The crash writer's table, opened in this process to check what a child left. */
@Table({ name: 'entries' })
class Entry {
  id!: number;
  value = '';
}

@Store({ table: Entry })
class EntriesStore extends MemoryStore<Entry> {}

/**
 * One owner per persistence directory: a second process (or a second application in this
 * one) that opens a directory a live process holds fails start-up naming the directory and
 * the holder; a lock left by a process that died is taken over at the next start; a clean
 * shutdown gives the directory up. The children are crash-writer.mjs (the BUILT library).
 */
describe('persistence: one owner per data directory', () => {
  const dirs: string[] = [];
  const writers: CrashWriter[] = [];
  const apps = new Set<INestApplication>();

  beforeAll(() => assertBuildCurrent());

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
    for (const writer of writers.splice(0)) {
      writer.kill();
      await writer.exited;
    }
  });

  afterAll(async () => {
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  async function dir(): Promise<string> {
    const made = await tempDir('lock');
    dirs.push(made);
    return made;
  }

  /** A crash-writer child on `dir`, started and writing. */
  async function writer(on: string): Promise<CrashWriter> {
    const child = new CrashWriter(on, 'always', 1 << 20);
    writers.push(child);
    await Promise.race([child.loaded, child.exited]);
    child.go();
    await Promise.race([child.booted, child.exited]);
    return child;
  }

  /** Resolves once the child has acknowledged at least `count` writes. */
  async function acked(child: CrashWriter, count: number): Promise<void> {
    for (let i = 0; i < 500 && child.acked.length < count; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(child.acked.length).toBeGreaterThanOrEqual(count);
  }

  /** Opens `on` in this process and returns the crash writer's records, id → value. */
  async function recovered(on: string): Promise<Map<number, string>> {
    const { app } = await startPersistedApp({ dir: on, stores: [EntriesStore] });
    apps.add(app);
    const records = new Map(
      app
        .get(EntriesStore)
        .all()
        .map((e) => [e.id, e.value]),
    );
    apps.delete(app);
    await app.close();
    return records;
  }

  it('a second process is refused while the first runs, naming the directory and the holder; the first writes on and loses nothing', async () => {
    const on = await dir();
    const first = await writer(on);
    expect(first.recovered).toEqual([]);
    await acked(first, 20);

    const second = await writer(on);
    await second.exited;
    expect(second.recovered).toBeUndefined();
    expect(second.child.exitCode).not.toBe(0);
    expect(second.stderr).toContain('StoreInitializationError');
    expect(second.stderr).toContain(on);
    expect(second.stderr).toContain(`held by process ${first.child.pid} on host ${hostname()}`);
    expect(second.issued).toEqual([]);

    // the first goes on writing after the refusal, then dies; every acknowledged write is there
    const before = first.acked.length;
    await acked(first, before + 20);
    first.kill();
    await first.exited;
    const records = await recovered(on);
    expect(first.acked.filter((id) => records.get(id) !== `v${id}`)).toEqual([]);
    expect([...records.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: records.size }, (_, i) => i + 1),
    );
  }, 60_000);

  it('the lock of a process killed with SIGKILL is taken over at the next start, without manual steps', async () => {
    const on = await dir();
    const first = await writer(on);
    await acked(first, 10);
    first.kill();
    await first.exited;
    const left = JSON.parse(await readFile(join(on, LOCK), 'utf8')) as {
      pid: number;
      host: string;
    };
    expect(left).toMatchObject({ pid: first.child.pid, host: hostname() });

    const next = await writer(on);
    expect(next.recovered?.length).toBeGreaterThanOrEqual(10);
    expect(JSON.parse(await readFile(join(on, LOCK), 'utf8'))).toMatchObject({
      pid: next.child.pid,
    });
  }, 60_000);

  it('a lock naming a live process is never taken over; one whose pid now belongs to a process started later is', async () => {
    const on = await dir();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const live = { pid: sleeper.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' };
      await writeFile(join(on, LOCK), JSON.stringify(live));
      const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir: on }));
      await app?.close();
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toContain(on);
      expect((error as Error).message).toContain(
        `held by process ${sleeper.pid} on host ${hostname()}`,
      );
      expect(JSON.parse(await readFile(join(on, LOCK), 'utf8'))).toEqual(live);

      if (existsSync('/proc/self/stat')) {
        // the pid was reused: the process with that pid started at another time than the holder
        await writeFile(join(on, LOCK), JSON.stringify({ ...live, start: '1' }));
        const { app: taken } = await startPersistedApp({ dir: on });
        apps.add(taken);
        expect(JSON.parse(await readFile(join(on, LOCK), 'utf8'))).toMatchObject({
          pid: process.pid,
        });
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a lock from another host is never taken over, and the message says how to clear it', async () => {
    const on = await dir();
    const remote = { pid: 1, host: `not-${hostname()}`, since: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(on, LOCK), JSON.stringify(remote));
    const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir: on }));
    await app?.close();
    expect(error).toBeInstanceOf(StoreInitializationError);
    expect((error as Error).message).toContain(`on host not-${hostname()}`);
    expect((error as Error).message).toContain(`delete ${join(on, LOCK)}`);
  });

  it('two applications of one process on one directory: the second is refused; a clean shutdown gives the directory up', async () => {
    const on = await dir();
    const { app: first } = await startPersistedApp({ dir: on });
    apps.add(first);
    await first.get(NotesStore).write({ id: 'kept', n: 1 });

    const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir: on }));
    await app?.close();
    expect(error).toBeInstanceOf(StoreInitializationError);
    expect((error as Error).message).toContain(`held by process ${process.pid}`);
    // the same directory under another name
    const alias = `${on}-alias`;
    dirs.push(alias);
    await symlink(on, alias);
    const aliased = await failedStartUp(PersistenceAppModule.register({ dir: alias }));
    await aliased.app?.close();
    expect(aliased.error).toBeInstanceOf(StoreInitializationError);
    await first.get(NotesStore).write({ id: 'after', n: 2 });

    apps.delete(first);
    await first.close();
    expect(existsSync(join(on, LOCK))).toBe(false);
    const { app: again } = await startPersistedApp({ dir: on });
    apps.add(again);
    expect(again.get(NotesStore).keys().sort()).toEqual(['after', 'kept']);
  });
});
