import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DuplicateKeyError,
  Index,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  NODE_FILE_SYSTEM,
  Store,
  Table,
  type AppendFile,
  type BeforeInitHook,
  type PersistenceFileSystem,
  StoreInitializationError,
} from 'nestjs-memory-store';
import { delay, failedStartUp, thrownBy } from './fixtures/app.factory.js';
import {
  Note,
  NotesStore,
  Order,
  OrdersStore,
  PersistenceAppModule,
  ScratchStore,
  createPersistedApp,
  startPersistedApp,
  type PersistedApp,
  type PersistedAppSetup,
} from './fixtures/persistence-app.module.js';
import {
  GatedFileSystem,
  crashCopy,
  crashImage,
  filesOf,
  framesOf,
  lastSegment,
  removeDir,
  segmentsOf,
  tempDir,
  SNAPSHOT,
} from './fixtures/persistence-files.js';

const HOUR = 3_600_000;

/** A value with everything JSON alone would lose or mangle. */
function awkwardValue() {
  return {
    nested: { a: [1, 'two', { three: 3, deeper: [[], {}] }], empty: {} },
    list: [1, undefined, null, -0, NaN],
    when: new Date('2024-02-29T23:59:59.999Z'),
    dates: [new Date(0), new Date(-1)],
    nan: NaN,
    negativeZero: -0,
    infinity: Infinity,
    minusInfinity: -Infinity,
    big: 12345678901234567890123n,
    negativeBig: -1n,
    nothing: null,
    missing: undefined,
    text: 'héllo wörld — 日本語 🌍👩‍👩‍👧 \u0000 \u2028\u2029 "quoted" \\ back',
    emptyText: '',
    looksTagged: ['D', 5],
    looksLikeAnObject: ['O', { x: 1 }],
    flags: [true, false],
    max: Number.MAX_SAFE_INTEGER,
    tiny: 5e-324,
  };
}

describe('persistence', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();
  /** The gated file system of each running application's directory, for crash images. */
  const gates = new Map<string, { app: INestApplication; gate: GatedFileSystem }>();

  async function newDir(label = 'persist'): Promise<string> {
    const dir = await tempDir(label);
    dirs.push(dir);
    return dir;
  }

  /** What a crash now would leave of the directory (between two file operations). */
  async function copyOf(dir: string): Promise<string> {
    const running = gates.get(dir);
    const copy = running ? await crashImage(dir, running.gate) : await crashCopy(dir);
    dirs.push(copy);
    return copy;
  }

  async function start(setup: PersistedAppSetup): Promise<PersistedApp> {
    const gate = setup.fileSystem ? undefined : new GatedFileSystem();
    const started = await startPersistedApp(gate ? { ...setup, fileSystem: gate } : setup);
    apps.add(started.app);
    if (gate) gates.set(setup.dir, { app: started.app, gate });
    return started;
  }

  async function startModule(module: DynamicModule): Promise<PersistedApp> {
    const created = await createPersistedApp(module);
    apps.add(created.app);
    await created.app.init();
    return created;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.delete(app);
    for (const [dir, running] of gates) if (running.app === app) gates.delete(dir);
    await app.close();
  }

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
    gates.clear();
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  describe('values', () => {
    it('survive a restart exactly, from the log (a crash) and from the snapshot (a clean shutdown)', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      const orders = app.get(OrdersStore);
      await notes.write({ id: 'awkward', data: awkwardValue(), n: -0 });
      await notes.write({ id: 'ключ 🔑', data: 'unicode key' });
      await notes.write({ id: '', data: 'empty key' });
      await orders.insert({ item: 'numeric key' });
      const before = notes.all();
      const crashed = await copyOf(dir);
      await stop(app);

      for (const from of [crashed, dir]) {
        const { app: again } = await start({ dir: from });
        const recovered = again.get(NotesStore);
        expect(recovered.all()).toStrictEqual(before);
        const awkward = recovered.get('awkward')!;
        expect(awkward).toBeInstanceOf(Note);
        expect(Object.isFrozen(awkward)).toBe(true);
        const data = awkward.data as ReturnType<typeof awkwardValue>;
        expect(data).toEqual(awkwardValue());
        expect(Object.is(data.negativeZero, -0)).toBe(true);
        expect(Object.is(data.list[3], -0)).toBe(true);
        expect(Object.is(awkward.n, -0)).toBe(true);
        expect(Number.isNaN(data.nan)).toBe(true);
        expect(typeof data.big).toBe('bigint');
        expect(data.when).toBeInstanceOf(Date);
        expect(data.when.getTime()).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
        expect(data.list).toHaveLength(5);
        expect(1 in data.list).toBe(true);
        expect(data.looksTagged).toEqual(['D', 5]);
        expect(recovered.get('ключ 🔑')?.data).toBe('unicode key');
        expect(recovered.get('')?.data).toBe('empty key');
        const order = again.get(OrdersStore).all()[0];
        expect(order).toBeInstanceOf(Order);
        expect(order.id).toBe(1);
        expect(again.get(OrdersStore).get(1)).toBe(order);
        expect(again.get(OrdersStore).get('1')).toBeUndefined();
        await stop(again);
      }
    });

    it('keep the last of many changes to one record, and deletions and clears stay done', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      for (let i = 1; i <= 20; i++) await notes.write({ id: `k${i % 4}`, n: i });
      await notes.update('k1', (current) => ({ n: current.n * 100 }));
      await notes.delete('k2');
      await notes.writeMany([{ id: 'm1' }, { id: 'm2' }]);
      await notes.deleteMany({ id: 'm1' });
      const orders = app.get(OrdersStore);
      await orders.insert({ item: 'gone' });
      await orders.deleteAll();
      const before = notes.all();
      const crashed = await copyOf(dir);
      await stop(app);

      for (const from of [crashed, dir]) {
        const { app: again } = await start({ dir: from });
        expect(again.get(NotesStore).all()).toStrictEqual(before);
        expect(again.get(NotesStore).get('k1')?.n).toBe(1700);
        expect(again.get(NotesStore).exists('k2')).toBe(false);
        expect(again.get(OrdersStore).size).toBe(0);
        await stop(again);
      }
    });

    it('a dirty (synchronous) write is persisted too', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      app.get(NotesStore).dirtyWrite({ id: 'dirty', n: 7 });
      await stop(app);
      const { app: again } = await start({ dir });
      expect(again.get(NotesStore).get('dirty')?.n).toBe(7);
    });
  });

  describe('time to live', () => {
    it('deadlines survive a restart, and a record whose deadline passed does not come back', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      const t0 = Date.now();
      await notes.write({ id: 'short' }, { ttl: '1h' });
      await notes.write({ id: 'long' }, { ttl: '3h' });
      await notes.write({ id: 'forever' });
      const t1 = Date.now();
      /** The time left at `now` of a record written between t0 and t1 to live `ttl`: a range. */
      const left = (ttl: number, now: number) => [t0 + ttl - now - 2, t1 + ttl - now + 2];
      const crashed = await copyOf(dir);
      await stop(app);

      for (const from of [crashed, dir]) {
        // Half an hour later: every record is there, with what is left of its time.
        const now = jest.spyOn(Date, 'now').mockReturnValue(t0 + HOUR / 2);
        const { app: soon } = await start({ dir: from });
        const early = soon.get(NotesStore);
        expect(early.keys().sort()).toEqual(['forever', 'long', 'short']);
        const [shortMin, shortMax] = left(HOUR, t0 + HOUR / 2);
        expect(early.ttl('short')).toBeGreaterThanOrEqual(shortMin);
        expect(early.ttl('short')).toBeLessThanOrEqual(shortMax);
        const [longMin, longMax] = left(3 * HOUR, t0 + HOUR / 2);
        expect(early.ttl('long')).toBeGreaterThanOrEqual(longMin);
        expect(early.ttl('long')).toBeLessThanOrEqual(longMax);
        expect(early.ttl('forever')).toBeUndefined();
        await stop(soon);

        // Two hours later: 'short' has expired, and stays gone over more restarts.
        now.mockReturnValue(t0 + 2 * HOUR);
        for (let restart = 0; restart < 2; restart++) {
          const { app: later } = await start({ dir: from });
          const store = later.get(NotesStore);
          expect(store.keys().sort()).toEqual(['forever', 'long']);
          expect(store.get('short')).toBeUndefined();
          expect(store.size).toBe(2);
          const [min, max] = left(3 * HOUR, t0 + 2 * HOUR);
          expect(store.ttl('long')).toBeGreaterThanOrEqual(min);
          expect(store.ttl('long')).toBeLessThanOrEqual(max);
          await stop(later);
        }
        now.mockRestore();
      }
    });

    it('a record that expired while the application ran is not recovered', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      await notes.write({ id: 'brief' }, { ttl: 50 });
      await notes.write({ id: 'stays' });
      await delay(120);
      expect(notes.sweep()).toBe(1);
      expect(notes.get('brief')).toBeUndefined();
      await delay(20);
      const crashed = await copyOf(dir);
      await stop(app);
      for (const from of [crashed, dir]) {
        const { app: again } = await start({ dir: from });
        expect(again.get(NotesStore).keys()).toEqual(['stays']);
        await stop(again);
      }
    });
  });

  describe('counters', () => {
    it('nextId and autoIncrement carry on after a restart and never hand out a value twice', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      const orders = app.get(OrdersStore);
      expect([await notes.nextId('serial'), await notes.nextId('serial')]).toEqual([1, 2]);
      const concurrent = await Promise.all(
        Array.from({ length: 30 }, () => notes.nextId('serial')),
      );
      expect(Math.max(...concurrent)).toBe(32);
      await notes.resetCounter('batch', 41);
      for (let i = 0; i < 3; i++) await orders.insert({ item: `o${i}` });
      await orders.delete(3); // the highest key is gone: its number must still not come back
      const crashed = await copyOf(dir);
      await stop(app);

      for (const from of [crashed, dir]) {
        const { app: again } = await start({ dir: from });
        const n = again.get(NotesStore);
        const o = again.get(OrdersStore);
        expect(n.counter('serial')).toBe(32);
        expect(n.hasCounter('batch')).toBe(true);
        expect(await n.nextId('serial')).toBe(33);
        expect(await n.nextId('batch')).toBe(42);
        expect(o.keys().sort()).toEqual([1, 2]);
        expect((await o.insert({ item: 'next' })).id).toBe(4);
        await stop(again);
      }
    });

    it('values handed out just before a crash are never handed out again', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      const given = await Promise.all(Array.from({ length: 50 }, () => notes.nextId('ticket')));
      const crashed = await copyOf(dir);
      const { app: again } = await start({ dir: crashed });
      const next = await again.get(NotesStore).nextId('ticket');
      expect(next).toBeGreaterThan(Math.max(...given));
    });
  });

  describe('transactions', () => {
    it('are one log frame: recovery applies all of a transaction or none of it', async () => {
      const dir = await newDir();
      const { app } = await start({ dir });
      const notes = app.get(NotesStore);
      const orders = app.get(OrdersStore);
      const memory = app.get(MemoryStoreService);
      await notes.write({ id: 'before', n: 1 });
      await notes.write({ id: 'doomed', n: 2 });
      await memory.transaction(async () => {
        await notes.write({ id: 'tx-a', n: 10 });
        await notes.update('before', { n: 11 });
        await notes.delete('doomed');
        await orders.insert({ item: 'tx-order' });
      });
      const crashed = await copyOf(dir);
      await stop(app);
      const segment = await lastSegment(crashed);
      const whole = await readFile(segment);
      const frame = framesOf(whole).at(-1)!;
      for (const part of ['tx-a', 'before', 'doomed', 'tx-order'])
        expect(frame.payload).toContain(part);

      const committed = async (from: string) => {
        const { app: again, logger } = await start({ dir: from });
        const state = {
          notes: again
            .get(NotesStore)
            .all()
            .map((r) => [r.id, r.n]),
          orders: again.get(OrdersStore).size,
          warnings: logger.messages('warn').length,
        };
        await stop(again);
        return state;
      };
      const none = {
        notes: [
          ['before', 1],
          ['doomed', 2],
        ],
        orders: 0,
      };
      const all = {
        notes: [
          ['before', 11],
          ['tx-a', 10],
        ],
        orders: 1,
      };
      const sortNotes = (s: { notes: (string | number)[][] }) =>
        s.notes.sort((a, b) => String(a[0]).localeCompare(String(b[0])));

      const length = frame.end - frame.offset;
      const cuts = [1, 4, 8, 15, 16, 17, Math.floor(length / 2), length - 2, length - 1];
      for (const cut of cuts) {
        const copy = await copyOf(crashed);
        await truncate(join(copy, segment.slice(crashed.length + 1)), frame.offset + cut);
        const state = await committed(copy);
        sortNotes(state);
        expect({ cut, ...state }).toEqual({ cut, ...none, warnings: 1 });
      }
      const state = await committed(crashed);
      sortNotes(state);
      expect(state).toEqual({ ...all, warnings: 0 });
    });
  });

  describe('seeds', () => {
    async function seedFile(): Promise<string> {
      const dir = await newDir('seeds');
      const file = join(dir, 'notes.seed.json');
      await writeFile(
        file,
        JSON.stringify([
          { id: 's1', n: 1 },
          { id: 's2', n: 2 },
        ]),
      );
      return file;
    }

    interface SeededRecord {
      id: string;
      n: number;
    }

    function seededStore(
      file: string,
      seedMode?: 'always' | 'if-empty',
    ): Type<MemoryStore<SeededRecord>> {
      @Table({ name: 'seeded' })
      class Seeded {
        id!: string;
        n = 0;
      }
      @Store({ table: Seeded, seedFile: file, ...(seedMode ? { seedMode } : {}) })
      class SeededStore extends MemoryStore<Seeded> {}
      return SeededStore;
    }

    const contents = (app: INestApplication, store: Type<MemoryStore<SeededRecord>>) =>
      app
        .get(store)
        .all()
        .map((r) => `${r.id}=${r.n}`)
        .sort();

    it('load into an empty persisted store only (by default)', async () => {
      const dir = await newDir();
      const SeededStore = seededStore(await seedFile());
      const first = await start({ dir, stores: [SeededStore] });
      expect(contents(first.app, SeededStore)).toEqual(['s1=1', 's2=2']);
      const store = first.app.get(SeededStore);
      await store.update('s1', { n: 10 });
      await store.delete('s2');
      await store.write({ id: 'own', n: 5 });
      await stop(first.app);

      const second = await start({ dir, stores: [SeededStore] });
      expect(contents(second.app, SeededStore)).toEqual(['own=5', 's1=10']);
      await second.app.get(SeededStore).deleteAll();
      await stop(second.app);

      const third = await start({ dir, stores: [SeededStore] });
      expect(contents(third.app, SeededStore)).toEqual(['s1=1', 's2=2']);
    });

    it("load on every start with seedMode 'always'", async () => {
      const dir = await newDir();
      const SeededStore = seededStore(await seedFile(), 'always');
      const first = await start({ dir, stores: [SeededStore] });
      const store = first.app.get(SeededStore);
      await store.update('s1', { n: 10 });
      await store.delete('s2');
      await store.write({ id: 'own', n: 5 });
      await stop(first.app);

      const second = await start({ dir, stores: [SeededStore] });
      expect(contents(second.app, SeededStore)).toEqual(['own=5', 's1=1', 's2=2']);
    });

    it("load on every start into a memory-only store, and seedMode 'if-empty' makes no difference there", async () => {
      const file = await seedFile();
      for (const mode of [undefined, 'if-empty'] as const) {
        const SeededStore = seededStore(file, mode);
        const module = {
          module: PersistenceAppModule,
          imports: [MemoryStoreModule.forRoot({ stores: [SeededStore] })],
        };
        for (let run = 0; run < 2; run++) {
          const { app } = await startModule(module);
          expect(contents(app, SeededStore)).toEqual(['s1=1', 's2=2']);
          await app.get(SeededStore).deleteAll();
          await stop(app);
        }
      }
    });
  });

  describe('a unique index declared since the records were written', () => {
    interface Member {
      id: string;
      email: string;
    }

    function membersStore(unique: boolean): Type<MemoryStore<Member>> {
      @Table({ name: 'members' })
      class MemberRecord {
        id!: string;
        email = '';
      }
      @Table({ name: 'members' })
      class UniqueMemberRecord {
        id!: string;
        @Index({ unique: true }) email = '';
      }
      @Store({ table: MemberRecord })
      class MembersStore extends MemoryStore<MemberRecord> {}
      @Store({ table: UniqueMemberRecord })
      class UniqueMembersStore extends MemoryStore<UniqueMemberRecord> {}
      return unique ? UniqueMembersStore : MembersStore;
    }

    it('stops start-up when two recovered records hold one value, naming both keys', async () => {
      const dir = await newDir();
      const Before = membersStore(false);
      const first = await start({ dir, stores: [Before] });
      await first.app.get(Before).writeMany([
        { id: 'm1', email: 'same@example.com' },
        { id: 'm2', email: 'same@example.com' },
        { id: 'm3', email: 'other@example.com' },
      ]);
      await stop(first.app);

      const { error, app } = await failedStartUp(
        PersistenceAppModule.register({ dir, stores: [membersStore(true)] }),
      );
      await app?.close();
      const message = String((error as Error).message);
      expect(message).toContain(
        "Records 'm1' and 'm2' of table 'members' both hold 'same@example.com' in 'email'",
      );
      // the files are untouched: without the index, the records are all there
      const again = await start({ dir, stores: [Before] });
      expect(again.app.get(Before).keys().sort()).toEqual(['m1', 'm2', 'm3']);
    });

    it('starts when the recovered values are unique, and the index answers', async () => {
      const dir = await newDir();
      const Before = membersStore(false);
      const first = await start({ dir, stores: [Before] });
      await first.app.get(Before).writeMany([
        { id: 'm1', email: 'a@example.com' },
        { id: 'm2', email: 'b@example.com' },
      ]);
      await stop(first.app);
      const After = membersStore(true);
      const second = await start({ dir, stores: [After] });
      expect(second.app.get(After).one({ email: 'b@example.com' })?.id).toBe('m2');
      expect(
        thrownBy(() => second.app.get(After).dirtyWrite({ id: 'm3', email: 'a@example.com' })),
      ).toBeInstanceOf(DuplicateKeyError);
    });
  });

  describe('start-up order', () => {
    it('recovers before the beforeInit hooks run: a hook sees the recovered records', async () => {
      const dir = await newDir();
      const seen: string[][] = [];
      const hook: BeforeInitHook<MemoryStore<Note>> = (store) => {
        seen.push(store.keys().map(String).sort());
      };
      @Store({ table: Note, beforeInit: [hook] })
      class HookedNotesStore extends MemoryStore<Note> {}

      const first = await start({ dir, stores: [HookedNotesStore] });
      await first.app.get(HookedNotesStore).write({ id: 'a' });
      await first.app.get(HookedNotesStore).write({ id: 'b' });
      const crashed = await copyOf(dir);
      await stop(first.app);
      await start({ dir, stores: [HookedNotesStore] });
      await start({ dir: crashed, stores: [HookedNotesStore] });
      expect(seen).toEqual([[], ['a', 'b'], ['a', 'b']]);
    });
  });

  describe('directories', () => {
    it('keeps two stores in one directory, and keeps a store absent from the app', async () => {
      const dir = await newDir();
      const first = await start({ dir });
      await first.app.get(NotesStore).write({ id: 'note' });
      await first.app.get(OrdersStore).insert({ item: 'order' });
      await stop(first.app);
      const names = [...(await filesOf(dir)).keys()];
      expect(names.filter((n) => n === SNAPSHOT)).toHaveLength(1);

      // Started without OrdersStore: its records are carried through the snapshots.
      const notesOnly = await start({ dir, stores: [NotesStore], snapshotEveryBytes: 64 });
      for (let i = 0; i < 10; i++) await notesOnly.app.get(NotesStore).write({ id: `n${i}` });
      await stop(notesOnly.app);

      const both = await start({ dir });
      expect(both.app.get(NotesStore).size).toBe(11);
      expect(
        both.app
          .get(OrdersStore)
          .all()
          .map((o) => o.item),
      ).toEqual(['order']);
    });

    it("keeps a store with its own 'persistence' in its own directory", async () => {
      const shared = await newDir('shared');
      const own = await newDir('own');
      @Table({ name: 'private_notes' })
      class PrivateNote {
        id!: string;
      }
      @Store({ table: PrivateNote, persistence: { dir: own, fsync: 'always' } })
      class PrivateNotesStore extends MemoryStore<PrivateNote> {}

      const setup = { dir: shared, stores: [NotesStore, PrivateNotesStore] };
      const first = await start(setup);
      await first.app.get(NotesStore).write({ id: 'shared-note' });
      await first.app.get(PrivateNotesStore).write({ id: 'private-note' });
      const crashedShared = await copyOf(shared);
      const crashedOwn = await copyOf(own);
      await stop(first.app);

      const text = async (dir: string) =>
        [...(await filesOf(dir)).values()].map((b) => b.toString('latin1')).join('');
      for (const [sharedDir, ownDir] of [
        [shared, own],
        [crashedShared, crashedOwn],
      ]) {
        expect(await text(ownDir)).toContain('private-note');
        expect(await text(ownDir)).not.toContain('shared-note');
        expect(await text(sharedDir)).toContain('shared-note');
        expect(await text(sharedDir)).not.toContain('private-note');
      }
      const again = await start(setup);
      expect(again.app.get(PrivateNotesStore).keys()).toEqual(['private-note']);
      expect(again.app.get(NotesStore).keys()).toEqual(['shared-note']);
    });

    it('refuses two fsync policies for one directory', async () => {
      const dir = await newDir();
      @Table({ name: 'relaxed' })
      class Relaxed {
        id!: string;
      }
      @Store({ table: Relaxed, persistence: { dir, fsync: 'no' } })
      class RelaxedStore extends MemoryStore<Relaxed> {}
      const { error, app } = await failedStartUp(
        PersistenceAppModule.register({ dir, fsync: 'always', stores: [NotesStore, RelaxedStore] }),
      );
      await app?.close();
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/fsync/);
    });

    it('persistence: false keeps a store in memory only', async () => {
      const dir = await newDir();
      const setup = { dir, stores: [NotesStore, ScratchStore] };
      const first = await start(setup);
      await first.app.get(ScratchStore).write({ id: 'scratch-1', secret: 'not-on-disk' });
      await first.app.get(NotesStore).write({ id: 'on-disk' });
      const crashed = await copyOf(dir);
      await stop(first.app);
      for (const from of [crashed, dir]) {
        const text = [...(await filesOf(from)).values()].map((b) => b.toString('latin1')).join('');
        expect(text).toContain('on-disk');
        expect(text).not.toContain('not-on-disk');
        expect(text).not.toContain('scratch');
        const again = await start({ ...setup, dir: from });
        expect(again.app.get(ScratchStore).size).toBe(0);
        expect(again.app.get(NotesStore).keys()).toEqual(['on-disk']);
        await stop(again.app);
      }
    });
  });

  describe('options', () => {
    const bad: [string, unknown][] = [
      ['a string', './data'],
      ['true', true],
      ['null', null],
      ['no dir', { fsync: 'always' }],
      ['an empty dir', { dir: '' }],
      ['a numeric dir', { dir: 42 }],
      ['an unknown fsync', { dir: '/tmp/x', fsync: 'sometimes' }],
      ['fsync true', { dir: '/tmp/x', fsync: true }],
      ['snapshotEveryBytes 0', { dir: '/tmp/x', snapshotEveryBytes: 0 }],
      ['negative snapshotEveryBytes', { dir: '/tmp/x', snapshotEveryBytes: -1 }],
      ['fractional snapshotEveryBytes', { dir: '/tmp/x', snapshotEveryBytes: 1.5 }],
      ['snapshotEveryBytes as text', { dir: '/tmp/x', snapshotEveryBytes: '1MB' }],
      ['an unknown option', { dir: '/tmp/x', fsnyc: 'always' }],
    ];

    it.each(bad)('refuses %s in forRoot({ persistence })', async (_, persistence) => {
      const { error, app } = await failedStartUp({
        module: PersistenceAppModule,
        imports: [
          MemoryStoreModule.forRoot({
            stores: [NotesStore],
            persistence: persistence as never,
          }),
        ],
      });
      await app?.close();
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/persistence/);
    });

    it.each(bad)('refuses %s in @Store({ persistence })', (_, persistence) => {
      const error = thrownBy(() => {
        @Store({ table: Note, persistence: persistence as never })
        class BadStore extends MemoryStore<Note> {}
        return BadStore;
      });
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/persistence/);
    });

    it('refuses a bad seedMode', () => {
      const error = thrownBy(() => {
        @Store({ table: Note, seedMode: 'sometimes' as never })
        class BadStore extends MemoryStore<Note> {}
        return BadStore;
      });
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/seedMode/);
    });

    it('fails to start with StoreInitializationError naming the store and the directory when the directory cannot be created', async () => {
      const parent = await newDir();
      const file = join(parent, 'a-file');
      await writeFile(file, 'not a directory');
      for (const [dir, code] of [
        [join(file, 'data'), 'ENOTDIR'], // under a file
        [file, 'EEXIST'], // a file itself
      ]) {
        const { error, app } = await failedStartUp(PersistenceAppModule.register({ dir }));
        await app?.close();
        expect(error).toBeInstanceOf(StoreInitializationError);
        expect(error).toMatchObject({ store: 'NotesStore', table: 'notes' });
        expect((error as Error).message).toContain(
          `Store NotesStore (table 'notes') failed to start: cannot use the persistence directory ${dir}: ${code}`,
        );
        expect((error as Error).cause).toMatchObject({ code });
      }
      expect(await readFile(file, 'utf8')).toBe('not a directory');
    });
  });

  describe('fsync policies', () => {
    /** The file system, recording each call in order; `slowSync` ms added to each sync. */
    function recordingFileSystem(slowSync = 0) {
      const calls: string[] = [];
      const fileSystem: PersistenceFileSystem = {
        ...NODE_FILE_SYSTEM,
        async openAppend(file) {
          const real: AppendFile = await NODE_FILE_SYSTEM.openAppend(file);
          calls.push('open');
          return {
            async write(data) {
              await real.write(data);
              calls.push('write');
            },
            async sync() {
              if (slowSync) await delay(slowSync);
              await real.sync();
              calls.push('sync');
            },
            close: () => real.close(),
          };
        },
      };
      return { calls, fileSystem };
    }

    it("'always' acknowledges a write once its frame is fsynced, and concurrent writes share fsyncs", async () => {
      const dir = await newDir();
      const { calls, fileSystem } = recordingFileSystem(15);
      const { app } = await start({ dir, fsync: 'always', fileSystem });
      const notes = app.get(NotesStore);
      calls.length = 0;
      await notes.write({ id: 'one' });
      expect(calls).toEqual(['write', 'sync']);

      calls.length = 0;
      const acknowledged: string[][] = [];
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        const id = `c${i}`;
        writes.push(notes.write({ id }).then(() => acknowledged.push([...calls])));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(writes);
      // Each acknowledgement came after a sync that followed the last write before it.
      for (const seen of acknowledged) expect(seen.at(-1)).toBe('sync');
      const syncs = calls.filter((c) => c === 'sync').length;
      expect(syncs).toBeGreaterThanOrEqual(1);
      expect(syncs).toBeLessThan(20);
    });

    it.each(['everysec', 'no'] as const)(
      "'%s' acknowledges without waiting for fsync and persists on a clean shutdown",
      async (fsync) => {
        const dir = await newDir();
        const { calls, fileSystem } = recordingFileSystem();
        const { app } = await start({ dir, fsync, fileSystem });
        const notes = app.get(NotesStore);
        calls.length = 0;
        for (let i = 0; i < 10; i++) await notes.write({ id: `k${i}`, n: i });
        await Promise.all(Array.from({ length: 10 }, (_, i) => notes.write({ id: `c${i}` })));
        expect(calls.filter((c) => c === 'sync')).toEqual([]);
        expect(calls.filter((c) => c === 'write').length).toBeGreaterThan(0);
        if (fsync === 'everysec') {
          await delay(1_300);
          expect(calls).toContain('sync');
        }
        // What was acknowledged is in the files the moment it was acknowledged (a process crash
        // loses nothing), and after a clean shutdown.
        const crashed = await copyOf(dir);
        await stop(app);
        for (const from of [crashed, dir]) {
          const { app: again } = await start({ dir: from, fsync });
          expect(again.get(NotesStore).size).toBe(20);
          expect(again.get(NotesStore).get('k9')?.n).toBe(9);
          await stop(again);
        }
      },
    );
  });

  describe('shutdown', () => {
    it('a clean shutdown keeps every write, including those still being written', async () => {
      const dir = await newDir();
      const { app } = await start({ dir, fsync: 'always' });
      const notes = app.get(NotesStore);
      const writes = Array.from({ length: 20 }, (_, i) => notes.write({ id: `k${i}`, n: i }));
      const closing = stop(app);
      await Promise.all(writes);
      await closing;
      const { app: again } = await start({ dir });
      expect(again.get(NotesStore).size).toBe(20);
    });

    it('a write after the application closed is not acknowledged: its log is closed, so it cannot be durable', async () => {
      const dir = await newDir();
      const { app } = await start({ dir, fsync: 'always' });
      const notes = app.get(NotesStore);
      await notes.write({ id: 'before' });
      await stop(app);
      const late = await notes.write({ id: 'late' }).then(
        () => 'acknowledged',
        (error: unknown) => error,
      );
      const { app: again } = await start({ dir });
      const recovered = again.get(NotesStore).keys();
      // Acknowledged would promise it is on disk: then it must come back.
      if (late === 'acknowledged') expect(recovered).toContain('late');
      expect(late).toBeInstanceOf(MemoryStoreError);
      expect(recovered).toEqual(['before']);
    });
  });

  describe('crash recovery (in process: the files copied while the application runs)', () => {
    it("under 'always', every acknowledged write is in the files, across snapshots and log rotation", async () => {
      const dir = await newDir();
      const { app } = await start({ dir, snapshotEveryBytes: 512 });
      const notes = app.get(NotesStore);
      const acknowledged: string[] = [];
      for (let round = 0; round < 30; round++) {
        const batch = Array.from({ length: 5 }, (_, i) => `r${round}-${i}`);
        await Promise.all(
          batch.map(async (id, i) => {
            if (i % 2) await new Promise((resolve) => setImmediate(resolve));
            await notes.write({ id, n: round });
            acknowledged.push(id);
          }),
        );
        if (round % 10 === 9) {
          const copy = await copyOf(dir);
          const { app: recovered } = await start({ dir: copy });
          const present = new Set(recovered.get(NotesStore).keys());
          expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
          await stop(recovered);
        }
      }
      expect((await filesOf(dir)).has(SNAPSHOT)).toBe(true);
      expect((await segmentsOf(dir)).length).toBeLessThanOrEqual(3);
    });

    it('a store restarted after a clean shutdown, then crashed, recovers', async () => {
      const dir = await newDir();
      const first = await start({ dir });
      await first.app.get(NotesStore).write({ id: 'first-run' });
      await stop(first.app);
      const second = await start({ dir });
      await second.app.get(NotesStore).write({ id: 'second-run' });
      const crashed = await copyOf(dir);
      await stop(second.app);

      const { app } = await start({ dir: crashed });
      expect(app.get(NotesStore).keys().sort()).toEqual(['first-run', 'second-run']);
    });

    it('a store restarted after a crash right after its start-up, then crashed again, recovers', async () => {
      const dir = await newDir();
      const first = await start({ dir });
      await first.app.get(NotesStore).write({ id: 'first-run' });
      const crash1 = await copyOf(dir);
      await stop(first.app);
      const second = await start({ dir: crash1 });
      const crash2 = await copyOf(crash1); // crashed before it wrote anything
      await stop(second.app);
      const third = await start({ dir: crash2 });
      await third.app.get(NotesStore).write({ id: 'third-run' });
      const crash3 = await copyOf(crash2);
      await stop(third.app);

      const { app } = await start({ dir: crash3 });
      expect(app.get(NotesStore).keys().sort()).toEqual(['first-run', 'third-run']);
    });
  });
});
