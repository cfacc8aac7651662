import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { createApp, delay, until } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { RedisServer } from './fixtures/redis-server.js';
import {
  accountRecords as accounts,
  AccountsStore,
  MeetupsStore,
  ReplicationAppModule,
  sortedAccounts as sorted,
} from './fixtures/replication-app.module.js';

/**
 * The compacted snapshot a new instance loads from, attacked: chunks whose bytes changed or
 * went missing (never loaded as records: the table is read by parts and the snapshot
 * rewritten), a writer that died holding the lock, Redis restarting empty right after a
 * publish, a loader starting while others write. After start-up the new instance holds what
 * Redis holds, as the other instances and a load by parts do.
 */
describe('a compacted snapshot under attack', () => {
  const running: INestApplication[] = [];
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const prefix = freshPrefix();
  const meta = `{${prefix}}:t:accounts:snap`;

  async function boot(redis: RedisServer, instanceId: string): Promise<INestApplication> {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, redis: redis.url }),
    );
    running.push(app);
    await app.init();
    return app;
  }
  const start = async (redis: RedisServer, instanceId: string) =>
    (await boot(redis, instanceId)).get(AccountsStore);

  async function server(): Promise<{ redis: RedisServer; client: Redis }> {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const client = new Redis(redis.url);
    clients.push(client);
    return { redis, client };
  }

  /** The first chunk's key, once a snapshot covering the whole log is published. */
  async function publishedChunk(client: Redis): Promise<string> {
    await until(
      async () => (await client.hget(meta, 'seq')) === (await client.get(`{${prefix}}:seq`)),
    );
    return `${meta}:${(await client.hget(meta, 'id'))!}:1`;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (clients.length > 0) clients.pop()!.disconnect();
    while (servers.length > 0) await servers.pop()!.stop();
  });

  it('starts from the rows when a chunk holds bytes that are not a chunk', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const chunk = await publishedChunk(client);
    const text = (await client.get(chunk))!;
    await client.set(chunk, `${text.slice(0, 1000)}\u0000garbage${text.slice(1007)}`);

    const b = await start(redis, 'B');
    expect(b.size).toBe(2000);
    expect(sorted(b)).toEqual(sorted(a));
  });

  it('never loads a chunk whose bytes changed into other valid records', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const chunk = await publishedChunk(client);
    const text = (await client.get(chunk))!;
    // one digit flipped: n1's balance reads 7 instead of 1, still a well-formed chunk
    const changed = text.replace('"balance":1,"id":"n1"', '"balance":7,"id":"n1"');
    expect(changed === text).toBe(false);
    await client.set(chunk, changed);

    const b = await start(redis, 'B');
    expect(b.get('n1')?.balance).toBe(1);
    expect(sorted(b)).toEqual(sorted(a));
  });

  it('a loader starting while writes run and snapshots are rewritten matches the others and a load by parts', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    const b = await start(redis, 'B');
    for (let i = 0; i < 3000; i += 500) await a.writeMany(accounts(i, 500));
    await publishedChunk(client);
    let loading: Promise<AccountsStore> | undefined;
    for (let round = 0; round < 60; round++) {
      const writer = round % 2 === 0 ? a : b;
      const ops: Promise<unknown>[] = [];
      for (let j = 0; j < 20; j++) {
        const i = round * 20 + j;
        if (j % 4 === 0) ops.push(writer.delete(`n${i}`));
        else if (j % 4 === 1)
          ops.push(
            writer.write({ id: `t${i}`, number: `n-${i - 1}`, balance: i }, { ttl: 600_000 }),
          );
        else ops.push(writer.write({ id: `n${i}`, number: `m-${i}`, balance: -0 + i * 3 }));
      }
      await Promise.all(ops);
      if (round === 20) loading = start(redis, 'C');
      if (round % 10 === 5) await delay(300); // quiet: the idle snapshot is rewritten
    }
    const c = await loading!;
    await until(() => JSON.stringify(sorted(b)) === JSON.stringify(sorted(a)));
    await until(() => JSON.stringify(sorted(c)) === JSON.stringify(sorted(a)));
    await client.del(meta); // D reads Redis's rows by parts: the truth
    const d = await start(redis, 'D');
    expect(sorted(d)).toEqual(sorted(a));
    expect(sorted(c)).toEqual(sorted(d));
    for (const x of d.all()) expect(c.ttl(x.id) === undefined).toBe(d.ttl(x.id) === undefined);
    expect(c.one({ number: 'n-40' })?.id).toBe(d.one({ number: 'n-40' })?.id);
  });

  it('loads records with dates and absent optional fields from the snapshot as a load by parts does', async () => {
    const { redis, client } = await server();
    const a = (await boot(redis, 'A')).get(MeetupsStore);
    const base = a.size; // the seed file's
    await a.writeMany(
      Array.from({ length: 1200 }, (_, i) => ({
        code: `m${i}`,
        title: `t${i}`,
        ...(i % 2 === 0 ? { startDate: new Date(Date.UTC(2030, 0, 1, 0, 0, i)) } : {}),
        ...(i % 3 === 0 ? { slug: `s${i}` } : {}),
        seats: i,
      })),
    );
    const snap = `{${prefix}}:t:meetups:snap`;
    await until(
      async () => (await client.hget(snap, 'seq')) === (await client.get(`{${prefix}}:seq`)),
    );
    const b = (await boot(redis, 'B')).get(MeetupsStore);
    await client.del(snap);
    const d = (await boot(redis, 'D')).get(MeetupsStore);
    expect(b.size).toBe(base + 1200);
    for (const x of d.all()) expect(b.get(x.code)).toStrictEqual(x);
    expect(b.get('m2')?.startDate).toBeInstanceOf(Date);
    expect(b.one({ slug: 's3' })?.code).toBe('m3');
  });

  it('writes the snapshot once the lock a dead writer left behind expires, also when the log stays quiet', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const first = Number(await client.hget(meta, 'seq'));
    await publishedChunk(client);
    // a writer killed while writing: its lock stays until it expires, its chunks unpublished
    await client.set(`${meta}:lock`, 'dead#1', 'PX', 3000);
    await client.set(`${meta}:deadbeef:1`, '[]', 'PX', 600_000);
    await a.writeMany(accounts(2000, 1000)); // a snapshot is due: A finds the lock taken
    const tail = Number(await client.get(`{${prefix}}:seq`));
    expect(tail).toBeGreaterThan(first);
    // no more writes: A takes the expired lock's place when it finds the log quiet
    await until(async () => Number(await client.hget(meta, 'seq')) === tail);
    await client.del(`{${prefix}}:t:accounts:rows`); // only the snapshot can give B its records
    const b = await start(redis, 'B');
    expect(sorted(b)).toEqual(sorted(a));
  });

  it('a snapshot found corrupt is replaced, so that later instances load from a sound one again', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const chunk = await publishedChunk(client);
    const corrupt = (await client.hget(meta, 'id'))!;
    await client.set(chunk, (await client.get(chunk))!.replace('"balance":1,', '"balance":7,'));

    const b = await start(redis, 'B'); // reads by parts, and the log stays quiet
    expect(sorted(b)).toEqual(sorted(a));
    await until(async () => {
      const id = await client.hget(meta, 'id');
      return id !== null && id !== corrupt;
    });
    await client.del(`{${prefix}}:t:accounts:rows`); // only the new snapshot can give C its records
    const c = await start(redis, 'C');
    expect(sorted(c)).toEqual(sorted(a));
  });

  it('a snapshot missing a chunk is replaced, so that later instances load from a sound one again', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    const chunk = await publishedChunk(client);
    const broken = (await client.hget(meta, 'id'))!;
    await client.del(chunk); // evicted (maxmemory allkeys-*), or deleted by hand

    const b = await start(redis, 'B'); // reads by parts, and the log stays quiet
    expect(sorted(b)).toEqual(sorted(a));
    await until(async () => {
      const id = await client.hget(meta, 'id');
      return id !== null && id !== broken;
    });
    await client.del(`{${prefix}}:t:accounts:rows`); // only the new snapshot can give C its records
    const c = await start(redis, 'C');
    expect(sorted(c)).toEqual(sorted(a));
  });

  it('after Redis restarts empty right after publishing, a new instance holds what Redis holds', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500, 'old'));
    await publishedChunk(client);
    await redis.kill();
    await redis.restart();
    await until(() => a.size === 0); // A noticed the loss and reloaded (empty)
    await a.writeMany(accounts(0, 1200, 'new'));
    await publishedChunk(client);

    const b = await start(redis, 'B');
    expect(b.size).toBe(1200);
    expect(sorted(b)).toEqual(sorted(a));
  });

  it('an instance that cannot write a snapshot yet gives the lock back', async () => {
    const { redis, client } = await server();
    const a = await start(redis, 'A');
    for (let i = 0; i < 2000; i += 500) await a.writeMany(accounts(i, 500));
    await publishedChunk(client);
    await client.del(meta);
    await client.xtrim(`{${prefix}}:log`, 'MAXLEN', 0);
    // B loads by parts at a position the log no longer names: its snapshot waits for a change
    const b = await start(redis, 'B');
    await delay(2500); // B finds the log quiet (and tries)
    await a.write({ id: 'n1', number: 'moved', balance: 1 });
    await until(
      async () => (await client.hget(meta, 'seq')) === (await client.get(`{${prefix}}:seq`)),
    );
    expect(sorted(b)).toEqual(sorted(a));
  });
});
