import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { StoreChange } from 'nestjs-memory-store';
import { createApp, delay } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { freePort, RedisServer } from './fixtures/redis-server.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';
import {
  type Account,
  AccountsStore,
  OrdersStore,
  ReplicationAppModule,
} from './fixtures/replication-app.module.js';

/**
 * Redis losing data it acknowledged (FLUSHALL, a restart with an empty or older data set):
 * every instance must notice, reload from Redis reporting the differences as changes, and
 * end with exactly what Redis holds; an awaited write must then be readable.
 */
describe('replication when Redis loses data', () => {
  const running: INestApplication[] = [];
  const servers: RedisServer[] = [];
  let prefix: string;

  async function server(persist: boolean): Promise<RedisServer> {
    const started = await RedisServer.start({ persist });
    servers.push(started);
    return started;
  }

  async function start(redis: { url: string }, instanceId: string) {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, redis: redis.url }),
    );
    running.push(app);
    await app.init();
    const accounts = app.get(AccountsStore);
    const heard: StoreChange<Account>[] = [];
    accounts.changes().subscribe((change) => heard.push(change));
    return { app, accounts, orders: app.get(OrdersStore), heard };
  }

  /** The account keys Redis holds. */
  async function keysIn(redis: RedisServer): Promise<string[]> {
    const client = new Redis(redis.url);
    try {
      const keys = await client.hkeys(`{${prefix}}:t:accounts:rows`);
      return keys.map((k) => JSON.parse(k) as string).sort();
    } finally {
      client.disconnect();
    }
  }

  async function command(redis: RedisServer, ...args: string[]): Promise<unknown> {
    const client = new Redis(redis.url);
    try {
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }

  beforeAll(() => {
    prefix = freshPrefix();
  });

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (servers.length > 0) await servers.pop()!.stop();
    prefix = freshPrefix();
  });

  afterAll(async () => {
    while (servers.length > 0) await servers.pop()!.stop();
  });

  const keysOf = (store: AccountsStore) =>
    store
      .all()
      .map((a) => a.id)
      .sort();

  it('after FLUSHALL without a disconnect, an awaited write is readable and every instance holds what Redis holds', async () => {
    const redis = await server(true);
    const a = await start(redis, 'A');
    const b = await start(redis, 'B');
    for (let i = 0; i < 50; i++) await a.accounts.write({ id: `old${i}`, owner: 'x', balance: i });
    await until(() => b.accounts.size === 50);

    await command(redis, 'FLUSHALL');
    await a.accounts.write({ id: 'new0', owner: 'y', balance: 1 });
    expect(a.accounts.get('new0')).toMatchObject({ id: 'new0', balance: 1 });
    for (let i = 1; i < 10; i++) await a.accounts.write({ id: `new${i}`, owner: 'y', balance: 1 });

    const inRedis = await keysIn(redis);
    expect(inRedis).toHaveLength(10);
    expect(keysOf(a.accounts)).toEqual(inRedis);
    await until(() => JSON.stringify(keysOf(b.accounts)) === JSON.stringify(inRedis));
    // the records Redis lost were reported as deleted on both
    for (const instance of [a, b]) {
      const deleted = new Set(instance.heard.filter((c) => c.op === 'delete').map((c) => c.key));
      expect(deleted.size).toBe(50);
    }
    expect(a.accounts.replication?.state).toBe('ready');
    expect(b.accounts.replication?.state).toBe('ready');
  });

  it('an instance that only reads notices a FLUSHALL nobody writes after, and reloads', async () => {
    const redis = await server(true);
    const a = await start(redis, 'A');
    const b = await start(redis, 'B');
    for (let i = 0; i < 20; i++) await a.accounts.write({ id: `old${i}`, owner: 'x', balance: i });
    await until(() => b.accounts.size === 20);
    await command(redis, 'FLUSHALL');
    await until(() => a.accounts.size === 0 && b.accounts.size === 0);
  });

  it('after a restart with an empty data set, instances converge to what Redis holds, counters included', async () => {
    const redis = await server(false);
    const a = await start(redis, 'A');
    const b = await start(redis, 'B');
    for (let i = 0; i < 30; i++) await a.accounts.write({ id: `old${i}`, owner: 'x', balance: i });
    const before = await a.orders.nextId('n');
    await until(() => b.accounts.size === 30);

    await redis.kill();
    await redis.restart();
    await until(() => a.accounts.replication?.state === 'ready');
    await until(() => b.accounts.replication?.state === 'ready');
    for (let i = 0; i < 5; i++) await a.accounts.write({ id: `new${i}`, owner: 'y', balance: 1 });

    const inRedis = await keysIn(redis);
    expect(inRedis).toEqual(['new0', 'new1', 'new2', 'new3', 'new4']);
    expect(keysOf(a.accounts)).toEqual(inRedis);
    await until(() => JSON.stringify(keysOf(b.accounts)) === JSON.stringify(inRedis));
    // Redis's counter restarted too: the instances hold its value, not the lost one
    expect(before).toBe(1);
    expect(a.orders.counter('n')).toBe(0);
    expect(b.orders.counter('n')).toBe(0);
  });

  it('after a restart with an older data set, written past the number it had reached while one instance was cut off, instances converge to Redis', async () => {
    const redis = await server(true);
    const proxy = await TcpProxy.start(await freePort(), redis.port);
    const saved = await mkdtemp(join(tmpdir(), 'nms-aof-'));
    try {
      const a = await start(redis, 'A');
      const b = await start(proxy, 'B');
      for (let i = 0; i < 10; i++)
        await a.accounts.write({ id: `early${i}`, owner: 'x', balance: i });
      await until(() => b.accounts.size === 10);
      await cp(redis.dir, saved, { recursive: true }); // nothing writes meanwhile
      for (let i = 0; i < 10; i++)
        await a.accounts.write({ id: `late${i}`, owner: 'x', balance: i });
      await until(() => b.accounts.size === 20);

      // B is cut off; Redis comes back with the older data set (its epoch included)
      await proxy.cut();
      await redis.kill();
      await rm(redis.dir, { recursive: true, force: true });
      await cp(saved, redis.dir, { recursive: true });
      await redis.restart();
      await until(() => a.accounts.replication?.state === 'ready');
      // A writes past the change number both had applied: same numbers, other changes
      for (let i = 0; i < 15; i++)
        await a.accounts.write({ id: `other${i}`, owner: 'y', balance: i });
      // then B is back
      await proxy.restore();
      await until(() => b.accounts.replication?.state === 'ready');

      const inRedis = await keysIn(redis);
      expect(inRedis).toHaveLength(25);
      expect(inRedis.some((k) => k.startsWith('late'))).toBe(false);
      expect(keysOf(a.accounts)).toEqual(inRedis);
      await until(() => JSON.stringify(keysOf(b.accounts)) === JSON.stringify(inRedis));
      const deleted = new Set(b.heard.filter((c) => c.op === 'delete').map((c) => c.key));
      expect([...deleted].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `late${i}`).sort());
    } finally {
      await proxy.cut();
      await rm(saved, { recursive: true, force: true });
    }
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(10);
  }
}
