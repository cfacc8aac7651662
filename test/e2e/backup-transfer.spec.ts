import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import {
  CorruptStoreError,
  ImportError,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreService,
  NODE_FILE_SYSTEM,
  Table,
  type PersistenceFileSystem,
  type StoreChange,
  type StoreEntry,
} from 'nestjs-memory-store';
import { delay, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  BrokenContactsV2Store,
  ContactV1,
  ContactV2,
  ContactsV1Store,
  ContactsV2Store,
  LooseItemsStore,
  Member,
  MembersStore,
  Session,
  SessionsStore,
  StrictItemsStore,
  TransferAppModule,
} from './fixtures/backup-transfer-app.module.js';
import { RecordingLogger, createPersistedApp } from './fixtures/persistence-app.module.js';
import { crashCopy, framesOf, removeDir, tempDir } from './fixtures/persistence-files.js';

const HOUR = 3_600_000;
const BACKUP_MAGIC = 'NMSBAK1\n';

interface Booted {
  app: INestApplication;
  memory: MemoryStoreService;
  logger: RecordingLogger;
}

/** Records of every kind of value the formats carry, as written (inputs). */
function memberInputs() {
  return [
    {
      id: 'ada',
      email: 'ada@example.com',
      name: 'Ada "the first", Countess\nof Lovelace',
      age: 36,
      active: false,
      score: -0.25,
      joined: new Date('1815-12-10T00:00:00.000Z'),
      lastSeen: new Date('2024-02-29T23:59:59.999Z'),
      profile: { theme: 'light', langs: ['en', 'fr'] },
      tags: ['math', 'poetry, "science"', ''],
      note: '42',
      team: 'analytics',
    },
    { id: 'bob', email: 'bob@example.com', name: 'Bob', note: 'true', tags: [] },
    { id: '007', name: '  spaced  ', note: 'null', team: '{"a":1}', age: 7 },
    {
      id: 'dee',
      name: 'Dee, Comma',
      profile: { theme: 'dark', langs: [] },
      note: '2024-01-01T00:00:00.000Z',
      score: 1e21,
    },
  ];
}

const byKey = <T extends { id?: unknown }>(records: readonly T[]): T[] =>
  [...records].sort((a, b) => String(a.id).localeCompare(String(b.id)));

describe('backup, restore, export, import and migrations', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();
  const subscriptions: Subscription[] = [];

  async function newDir(label = 'transfer'): Promise<string> {
    const dir = await tempDir(label);
    dirs.push(dir);
    return dir;
  }

  /** Compiles and starts an application of these stores (persisted in `dir` when given). */
  async function boot(
    stores: readonly StoreEntry[],
    dir?: string,
    fileSystem?: PersistenceFileSystem,
  ): Promise<Booted> {
    const { app, logger } = await createPersistedApp(
      TransferAppModule.register(stores, dir, fileSystem),
    );
    apps.add(app);
    await app.init();
    return { app, logger, memory: app.get(MemoryStoreService) };
  }

  /** Starts an application expected to fail; returns what start-up threw (the app is closed). */
  async function failedBoot(stores: readonly StoreEntry[], dir: string): Promise<unknown> {
    const { app } = await createPersistedApp(TransferAppModule.register(stores, dir));
    apps.add(app);
    let error: unknown;
    try {
      await app.init();
    } catch (thrown) {
      error = thrown;
    }
    await stop(app);
    if (error === undefined) throw new Error('expected start-up to fail, but it succeeded');
    return error;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.delete(app);
    await app.close();
  }

  /** Every change the store publishes from now on. */
  function changesOf<T extends object>(store: MemoryStore<T>): StoreChange<T>[] {
    const seen: StoreChange<T>[] = [];
    subscriptions.push(store.changes().subscribe((change) => seen.push(change)));
    return seen;
  }

  /** Lets changes (delivered on the next turn of the event loop) arrive. */
  const delivered = () => delay(20);

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  // ---- backup and restore ------------------------------------------------------------------

  describe('backup and restore', () => {
    /** Two stores with dates, nested values, deadlines and counters; returns what it wrote. */
    async function fill(booted: Booted) {
      const members = booted.app.get(MembersStore);
      const sessions = booted.app.get(SessionsStore);
      await members.writeMany(memberInputs());
      expect([
        await members.nextId('badge'),
        await members.nextId('badge'),
        await members.nextId('badge'),
      ]).toEqual([1, 2, 3]);
      await members.resetCounter('zero', 0);
      const t0 = Date.now();
      await sessions.write({ id: 'short', user: 'ada' }, { ttl: '1h' });
      await sessions.write(
        {
          id: 'long',
          user: 'bob',
          meta: {
            at: new Date('2020-05-05T05:05:05.005Z'),
            nested: { list: [1, 'two', { three: [new Date(7)] }], empty: {} },
          },
        },
        { ttl: '3h' },
      );
      await sessions.write({ id: 'forever', meta: ['a', ['b', { c: null }]] });
      const t1 = Date.now();
      await sessions.resetCounter('epoch', 7);
      return { members, sessions, t0, t1 };
    }

    it('brings back exactly the backed-up records, counters and deadlines of every store; an expired record does not come back', async () => {
      const folder = await newDir('backups');
      const file = join(folder, 'today.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const { members, sessions, t0, t1 } = await fill(booted);
      const membersBefore = byKey(members.all());
      const longBefore = sessions.get('long')!;
      const foreverBefore = sessions.get('forever')!;

      expect(await booted.memory.backup(file)).toEqual({ tables: 2, records: 7 });

      // Everything changes after the backup.
      await members.update('ada', { age: 99, profile: { theme: 'x', langs: [] } });
      await members.delete('bob');
      await members.insert({ id: 'eve', email: 'ada2@example.com' });
      await members.nextId('badge');
      await members.resetCounter('zero', 50);
      await sessions.deleteAll();
      await sessions.write({ id: 'long', user: 'someone else' }); // no deadline now
      await sessions.write({ id: 'other' });
      await sessions.resetCounter('epoch', 100);

      // Two hours later: 'short' (1h) has expired, 'long' (3h) has an hour left.
      const later = t0 + 2 * HOUR;
      jest.spyOn(Date, 'now').mockReturnValue(later);
      await delay(5); // the store's clock reads Date.now() again after its resolution

      const restored = await booted.memory.restore(file);
      expect([...restored.tables].sort()).toEqual(['members', 'sessions']);

      const membersAfter = byKey(members.all());
      expect(membersAfter).toStrictEqual(membersBefore);
      for (const record of membersAfter) {
        expect(record).toBeInstanceOf(Member);
        expect(Object.isFrozen(record)).toBe(true);
      }
      const ada = members.get('ada')!;
      expect(ada.joined).toBeInstanceOf(Date);
      expect(ada.joined.getTime()).toBe(Date.UTC(1815, 11, 10));
      expect(ada.lastSeen).toBeInstanceOf(Date);
      expect(ada.profile).toEqual({ theme: 'light', langs: ['en', 'fr'] });
      expect(members.get('eve')).toBeUndefined();
      expect(members.one({ email: 'ada2@example.com' })).toBeUndefined();
      expect(members.one({ email: 'bob@example.com' })?.id).toBe('bob'); // the unique index is right
      expect(members.counter('badge')).toBe(3);
      expect(members.counter('zero')).toBe(0);

      expect(sessions.keys().sort()).toEqual(['forever', 'long']);
      expect(sessions.get('short')).toBeUndefined();
      expect(sessions.get('other')).toBeUndefined();
      expect(sessions.get('long')).toStrictEqual(longBefore);
      expect(sessions.get('long')).toBeInstanceOf(Session);
      expect(sessions.get('forever')).toStrictEqual(foreverBefore);
      const meta = sessions.get('long')!.meta as {
        at: Date;
        nested: { list: [number, string, { three: Date[] }] };
      };
      expect(meta.at).toBeInstanceOf(Date);
      expect(meta.at.getTime()).toBe(Date.UTC(2020, 4, 5, 5, 5, 5, 5));
      expect(meta.nested.list[2].three[0]).toBeInstanceOf(Date);
      expect(meta.nested.list[2].three[0].getTime()).toBe(7);
      // The deadline is the backed-up one (not reset by the restore, not dropped).
      const left = sessions.ttl('long')!;
      expect(left).toBeGreaterThanOrEqual(t0 + 3 * HOUR - later - 2);
      expect(left).toBeLessThanOrEqual(t1 + 3 * HOUR - later + 2);
      expect(sessions.ttl('forever')).toBeUndefined();
      expect(sessions.counter('epoch')).toBe(7);
    });

    it('replaces the counters whole: a counter created after the backup does not survive the restore', async () => {
      const file = join(await newDir('backups'), 'counters.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const members = booted.app.get(MembersStore);
      await members.nextId('badge');
      await booted.memory.backup(file);
      await members.nextId('badge');
      await members.nextId('late');
      await members.resetCounter('later', 9);

      await booted.memory.restore(file);
      expect(members.counter('badge')).toBe(1);
      expect(members.hasCounter('late')).toBe(false);
      expect(members.hasCounter('later')).toBe(false);
    });

    it('holds no record whose deadline had passed when it was taken', async () => {
      const file = join(await newDir('backups'), 'expired.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const sessions = booted.app.get(SessionsStore);
      const t0 = Date.now();
      await sessions.write({ id: 'brief' }, { ttl: '1h' });
      await sessions.write({ id: 'stays' });
      // Two hours later, before any read or sweep has removed 'brief'.
      jest.spyOn(Date, 'now').mockReturnValue(t0 + 2 * HOUR);
      await delay(5);
      expect(await booted.memory.backup(file)).toEqual({ tables: 2, records: 1 });
      await stop(booted.app);

      const fresh = await boot([MembersStore, SessionsStore]);
      const changes = changesOf(fresh.app.get(SessionsStore));
      expect(await fresh.memory.restore(file)).toMatchObject({ records: 1 });
      await delivered();
      expect(changes.map((c) => [c.op, c.key])).toEqual([['insert', 'stays']]);
      expect(fresh.app.get(SessionsStore).keys()).toEqual(['stays']);
    });

    it('inserts no record whose deadline passed between the backup and the restore', async () => {
      const file = join(await newDir('backups'), 'expiring.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const sessions = booted.app.get(SessionsStore);
      const t0 = Date.now();
      await sessions.write({ id: 'short' }, { ttl: '1h' });
      await sessions.write({ id: 'long' }, { ttl: '3h' });
      await booted.memory.backup(file);
      await sessions.deleteAll();
      await delivered();
      jest.spyOn(Date, 'now').mockReturnValue(t0 + 2 * HOUR);
      await delay(5);
      const changes = changesOf(sessions);

      const restored = await booted.memory.restore(file);
      await delivered();
      expect(sessions.keys()).toEqual(['long']);
      expect(changes.map((c) => [c.op, c.key])).toEqual([['insert', 'long']]);
      expect(restored.records).toBe(1);
    });

    it('is all or nothing: a record invalid for the current class rejects with ImportError and changes no store', async () => {
      const file = join(await newDir('backups'), 'items.bak');
      // Written under `items` without a validator: a negative quantity is fine there.
      const loose = await boot([MembersStore, LooseItemsStore]);
      await loose.app.get(MembersStore).write({ id: 'from-backup', name: 'in the backup' });
      await loose.app.get(MembersStore).nextId('badge');
      await loose.app.get(LooseItemsStore).writeMany([
        { id: 'fine', qty: 1 },
        { id: 'negative', qty: -5 },
      ]);
      await loose.memory.backup(file);
      await stop(loose.app);

      // Restored where `items` says a quantity is a non-negative integer.
      const strict = await boot([MembersStore, StrictItemsStore]);
      const members = strict.app.get(MembersStore);
      const items = strict.app.get(StrictItemsStore);
      await members.write({ id: 'current', age: 3 });
      await members.resetCounter('badge', 40);
      await items.write({ id: 'mine', qty: 2 });
      const membersBefore = members.all();
      const itemsBefore = items.all();
      const memberChanges = changesOf(members);
      const itemChanges = changesOf(items);

      const error = await rejectionOf(strict.memory.restore(file));
      expect(error).toBeInstanceOf(ImportError);
      expect(error).toBeInstanceOf(MemoryStoreError);
      const importError = error as ImportError;
      expect(importError.table).toBe('items');
      expect(importError.file).toBe(file);
      expect(importError.entry).toBe(1);
      expect(importError.message).toContain(file);
      expect(importError.message).toContain('items');

      // The members table came first in the backup and was valid: it did not change either.
      expect(members.all()).toStrictEqual(membersBefore);
      expect(members.get('from-backup')).toBeUndefined();
      expect(members.counter('badge')).toBe(40);
      expect(items.all()).toStrictEqual(itemsBefore);
      expect(items.get('fine')).toBeUndefined();
      await delivered();
      expect(memberChanges).toEqual([]);
      expect(itemChanges).toEqual([]);
    });

    it('a bit-flipped or truncated backup: CorruptStoreError naming the file, and nothing changes', async () => {
      const folder = await newDir('backups');
      const file = join(folder, 'good.bak');
      const damaged = join(folder, 'damaged.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const { members, sessions } = await fill(booted);
      await booted.memory.backup(file);
      await members.write({ id: 'after', name: 'written after the backup' });
      await members.nextId('badge');
      await sessions.delete('forever');
      const membersBefore = members.all();
      const sessionsBefore = sessions.all();
      const memberChanges = changesOf(members);
      const sessionChanges = changesOf(sessions);
      const good = await readFile(file);
      const frames = framesOf(good);
      expect(frames.length).toBeGreaterThanOrEqual(4);

      const attempts: { what: string; bytes: Buffer }[] = [];
      const step = Math.max(1, Math.floor(good.length / 400));
      for (let at = 0; at < good.length; at += step) {
        const bytes = Buffer.from(good);
        bytes[at] ^= 1 << (at % 8);
        attempts.push({ what: `bit flip at byte ${at}`, bytes });
      }
      const cuts = new Set<number>([0, 3, BACKUP_MAGIC.length, good.length - 1]);
      for (const frame of frames) {
        cuts.add(frame.offset); // whole frames, the last ones missing
        cuts.add(frame.offset + 5); // inside a frame's header
        cuts.add(Math.floor((frame.offset + frame.end) / 2)); // inside its payload
      }
      for (const cut of cuts) {
        if (cut < good.length)
          attempts.push({ what: `truncated to ${cut} bytes`, bytes: good.subarray(0, cut) });
      }

      const wrong: string[] = [];
      for (const { what, bytes } of attempts) {
        await writeFile(damaged, bytes);
        let error: unknown;
        try {
          await booted.memory.restore(damaged);
        } catch (thrown) {
          error = thrown;
        }
        if (
          !(error instanceof CorruptStoreError) ||
          error.file !== damaged ||
          !error.message.endsWith('. Nothing was restored') // a restore is not a start-up
        ) {
          const outcome = error instanceof Error ? error.message : 'restored';
          wrong.push(`${what}: ${outcome}`);
        }
      }
      expect(wrong).toEqual([]);

      expect(members.all()).toStrictEqual(membersBefore);
      expect(members.counter('badge')).toBe(4);
      expect(sessions.all()).toStrictEqual(sessionsBefore);
      await delivered();
      expect(memberChanges).toEqual([]);
      expect(sessionChanges).toEqual([]);
      // The intact backup still restores.
      await booted.memory.restore(file);
      expect(members.get('after')).toBeUndefined();
    });

    it('writes the file atomically: no temporary file left behind, an existing backup replaced whole', async () => {
      const folder = await newDir('backups');
      const file = join(folder, 'today.bak');
      await writeFile(file, Buffer.alloc(256 * 1024, 'x')); // larger than any backup here
      const booted = await boot([MembersStore, SessionsStore]);
      const members = booted.app.get(MembersStore);
      await members.writeMany(
        Array.from({ length: 300 }, (_, i) => ({ id: `m${i}`, name: `member ${i}` })),
      );
      await booted.memory.backup(file);
      expect(await readdir(folder)).toEqual(['today.bak']);
      const big = await readFile(file);
      expect(big.subarray(0, BACKUP_MAGIC.length).toString()).toBe(BACKUP_MAGIC);
      expect(big.length).toBeLessThan(256 * 1024);
      expect(() => framesOf(big)).not.toThrow();

      // A smaller backup over the larger one: nothing of the first one remains.
      await members.deleteAll();
      await members.write({ id: 'only' });
      expect(await booted.memory.backup(file)).toEqual({ tables: 2, records: 1 });
      expect(await readdir(folder)).toEqual(['today.bak']);
      const small = await readFile(file);
      expect(small.length).toBeLessThan(big.length);
      expect(() => framesOf(small)).not.toThrow();
      await members.writeMany([{ id: 'm1' }, { id: 'm2' }]);
      await booted.memory.restore(file);
      expect(members.keys()).toEqual(['only']);
    });

    it('a backup that fails while writing leaves the previous backup intact', async () => {
      const dir = await newDir('persist');
      const folder = await newDir('backups');
      const file = join(folder, 'today.bak');
      let failWrites = false;
      // A backup is streamed into a temporary file opened with openAppend.
      const faulty: PersistenceFileSystem = {
        ...NODE_FILE_SYSTEM,
        openAppend: async (path) => {
          const file = await NODE_FILE_SYSTEM.openAppend(path);
          if (!path.startsWith(folder)) return file;
          return {
            ...file,
            write: async (data) => {
              if (!failWrites) return file.write(data);
              // Half the bytes reach the disk, then the disk is full.
              await file.write(data.subarray(0, data.length >> 1));
              throw Object.assign(new Error('ENOSPC: no space left on device'), {
                code: 'ENOSPC',
              });
            },
          };
        },
      };
      const booted = await boot([MembersStore, SessionsStore], dir, faulty);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'first' });
      await booted.memory.backup(file);
      const previous = await readFile(file);

      await members.writeMany(Array.from({ length: 50 }, (_, i) => ({ id: `n${i}` })));
      failWrites = true;
      await expect(booted.memory.backup(file)).rejects.toThrow(/ENOSPC/);
      failWrites = false;
      expect((await readFile(file)).equals(previous)).toBe(true);
      expect(await readdir(folder)).toEqual(['today.bak']); // the half-written temporary is gone
      await booted.memory.restore(file);
      expect(members.keys()).toEqual(['first']);
    });

    it('streams a backup: a write waits for the one before to finish, and none holds more than about a megabyte', async () => {
      const dir = await newDir('persist');
      const folder = await newDir('backups');
      const file = join(folder, 'all.bak');
      let inFlight = 0;
      let mostInFlight = 0;
      const writes: number[] = [];
      // A slow disk: each write completes a few turns of the event loop later.
      const slow: PersistenceFileSystem = {
        ...NODE_FILE_SYSTEM,
        openAppend: async (path) => {
          const file = await NODE_FILE_SYSTEM.openAppend(path);
          if (!path.startsWith(folder)) return file;
          return {
            ...file,
            write: async (data) => {
              inFlight += data.length;
              mostInFlight = Math.max(mostInFlight, inFlight);
              writes.push(data.length);
              await delay(2);
              await file.write(data);
              inFlight -= data.length;
            },
          };
        },
      };
      const booted = await boot([MembersStore, SessionsStore], dir, slow);
      const members = booted.app.get(MembersStore);
      const COUNT = 20_000;
      await members.writeMany(
        Array.from({ length: COUNT }, (_, i) => ({
          id: `m${i}`,
          name: `member number ${i}`.repeat(4),
        })),
      );
      expect(await booted.memory.backup(file)).toEqual({ tables: 2, records: COUNT });
      const size = (await readFile(file)).length;
      expect(size).toBeGreaterThan(4 * 2 ** 20); // a table several times the write batch
      expect(writes.reduce((sum, n) => sum + n, 0)).toBe(size);
      expect(mostInFlight).toBeLessThanOrEqual(2 * 2 ** 20);
      await booted.memory.restore(file);
      expect(members.size).toBe(COUNT);
    });

    it('skips, with a warning, a backed-up table no store has; leaves stores the backup lacks as they are', async () => {
      const folder = await newDir('backups');
      const both = join(folder, 'both.bak');
      const membersOnly = join(folder, 'members.bak');
      const full = await boot([MembersStore, SessionsStore]);
      await full.app.get(MembersStore).write({ id: 'backed-up' });
      await full.app.get(SessionsStore).write({ id: 's1' });
      await full.memory.backup(both);
      await stop(full.app);

      const partial = await boot([MembersStore]);
      await partial.app.get(MembersStore).write({ id: 'current' });
      const restored = await partial.memory.restore(both);
      expect(restored.tables).toEqual(['members']);
      expect(partial.app.get(MembersStore).keys()).toEqual(['backed-up']);
      const warnings = partial.logger.messages('warn').filter((w) => w.includes('sessions'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(both);
      expect(warnings[0]).toMatch(/skipped/);
      await partial.memory.backup(membersOnly);
      await stop(partial.app);

      // The other way round: a backup of `members` alone leaves `sessions` alone.
      const again = await boot([MembersStore, SessionsStore]);
      await again.app.get(SessionsStore).write({ id: 'kept' });
      await again.app.get(MembersStore).write({ id: 'replaced' });
      expect((await again.memory.restore(membersOnly)).tables).toEqual(['members']);
      expect(again.app.get(MembersStore).keys()).toEqual(['backed-up']);
      expect(again.app.get(SessionsStore).keys()).toEqual(['kept']);
    });

    it("replaces in place: a 'delete' per record the backup lacks, then an 'update' or 'insert' per restored record", async () => {
      const file = join(await newDir('backups'), 'changes.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const members = booted.app.get(MembersStore);
      await members.writeMany([
        { id: 'a', age: 1 },
        { id: 'b', age: 2 },
      ]);
      await booted.memory.backup(file);
      await members.update('a', { age: 10 });
      await members.write({ id: 'c' });
      await members.delete('b');
      await delivered();
      const seen = changesOf(members);

      await booted.memory.restore(file);
      await delivered();
      expect(seen.map((c) => [c.op, c.key])).toEqual([
        ['delete', 'c'],
        ['update', 'a'],
        ['insert', 'b'],
      ]);
      expect(seen.every((c) => c.table === 'members')).toBe(true);
      for (const change of seen.slice(1)) expect(change.record).toBe(members.get(change.key!));
      expect(members.get('a')?.age).toBe(1);
      expect(members.keys()).toEqual(['a', 'b']);
    });

    it('a restore over overlapping and extra records, unique values moved between them, indexes and deadlines, ends as a restore into empty stores', async () => {
      const folder = await newDir('backups');
      const file = join(folder, 'overlap.bak');
      const booted = await boot([MembersStore, SessionsStore]);
      const members = booted.app.get(MembersStore);
      const sessions = booted.app.get(SessionsStore);
      await members.writeMany([
        { id: 'a', email: 'a@x', team: 'red', age: 1 },
        { id: 'b', email: 'b@x', team: 'blue', age: 2 },
        { id: 'c', email: 'c@x', team: 'red', age: 3 },
        { id: 'd', team: 'green', age: 4 },
      ]);
      await sessions.write({ id: 'timed', user: 'ada' }, { ttl: '1h' });
      await sessions.write({ id: 'kept', user: 'bob' });
      await sessions.write({ id: 'gone', user: 'cy' }, { ttl: '2h' });
      await booted.memory.backup(file);
      const backedUp = byKey(members.all());
      const timedLeft = sessions.ttl('timed')!;

      // after the backup: unique values passed on (a's email now b's, b's now c's, c's now
      // e's: each held by a record the restore comes to after the one it gives it back to),
      // teams changed, a record deleted, records added, deadlines set and cleared
      await members.update('a', { email: 'free@x', team: 'green' });
      await members.update('b', { email: 'a@x', team: 'red' });
      await members.update('c', { email: 'b@x' });
      await members.delete('d');
      await members.write({ id: 'e', email: 'c@x', team: 'red' });
      await members.write({ id: 'f', email: 'f@x', team: 'blue' });
      await sessions.write({ id: 'timed', user: 'ada' }); // no deadline now
      await sessions.write({ id: 'kept', user: 'bob' }, { ttl: '1m' });
      await sessions.delete('gone');
      await sessions.write({ id: 'extra', user: 'dee' }, { ttl: '1h' });

      await booted.memory.restore(file);
      const fresh = await boot([MembersStore, SessionsStore]);
      await fresh.memory.restore(file);
      const emptyMembers = fresh.app.get(MembersStore);
      const emptySessions = fresh.app.get(SessionsStore);

      for (const [store, from] of [
        [members, sessions],
        [emptyMembers, emptySessions],
      ] as const) {
        expect(byKey(store.all())).toEqual(backedUp);
        expect(store.keys().sort()).toEqual(['a', 'b', 'c', 'd']);
        expect(store.one({ email: 'a@x' })?.id).toBe('a');
        expect(store.one({ email: 'b@x' })?.id).toBe('b');
        expect(store.one({ email: 'c@x' })?.id).toBe('c');
        expect(store.count({ email: 'free@x' })).toBe(0);
        expect(store.count({ email: 'f@x' })).toBe(0);
        expect(
          store
            .select({ team: 'red' })
            .map((m) => m.id)
            .sort(),
        ).toEqual(['a', 'c']);
        expect(store.select({ team: 'blue' }).map((m) => m.id)).toEqual(['b']);
        expect(store.select({ team: 'green' }).map((m) => m.id)).toEqual(['d']);
        // the restored values are held once: writing them again elsewhere clashes
        await expect(store.write({ id: 'z', email: 'b@x' })).rejects.toThrow(MemoryStoreError);
        await store.write({ id: 'z', email: 'free@x' }); // and the values given up are free
        expect(from.keys().sort()).toEqual(['gone', 'kept', 'timed']);
        expect(from.ttl('kept')).toBeUndefined();
        expect(from.ttl('timed')).toBeGreaterThan(timedLeft - 60_000);
        expect(from.ttl('timed')).toBeLessThanOrEqual(timedLeft);
        expect(from.ttl('gone')).toBeGreaterThan(HOUR);
      }
    });

    it('a restore into persisted stores survives a restart (and a crash)', async () => {
      const dir = await newDir('persist');
      const file = join(await newDir('backups'), 'persisted.bak');
      const booted = await boot([MembersStore, SessionsStore], dir);
      const { members, sessions, t0, t1 } = await fill(booted);
      const membersBefore = byKey(members.all());
      const sessionsBefore = byKey(sessions.all());
      await booted.memory.backup(file);
      await members.deleteAll();
      await members.write({ id: 'gone after restore' });
      await members.nextId('badge');
      await sessions.write({ id: 'long', user: 'changed' });
      await sessions.resetCounter('epoch', 70);

      await booted.memory.restore(file);
      const crashed = await crashCopy(dir);
      dirs.push(crashed);
      await stop(booted.app);

      for (const from of [crashed, dir]) {
        const again = await boot([MembersStore, SessionsStore], from);
        const m = again.app.get(MembersStore);
        const s = again.app.get(SessionsStore);
        expect(byKey(m.all())).toStrictEqual(membersBefore);
        expect(m.get('gone after restore')).toBeUndefined();
        expect(m.counter('badge')).toBe(3);
        expect(byKey(s.all())).toStrictEqual(sessionsBefore);
        expect(s.counter('epoch')).toBe(7);
        // a timer turn first: the table reads a time cached for 1 ms, which a start-up's
        // synchronous work can keep for longer (the bound below is 2 ms)
        await new Promise((resolve) => setTimeout(resolve, 5));
        const now = Date.now();
        expect(s.ttl('long')).toBeGreaterThanOrEqual(t0 + 3 * HOUR - now - 2);
        expect(s.ttl('long')).toBeLessThanOrEqual(t1 + 3 * HOUR - now + 2);
        expect(s.ttl('forever')).toBeUndefined();
        await stop(again.app);
      }
    });
  });

  // ---- export and import ---------------------------------------------------------------------

  describe('export and import', () => {
    const formats = [
      { ext: 'json', format: 'json' },
      { ext: 'ndjson', format: 'ndjson' },
      { ext: 'jsonl', format: 'ndjson' },
      { ext: 'csv', format: 'csv' },
    ] as const;

    it.each(formats)(
      'round-trips every kind of value through .$ext (format from the extension and given explicitly)',
      async ({ ext, format }) => {
        const folder = await newDir('export');
        const booted = await boot([MembersStore]);
        const members = booted.app.get(MembersStore);
        await members.writeMany(memberInputs());
        const before = byKey(members.all());

        const byExtension = join(folder, `members.${ext}`);
        expect(await booted.memory.export(Member, byExtension)).toBe(4);
        const explicit = join(folder, 'members.data');
        expect(await booted.memory.export(MembersStore, explicit, format)).toBe(4);
        expect(await readdir(folder)).toEqual([`members.${ext}`, 'members.data'].sort());

        for (const [path, given] of [
          [byExtension, undefined],
          [explicit, format],
        ] as const) {
          await members.deleteAll();
          expect(await booted.memory.import('members', path, given)).toBe(4);
          const after = byKey(members.all());
          expect(after).toStrictEqual(before);
          const ada = members.get('ada')!;
          expect(ada).toBeInstanceOf(Member);
          expect(ada.age).toBe(36);
          expect(ada.active).toBe(false);
          expect(ada.score).toBe(-0.25);
          expect(ada.joined).toBeInstanceOf(Date);
          expect(ada.joined.toISOString()).toBe('1815-12-10T00:00:00.000Z');
          expect(ada.lastSeen).toBeInstanceOf(Date);
          expect(ada.profile).toEqual({ theme: 'light', langs: ['en', 'fr'] });
          expect(ada.tags).toEqual(['math', 'poetry, "science"', '']);
          expect(ada.name).toBe('Ada "the first", Countess\nof Lovelace');
          expect(ada.note).toBe('42');
          expect(members.get('bob')?.note).toBe('true');
          expect(members.get('007')?.note).toBe('null');
          expect(members.get('007')?.team).toBe('{"a":1}');
          expect(members.get('007')?.name).toBe('  spaced  ');
          expect(members.get('dee')?.note).toBe('2024-01-01T00:00:00.000Z');
          expect(members.get('dee')?.score).toBe(1e21);
          expect(members.get(7)).toBeUndefined();
          expect(members.one({ email: 'bob@example.com' })?.id).toBe('bob');
        }
      },
    );

    it('an explicit format wins over the extension; an unknown extension or format is a MemoryStoreError', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.writeMany(memberInputs());
      const before = members.all();

      const csvNamedJson = join(folder, 'members.json');
      await booted.memory.export(Member, csvNamedJson, 'csv');
      expect((await readFile(csvNamedJson, 'utf8')).split('\n')[0]).toMatch(/^id,/);
      await members.deleteAll();
      expect(await booted.memory.import(Member, csvNamedJson, 'csv')).toBe(4);
      expect(byKey(members.all())).toStrictEqual(byKey(before));

      const unknown = join(folder, 'members.xml');
      const exportError = await rejectionOf(booted.memory.export(Member, unknown));
      expect(exportError).toBeInstanceOf(MemoryStoreError);
      expect((exportError as Error).message).toMatch(/json.*ndjson.*csv/);
      expect(await readdir(folder)).toEqual(['members.json']);
      const noExtension = join(folder, 'members');
      await expect(booted.memory.export(Member, noExtension)).rejects.toThrow(MemoryStoreError);
      await expect(
        booted.memory.export(Member, join(folder, 'x.json'), 'xml' as never),
      ).rejects.toThrow(MemoryStoreError);

      await writeFile(unknown, '<members/>');
      const current = members.all();
      await expect(booted.memory.import(Member, unknown)).rejects.toThrow(MemoryStoreError);
      await expect(booted.memory.import(Member, csvNamedJson, 'yaml' as never)).rejects.toThrow(
        MemoryStoreError,
      );
      expect(members.all()).toBe(current);
    });

    it('CSV: values take the type of the defaults, other columns stay strings, empty cells are absent', async () => {
      const folder = await newDir('export');
      const file = join(folder, 'hand.csv');
      await writeFile(
        file,
        [
          'id,age,active,score,joined,lastSeen,profile,tags,note,name,team',
          'a,7,false,2.5,2020-01-02T03:04:05.000Z,2021-06-07T08:09:10.011Z,"{""theme"":""x"",""langs"":[""de""]}","[""t1"",""t,2""]",0123,"Quote ""q"", comma, and',
          'line",true',
          'b,,,,,,,,,,',
          '"c",0,true,-1e3,1970-01-01T00:00:00.000Z,,[],[],,"",""',
          '',
        ].join('\r\n'),
      );
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      expect(await booted.memory.import(Member, file)).toBe(3);

      const a = members.get('a')!;
      expect(a.age).toBe(7);
      expect(a.active).toBe(false);
      expect(a.score).toBe(2.5);
      expect(a.joined).toBeInstanceOf(Date);
      expect(a.joined.getTime()).toBe(Date.UTC(2020, 0, 2, 3, 4, 5));
      expect(a.lastSeen).toBeInstanceOf(Date);
      expect(a.lastSeen!.getTime()).toBe(Date.UTC(2021, 5, 7, 8, 9, 10, 11));
      expect(a.profile).toEqual({ theme: 'x', langs: ['de'] });
      expect(a.tags).toEqual(['t1', 't,2']);
      expect(a.note).toBe('0123');
      expect(a.name).toBe('Quote "q", comma, and\r\nline');
      expect(a.team).toBe('true');

      // Empty cells are absent: the defaults stay.
      const b = members.get('b')!;
      const defaults = new Member();
      expect(b.age).toBe(0);
      expect(b.active).toBe(true);
      expect(b.score).toBe(1.5);
      expect(b.joined).toBeInstanceOf(Date);
      expect(b.joined.getTime()).toBe(defaults.joined.getTime());
      expect(b.lastSeen).toBeUndefined();
      expect(b.profile).toEqual(defaults.profile);
      expect(b.tags).toEqual([]);
      expect(b.note).toBeUndefined();
      expect(b.name).toBe('');
      expect(b.team).toBe('core');

      const c = members.get('c')!;
      expect(c.age).toBe(0);
      expect(c.score).toBe(-1000);
      expect(c.joined.getTime()).toBe(0);
      expect(c.profile).toEqual([]);
      expect(c.team).toBe('core');
    });

    /**
     * Imports each file into a store holding one record, expecting each import refused with an
     * ImportError at `line` whose message holds `message`: nothing changes, no change is sent.
     */
    async function expectImportsRefused(
      cases: readonly { text: string; line: number; message: string }[],
    ): Promise<void> {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'z', name: 'already here' });
      const before = members.all();
      const seen = changesOf(members);
      for (const [i, { text, line, message }] of cases.entries()) {
        const file = join(folder, `bad-${i}.csv`);
        await writeFile(file, text);
        const error = await rejectionOf(booted.memory.import(Member, file));
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file, line });
        expect((error as Error).message).toContain(message);
        expect(members.all()).toBe(before);
      }
      expect(members.get('z')?.name).toBe('already here');
      await delivered();
      expect(seen).toEqual([]);
    }

    it('CSV: an invalid row rejects the whole import with an ImportError naming its line; nothing changes', async () => {
      const header = 'id,name,age,active';
      const multiLine = 'a,"two\nlines",1,true'; // lines 2 and 3
      const rows = [
        { rows: [multiLine, 'b,ok,2,true', 'c,too young,-1,true', 'd,ok,3,true'], line: 5 },
        { rows: [multiLine, 'b,ok,2,true', 'c,not a number,abc,true'], line: 5 },
        { rows: ['b,ok,2,true', 'c,not a boolean,2,yes'], line: 3 },
        { rows: ['b,ok,2,true', 'z,replaces z,2.5,true'], line: 3 },
      ];
      await expectImportsRefused(
        rows.map(({ rows, line }) => ({
          text: [header, ...rows, ''].join('\n'),
          line,
          message: `line ${line}`,
        })),
      );
    });

    it('CSV: a header naming a forbidden key or a column twice rejects the import with an ImportError naming the header line; nothing changes', async () => {
      const headers = [
        { text: 'id,__proto__\nc,1\n', reason: "'__proto__', a forbidden key", line: 1 },
        { text: 'id,name,constructor\nc,x,1\n', reason: "'constructor', a forbidden key", line: 1 },
        { text: 'id,prototype\nc,1\n', reason: "'prototype', a forbidden key", line: 1 },
        { text: 'id,id\nc,d\n', reason: "'id' twice", line: 1 },
        { text: '\n\nid,name,age,name\nc,x,1,y\n', reason: "'name' twice", line: 3 },
      ];
      await expectImportsRefused(
        headers.map(({ text, reason, line }) => ({
          text,
          line,
          message: `the header names the column ${reason}`,
        })),
      );
      expect(Object.prototype).not.toHaveProperty('1');
    });

    it('NDJSON: an invalid, malformed or non-object line rejects the whole import with an ImportError naming it; nothing changes', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'z', name: 'already here' });
      const before = members.all();
      const header = JSON.stringify({ $export: { table: 'members', version: 1 } });
      const cases = [
        { lines: [header, '{"id":"a"}', '', '{"id":"b","age":-3}', '{"id":"c"}'], line: 4 },
        { lines: [header, '{"id":"a"}', '{"id":"b","age":"old"}'], line: 3 },
        { lines: ['{"id":"a"}', '{"id":"b"', '{"id":"c"}'], line: 2 },
        { lines: [header, '{"id":"a"}', '[1,2]'], line: 3 },
        { lines: [header, '{"id":"a"}', '42'], line: 3 },
        {
          lines: ['{"id":"a","email":"x@example.com"}', '{"id":"b","email":"x@example.com"}'],
          line: 2,
        },
      ];
      for (const [i, { lines, line }] of cases.entries()) {
        const file = join(folder, `bad-${i}.ndjson`);
        await writeFile(file, lines.join('\n') + '\n');
        const error = await rejectionOf(booted.memory.import(Member, file));
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file, line });
        expect(members.all()).toBe(before);
      }
    });

    it('JSON: an invalid record rejects the whole import with an ImportError naming the entry; nothing changes', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'z', name: 'already here' });
      const before = members.all();
      for (const [i, records] of [
        [{ id: 'a' }, { id: 'b', age: 'old' }],
        [{ id: 'a' }, { id: 'b' }, { id: 'c', age: -1 }],
        [{ id: 'a' }, 'not a record'],
      ].entries()) {
        const file = join(folder, `bad-${i}.json`);
        await writeFile(file, JSON.stringify({ table: 'members', version: 1, records }));
        const error = await rejectionOf(booted.memory.import(Member, file));
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file, entry: records.length - 1 });
        expect(members.all()).toBe(before);
      }
      // A bare array of records is accepted too.
      const bare = join(folder, 'bare.json');
      await writeFile(bare, JSON.stringify([{ id: 'a', joined: '2001-01-01T00:00:00.000Z' }]));
      expect(await booted.memory.import(Member, bare)).toBe(1);
      expect(members.get('a')?.joined).toBeInstanceOf(Date);
      expect(members.get('a')?.joined.getTime()).toBe(Date.UTC(2001, 0, 1));
    });

    it('JSON: the ImportError names the bad entry, and no line the record is not on', async () => {
      const file = join(await newDir('export'), 'members.json');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.writeMany([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
      await booted.memory.export(Member, file); // pretty-printed: a record spans many lines
      const text = (await readFile(file, 'utf8')).replace('"id": "b"', '"id": "b", "age": -1');
      await writeFile(file, text);
      const lines = text.split('\n');
      const bLine = lines.findIndex((l) => l.includes('"id": "b"')) + 1; // 1-based
      await members.deleteAll();

      const error = (await rejectionOf(booted.memory.import(Member, file))) as ImportError;
      expect(error).toBeInstanceOf(ImportError);
      expect(error.entry).toBe(1);
      // Either no line (JSON has no record per line), or one the bad record is on.
      if (error.line !== undefined) expect([bLine - 1, bLine]).toContain(error.line);
      expect(members.size).toBe(0);
    });

    it('malformed JSON or CSV, or a missing file: ImportError, nothing changes', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'z' });
      const before = members.all();
      const files: [string, string][] = [
        ['truncated.json', '{"records": [{"id": "a"}'],
        ['not-json.json', 'id,name\na,b\n'],
        ['no-records.json', '{"table": "members", "rows": []}'],
        ['a-string.json', '"members"'],
        ['unclosed-quote.csv', 'id,name\na,"no end\nb,c\n'],
        ['ragged.csv', 'id,name\na,b,c\n'],
      ];
      for (const [name, text] of files) {
        const file = join(folder, name);
        await writeFile(file, text);
        const error = await rejectionOf(booted.memory.import(Member, file));
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file });
        expect(members.all()).toBe(before);
      }
      const missing = join(folder, 'missing.json');
      await expect(booted.memory.import(Member, missing)).rejects.toThrow(ImportError);
    });

    it('a unique index clash (with a record in the store or within the file): ImportError, nothing changes', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'a', email: 'x@example.com', age: 1 });
      const before = members.all();
      const seen = changesOf(members);
      const clashes = [
        [
          { id: 'b', email: 'y@example.com' },
          { id: 'c', email: 'x@example.com' },
        ],
        [
          { id: 'b', email: 'y@example.com' },
          { id: 'c', email: 'y@example.com' },
        ],
      ];
      for (const [i, records] of clashes.entries()) {
        const file = join(folder, `clash-${i}.json`);
        await writeFile(file, JSON.stringify(records));
        const error = await rejectionOf(booted.memory.import(Member, file));
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file, entry: 1 });
        expect(members.all()).toBe(before);
      }
      await delivered();
      expect(seen).toEqual([]);

      // Replacing the owner of the value itself is no clash: import inserts or replaces.
      const replace = join(folder, 'replace.json');
      await writeFile(replace, JSON.stringify([{ id: 'a', email: 'x@example.com', age: 5 }]));
      expect(await booted.memory.import(Member, replace)).toBe(1);
      expect(members.get('a')?.age).toBe(5);
    });

    it.each(['json', 'ndjson', 'csv'] as const)(
      'exports an empty table as a valid empty %s file',
      async (format) => {
        const folder = await newDir('export');
        const booted = await boot([MembersStore, SessionsStore]);
        const file = join(folder, `empty.${format}`);
        expect(await booted.memory.export(Member, file)).toBe(0);
        const text = await readFile(file, 'utf8');
        if (format === 'json') {
          expect(JSON.parse(text)).toMatchObject({ table: 'members', version: 1, records: [] });
        } else if (format === 'ndjson') {
          const lines = text.split('\n').filter((l) => l !== '');
          expect(lines).toHaveLength(1);
          expect(JSON.parse(lines[0])).toMatchObject({ $export: { table: 'members', version: 1 } });
        } else {
          const lines = text.split(/\r?\n/).filter((l) => l !== '');
          expect(lines).toHaveLength(1);
          expect(lines[0].split(',')).toContain('id');
        }
        const members = booted.app.get(MembersStore);
        await members.write({ id: 'kept' });
        expect(await booted.memory.import(Member, file)).toBe(0);
        expect(members.keys()).toEqual(['kept']);
      },
    );
  });

  describe('bad paths', () => {
    it('a path that is not a string (or is empty) rejects with MemoryStoreError, for every file operation', async () => {
      const booted = await boot([MembersStore]);
      const { memory } = booted;
      for (const [path, shown] of [
        [null, 'null'],
        [undefined, 'undefined'],
        [42, 'number 42'],
        [{}, 'an object'],
        ['', 'the string ""'],
      ] as [never, string][]) {
        const calls: [string, string, Promise<unknown>][] = [
          ['export', 'members', memory.export(Member, path)],
          ['import', 'members', memory.import(Member, path, 'json')],
          ['backup', '', memory.backup(path)],
          ['restore', '', memory.restore(path)],
        ];
        for (const [method, table, call] of calls) {
          const error = await rejectionOf(call);
          expect(error).toBeInstanceOf(MemoryStoreError);
          expect(error).toMatchObject({ table });
          expect((error as Error).message).toBe(`${method}() takes a file path, got ${shown}`);
        }
      }
    });

    it('export or backup into a missing directory: MemoryStoreError naming the file, the cause kept, nothing left behind', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      await booted.app.get(MembersStore).write({ id: 'a' });
      const exported = join(folder, 'no', 'such', 'members.json');
      const backedUp = join(folder, 'missing', 'today.bak');
      for (const [call, file, table, what] of [
        [booted.memory.export(Member, exported), exported, 'members', "export table 'members' to"],
        [booted.memory.backup(backedUp), backedUp, '', 'write the backup'],
      ] as const) {
        const error = await rejectionOf(call);
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect(error).toMatchObject({ table });
        expect((error as Error).message).toMatch(new RegExp(`^Cannot ${what} ${file}: ENOENT`));
        expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
      }
      expect(await readdir(folder)).toEqual([]);
    });

    it('import or restore of a directory, or of a missing backup: ImportError naming the operation and the path', async () => {
      const folder = await newDir('export');
      const booted = await boot([MembersStore]);
      const members = booted.app.get(MembersStore);
      await members.write({ id: 'kept' });
      const before = members.all();
      const directory = join(folder, 'members.json');
      await mkdir(directory);
      const imported = await rejectionOf(booted.memory.import(Member, directory));
      expect(imported).toBeInstanceOf(ImportError);
      expect(imported).toMatchObject({ table: 'members', file: directory });
      expect((imported as Error).message).toMatch(
        new RegExp(`^Cannot import ${directory} into table 'members': cannot read it: EISDIR`),
      );
      expect((imported as Error).cause).toMatchObject({ code: 'EISDIR' });

      const restored = await rejectionOf(booted.memory.restore(directory));
      expect(restored).toBeInstanceOf(ImportError);
      expect(restored).toMatchObject({ file: directory, operation: 'restore' });
      expect((restored as Error).message).toMatch(
        new RegExp(`^Cannot restore ${directory}: cannot read it: EISDIR`),
      );
      expect((restored as Error).cause).toMatchObject({ code: 'EISDIR' });

      const missing = join(folder, 'missing.bak');
      const absent = await rejectionOf(booted.memory.restore(missing));
      expect(absent).toBeInstanceOf(ImportError);
      expect((absent as Error).message).toBe(`Cannot restore ${missing}: the file does not exist`);
      expect(members.all()).toBe(before);
    });
  });

  // ---- migrations -----------------------------------------------------------------------------

  describe('migrations', () => {
    const v1Records = () => [
      {
        id: 'ada',
        name: 'Ada King Lovelace',
        since: new Date('2020-01-01T00:00:00.000Z'),
        visits: 3,
      },
      { id: 'alan', name: 'Alan Turing' },
    ];

    /** What the version-1 records become at version 2 (other keys: `extra`). */
    function expectMigrated(store: MemoryStore<ContactV2>, extra: string[] = []): void {
      expect(store.keys().sort()).toEqual(['ada', 'alan', 'grace', ...extra].sort());
      const ada = store.get('ada')!;
      expect(ada).toBeInstanceOf(ContactV2);
      expect(ada).toMatchObject({ id: 'ada', first: 'Ada', last: 'King Lovelace', visits: 3 });
      expect('name' in ada).toBe(false);
      expect(ada.since).toBeInstanceOf(Date);
      expect(ada.since.getTime()).toBe(Date.UTC(2020, 0, 1));
      expect(store.get('alan')).toMatchObject({ first: 'Alan', last: 'Turing', visits: 0 });
      expect(store.get('alan')!.since.getTime()).toBe(0);
      expect(store.get('grace')).toMatchObject({ first: 'Grace', last: 'Hopper' });
    }

    /**
     * A directory holding contacts persisted under version 1: some in the snapshot (a clean
     * shutdown), some only in the log after it (a crash).
     */
    async function persistedUnderVersion1(): Promise<string> {
      const dir = await newDir('persist');
      const first = await boot([ContactsV1Store, MembersStore], dir);
      await first.app.get(ContactsV1Store).writeMany(v1Records());
      await first.app.get(MembersStore).write({ id: 'member', age: 5 });
      await stop(first.app);
      const second = await boot([ContactsV1Store, MembersStore], dir);
      await second.app.get(ContactsV1Store).write({ id: 'grace', name: 'Grace Hopper' });
      await second.app.get(MembersStore).nextId('badge');
      const crashed = await crashCopy(dir);
      dirs.push(crashed);
      await stop(second.app);
      return crashed;
    }

    it('recovers records persisted under version 1 with a version-2 class of the same table', async () => {
      const dir = await persistedUnderVersion1();
      const booted = await boot([ContactsV2Store], dir);
      expectMigrated(booted.app.get(ContactsV2Store));
      await booted.app.get(ContactsV2Store).write({ id: 'new', first: 'New' });
      await stop(booted.app);
      // Saved at version 2 now: not migrated a second time.
      const again = await boot([ContactsV2Store], dir);
      expectMigrated(again.app.get(ContactsV2Store), ['new']);
      expect(again.app.get(ContactsV2Store).get('new')?.first).toBe('New');
    });

    it('imports a version-1 JSON or NDJSON export (which records its version), and a CSV given { version: 1 }', async () => {
      const folder = await newDir('export');
      const old = await boot([ContactsV1Store]);
      await old.app
        .get(ContactsV1Store)
        .writeMany([...v1Records(), { id: 'grace', name: 'Grace Hopper' }]);
      for (const ext of ['json', 'ndjson', 'csv'])
        await old.memory.export(ContactV1, join(folder, `contacts.${ext}`));
      await stop(old.app);
      expect(JSON.parse(await readFile(join(folder, 'contacts.json'), 'utf8'))).toMatchObject({
        table: 'contacts',
        version: 1,
      });
      const ndjsonHeader = (await readFile(join(folder, 'contacts.ndjson'), 'utf8')).split('\n')[0];
      expect(JSON.parse(ndjsonHeader)).toMatchObject({ $export: { version: 1 } });

      const booted = await boot([ContactsV2Store]);
      const contacts = booted.app.get(ContactsV2Store);
      for (const ext of ['json', 'ndjson']) {
        await contacts.deleteAll();
        expect(await booted.memory.import(ContactV2, join(folder, `contacts.${ext}`))).toBe(3);
        expectMigrated(contacts);
      }
      await contacts.deleteAll();
      const csv = join(folder, 'contacts.csv');
      // Without the version, the rows are taken as version 2: they lack 'first'.
      await expect(booted.memory.import(ContactV2, csv)).rejects.toThrow(ImportError);
      expect(contacts.size).toBe(0);
      expect(await booted.memory.import(ContactV2, csv, undefined, { version: 1 })).toBe(3);
      expectMigrated(contacts);
    });

    it('restores a version-1 backup into the version-2 table', async () => {
      const file = join(await newDir('backups'), 'v1.bak');
      const old = await boot([ContactsV1Store]);
      await old.app
        .get(ContactsV1Store)
        .writeMany([...v1Records(), { id: 'grace', name: 'Grace Hopper' }]);
      await old.app.get(ContactsV1Store).nextId('serial');
      await old.memory.backup(file);
      await stop(old.app);

      const booted = await boot([ContactsV2Store]);
      const contacts = booted.app.get(ContactsV2Store);
      await contacts.write({ id: 'other', first: 'Other' });
      await booted.memory.restore(file);
      expectMigrated(contacts);
      expect(contacts.counter('serial')).toBe(1);
    });

    it('validates migrated records: on import, on restore and on recovery', async () => {
      const folder = await newDir('export');
      const dir = await newDir('persist');
      const old = await boot([ContactsV1Store], dir);
      // A version-1 record without a name: at version 2 its 'first' is empty, which is invalid.
      await old.app
        .get(ContactsV1Store)
        .writeMany([{ id: 'ok', name: 'Ok Name' }, { id: 'nameless' }]);
      await old.memory.export(ContactV1, join(folder, 'contacts.json'));
      await old.memory.backup(join(folder, 'contacts.bak'));
      await stop(old.app);

      const booted = await boot([ContactsV2Store]);
      const contacts = booted.app.get(ContactsV2Store);
      await contacts.write({ id: 'mine', first: 'Mine' });
      const before = contacts.all();
      const imported = await rejectionOf(
        booted.memory.import(ContactV2, join(folder, 'contacts.json')),
      );
      expect(imported).toBeInstanceOf(ImportError);
      expect(imported).toMatchObject({ table: 'contacts', entry: 1 });
      expect((imported as Error).message).toMatch(/first/);
      expect(contacts.all()).toBe(before);
      const restored = await rejectionOf(booted.memory.restore(join(folder, 'contacts.bak')));
      expect(restored).toBeInstanceOf(ImportError);
      expect(restored).toMatchObject({ table: 'contacts', entry: 1 });
      expect(contacts.all()).toBe(before);
      await stop(booted.app);

      const error = await failedBoot([ContactsV2Store], dir);
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/first/);
      // The data stays on disk: version 1 still reads both records.
      const back = await boot([ContactsV1Store], dir);
      expect(back.app.get(ContactsV1Store).keys().sort()).toEqual(['nameless', 'ok']);
    });

    it('a migration that throws fails start-up with a clear MemoryStoreError, and the data stays on disk', async () => {
      const dir = await persistedUnderVersion1();
      const error = await failedBoot([MembersStore, BrokenContactsV2Store], dir);
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as MemoryStoreError).table).toBe('contacts');
      expect((error as Error).message).toMatch(/contacts/);
      expect((error as Error).message).toMatch(/migration to version 2/);
      expect((error as Error).message).toMatch(/the migration is broken/);
      // Twice: the failed start and its shutdown changed nothing on disk.
      expect(await failedBoot([BrokenContactsV2Store, MembersStore], dir)).toBeInstanceOf(
        MemoryStoreError,
      );

      // Fixed: every record comes back, and the other store of the directory kept its own.
      const fixed = await boot([MembersStore, ContactsV2Store], dir);
      expectMigrated(fixed.app.get(ContactsV2Store));
      expect(fixed.app.get(MembersStore).get('member')?.age).toBe(5);
      expect(fixed.app.get(MembersStore).counter('badge')).toBe(1);
    });

    it('records persisted, exported or backed up by a newer version are refused, not dropped', async () => {
      const dir = await newDir('persist');
      const folder = await newDir('export');
      const newer = await boot([ContactsV2Store], dir);
      await newer.app.get(ContactsV2Store).writeMany([
        { id: 'ada', first: 'Ada', last: 'Lovelace' },
        { id: 'alan', first: 'Alan' },
      ]);
      await newer.memory.export(ContactV2, join(folder, 'contacts.json'));
      await newer.memory.export(ContactV2, join(folder, 'contacts.ndjson'));
      await newer.memory.backup(join(folder, 'contacts.bak'));
      await stop(newer.app);

      const error = await failedBoot([ContactsV1Store], dir);
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/version 2/);
      const older = await boot([ContactsV1Store]);
      const contacts = older.app.get(ContactsV1Store);
      await contacts.write({ id: 'mine', name: 'Mine' });
      const before = contacts.all();
      for (const name of ['contacts.json', 'contacts.ndjson']) {
        const imported = await rejectionOf(older.memory.import(ContactV1, join(folder, name)));
        expect(imported).toBeInstanceOf(ImportError);
        expect((imported as Error).message).toMatch(/version 2/);
      }
      await expect(older.memory.restore(join(folder, 'contacts.bak'))).rejects.toThrow(ImportError);
      expect(contacts.all()).toBe(before);
      await stop(older.app);

      const again = await boot([ContactsV2Store], dir);
      expect(again.app.get(ContactsV2Store).keys().sort()).toEqual(['ada', 'alan']);
      expect(again.app.get(ContactsV2Store).get('ada')?.last).toBe('Lovelace');
    });

    it('bad version or migrations options are refused when the class is decorated', () => {
      const up = (record: Record<string, unknown>) => record;
      const bad: [string, object][] = [
        ['version 2 without migrations', { version: 2 }],
        ['version 2 with no migration to 2', { version: 2, migrations: {} }],
        ['version 3 without a migration to 3', { version: 3, migrations: { 2: up } }],
        ['a migration beyond the version', { version: 2, migrations: { 2: up, 3: up } }],
        ['a migration beyond the default version', { migrations: { 2: up } }],
        ['a migration to version 1', { version: 2, migrations: { 1: up, 2: up } }],
        ['a migration that is not a function', { version: 2, migrations: { 2: 'up' } }],
        ['a migration key that is not a number', { version: 2, migrations: { 2: up, two: up } }],
        ['migrations that are not an object', { version: 2, migrations: 'up' }],
        ['version 0', { version: 0 }],
        ['a fractional version', { version: 1.5 }],
        ['a version given as a string', { version: '2', migrations: { 2: up } }],
      ];
      const accepted: string[] = [];
      for (const [what, options] of bad) {
        class Versioned {
          id!: string;
        }
        try {
          Table({ name: 'versioned', ...options })(Versioned);
          accepted.push(what);
        } catch (error) {
          expect(error).toBeInstanceOf(MemoryStoreError);
          expect((error as Error).message).toContain('Versioned');
        }
      }
      expect(accepted).toEqual([]);
      class Good {
        id!: string;
      }
      expect(() =>
        Table({ name: 'good', version: 3, migrations: { 2: up, 3: up } })(Good),
      ).not.toThrow();
      expect(thrownBy(() => Table({ version: 2 })(class Missing {}))).toBeInstanceOf(
        MemoryStoreError,
      );
    });
  });
});
