import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { createApp, until } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { RedisServer } from './fixtures/redis-server.js';
import {
  accountRecords as accounts,
  AccountsStore,
  ReplicationAppModule,
  sortedAccounts as sorted,
} from './fixtures/replication-app.module.js';

/**
 * A replicated table of 1,000 records or more is kept in Redis as a compacted snapshot too
 * (written by an instance, a few strings), from which a new instance loads: then it replays
 * only the log's changes after it, and Redis copies strings instead of running a script per
 * part. A snapshot of another data set, or one the log no longer follows, is never used.
 */
describe('a new instance loading from a compacted snapshot kept in Redis', () => {
  const running: INestApplication[] = [];
  const servers: RedisServer[] = [];
  const prefix = freshPrefix();
  const meta = `{${prefix}}:t:accounts:snap`;

  async function start(redis: RedisServer, instanceId: string): Promise<AccountsStore> {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, redis: redis.url }),
    );
    running.push(app);
    await app.init();
    return app.get(AccountsStore);
  }

  async function server(): Promise<{ redis: RedisServer; client: Redis }> {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const client = new Redis(redis.url);
    clients.push(client);
    return { redis, client };
  }
  const clients: Redis[] = [];

  /** Resolves once a snapshot covering the whole log is published. */
  async function published(client: Redis): Promise<string> {
    await until(
      async () => (await client.hget(meta, 'seq')) === (await client.get(`{${prefix}}:seq`)),
    );
    return (await client.hget(meta, 'seq'))!;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (clients.length > 0) clients.pop()!.disconnect();
    while (servers.length > 0) await servers.pop()!.stop();
  });

  it('loads every record from the snapshot once the log is quiet, without the rows Redis keeps for parts', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 3000; i += 500) await a.writeMany(accounts(i, 500));
    await published(client);
    // what a load by parts reads is gone: only the snapshot can give B its records
    await client.del(`{${prefix}}:t:accounts:rows`);

    const b = await start(redis, 'B');
    expect(b.size).toBe(3000);
    expect(sorted(b)).toEqual(sorted(a));
    expect(b.one({ number: 'n-2999' })?.id).toBe('n2999');
  });

  it('replays the changes made after the snapshot, and follows the log from there', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const at = Number(await published(client));
    await a.write({ id: 'n5', number: 'moved', balance: 0 });
    await a.delete('n6');
    await a.write({ id: 'late', number: 'n-6', balance: 1 }); // the deleted record's unique value
    expect(Number(await client.hget(meta, 'seq'))).toBe(at);

    const b = await start(redis, 'B');
    expect(sorted(b)).toEqual(sorted(a));
    expect(b.one({ number: 'n-6' })?.id).toBe('late');
    await a.write({ id: 'n7', number: 'n-7', balance: 77 });
    await until(() => b.get('n7')?.balance === 77);
  });

  it('never loads the snapshot of a data set Redis lost (FLUSHALL), even when its keys come back', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500, 'old'));
    await published(client);
    const kept: [string, Buffer][] = [];
    for (const key of await client.keys(`${meta}*`)) kept.push([key, await client.dumpBuffer(key)]);

    await client.flushall();
    await until(() => a.size === 0); // A noticed the loss and reloaded (empty)
    await a.writeMany(accounts(0, 1200, 'new'));
    // the old data set's snapshot comes back (a restore of old keys, a stale replica's)
    for (const [key, dump] of kept) await client.restore(key, 0, dump, 'REPLACE');

    const b = await start(redis, 'B');
    expect(b.size).toBe(1200);
    expect(sorted(b)).toEqual(sorted(a));
    expect(b.get('old0')).toBeUndefined();
  });

  it('loads by parts when the log no longer holds the changes after the snapshot (trimmed)', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    await published(client);
    await client.xtrim(`{${prefix}}:log`, 'MAXLEN', 0);
    for (let i = 0; i < 5; i++) await a.write({ id: `n${i}`, number: `t${i}`, balance: 5 });
    await a.delete('n10');

    const b = await start(redis, 'B');
    expect(sorted(b)).toEqual(sorted(a));
    expect(b.get('n10')).toBeUndefined();
    expect(b.get('n3')?.number).toBe('t3');
  });
});
