import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { createApp, delay } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { RedisServer } from './fixtures/redis-server.js';
import {
  AccountsStore,
  OrdersStore,
  ReplicationAppModule,
  TokensStore,
} from './fixtures/replication-app.module.js';

/** Waits until `done()` holds (bounded: 20 s). */
async function until(done: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await delay(10);
  }
}

/**
 * A new instance loads a replicated table from Redis a part at a time: no reply holds the
 * whole table (nor does any command hold Redis that long), and what others write meanwhile
 * ends in the load exactly once.
 */
describe('a new instance loading a large replicated table', () => {
  const running: INestApplication[] = [];
  const servers: RedisServer[] = [];
  const prefix = freshPrefix();

  async function start(redis: RedisServer, instanceId: string) {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, redis: redis.url }),
    );
    running.push(app);
    await app.init();
    return {
      accounts: app.get(AccountsStore),
      tokens: app.get(TokensStore),
      orders: app.get(OrdersStore),
    };
  }

  async function command(redis: RedisServer, ...args: string[]): Promise<unknown> {
    const client = new Redis(redis.url);
    try {
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (servers.length > 0) await servers.pop()!.stop();
  });

  it('loads a table of 6 MB where Redis closes a connection whose replies pass 2 MB (client-output-buffer-limit)', async () => {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const a = await start(redis, 'A');
    const owner = 'x'.repeat(3000);
    for (let i = 0; i < 2000; i += 100) {
      await a.accounts.writeMany(
        Array.from({ length: 100 }, (_, j) => ({
          id: `r${i + j}`,
          number: `n${i + j}`,
          owner: `${owner}${i + j}`,
          balance: i + j,
        })),
      );
    }
    await command(redis, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 2mb 2mb 0');

    const b = await start(redis, 'B');
    expect(b.accounts.size).toBe(2000);
    const byId = (x: { id: string }, y: { id: string }) => x.id.localeCompare(y.id);
    expect([...b.accounts.all()].sort(byId)).toEqual([...a.accounts.all()].sort(byId));
    expect(b.accounts.one({ number: 'n1999' })?.id).toBe('r1999');
    // it follows the log from where it loaded
    await a.accounts.write({ id: 'r0', number: 'n0', owner: 'o', balance: 1 });
    await until(() => b.accounts.get('r0')?.owner === 'o');
  });

  it('ends identical to an instance that puts, deletes, moves unique values, sets deadlines and counts while it loads', async () => {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const a = await start(redis, 'A');
    const SIZE = 4000;
    for (let i = 0; i < SIZE; i += 500) {
      await a.accounts.writeMany(
        Array.from({ length: 500 }, (_, j) => ({
          id: `r${i + j}`,
          number: `n${i + j}`,
          balance: 0,
        })),
      );
    }
    let writing = true;
    let rounds = 0;
    const writer = (async () => {
      // bounded: stops when B has loaded, or after 400 rounds
      for (let i = 0; writing && i < 400; i++, rounds++) {
        const key = `r${(i * 7919) % SIZE}`;
        await a.accounts.write({ id: key, number: a.accounts.get(key)?.number, balance: i });
        // a unique value moves from one record to another: delete its holder, give it to a new one
        const holder = `r${(i * 104729) % SIZE}`;
        const number = a.accounts.get(holder)?.number;
        if (number !== undefined) {
          await a.accounts.delete(holder);
          await a.accounts.write({ id: `moved${i}`, number, balance: i });
        }
        await a.tokens.write({ code: `t${i % 50}`, user: `u${i}` }, { ttl: 60_000 });
        if (i % 3 === 0) await a.orders.nextId('n');
      }
    })();
    await delay(100);
    const b = await start(redis, 'B');
    writing = false;
    await writer;
    /** Records in key order (a loaded table holds them in the order Redis scanned them). */
    const state = (s: typeof a) =>
      JSON.stringify([
        [...s.accounts.all()].sort((x, y) => x.id.localeCompare(y.id)),
        [...s.tokens.all()].sort((x, y) => x.code.localeCompare(y.code)),
        s.orders.counter('n'),
      ]);
    await until(() => state(a) === state(b));
    expect(rounds).toBeGreaterThan(0);
    for (const token of b.tokens.all()) {
      const left = b.tokens.ttl(token.code)!;
      expect(left).toBeGreaterThan(50_000);
      expect(left).toBeLessThanOrEqual(60_000);
    }
    // B's versions are Redis's: an update on B of a record A changed commits
    const changed = `r${7919 % SIZE}`;
    await b.accounts.update(changed, { balance: 123_456 });
    await until(() => a.accounts.get(changed)?.balance === 123_456);
  });
});
