import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  BagStore,
  DuplicateKeyError,
  Index,
  MemoryStoreInspectorModule,
  MemoryStoreModule,
  MemoryStoreService,
  QueryError,
  StoreValidationError,
  Store,
  Table,
} from 'nestjs-memory-store';
import { createApp, delay, failedStartUp, rejectionOf } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

/** Bag tables as a hostile user drives them: what a review found wrong, through a Nest app. */

@Table({ name: 'hostile_tags', key: 'post', type: 'bag', indexes: ['tag'] })
class Tag {
  post!: string;
  tag!: string;
  note?: string;
}

@Store({ table: Tag })
class TagStore extends BagStore<Tag> {}

@Table({ name: 'hostile_clicks', key: 'page', type: 'duplicate_bag' })
class Click {
  page!: string;
  button = 'ok';
}

@Store({ table: Click })
class ClickStore extends BagStore<Click> {}

@Table({
  name: 'hostile_versions',
  key: 'post',
  type: 'bag',
  version: 2,
  migrations: {
    2: (v1: Record<string, unknown>) => {
      if (v1.tag === 'bad') throw new Error('cannot upgrade');
      return { ...v1, tag: String(v1.tag).toUpperCase() };
    },
  },
})
class VersionedTag {
  post!: string;
  tag!: string;
}

@Store({ table: VersionedTag })
class VersionedTagStore extends BagStore<VersionedTag> {}

@Table({ name: 'hostile_badges', key: 'user', type: 'bag' })
class Badge {
  user!: string;
  @Index({ unique: true })
  badge!: string;
}

@Store({ table: Badge })
class BadgeStore extends BagStore<Badge> {}

@Module({})
class HostileBagsModule {}

describe('bag tables, hostile use', () => {
  const running: INestApplication[] = [];

  async function start(imports: DynamicModule[] = []): Promise<INestApplication> {
    const app = await createApp({
      module: HostileBagsModule,
      imports: [
        MemoryStoreModule.forRoot({ stores: [TagStore, ClickStore, VersionedTagStore] }),
        ...imports,
      ],
    });
    running.push(app);
    await app.init();
    return app;
  }

  async function startWith(options: object): Promise<INestApplication> {
    const app = await createApp(
      MemoryStoreModule.forRoot({ stores: [TagStore, ClickStore], ...options }),
    );
    running.push(app);
    await app.init();
    return app;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
  });

  it("deleting a record the store returned twice deletes one copy of a duplicate_bag's equal records", async () => {
    const clicks = (await start()).get(ClickStore);
    for (let i = 0; i < 3; i++) await clicks.write({ page: 'home' });
    const one = clicks.get('home')[0];
    await expect(clicks.delete(one)).resolves.toBe(one);
    await expect(clicks.delete(one)).resolves.toBeUndefined(); // a retry: that row is gone
    expect(clicks.get('home')).toHaveLength(2);
    expect(clicks.dirtyDelete(one)).toBeUndefined();
    expect(clicks.get('home')).toHaveLength(2);
  });

  it('deleting an older version of a record deletes that record, as on a set table', async () => {
    const clicks = (await start()).get(ClickStore);
    await clicks.write({ page: 'home' });
    await clicks.write({ page: 'home' });
    const [first, second] = clicks.get('home');
    await clicks.update({ page: 'home' }, { button: 'cancel' });
    const [updatedFirst, updatedSecond] = clicks.get('home');
    await expect(clicks.delete(first)).resolves.toBe(updatedFirst);
    expect(clicks.get('home')).toEqual([updatedSecond]);
    expect(clicks.get('home')[0]).toBe(updatedSecond);
    void second;
  });

  it('deleting a returned record twice inside one transaction deletes one', async () => {
    const app = await start();
    const clicks = app.get(ClickStore);
    await clicks.write({ page: 'p' });
    await clicks.write({ page: 'p' });
    const one = clicks.get('p')[1];
    await app.get(MemoryStoreService).transaction(async () => {
      await clicks.delete(one);
      await expect(clicks.delete(one)).resolves.toBeUndefined();
    });
    expect(clicks.get('p')).toHaveLength(1);
    expect(clicks.get('p')[0]).not.toBe(one);
  });

  it('a record the store did not return is still matched by value', async () => {
    const tags = (await start()).get(TagStore);
    await tags.write({ post: 'p', tag: 'a' });
    await tags.write({ post: 'p', tag: 'b' });
    const given = Object.assign(new Tag(), { post: 'p', tag: 'b' });
    await expect(tags.delete(given)).resolves.toEqual({ post: 'p', tag: 'b' });
    expect(tags.get('p')).toEqual([{ post: 'p', tag: 'a' }]);
  });

  it("an empty update's error names the bag's key field, never the hidden row", async () => {
    const tags = (await start()).get(TagStore);
    await tags.write({ post: 'p', tag: 'a' });
    for (const error of [
      await rejectionOf(tags.update({}, { tag: 'b' })),
      await rejectionOf(tags.update(undefined as never, { tag: 'b' })),
    ]) {
      expect(error).toBeInstanceOf(QueryError);
      expect((error as Error).message).toContain('{ post: { $exists: true } }');
      expect((error as Error).message).not.toContain('__row');
    }
    // the hint works as given
    await tags.update({ post: { $exists: true } }, { note: 'n' });
    expect(tags.get('p')).toEqual([{ post: 'p', tag: 'a', note: 'n' }]);
  });

  it('the inspector lists a bag table under its key field, not the hidden row', async () => {
    const app = await start([MemoryStoreInspectorModule.forRoot({ enabled: true })]);
    await app.get(TagStore).write({ post: 'p', tag: 'a' });
    const res = await request(app.getHttpServer()).get('/_stores/api/stores').expect(200);
    const listed = (res.body as { table: string; key: string }[]).find(
      (s) => s.table === 'hostile_tags',
    );
    expect(listed).toMatchObject({ key: 'post', records: 1 });
    expect(JSON.stringify(res.body)).not.toContain('__row');
  });

  it("a migration's failure names the bag record's key, not its hidden row", async () => {
    const app = await start();
    const dir = await mkdtemp(join(tmpdir(), 'rbags-'));
    try {
      const file = join(dir, 'v1.json');
      const records = [
        { post: 'p1', tag: 'ok' },
        { post: 'p2', tag: 'bad' },
      ];
      await writeFile(file, JSON.stringify({ table: 'hostile_versions', version: 1, records }));
      const error = await rejectionOf(
        app.get(MemoryStoreService).import(VersionedTagStore, file, 'json'),
      );
      expect((error as Error).message).toContain('migration to version 2 failed for record "p2"');
      expect(app.get(VersionedTagStore).size).toBe(0);
      await writeFile(
        file,
        JSON.stringify({ table: 'hostile_versions', version: 1, records: [records[0]] }),
      );
      await app.get(MemoryStoreService).import(VersionedTagStore, file, 'json');
      expect(app.get(VersionedTagStore).get('p1')).toEqual([{ post: 'p1', tag: 'OK' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a large batch under one key keeps one of each equal record; an update making two equal is refused', async () => {
    const tags = (await start()).get(TagStore);
    const batch = Array.from({ length: 6_000 }, (_, i) => ({ post: 'big', tag: `t${i % 1_500}` }));
    const written = await tags.writeMany(batch);
    expect(tags.get('big')).toHaveLength(1_500);
    expect(written[1_500]).toBe(written[0]); // the held record, as a single write resolves to
    await tags.write({ post: 'big', tag: 't7' }); // equal: nothing added
    await tags.write({ post: 'big', tag: 't7', note: 'n' }); // not equal: added
    expect(tags.get('big')).toHaveLength(1_501);
    const error = await rejectionOf(tags.update({ post: 'big', tag: 't8' }, { tag: 't9' }));
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(tags.get('big').filter((t) => t.tag === 't8')).toHaveLength(1);
    await tags.update({ post: 'big', tag: { $in: ['t1', 't2'] } }, { note: 'x' });
    expect(tags.select({ note: 'x' })).toHaveLength(2);
  });

  it("an update cannot move a record to another key, which the old key's listeners would miss", async () => {
    const tags = (await start()).get(TagStore);
    await tags.write({ post: 'a', tag: 'x' });
    await tags.write({ post: 'a', tag: 'y' });
    const heard: string[] = [];
    const listening = tags.changes({ key: 'a' }).subscribe((c) => heard.push(c.op));
    const before = tags.get('a');
    for (const change of [
      { post: 'b' },
      { $set: { post: 'b' } },
      (t: Tag) => ({ ...t, post: 'b' }),
    ]) {
      const error = await rejectionOf(tags.update({ post: 'a', tag: 'x' }, change));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect((error as Error).message).toContain(
        "post is the key of a 'bag' table and cannot change",
      );
    }
    expect(tags.get('a')).toEqual(before);
    expect(tags.get('b')).toEqual([]);
    // moving is a delete and a write: both keys hear of it
    const [x] = tags.get('a');
    await tags.delete(x);
    await tags.write({ ...x, post: 'b' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    listening.unsubscribe();
    expect(heard).toEqual(['delete']);
    expect(tags.get('b')).toEqual([{ post: 'b', tag: 'x' }]);
    // an update leaving the key as it is still works
    await tags.update({ post: 'a' }, { post: 'a', note: 'same key' });
    expect(tags.get('a')).toEqual([{ post: 'a', tag: 'y', note: 'same key' }]);
  });

  it('writes a large batch into a bag in slices, letting the event loop run, each equal record once', async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const clicks = app.get(ClickStore);
    await tags.write({ post: 'k0', tag: 't0' });
    const count = 30_000;
    const batch = Array.from({ length: count }, (_, i) => ({
      post: `k${i % 100}`,
      tag: `t${i % 20_000}`,
    }));
    // What other work sees of the table meanwhile: in one turn, it would go from 1 to full.
    const seen = new Set<number>();
    let watching = true;
    const watch = () => {
      seen.add(tags.size);
      if (watching) setImmediate(watch);
    };
    watch();
    const writing = tags.writeMany(batch);
    const meanwhile = tags.write({ post: 'k1', tag: 't1' }); // equal to an entry of the batch
    const written = await writing;
    await meanwhile;
    watching = false;
    expect([...seen].some((size) => size > 1 && size < 20_000)).toBe(true);
    expect(tags.size).toBe(20_000);
    expect(tags.count({ post: 'k1', tag: 't1' })).toBe(1);
    expect(written).toHaveLength(count);
    expect(written[0]).toBe(tags.get('k0')[0]); // the record held before the batch
    expect(written[20_000]).toBe(written[0]);
    expect(written[20_001]).toBe(tags.one({ tag: 't1' }));
    // a duplicate_bag keeps every one
    await clicks.writeMany(Array.from({ length: 6_000 }, (_, i) => ({ page: `p${i % 3}` })));
    expect(clicks.get('p0')).toHaveLength(2_000);
  });

  it("fails start-up for a bag table that uses the hidden row's field as its key, an index or a field", async () => {
    @Table({ name: 'hostile_row_key', key: '__row', type: 'bag' })
    class RowKey {
      __row!: string;
    }
    @Table({ name: 'hostile_row_index', key: 'post', type: 'duplicate_bag', indexes: ['__row'] })
    class RowIndex {
      post!: string;
    }
    @Table({ name: 'hostile_row_field', key: 'post', type: 'bag' })
    class RowField {
      post!: string;
      __row = 0;
    }
    for (const table of [RowKey, RowIndex, RowField]) {
      @Store({ table })
      class RowStore extends BagStore<object> {}
      const { error, app } = await failedStartUp(MemoryStoreModule.forRoot({ stores: [RowStore] }));
      if (app) running.push(app);
      expect(String(error)).toContain("'__row' holds a");
      expect(String(error)).toContain('hidden row identity');
    }
  });

  it('two instances deleting the same record of a duplicate_bag at once delete one copy', async () => {
    const prefix = freshPrefix();
    try {
      const replication = { replication: { redis: { url: REDIS_URL }, prefix } };
      const [appA, appB] = [await startWith(replication), await startWith(replication)];
      const [a, b] = [appA.get(ClickStore), appB.get(ClickStore)];
      await a.writeMany([{ page: 'home' }, { page: 'home' }, { page: 'home' }]);
      for (let i = 0; i < 300 && b.get('home').length < 3; i++) await delay(10);
      const [onA, onB] = [a.get('home')[0], b.get('home')[0]]; // one record, as each holds it
      const deleted = await Promise.all([a.delete(onA), b.delete(onB)]);
      expect(deleted.filter((d) => d !== undefined)).toHaveLength(1);
      for (let i = 0; i < 300 && (a.get('home').length !== 2 || b.get('home').length !== 2); i++)
        await delay(10);
      expect(a.get('home')).toHaveLength(2);
      expect(b.get('home')).toHaveLength(2);
      // and a retry on the other instance, once it knows, deletes nothing
      await expect(b.delete(onB)).resolves.toBeUndefined();
      expect(a.get('home')).toHaveLength(2);
    } finally {
      await dropPrefix(prefix);
    }
  });

  it("a unique index's DuplicateKeyError names the holder by its key, not its hidden row", async () => {
    const prefix = freshPrefix();
    try {
      for (const options of [{}, { replication: { redis: { url: REDIS_URL }, prefix } }]) {
        const app = await createApp(
          MemoryStoreModule.forRoot({ stores: [BadgeStore], ...options }),
        );
        running.push(app);
        await app.init();
        const badges = app.get(BadgeStore);
        await badges.write({ user: 'ada', badge: 'gold' });
        const single = await rejectionOf(badges.write({ user: 'bob', badge: 'gold' }));
        expect(single).toBeInstanceOf(DuplicateKeyError);
        expect(single).toMatchObject({ field: 'badge', value: 'gold', holder: 'ada' });
        expect((single as Error).message).toContain("(held by record 'ada')");
        const batch = await rejectionOf(
          badges.writeMany([
            { user: 'cy', badge: 'red' },
            { user: 'di', badge: 'red' },
          ]),
        );
        expect(batch).toMatchObject({ field: 'badge', value: 'red', holder: 'cy' });
        expect(badges.size).toBe(1);
        await app.close();
        running.pop();
      }
    } finally {
      await dropPrefix(prefix);
    }
  });

  it('a record read before a backup is restored still names its record: delete(record) deletes it', async () => {
    const app = await start();
    const clicks = app.get(ClickStore);
    const memory = app.get(MemoryStoreService);
    await clicks.writeMany([{ page: 'home' }, { page: 'home', button: 'x' }, { page: 'home' }]);
    const held = clicks.get('home')[1];
    const dir = await mkdtemp(join(tmpdir(), 'rbags-'));
    try {
      await memory.backup(join(dir, 'all.backup'));
      await clicks.update({ page: 'home', button: 'x' }, { button: 'changed' });
      await clicks.write({ page: 'home' });
      await memory.restore(join(dir, 'all.backup'));
      expect(clicks.get('home').map((c) => c.button)).toEqual(['ok', 'x', 'ok']);
      await expect(clicks.delete(held)).resolves.toEqual({ page: 'home', button: 'x' });
      expect(clicks.get('home').map((c) => c.button)).toEqual(['ok', 'ok']);
      // rows made after the restore are new ones
      await clicks.write({ page: 'home', button: 'new' });
      expect(clicks.get('home').map((c) => c.button)).toEqual(['ok', 'ok', 'new']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
