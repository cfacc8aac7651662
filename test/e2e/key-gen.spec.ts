import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
  type StoreChange,
} from 'nestjs-memory-store';
import { createApp, delay, thrownBy } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

@Table({ name: 'notes', keyGen: 'uuid' })
class Note {
  id!: string;
  text = '';
}

@Store({ table: Note })
class NotesStore extends MemoryStore<Note> {}

describe("@Table({ keyGen: 'uuid' })", () => {
  const running: INestApplication[] = [];
  const dirs: string[] = [];
  const prefix = freshPrefix();

  async function start(options: object = {}): Promise<INestApplication> {
    const app = await createApp(MemoryStoreModule.forRoot({ stores: [NotesStore], ...options }));
    running.push(app);
    await app.init();
    return app;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
  });

  afterAll(async () => {
    await dropPrefix(prefix);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('gives a record without a key a random UUID, and keeps a key that is given', async () => {
    const notes = (await start()).get(NotesStore);
    const seen: StoreChange<Note>[] = [];
    const subscription = notes.changes().subscribe((change) => seen.push(change));
    const first = await notes.write({ text: 'one' });
    const second = await notes.insert({ text: 'two' });
    const [third] = await notes.writeMany([{ text: 'three' }]);
    const given = await notes.write({ id: 'mine', text: 'four' });
    for (let i = 0; i < 100 && seen.length < 4; i++) await delay(5); // delivered after commit
    subscription.unsubscribe();
    for (const note of [first, second, third]) expect(note.id).toMatch(UUID);
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    expect(given.id).toBe('mine');
    expect(notes.get(first.id)).toBe(first);
    expect(notes.keys()).toEqual([first.id, second.id, third.id, 'mine']);
    // the change carries the generated key
    expect(seen.map((change) => change.key)).toEqual([first.id, second.id, third.id, 'mine']);
  });

  it('makes the key once, in a transaction too: the committed record is the one returned', async () => {
    const app = await start();
    const notes = app.get(NotesStore);
    const memory = app.get(MemoryStoreService);
    const written = await memory.transaction(async () => {
      const note = await notes.write({ text: 'in a transaction' });
      expect(notes.get(note.id)).toBe(note); // the transaction sees its own write
      return note;
    });
    expect(written.id).toMatch(UUID);
    expect(notes.get(written.id)).toEqual(written);
    expect(notes.size).toBe(1);
  });

  it('persists the generated key: the record comes back under it after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'newcomer-keygen-'));
    dirs.push(dir);
    const persistence = { persistence: { dir, fsync: 'always' } };
    const first = await start(persistence);
    const note = await first.get(NotesStore).write({ text: 'kept' });
    await first.close();
    running.splice(running.indexOf(first), 1);
    const again = (await start(persistence)).get(NotesStore);
    expect(again.keys()).toEqual([note.id]);
    expect(again.get(note.id)).toEqual(note);
  });

  it('replicates the generated key: every instance holds the record under the same key', async () => {
    const replication = { replication: { redis: { url: REDIS_URL }, prefix } };
    const a = (await start(replication)).get(NotesStore);
    const b = (await start(replication)).get(NotesStore);
    const note = await a.write({ text: 'shared' });
    expect(note.id).toMatch(UUID);
    for (let i = 0; i < 200 && !b.get(note.id); i++) await delay(10);
    expect(b.get(note.id)).toEqual(note);
    expect(a.keys()).toEqual([note.id]);
    expect(b.keys()).toEqual([note.id]);
  });

  it("refuses a keyGen other than 'uuid', and keyGen with autoIncrement", () => {
    class Bad {
      id!: string;
    }
    const other = thrownBy(() => Table({ keyGen: 'ulid' as 'uuid' })(Bad));
    expect(other).toBeInstanceOf(MemoryStoreError);
    expect((other as Error).message).toBe("@Table() on Bad: 'keyGen' must be 'uuid'");
    const both = thrownBy(() => Table({ keyGen: 'uuid', autoIncrement: true })(Bad));
    expect((both as Error).message).toBe(
      "@Table() on Bad: 'keyGen' and 'autoIncrement' both make keys: choose one",
    );
  });
});
