import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import {
  MemoryStoreError,
  MemoryStoreService,
  NODE_FILE_SYSTEM,
  type AppendFile,
  type PersistenceFileSystem,
} from 'nestjs-memory-store';
import { delay } from './fixtures/app.factory.js';
import {
  NotesStore,
  PersistenceAppModule,
  createPersistedApp,
  startPersistedApp,
} from './fixtures/persistence-app.module.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';

/** The file operations a fault can be injected into. */
type Operation =
  | 'mkdir'
  | 'readdir'
  | 'readFile'
  | 'openAppend'
  | 'write'
  | 'sync'
  | 'writeFile'
  | 'truncate'
  | 'rename'
  | 'unlink'
  | 'syncDir';

/**
 * How the faulty call fails: `error` before doing anything, `late` after doing it all (an
 * fsync that reports an error, a rename whose result is unknown), `short` after writing only
 * the first half of the data.
 */
type FaultKind = 'error' | 'late' | 'short';

interface Fault {
  operation: Operation;
  /** Which call (1 = the first after arming) fails. */
  nth: number;
  kind: FaultKind;
}

/** The real file system, failing once as armed; counts calls from arming on. */
class FaultyFileSystem implements PersistenceFileSystem {
  #fault: Fault | undefined;
  #calls = 0;
  fired: string | undefined;
  /** Added to every fsync of a log segment, to let writes gather behind it. */
  syncDelayMs = 0;

  arm(fault: Fault): void {
    this.#fault = fault;
    this.#calls = 0;
  }

  /** Runs `real`, unless this is the call to fail; `partial` writes half the data. */
  async #call<R>(
    operation: Operation,
    real: () => Promise<R>,
    partial?: () => Promise<unknown>,
  ): Promise<R> {
    const fault = this.#fault;
    if (!fault || fault.operation !== operation || ++this.#calls !== fault.nth) return real();
    this.#fault = undefined;
    this.fired = `${fault.kind} in ${operation} #${fault.nth}`;
    const error = Object.assign(new Error(`EIO: injected ${this.fired}`), { code: 'EIO' });
    if (fault.kind === 'late') await real();
    if (fault.kind === 'short') await partial?.();
    throw error;
  }

  mkdir = (dir: string) => this.#call('mkdir', () => NODE_FILE_SYSTEM.mkdir(dir));
  readdir = (dir: string) => this.#call('readdir', () => NODE_FILE_SYSTEM.readdir(dir));
  readFile = (file: string) => this.#call('readFile', () => NODE_FILE_SYSTEM.readFile(file));
  truncate = (file: string, length: number) =>
    this.#call('truncate', () => NODE_FILE_SYSTEM.truncate(file, length));
  rename = (from: string, to: string) =>
    this.#call('rename', () => NODE_FILE_SYSTEM.rename(from, to));
  unlink = (file: string) => this.#call('unlink', () => NODE_FILE_SYSTEM.unlink(file));
  syncDir = (dir: string) => this.#call('syncDir', () => NODE_FILE_SYSTEM.syncDir(dir));
  writeFile = (file: string, data: Uint8Array) =>
    this.#call(
      'writeFile',
      () => NODE_FILE_SYSTEM.writeFile(file, data),
      () => NODE_FILE_SYSTEM.writeFile(file, data.subarray(0, Math.floor(data.length / 2))),
    );
  openAppend = async (file: string): Promise<AppendFile> => {
    const handle = await this.#call('openAppend', () => NODE_FILE_SYSTEM.openAppend(file));
    return {
      write: (data) =>
        this.#call(
          'write',
          () => handle.write(data),
          () => handle.write(data.subarray(0, Math.floor(data.length / 2))),
        ),
      sync: async () => {
        if (this.syncDelayMs > 0) await delay(this.syncDelayMs);
        return this.#call('sync', () => handle.sync());
      },
      close: () => handle.close(),
    };
  };
}

/** What happened to each write of a workload. */
interface Outcome {
  /** Record ids in the order their writes were issued. */
  issued: string[];
  acknowledged: Set<string>;
  rejected: Map<string, unknown>;
  /** Writes whose promise had not settled 3 s after the workload. */
  hung: string[];
}

/** Resolves when the promise settles, or after `ms` (to `'timeout'`). */
async function settledWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  try {
    return await Promise.race([promise.then(() => 'settled' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes w0, w1, … through the store: one at a time, bursts in one synchronous stretch (one
 * frame), bursts a tick apart (frames sharing an fsync) and transactions, until `rounds`
 * rounds are done or the store has refused writes for a while.
 */
async function workload(app: INestApplication, rounds: number): Promise<Outcome> {
  const notes = app.get(NotesStore);
  const memory = app.get(MemoryStoreService);
  const outcome: Outcome = { issued: [], acknowledged: new Set(), rejected: new Map(), hung: [] };
  const pending = new Map<string, Promise<void>>();
  let n = 0;
  const track = (ids: string[], promise: Promise<unknown>) => {
    outcome.issued.push(...ids);
    const settled = promise.then(
      () => ids.forEach((id) => outcome.acknowledged.add(id)),
      (error: unknown) => ids.forEach((id) => outcome.rejected.set(id, error)),
    );
    for (const id of ids) pending.set(id, settled);
    return settled;
  };
  const write = () => {
    const id = `w${n}`;
    return track([id], notes.write({ id, n: n++ }));
  };

  let refusedRounds = 0;
  for (let round = 0; round < rounds && refusedRounds < 3; round++) {
    let step: Promise<unknown>;
    switch (round % 4) {
      case 0:
        step = write();
        break;
      case 1:
        step = Promise.all([write(), write(), write()]);
        break;
      case 2: {
        const burst: Promise<void>[] = [];
        for (let i = 0; i < 4; i++) {
          burst.push(write());
          await new Promise((resolve) => setImmediate(resolve));
        }
        step = Promise.all(burst);
        break;
      }
      default: {
        const ids = [`w${n}`, `w${n + 1}`];
        const first = n;
        n += 2;
        step = track(
          ids,
          memory.transaction(async () => {
            await notes.write({ id: ids[0], n: first });
            await notes.write({ id: ids[1], n: first + 1 });
          }),
        );
      }
    }
    // A write that never settles stops the workload (and is reported as hung below).
    if ((await settledWithin(step, 3_000)) === 'timeout') break;
    if (outcome.rejected.size > 0) refusedRounds++;
  }
  await settledWithin(Promise.all(pending.values()), 3_000);
  outcome.hung = outcome.issued.filter(
    (id) => !outcome.acknowledged.has(id) && !outcome.rejected.has(id),
  );
  return outcome;
}

describe('persistence: injected file-system faults', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  /** Starts on the real file system and checks what it recovered against the outcome. */
  async function expectRecovered(dir: string, outcome: Outcome, label: string): Promise<void> {
    const { app } = await startPersistedApp({ dir, fsync: 'always' });
    apps.add(app);
    const notes = app.get(NotesStore);
    const recovered = notes.keys().map(String);
    const present = new Set(recovered);
    const lost = [...outcome.acknowledged].filter((id) => !present.has(id));
    const neverIssued = recovered.filter((id) => !outcome.issued.includes(id));
    const wrong = notes.all().filter((r) => r.id !== `w${r.n}`);
    // A prefix of the issue order: frames are applied in order, whole or not at all.
    const prefix = outcome.issued.slice(0, recovered.length);
    expect({ label, lost, neverIssued, wrong }).toEqual({
      label,
      lost: [],
      neverIssued: [],
      wrong: [],
    });
    expect({ label, recovered: [...recovered].sort() }).toEqual({
      label,
      recovered: prefix.sort(),
    });
    // The recovered store takes writes again, and they last.
    await notes.write({ id: 'after', n: -1 });
    apps.delete(app);
    await app.close();
    const { app: again } = await startPersistedApp({ dir, fsync: 'always' });
    apps.add(again);
    expect(again.get(NotesStore).get('after')?.n).toBe(-1);
  }

  const faults: Fault[] = [];
  for (const nth of [1, 2, 4]) {
    for (const [operation, kinds] of [
      ['write', ['error', 'short', 'late']],
      ['sync', ['error', 'late']],
      ['openAppend', ['error']],
      // no writeFile: snapshots are streamed through openAppend, whose faults are above
      ['rename', ['error', 'late']],
      ['syncDir', ['error', 'late']],
      ['unlink', ['error', 'late']],
    ] as const) {
      for (const kind of kinds) faults.push({ operation, nth, kind });
    }
  }

  it.each(faults)(
    "fsync 'always', $kind in $operation (call #$nth after start-up, with snapshots and rotation every few frames): the store completes or fails cleanly, and reopens with every acknowledged write",
    async (fault) => {
      const dir = await tempDir('fault');
      dirs.push(dir);
      const fileSystem = new FaultyFileSystem();
      const { app, logger } = await startPersistedApp({
        dir,
        fsync: 'always',
        fileSystem,
        snapshotEveryBytes: 200,
      });
      apps.add(app);
      fileSystem.arm(fault);
      const outcome = await workload(app, 60);
      const label = `${fault.kind} in ${fault.operation} #${fault.nth}`;
      expect({ label, fired: fileSystem.fired }).toEqual({ label, fired: label });

      const notes = app.get(NotesStore);
      if (outcome.rejected.size > 0) {
        // The failed state: every rejection is a clear MemoryStoreError, and so is every
        // later write; no write resolved after the first one was refused.
        for (const [id, error] of outcome.rejected) {
          expect({ label, id, error }).toEqual({ label, id, error: expect.any(MemoryStoreError) });
          expect((error as Error).message).toMatch(/persistence/i);
        }
        const firstRefused = outcome.issued.findIndex((id) => outcome.rejected.has(id));
        const laterAcknowledged = outcome.issued
          .slice(firstRefused)
          .filter((id) => outcome.acknowledged.has(id));
        expect({ label, laterAcknowledged }).toEqual({ label, laterAcknowledged: [] });
        await expect(notes.write({ id: 'refused', n: 0 })).rejects.toBeInstanceOf(MemoryStoreError);
        await expect(notes.nextId('refused')).rejects.toBeInstanceOf(MemoryStoreError);
        expect(() => notes.dirtyWrite({ id: 'refused', n: 0 })).toThrow(MemoryStoreError);
        expect(logger.messages('error').join('\n')).toMatch(/injected/);
      } else {
        // It completed: the fault hit something the store could finish without.
        expect(outcome.acknowledged.size).toBe(outcome.issued.length);
      }
      apps.delete(app);
      await app.close();
      await expectRecovered(dir, outcome, label);
      // Last, so that the checks above run even when some write never settled.
      expect({ label, hung: outcome.hung }).toEqual({ label, hung: [] });
    },
  );

  it('writes that share a group commit all reject when it fails: none is left pending', async () => {
    const dir = await tempDir('fault');
    dirs.push(dir);
    const fileSystem = new FaultyFileSystem();
    fileSystem.syncDelayMs = 30;
    const { app } = await startPersistedApp({ dir, fsync: 'always', fileSystem });
    apps.add(app);
    const notes = app.get(NotesStore);
    // The first write's frame is written, then fsynced (slowly); meanwhile three more writes,
    // a tick apart, seal three frames that the next flush writes together, and that write fails.
    fileSystem.arm({ operation: 'write', nth: 2, kind: 'error' });
    const outcome: Outcome = { issued: [], acknowledged: new Set(), rejected: new Map(), hung: [] };
    const writes = ['a', 'b', 'c', 'd'].map(async (id, i) => {
      await delay(i === 0 ? 0 : 5 * i);
      outcome.issued.push(id);
      try {
        await notes.write({ id, n: i });
        outcome.acknowledged.add(id);
      } catch (error) {
        outcome.rejected.set(id, error);
      }
    });
    await settledWithin(Promise.all(writes), 2_000);
    expect(fileSystem.fired).toBe('error in write #2');
    expect([...outcome.acknowledged]).toEqual(['a']);
    const pendingForever = outcome.issued.filter(
      (id) => !outcome.acknowledged.has(id) && !outcome.rejected.has(id),
    );
    const rejected = [...outcome.rejected.keys()].sort();
    expect({ rejected, pendingForever }).toEqual({ rejected: ['b', 'c', 'd'], pendingForever: [] });
  });

  it("fsync 'everysec': a failed background fsync puts the store in the failed state, and what was acknowledged before it reopens", async () => {
    const dir = await tempDir('fault');
    dirs.push(dir);
    const fileSystem = new FaultyFileSystem();
    const { app } = await startPersistedApp({ dir, fsync: 'everysec', fileSystem });
    apps.add(app);
    fileSystem.arm({ operation: 'sync', nth: 1, kind: 'error' });
    const notes = app.get(NotesStore);
    const outcome: Outcome = { issued: [], acknowledged: new Set(), rejected: new Map(), hung: [] };
    for (let i = 0; i < 5; i++) {
      outcome.issued.push(`w${i}`);
      await notes.write({ id: `w${i}`, n: i });
      outcome.acknowledged.add(`w${i}`);
    }
    const deadline = Date.now() + 3_000;
    while (!fileSystem.fired && Date.now() < deadline) await delay(50);
    expect(fileSystem.fired).toBe('error in sync #1');
    await expect(notes.write({ id: 'refused', n: 0 })).rejects.toBeInstanceOf(MemoryStoreError);
    apps.delete(app);
    await app.close();
    await expectRecovered(dir, outcome, 'everysec');
  });

  const startFaults: Fault[] = (
    [
      ['mkdir', 'error'],
      ['readdir', 'error'],
      ['readFile', 'error'],
      ['openAppend', 'error'],
      ['write', 'error'],
      ['write', 'short'],
      ['sync', 'error'],
      ['syncDir', 'error'],
    ] as const
  ).map(([operation, kind]) => ({ operation, kind, nth: 1 }));

  it.each(startFaults)(
    'a fault during start-up ($kind in $operation) stops start-up, and a restart recovers',
    async (fault) => {
      const dir = await tempDir('fault');
      dirs.push(dir);
      const first = await startPersistedApp({ dir, fsync: 'always' });
      const outcome: Outcome = {
        issued: [],
        acknowledged: new Set(),
        rejected: new Map(),
        hung: [],
      };
      for (let i = 0; i < 5; i++) {
        outcome.issued.push(`w${i}`);
        await first.app.get(NotesStore).write({ id: `w${i}`, n: i });
        outcome.acknowledged.add(`w${i}`);
      }
      await first.app.close();

      const fileSystem = new FaultyFileSystem();
      fileSystem.arm(fault);
      const { app } = await createPersistedApp(
        PersistenceAppModule.register({ dir, fsync: 'always', fileSystem }),
      );
      apps.add(app);
      await expect(app.init()).rejects.toThrow(/injected/);
      apps.delete(app);
      await app.close();
      await expectRecovered(dir, outcome, `start-up: ${fault.kind} in ${fault.operation}`);
    },
  );

  it.each(['always', 'everysec'] as const)(
    "fsync '%s': an application whose data directory was deleted under it still closes, saying its persistence failed",
    async (fsync) => {
      const dir = await tempDir('deleted');
      dirs.push(dir);
      const { app, logger } = await startPersistedApp({ dir, fsync });
      apps.add(app);
      await app.get(NotesStore).write({ id: 'a', n: 1 });
      await rm(dir, { recursive: true, force: true });
      apps.delete(app);
      // the final snapshot cannot start its segment: close() must settle all the same
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        app.close().then(() => 'closed'),
        new Promise<string>(
          (resolve) => (timer = setTimeout(() => resolve('still closing'), 10_000)),
        ),
      ]);
      clearTimeout(timer);
      expect(closed).toBe('closed');
      const errors = logger.messages('error').join('\n');
      expect(errors).toContain(`Persistence in ${dir} failed`);
      expect(errors).toContain('ENOENT'); // the system's reason, not "an instance of Error"
    },
    20_000,
  );

  it("fsync 'always': a write after the data directory was deleted is refused, not acknowledged (it could never be recovered)", async () => {
    const dir = await tempDir('deleted-writes');
    dirs.push(dir);
    const { app, logger } = await startPersistedApp({ dir, fsync: 'always' });
    apps.add(app);
    const notes = app.get(NotesStore);
    await notes.write({ id: 'a', n: 1 });
    await rm(dir, { recursive: true, force: true });
    // the log file is still open: writing and syncing it succeed, but no start-up can find it
    await expect(notes.write({ id: 'b', n: 2 })).rejects.toBeInstanceOf(MemoryStoreError);
    await expect(notes.write({ id: 'c', n: 3 })).rejects.toBeInstanceOf(MemoryStoreError);
    expect(logger.messages('error').join('\n')).toContain('deleted');
  });
});
