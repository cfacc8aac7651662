import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import request from 'supertest';
import { createApp, fakeDateOnly } from './fixtures/app.factory.js';
import { CacheAppModule, CacheStore, PRICES } from './fixtures/cache-app.module.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

describe('@nestjs/cache-manager on a store (memoryStoreKeyv)', () => {
  const apps: INestApplication[] = [];

  async function start(fixture: DynamicModule): Promise<INestApplication> {
    const app = await createApp(fixture);
    apps.push(app);
    await app.init();
    return app;
  }

  beforeEach(() => {
    fakeDateOnly(T0);
    PRICES.computed = 0;
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    jest.useRealTimers();
  });

  const price = (app: INestApplication, item: string) =>
    request(app.getHttpServer() as Parameters<typeof request>[0])
      .get(`/prices/${item}`)
      .expect(200);

  it.each([
    [
      'register({ stores: [memoryStoreKeyv(CacheStore)] })',
      () => CacheAppModule.withCacheManager(),
    ],
    [
      'registerAsync({ inject: [CacheStore], useFactory })',
      () => CacheAppModule.withCacheManagerAsync(),
    ],
  ])(
    '%s: CacheInterceptor serves the second request from the table, until its TTL passes',
    async (_, fixture) => {
      const app = await start(fixture());
      const first = await price(app, 'apple');
      const second = await price(app, 'apple');
      expect(first.body).toEqual({ item: 'apple', price: 500, computed: 1 });
      expect(second.body).toEqual(first.body);
      expect(PRICES.computed).toBe(1);

      const cache = app.get(CacheStore);
      expect(cache.size).toBe(1);
      const [entry] = cache.all();
      expect(entry.key).toMatch(/\/prices\/apple$/);
      expect(cache.ttl(entry.key)).toBe(60_000); // @CacheTTL(60_000), as the table's deadline

      jest.setSystemTime(T0 + 60_000);
      expect((await price(app, 'apple')).body).toMatchObject({ computed: 2 });
      expect(PRICES.computed).toBe(2);
    },
  );

  it("the cache manager's get/set/del/clear work on the table", async () => {
    const app = await start(CacheAppModule.withCacheManager({ ttl: { resolution: 0 } }));
    const cache = app.get<Cache>(CACHE_MANAGER);
    const store = app.get(CacheStore);
    await cache.set('greeting', { text: 'hello', at: [1, 2] }, 5_000);
    expect(await cache.get('greeting')).toEqual({ text: 'hello', at: [1, 2] });
    expect(store.size).toBe(1);
    expect(store.ttl(store.keys()[0])).toBe(5_000);
    await cache.set('forever', 'yes');
    expect(store.ttl(store.keys()[1])).toBeUndefined();
    jest.setSystemTime(T0 + 5_001);
    expect(await cache.get('greeting')).toBeUndefined();
    await cache.del('forever');
    expect(store.size).toBe(0);
    await cache.set('a', 1);
    await cache.clear();
    expect(store.size).toBe(0);
  });

  it('CacheModule uses the Keyv as it is: values are stored as they are, not JSON strings, and ttl() reads the deadline', async () => {
    const app = await start(CacheAppModule.withCacheManager({ ttl: { resolution: 0 } }));
    const cache = app.get<Cache>(CACHE_MANAGER);
    const store = app.get(CacheStore);
    const sets: unknown[] = [];
    const [keyv] = cache.stores;
    keyv.hooks.addHandler('postSet', (data: unknown) => sets.push(data));
    await cache.set('greeting', { text: 'hello', at: new Date(T0) }, 5_000);
    const record = store.get('greeting');
    expect(record?.value).toEqual({ text: 'hello', at: new Date(T0) }); // no '{"value":…}' string
    expect(Object.isFrozen(record?.value)).toBe(true);
    expect(await cache.get('greeting')).toBe(record?.value);
    expect(await cache.ttl('greeting')).toBe(T0 + 5_000);
    expect(await cache.mget(['greeting', 'nothing'])).toEqual([record?.value, undefined]);
    expect(sets).toEqual([
      { key: 'greeting', value: { text: 'hello', at: new Date(T0) }, ttl: 5_000 },
    ]);
    await expect(cache.set('bad', new Map())).rejects.toThrow(/Map/);
    expect(store.exists('bad')).toBe(false);
  });

  it('an entry set with an infinite TTL never expires, as in the default store', async () => {
    const app = await start(CacheAppModule.withCacheManager({ ttl: { resolution: 0 } }));
    const cache = app.get<Cache>(CACHE_MANAGER);
    const store = app.get(CacheStore);
    await cache.set('forever', 'yes', Infinity);
    expect(store.size).toBe(1);
    expect(store.ttl(store.keys()[0])).toBeUndefined();
    jest.setSystemTime(T0 + 365 * 86_400_000);
    expect(await cache.get('forever')).toBe('yes');
  });

  it('a persisted cache store keeps its entries, with their TTL, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cache-manager-'));
    try {
      const persisted = () =>
        CacheAppModule.withCacheManager({ persistence: { dir, fsync: 'always' } });
      let app = await start(persisted());
      await price(app, 'pear');
      await app.get(CacheStore).write({ key: 'marker', value: 'x' }); // durable from here
      await apps.pop()!.close();

      app = await start(persisted());
      expect((await price(app, 'pear')).body).toMatchObject({ computed: 1 });
      expect(PRICES.computed).toBe(1);
      jest.setSystemTime(T0 + 60_000);
      expect((await price(app, 'pear')).body).toMatchObject({ computed: 2 });
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a replicated cache store serves, on another instance, what one instance cached', async () => {
    jest.useRealTimers(); // Redis decides deadlines on its own clock
    const prefix = freshPrefix();
    try {
      const options = { replication: { redis: REDIS_URL, prefix } };
      // two instances in one process: each builds its adapter from its own store
      const one = await start(CacheAppModule.withCacheManagerAsync(options));
      const two = await start(CacheAppModule.withCacheManagerAsync(options));
      const first = await price(one, 'plum');
      const store = two.get(CacheStore);
      for (let i = 0; i < 100 && store.size === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await price(two, 'plum')).body).toEqual(first.body);
      expect(PRICES.computed).toBe(1);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await dropPrefix(prefix);
    }
  });
});
