import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, delay } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { RedisServer } from './fixtures/redis-server.js';
import {
  AccountsStore,
  ReplicationAppModule,
  type Account,
} from './fixtures/replication-app.module.js';

const PINGER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'redis-pinger.mjs');
/** Records in the large batch (the figure). */
const LARGE = 700_000;

/**
 * Large batches and lost replies: a batch never holds Redis for long, and a write whose
 * reply was lost (a command timeout while Redis was busy) is reported as it ended in Redis.
 */
describe('replicated batches and lost replies', () => {
  const running: INestApplication[] = [];
  const servers: RedisServer[] = [];
  const prefix = freshPrefix();

  async function start(redis: RedisServer, instanceId: string, options: object = {}) {
    const app = await createApp(
      ReplicationAppModule.register({
        prefix,
        instanceId,
        redis: { url: redis.url, ...options },
      }),
    );
    running.push(app);
    await app.init();
    return app.get(AccountsStore);
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (servers.length > 0) await servers.pop()!.stop();
  });

  it('stages a large batch in slices: a write made meanwhile on the same instance commits before its first part', async () => {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const a = await start(redis, 'A');
    const order: string[] = [];
    const subscription = a.changes().subscribe((change) => order.push(String(change.key)));
    const batch = a.writeMany(
      Array.from({ length: 20_000 }, (_, i) => ({ id: `r${i}`, number: `n${i}`, balance: i })),
    );
    // the next turn of the event loop: before the change, the whole batch was built, checked,
    // encoded and its first part sent to Redis in the call above
    const single = new Promise((resolve, reject) =>
      setImmediate(() => void a.write({ id: 'single', balance: 1 }).then(resolve, reject)),
    );
    await Promise.all([batch, single]);
    await delay(50);
    subscription.unsubscribe();
    expect(a.size).toBe(20_001);
    expect(order).toHaveLength(20_001);
    expect(order.indexOf('single')).toBe(0);
  });

  it(`writes a batch of ${LARGE.toLocaleString('en')} records in parts while another connection's PING is answered between them`, async () => {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const a = await start(redis, 'A');
    const b = await start(redis, 'B');
    const records: Account[] = Array.from({ length: LARGE }, (_, i) => ({
      id: `r${i}`,
      number: `n${i}`,
      owner: `o${i % 100}`,
      balance: i,
    }));

    // another process pings Redis all along (this one's own work must not count)
    const pinger = spawn(process.execPath, [PINGER, String(redis.port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let report = '';
    pinger.stdout.on('data', (chunk: Buffer) => (report += String(chunk)));
    const pingerDone = new Promise((resolve) => pinger.once('exit', resolve));
    let outcome: unknown = 'resolved';
    try {
      await a.writeMany(records);
    } catch (error) {
      outcome = error;
    } finally {
      pinger.stdin.end();
      await pingerDone;
    }
    const pings = JSON.parse(report) as { count: number; p50: number; p99: number; max: number };
    process.stdout.write(
      `PING (another process) during a ${LARGE}-record writeMany: ${pings.count} answered, ` +
        `p50 ${pings.p50.toFixed(1)} ms, p99 ${pings.p99.toFixed(1)} ms, max ${pings.max.toFixed(1)} ms\n`,
    );

    expect(outcome).toBe('resolved');
    expect(a.size).toBe(LARGE);
    expect(a.get('r699999')).toEqual(records[LARGE - 1]);
    const admin = new Redis(redis.url);
    try {
      expect(await admin.hlen(`{${prefix}}:t:accounts:rows`)).toBe(LARGE);
      expect(await admin.hlen(`{${prefix}}:t:accounts:u:number`)).toBe(LARGE);
      // Redis answered between the parts: many pings came back while the batch was written
      expect(pings.count).toBeGreaterThan(100);
    } finally {
      admin.disconnect();
    }
    await until(() => b.size === LARGE, 120_000);
    expect(b.get('r12345')).toEqual(records[12345]);
  }, 600_000);

  it('reports a write whose reply timed out while Redis was busy as committed, once', async () => {
    const redis = await RedisServer.start({ persist: false });
    servers.push(redis);
    const a = await start(redis, 'A', { commandTimeout: 100 });
    const b = await start(redis, 'B');
    await a.write({ id: 'before', owner: 'x', balance: 1 });
    const admin = new Redis(redis.url);
    try {
      const seqBefore = Number(await admin.get(`{${prefix}}:seq`));
      // another client's script keeps Redis busy for 600 ms: A's write is queued behind it
      const busy = admin.eval(
        "local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; " +
          "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - s > 600000 return 1",
        0,
      );
      await delay(20);
      const written = await a.write({ id: 'late', owner: 'y', balance: 2 });
      await busy;
      expect(written).toEqual({ id: 'late', owner: 'y', balance: 2, number: undefined });
      expect(a.get('late')).toMatchObject({ id: 'late', balance: 2 });
      expect(Number(await admin.get(`{${prefix}}:seq`))).toBe(seqBefore + 1);
      await until(() => b.get('late') !== undefined, 10_000);
    } finally {
      admin.disconnect();
    }
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(20);
  }
}
