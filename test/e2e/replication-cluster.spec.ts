import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createApp, delay } from './fixtures/app.factory.js';
import { RedisCluster } from './fixtures/redis-cluster.js';
import {
  AccountsStore,
  OrdersStore,
  ReplicationAppModule,
} from './fixtures/replication-app.module.js';

/**
 * Replication on a Redis Cluster of three masters: each prefix's keys share one hash slot
 * (`{prefix}`), so two prefixes may live on two masters, and each works as on one server.
 */
describe('replication on Redis Cluster', () => {
  let cluster: RedisCluster;
  const running: INestApplication[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, 60_000);

  afterAll(async () => {
    while (running.length > 0) await running.pop()!.close();
    await cluster?.stop();
  });

  async function start(prefix: string, instanceId: string) {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, redis: cluster.redis }),
    );
    running.push(app);
    await app.init();
    return { accounts: app.get(AccountsStore), orders: app.get(OrdersStore) };
  }

  it('replicates two prefixes that live on two different masters', async () => {
    // two prefixes whose slots two different masters serve
    const prefixes: string[] = [];
    const ports: number[] = [];
    for (let i = 0; prefixes.length < 2 && i < 100; i++) {
      const prefix = `cluster-${process.pid}-${i}`;
      const port = await cluster.portOf(`{${prefix}}`);
      if (!ports.includes(port)) {
        prefixes.push(prefix);
        ports.push(port);
      }
    }
    expect(prefixes).toHaveLength(2);

    for (const [n, prefix] of prefixes.entries()) {
      const a = await start(prefix, `a${n}`);
      const b = await start(prefix, `b${n}`);
      await a.accounts.write({ id: `x${n}`, owner: prefix, balance: n });
      await b.accounts.writeMany(
        Array.from({ length: 1_200 }, (_, i) => ({ id: `m${i}`, owner: prefix, balance: i })),
      );
      const ids = await Promise.all([a.orders.nextId('n'), b.orders.nextId('n')]);
      expect(ids.sort()).toEqual([1, 2]);
      await until(() => b.accounts.get(`x${n}`) !== undefined && a.accounts.size === 1_201);
      expect(a.accounts.get(`x${n}`)).toMatchObject({ owner: prefix });
      expect(b.accounts.size).toBe(1_201);
    }
    // each prefix's keys are on its own master
    for (const port of ports) expect(await cluster.keysOn(port)).toBeGreaterThan(0);
  }, 60_000);
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(10);
  }
}
