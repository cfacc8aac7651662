import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BagStore,
  DuplicateKeyError,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  memoryStoreKeyv,
  RecordNotFoundError,
  Store,
  StoreInitializationError,
  Table,
  type StoreChange,
} from 'nestjs-memory-store';
import { createApp, delay, failedStartUp, rejectionOf } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

@Table({ name: 'tags', key: 'post', type: 'bag', indexes: ['tag'] })
class Tag {
  post!: string;
  tag!: string;
  weight = 1;
}

@Store({ table: Tag })
class TagStore extends BagStore<Tag> {}

@Table({ name: 'clicks', key: 'page', type: 'duplicate_bag' })
class Click {
  page!: string;
  button = 'ok';
}

@Store({ table: Click })
class ClickStore extends BagStore<Click> {}

@Store({ table: Tag })
class WrongTagStore extends MemoryStore<Tag> {}

@Table({ name: 'plain_things' })
class Thing {
  id!: string;
}

@Store({ table: Thing })
class WrongThingStore extends BagStore<Thing> {}

describe("bag tables: @Table({ type: 'bag' | 'duplicate_bag' }) and BagStore", () => {
  const running: INestApplication[] = [];
  const dirs: string[] = [];
  const prefix = freshPrefix();

  async function start(options: object = {}): Promise<INestApplication> {
    const app = await createApp(
      MemoryStoreModule.forRoot({ stores: [TagStore, ClickStore], ...options }),
    );
    running.push(app);
    await app.init();
    return app;
  }

  afterEach(async () => {
    jest.useRealTimers();
    while (running.length > 0) await running.pop()!.close();
  });

  afterAll(async () => {
    await dropPrefix(prefix);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('keeps many records per key; a bag ignores a record equal to one its key holds', async () => {
    const tags = (await start()).get(TagStore);
    const nest = await tags.write({ post: 'p1', tag: 'nest' });
    const ets = await tags.write({ post: 'p1', tag: 'ets' });
    await tags.write({ post: 'p2', tag: 'nest' });
    const again = await tags.write({ post: 'p1', tag: 'nest' });
    expect(again).toBe(nest); // the held record: nothing changed
    const p1: Tag[] = tags.get('p1'); // typed as an array by BagStore
    expect(p1).toEqual([nest, ets]);
    expect(p1[0]).toBeInstanceOf(Tag);
    expect(tags.get('none')).toEqual([]);
    expect(tags.size).toBe(3);
    expect(tags.keys()).toEqual(['p1', 'p2']);
    expect(tags.exists('p1')).toBe(true);
    expect(tags.exists('none')).toBe(false);
    expect(tags.getOrThrow('p2')).toHaveLength(1);
    expect(() => tags.getOrThrow('none')).toThrow(RecordNotFoundError);
    // a record's fields are the caller's: the row identity is hidden
    expect(Object.keys(nest).sort()).toEqual(['post', 'tag', 'weight']);
    expect(JSON.parse(JSON.stringify(nest))).toEqual({ post: 'p1', tag: 'nest', weight: 1 });
    // a record differing in any field is another record
    await tags.write({ post: 'p1', tag: 'nest', weight: 2 });
    expect(tags.get('p1')).toHaveLength(3);
  });

  it('a duplicate_bag keeps equal records; insert refuses a key that holds any', async () => {
    const clicks = (await start()).get(ClickStore);
    const a = await clicks.write({ page: 'home' });
    const b = await clicks.write({ page: 'home' });
    expect(a).not.toBe(b);
    expect(clicks.get('home')).toEqual([a, b]);
    expect(await rejectionOf(clicks.insert({ page: 'home' }))).toBeInstanceOf(DuplicateKeyError);
    await clicks.insert({ page: 'about' });
    expect(clicks.get('about')).toHaveLength(1);
    // writeMany: in order, equal ones too
    await clicks.writeMany([{ page: 'x' }, { page: 'x' }, { page: 'x', button: 'no' }]);
    expect(clicks.get('x').map((c) => c.button)).toEqual(['ok', 'ok', 'no']);
  });

  it('deletes a key (all its records), one record, or what a query matches', async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const clicks = app.get(ClickStore);
    await tags.writeMany([
      { post: 'p1', tag: 'a' },
      { post: 'p1', tag: 'b' },
      { post: 'p1', tag: 'c' },
      { post: 'p2', tag: 'a' },
    ]);
    const [, b] = tags.get('p1');
    expect(await tags.delete(b)).toBe(b);
    expect(tags.get('p1').map((t) => t.tag)).toEqual(['a', 'c']);
    // a record equal to a held one (not the held object) deletes that one
    const equal = Object.assign(new Tag(), { post: 'p1', tag: 'a' });
    expect((await tags.delete(equal))?.tag).toBe('a');
    expect(await tags.delete(equal)).toBeUndefined();
    const removed = await tags.delete('p1');
    expect(removed.map((t) => t.tag)).toEqual(['c']);
    expect(tags.get('p1')).toEqual([]);
    expect(await tags.delete('p1')).toEqual([]);
    expect(await tags.delete({ tag: 'a' })).toHaveLength(1);
    expect(tags.size).toBe(0);
    // in a duplicate_bag, deleting a record removes that one of the equal ones
    const first = await clicks.write({ page: 'home' });
    const second = await clicks.write({ page: 'home' });
    expect(await clicks.delete(second)).toBe(second);
    expect(clicks.get('home')).toEqual([first]);
    expect(clicks.dirtyDelete('home')).toEqual([first]);
  });

  it('answers queries and counts through its indexes, and updates by query', async () => {
    const tags = (await start()).get(TagStore);
    await tags.writeMany([
      { post: 'p1', tag: 'nest' },
      { post: 'p1', tag: 'ets' },
      { post: 'p2', tag: 'nest' },
    ]);
    expect(tags.select({ tag: 'nest' }).map((t) => t.post)).toEqual(['p1', 'p2']);
    expect(tags.count({ post: 'p1' })).toBe(2);
    expect(tags.explain({ post: 'p1' })).toMatchObject({ strategy: 'index lookup', field: 'post' });
    expect(tags.explain({ tag: 'ets' })).toMatchObject({ strategy: 'index lookup', field: 'tag' });
    expect(tags.one({ tag: 'ets' })?.post).toBe('p1');
    const updated = await tags.update({ post: 'p2' }, { weight: 5 });
    expect(updated.map((t) => t.weight)).toEqual([5]);
    // an update that makes two records of a key equal is refused, nothing changed
    expect(
      await rejectionOf(tags.update({ post: 'p1', tag: 'ets' }, { tag: 'nest' })),
    ).toBeInstanceOf(DuplicateKeyError);
    expect(tags.get('p1').map((t) => t.tag)).toEqual(['nest', 'ets']);
    // a key names several records: update takes a query
    expect(await rejectionOf(tags.update('p1' as never, { weight: 2 }))).toBeInstanceOf(
      MemoryStoreError,
    );
    expect(() => tags.get({ tag: 'x' } as never)).toThrow(MemoryStoreError);
  });

  it("joins a bag by its key: a record's related records are the key's", async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const clicks = app.get(ClickStore);
    await tags.writeMany([
      { post: 'home', tag: 'a' },
      { post: 'home', tag: 'b' },
      { post: 'about', tag: 'c' },
    ]);
    await clicks.writeMany([{ page: 'home' }, { page: 'about' }, { page: 'none' }]);
    const joined = clicks.select(
      {},
      { join: { tags: { store: TagStore, on: 'page', many: true } } },
    );
    expect(joined.map((c) => [c.page, c.tags.map((t) => t.tag)])).toEqual([
      ['home', ['a', 'b']],
      ['about', ['c']],
      ['none', []],
    ]);
    const explained = clicks.explain({}, { join: { tags: { store: TagStore, on: 'page' } } });
    expect(explained.joins?.tags).toMatchObject({ field: 'post', strategy: 'index lookup' });
  });

  it('refuses to back a cache (one value per key) with a bag', async () => {
    const tags = (await start()).get(TagStore);
    const cache = memoryStoreKeyv(tags as never);
    const error = await rejectionOf(cache.get('p1'));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/'tags' is a bag/);
  });

  it('gives each record its own time to live', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate'] });
    const tags = (await start()).get(TagStore);
    const short = await tags.write({ post: 'p1', tag: 'short' }, { ttl: 1_000 });
    const long = await tags.write({ post: 'p1', tag: 'long' }, { ttl: 5_000 });
    expect(tags.ttl(short)).toBeLessThanOrEqual(1_000);
    expect(tags.ttl('p1')).toBeGreaterThan(4_000); // until its last record expires
    jest.advanceTimersByTime(2_000);
    expect(tags.get('p1')).toEqual([long]);
    jest.advanceTimersByTime(4_000);
    expect(tags.get('p1')).toEqual([]);
    expect(tags.size).toBe(0);
  });

  it('publishes changes under the record key', async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const seen: StoreChange<Tag>[] = [];
    const subscription = tags.changes().subscribe((change) => seen.push(change));
    await tags.write({ post: 'p1', tag: 'a' });
    await tags.write({ post: 'p1', tag: 'a' }); // a no-op: no change
    await tags.write({ post: 'p1', tag: 'b' });
    await tags.delete('p1');
    for (let i = 0; i < 100 && seen.length < 4; i++) await delay(5);
    subscription.unsubscribe();
    expect(seen.map((c) => [c.op, c.key, (c.record ?? c.previous)?.tag])).toEqual([
      ['insert', 'p1', 'a'],
      ['insert', 'p1', 'b'],
      ['delete', 'p1', 'a'],
      ['delete', 'p1', 'b'],
    ]);
  });

  it('works in transactions: their own records visible, rolled back on a throw', async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const memory = app.get(MemoryStoreService);
    await tags.write({ post: 'p1', tag: 'a' });
    await memory.transaction(async () => {
      await tags.write({ post: 'p1', tag: 'b' });
      await tags.write({ post: 'p1', tag: 'b' }); // equal to its own staged record: ignored
      expect(tags.get('p1').map((t) => t.tag)).toEqual(['a', 'b']);
      expect(tags.get('p1')).toHaveLength(2);
      await tags.delete(tags.get('p1')[0]);
      expect(tags.get('p1').map((t) => t.tag)).toEqual(['b']);
    });
    expect(tags.get('p1').map((t) => t.tag)).toEqual(['b']);
    await expect(
      memory.transaction(async () => {
        await tags.delete('p1');
        await tags.write({ post: 'p9', tag: 'z' });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(tags.get('p1').map((t) => t.tag)).toEqual(['b']);
    expect(tags.get('p9')).toEqual([]);
  });

  it('recovers the bag exactly after a restart, and goes on adding rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bags-'));
    dirs.push(dir);
    const persistence = { dir, fsync: 'always' };
    let app = await start({ persistence });
    let tags = app.get(TagStore);
    let clicks = app.get(ClickStore);
    await tags.writeMany([
      { post: 'p1', tag: 'a' },
      { post: 'p1', tag: 'b' },
      { post: 'p2', tag: 'a' },
    ]);
    await tags.delete(tags.get('p1')[0]);
    await clicks.writeMany([{ page: 'h' }, { page: 'h' }, { page: 'h' }]);
    await clicks.delete(clicks.get('h')[1]);
    await tags.write({ post: 'p3', tag: 'soon' }, { ttl: 60_000 });
    const before = { tags: tags.all().map((t) => ({ ...t })), clicks: clicks.all().length };
    await app.close();
    running.pop();

    app = await start({ persistence });
    tags = app.get(TagStore);
    clicks = app.get(ClickStore);
    expect(tags.all().map((t) => ({ ...t }))).toEqual(before.tags);
    expect(clicks.get('h')).toHaveLength(before.clicks);
    expect(tags.ttl('p3')).toBeGreaterThan(50_000);
    // new rows do not reuse recovered ones
    await clicks.write({ page: 'h' });
    await tags.write({ post: 'p1', tag: 'c' });
    expect(clicks.get('h')).toHaveLength(3);
    expect(tags.get('p1').map((t) => t.tag)).toEqual(['b', 'c']);
    await app.close();
    running.pop();

    // a third start, after rows were added to the recovered ones: the same again
    app = await start({ persistence });
    expect(app.get(ClickStore).get('h')).toHaveLength(3);
    expect(
      app
        .get(TagStore)
        .get('p1')
        .map((t) => t.tag),
    ).toEqual(['b', 'c']);
  });

  it('fails start-up, naming the store, for a store class that does not fit its table', async () => {
    const wrongBag = await failedStartUp(MemoryStoreModule.forRoot({ stores: [WrongTagStore] }));
    expect(wrongBag.error).toBeInstanceOf(StoreInitializationError);
    expect((wrongBag.error as Error).message).toMatch(/WrongTagStore.*'bag'.*BagStore<Tag>/);
    const wrongSet = await failedStartUp(MemoryStoreModule.forRoot({ stores: [WrongThingStore] }));
    expect(wrongSet.error).toBeInstanceOf(StoreInitializationError);
  });

  it('replicates bags: every instance holds the same records, a bag one of equal ones', async () => {
    const replication = { replication: { redis: { url: REDIS_URL }, prefix } };
    const appA = await start(replication);
    const appB = await start(replication);
    const [a, b] = [appA.get(TagStore), appB.get(TagStore)];
    const [clicksA, clicksB] = [appA.get(ClickStore), appB.get(ClickStore)];
    const seen: StoreChange<Tag>[] = [];
    const subscription = b.changes().subscribe((change) => seen.push(change));
    const settled = async (check: () => boolean) => {
      for (let i = 0; i < 300 && !check(); i++) await delay(10);
      expect(check()).toBe(true);
    };
    const tagsOf = (store: TagStore) => store.get('p1').map((t) => t.tag);

    await a.write({ post: 'p1', tag: 'a' });
    await b.write({ post: 'p1', tag: 'b' });
    await settled(() => a.get('p1').length === 2 && b.get('p1').length === 2);
    expect(tagsOf(a)).toEqual(tagsOf(b));
    // the same record written on both at once: one of them in a bag
    await Promise.all([a.write({ post: 'p1', tag: 'c' }), b.write({ post: 'p1', tag: 'c' })]);
    await settled(() => a.get('p1').length === 3 && b.get('p1').length === 3);
    expect(a.count({ tag: 'c' })).toBe(1);
    expect(b.count({ tag: 'c' })).toBe(1);
    // a duplicate_bag keeps both
    await Promise.all([clicksA.write({ page: 'home' }), clicksB.write({ page: 'home' })]);
    await settled(() => clicksA.get('home').length === 2 && clicksB.get('home').length === 2);

    // one record deleted on one instance is gone on the other; then the whole key
    await b.delete(b.get('p1').find((t) => t.tag === 'a')!);
    await settled(() => a.get('p1').length === 2);
    expect(tagsOf(a).sort()).toEqual(['b', 'c']);
    // an instance that starts later loads the same bag
    const late = (await start(replication)).get(TagStore);
    expect(tagsOf(late).sort()).toEqual(['b', 'c']);
    await late.write({ post: 'p1', tag: 'd' });
    await settled(() => a.get('p1').length === 3 && b.get('p1').length === 3);
    await a.delete('p1');
    await settled(() => b.get('p1').length === 0 && late.get('p1').length === 0);
    await settled(() => seen.filter((c) => c.op === 'delete').length === 4); // after commit
    subscription.unsubscribe();
    // changes reach the other instance under the record key
    expect(new Set(seen.map((c) => c.key))).toEqual(new Set(['p1']));
    expect(
      seen
        .filter((c) => c.op === 'delete')
        .map((c) => c.previous?.tag)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
  });

  it("gives a bare bag table in forFeature a BagStore, and refuses what a bag's key cannot do", () => {
    expect(() => Table({ type: 'bag', autoIncrement: true })(class AutoBag {})).toThrow(
      /autoIncrement.*'bag'/,
    );
    expect(() => Table({ type: 'heap' as never })(class Heap {})).toThrow(/'type' must be/);
  });
});
