import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Subscription } from 'rxjs';
import {
  DuplicateKeyError,
  ImportError,
  MemoryStoreError,
  MemoryStoreService,
  StoreValidationError,
  type StoreChange,
  type StoreEntry,
  type TransferFormat,
} from 'nestjs-memory-store';
import { delay, rejectionOf } from './fixtures/app.factory.js';
import {
  Member,
  MembersStore,
  SessionsStore,
  TransferAppModule,
} from './fixtures/backup-transfer-app.module.js';
import { createPersistedApp, type RecordingLogger } from './fixtures/persistence-app.module.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';

const FORMATS: TransferFormat[] = ['ndjson', 'csv', 'json'];
const STREAM = 'the stream given to importStream()';
/** A batch at least this large is applied in slices. */
const BULK = 5_000;

interface Booted {
  app: INestApplication;
  memory: MemoryStoreService;
  members: MembersStore;
  logger: RecordingLogger;
}

/** `n` valid members, `m0`… with unique emails. */
const membersOf = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: `m${from + i}`,
    email: `m${from + i}@example.com`,
    age: (from + i) % 90,
    name: `member, "${from + i}"`,
    joined: new Date(Date.UTC(2020, 0, 1) + i * 1000),
    tags: [`t${i % 7}`],
  }));

/** Everything a stream gives, as one buffer. */
async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Counts the turns of the event loop (setImmediate callbacks) while `work` runs: a long
 * operation that lets the loop run sees some; one that holds it until done sees none. Calls
 * `sample` at each turn and keeps what it returns.
 */
async function turnsDuring<R, S = undefined>(
  work: () => Promise<R>,
  sample?: () => S,
): Promise<{ turns: number; result: R; samples: S[] }> {
  let turns = 0;
  let running = true;
  const samples: S[] = [];
  const spin = () => {
    if (!running) return;
    turns++;
    if (sample) samples.push(sample());
    setImmediate(spin);
  };
  const started = work();
  setImmediate(spin);
  try {
    const result = await started;
    return { turns, result, samples };
  } finally {
    running = false;
  }
}

describe('streamed transfers and bulk operations in slices', () => {
  const apps = new Set<INestApplication>();
  const dirs: string[] = [];
  const subscriptions: Subscription[] = [];

  async function boot(stores: readonly StoreEntry[] = [MembersStore], dir?: string) {
    const { app, logger } = await createPersistedApp(TransferAppModule.register(stores, dir));
    apps.add(app);
    await app.init();
    const booted: Booted = {
      app,
      logger,
      memory: app.get(MemoryStoreService),
      members: app.get(MembersStore),
    };
    return booted;
  }

  async function newDir(label: string): Promise<string> {
    const dir = await tempDir(label);
    dirs.push(dir);
    return dir;
  }

  function changesOf(store: MembersStore): StoreChange<Member>[] {
    const seen: StoreChange<Member>[] = [];
    subscriptions.push(store.changes().subscribe((change) => seen.push(change)));
    return seen;
  }

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  describe('exportStream() and importStream()', () => {
    it.each(FORMATS)('round-trip every record through a %s stream', async (format) => {
      const source = await boot();
      await source.members.writeMany(membersOf(300));
      const bytes = await drain(source.memory.exportStream(MembersStore, { format }));
      const target = await boot();
      const count = await target.memory.importStream('members', Readable.from([bytes]), {
        format,
      });
      expect(count).toBe(300);
      expect(target.members.all()).toStrictEqual(source.members.all());
    });

    it('the stream holds the same text export() writes to a file (NDJSON by default)', async () => {
      const { memory, members } = await boot();
      await members.writeMany(membersOf(50));
      const file = join(await newDir('export'), 'members.ndjson');
      await memory.export(Member, file);
      const { readFile } = await import('node:fs/promises');
      const withoutTime = (text: string) => text.replace(/"exportedAt":"[^"]+"/, '');
      const streamed = (await drain(memory.exportStream(Member))).toString('utf8');
      expect(withoutTime(streamed)).toBe(withoutTime(await readFile(file, 'utf8')));
    });

    it('makes chunks only as the reader asks for them (backpressure)', async () => {
      const { memory, members } = await boot();
      await members.writeMany(membersOf(20_000));
      const stream = memory.exportStream(MembersStore, { format: 'csv' });
      const first = await new Promise<Buffer>((resolve) =>
        stream.once('data', (chunk: Buffer) => {
          stream.pause();
          resolve(chunk);
        }),
      );
      expect(first.length).toBeGreaterThan(0);
      await delay(100);
      // Paused after one chunk: about one more chunk is made, not the whole table.
      expect(stream.readableEnded).toBe(false);
      const buffered = stream.readableLength;
      expect(buffered).toBeLessThanOrEqual(1024 * 1024);
      const rest = await drain(stream.resume());
      expect(rest.length).toBeGreaterThan(2 * 1024 * 1024);
    });

    it.each([
      ['ndjson', '{"id":"a"}\n{"id": "b",\n', 2, /malformed JSON/],
      ['csv', 'id,age\na,1\nb,"2\n', 3, /malformed CSV/],
      ['json', '[{"id":"a"},{"id":"b"', undefined, /malformed JSON/],
      ['json', '{"version":1,"rows":[]}', undefined, /holds an array of records/],
    ] as const)(
      'a malformed %s stream: ImportError naming importStream() and the line, the cause kept; nothing changes',
      async (format, text, line, reason) => {
        const { memory, members } = await boot();
        await members.write({ id: 'kept' });
        const error = await rejectionOf(
          memory.importStream(MembersStore, Readable.from([text]), { format }),
        );
        expect(error).toBeInstanceOf(ImportError);
        expect(error).toMatchObject({ table: 'members', file: STREAM, line });
        expect((error as Error).message).toMatch(reason);
        expect((error as Error).message).toContain('importStream()');
        expect((error as Error).cause).toBeDefined();
        expect(members.keys()).toEqual(['kept']);
      },
    );

    it('a stream that fails midway: ImportError with the stream error as cause; nothing changes', async () => {
      const { memory, members } = await boot();
      const failure = new Error('connection reset by peer');
      async function* failing() {
        yield '{"id":"a"}\n';
        await delay(1);
        throw failure;
      }
      const error = await rejectionOf(memory.importStream(Member, Readable.from(failing())));
      expect(error).toBeInstanceOf(ImportError);
      expect((error as Error).message).toMatch(/cannot read it: connection reset by peer/);
      expect((error as Error).cause).toBe(failure);
      expect(members.size).toBe(0);
    });

    it('JSON split at every character still gives every record (strings with brackets, quotes, escapes)', async () => {
      const { memory, members } = await boot();
      const tricky = [
        { id: 'a]b', name: 'brackets ] } [ { and "quotes", commas' },
        { id: 'c\\d', name: 'back\\slash \\" and \u00e9\u{1F600}' },
        { id: 'e', tags: ['x', '[', ']'], profile: { theme: '}', langs: [] } },
      ];
      const text = JSON.stringify({ table: 'members', version: 1, records: tricky }, null, 2);
      const count = await memory.importStream(Member, Readable.from(text.split('')), {
        format: 'json',
      });
      expect(count).toBe(3);
      expect(members.get('a]b')?.name).toBe(tricky[0].name);
      expect(members.get('c\\d')?.name).toBe(tricky[1].name);
      expect(members.get('e')?.profile).toEqual({ theme: '}', langs: [] });
    });

    it('refuses an unknown format or something that is not a stream, with MemoryStoreError', async () => {
      const { memory } = await boot();
      expect(() =>
        memory.exportStream(Member, { format: 'xml' as unknown as TransferFormat }),
      ).toThrow(MemoryStoreError);
      await expect(
        memory.importStream(Member, 'not a stream' as unknown as Readable),
      ).rejects.toThrow(/importStream\(\) takes a readable stream/);
    });
  });

  describe('long operations let the event loop run', () => {
    it('writeMany of 50,000 records: in slices, all stored, one change each', async () => {
      const { members } = await boot();
      const changes = changesOf(members);
      const { turns, result } = await turnsDuring(() => members.writeMany(membersOf(50_000)));
      expect(turns).toBeGreaterThan(0);
      expect(result).toHaveLength(50_000);
      expect(members.size).toBe(50_000);
      await delay(20);
      expect(changes).toHaveLength(50_000);
    });

    it("logs a long bulk write's progress through Nest's Logger: records done, total, elapsed", async () => {
      const { members, logger } = await boot();
      // a clock that runs 20 ms each time it is read: the write seems to take seconds
      let clock = performance.now();
      jest.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
      try {
        await members.writeMany(membersOf(6_000));
      } finally {
        jest.restoreAllMocks();
      }
      const progress = logger.at('log').filter((line) => line.context === 'MemoryStore');
      expect(progress.length).toBeGreaterThan(1);
      expect(progress[0].message).toMatch(
        /^writeMany into 'members': [\d,]+ of 6,000 records, \d+\.\d s elapsed$/,
      );
      expect(progress.at(-1)!.message).toMatch(
        /^writeMany into 'members': done, applying 6,000 of 6,000 records/,
      );
    });

    it('writeMany in slices is all or nothing: an invalid last record, or a unique clash far apart', async () => {
      const { members } = await boot();
      await members.write({ id: 'before' });
      const changes = changesOf(members);
      const invalid = [...membersOf(20_000), { id: 'bad', age: -1 }];
      const error = await rejectionOf(members.writeMany(invalid));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(error).toMatchObject({ entry: 20_000 });
      const clash = membersOf(20_000);
      clash[19_999] = { ...clash[19_999], email: clash[3].email };
      const duplicate = await rejectionOf(members.writeMany(clash));
      expect(duplicate).toBeInstanceOf(DuplicateKeyError);
      expect(duplicate).toMatchObject({ field: 'email', entry: 19_999 });
      expect(members.keys()).toEqual(['before']);
      await delay(20);
      expect(changes).toEqual([]);
    });

    it('other writes to the table wait for a bulk write to be applied; a synchronous one is refused', async () => {
      const { memory, members } = await boot();
      const bulk = members.writeMany(membersOf(30_000));
      await delay(0); // the bulk write has started
      const single = members.write({ id: 'm7', name: 'written after the bulk' });
      const inTransaction = memory.transaction(() => members.write({ id: 'm8', name: 'tx' }));
      expect(() => members.dirtyWrite({ id: 'now' })).toThrow(
        /bulk operation .* use write\(\), which waits for it/,
      );
      await Promise.all([bulk, single, inTransaction]);
      expect(members.get('m7')?.name).toBe('written after the bulk');
      expect(members.get('m8')?.name).toBe('tx');
      expect(members.size).toBe(30_000);
    });

    it('update(query) and deleteMany of 20,000 records: in slices, all or nothing', async () => {
      const { members } = await boot();
      await members.writeMany(membersOf(40_000));
      const updated = await turnsDuring(() => members.update({ age: { $lt: 45 } }, { team: 'x' }));
      expect(updated.turns).toBeGreaterThan(0);
      expect(members.count({ team: 'x' })).toBe(updated.result.length);
      expect(updated.result.length).toBeGreaterThan(BULK);
      // a unique clash stops the whole update before any record changes
      const clash = await rejectionOf(
        members.update({ age: { $lt: 45 } }, (m) => ({ email: m.age === 3 ? 'same@x' : m.email })),
      );
      expect(clash).toBeInstanceOf(DuplicateKeyError);
      expect(members.count({ email: 'same@x' })).toBe(0);
      const deleted = await turnsDuring(() => members.deleteMany({ team: 'x' }));
      expect(deleted.turns).toBeGreaterThan(0);
      expect(deleted.result).toBe(updated.result.length);
      expect(members.count({ team: 'x' })).toBe(0);
      expect(members.size).toBe(40_000 - deleted.result);
    });

    it.each(FORMATS)(
      'export and import of 50,000 records in %s; the import applies in slices',
      async (format) => {
        const source = await boot();
        await source.members.writeMany(membersOf(50_000));
        const file = join(await newDir('export'), `members.${format}`);
        const exported = await turnsDuring(() => source.memory.export(Member, file));
        expect(exported.turns).toBeGreaterThan(0);
        expect(exported.result).toBe(50_000);
        const target = await boot();
        const imported = await turnsDuring(
          () => target.memory.import(Member, file),
          () => target.members.size,
        );
        // Written in slices: reads between them see the import arrive in parts.
        expect(imported.samples.some((size) => size > 0 && size < 50_000)).toBe(true);
        expect(target.members.size).toBe(50_000);
        expect(target.members.get('m49999')).toStrictEqual(source.members.get('m49999'));
      },
    );

    it('backup and restore of 50,000 records; the restore applies in slices', async () => {
      const { memory, members, app } = await boot([MembersStore, SessionsStore]);
      await members.writeMany(membersOf(50_000));
      await app.get(SessionsStore).write({ id: 's1', user: 'm1' }, { ttl: '1h' });
      const file = join(await newDir('backup'), 'all.bak');
      const backedUp = await turnsDuring(() => memory.backup(file));
      expect(backedUp.turns).toBeGreaterThan(0);
      expect(backedUp.result).toEqual({ tables: 2, records: 50_001 });
      await members.deleteMany({ age: { $lt: 30 } });
      await members.write({ id: 'extra' });
      const before = members.size;
      const restored = await turnsDuring(
        () => memory.restore(file),
        () => members.size,
      );
      // Applied in slices: reads between them see the restored records arrive in parts.
      expect(restored.samples.some((size) => size !== before && size !== 50_000)).toBe(true);
      expect(restored.result).toEqual({ tables: ['members', 'sessions'], records: 50_001 });
      expect(members.size).toBe(50_000);
      expect(members.get('extra')).toBeUndefined();
      expect(app.get(SessionsStore).ttl('s1')).toBeGreaterThan(3_500_000);
    });

    it('a bulk write to a persisted store is all there after a restart', async () => {
      const dir = await newDir('persist');
      const first = await boot([MembersStore], dir);
      await first.members.writeMany(membersOf(30_000));
      await first.members.write({ id: 'last' });
      apps.delete(first.app);
      await first.app.close();
      const again = await boot([MembersStore], dir);
      expect(again.members.size).toBe(30_001);
      expect(again.members.get('m29999')?.email).toBe('m29999@example.com');
    });
  });
});
