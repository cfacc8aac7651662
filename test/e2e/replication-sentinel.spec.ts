import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ReplicationWaitError } from 'nestjs-memory-store';
import { createApp, delay } from './fixtures/app.factory.js';
import { freshPrefix } from './fixtures/redis.js';
import { resume, SentinelSetup } from './fixtures/redis-sentinel.js';
import { AccountsStore, ReplicationAppModule } from './fixtures/replication-app.module.js';

const LOOPS = 4;
const PATIENCE_MS = 30_000;

/**
 * A Sentinel failover with writers running on two instances: the replica is paused
 * (SIGSTOP) so that it falls behind, the master is killed (SIGKILL), the Sentinels promote
 * the replica. Instances follow the new master without a restart and end with what it
 * holds; with `waitForReplicas: 1` no acknowledged write is lost.
 */
describe('replication through Redis Sentinel', () => {
  let setup: SentinelSetup | undefined;
  const running: INestApplication[] = [];

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    await setup?.stop();
    setup = undefined;
  });

  async function failover(waitForReplicas: number) {
    setup = await SentinelSetup.start();
    const prefix = freshPrefix();
    const start = async (instanceId: string) => {
      const app = await createApp(
        ReplicationAppModule.register({
          prefix,
          instanceId,
          redis: { ...setup!.redis, commandTimeout: 5_000 },
          waitForReplicas,
          waitTimeoutMs: 300,
        }),
      );
      running.push(app);
      await app.init();
      return app.get(AccountsStore);
    };
    const instances = { A: await start('A'), B: await start('B') };

    const acked = new Set<string>();
    const refused = new Map<string, number>();
    let committed = 0; // acknowledged, or refused by WAIT (committed on the master all the same)
    let writing = true;
    const loops = Object.entries(instances).flatMap(([name, store]) =>
      Array.from({ length: LOOPS }, async (_, loop) => {
        for (let i = 0; writing; i++) {
          const id = `${name}-${loop}-${i}`;
          try {
            await store.write({ id, owner: name, balance: i });
            acked.add(id);
            committed++;
          } catch (error) {
            const kind = (error as Error).constructor.name;
            if (error instanceof ReplicationWaitError) committed++;
            refused.set(kind, (refused.get(kind) ?? 0) + 1);
            await delay(20);
          }
        }
      }),
    );
    try {
      await until(() => acked.size >= 50);
      // the replica falls behind (paused, its link cut: the master goes on alone), then the
      // master dies
      process.kill(setup.replica.pid!, 'SIGSTOP');
      await setup.cutReplicaLink();
      await delay(400);
      await setup.master.kill();
      resume(setup.replica.pid!);
      await setup.promoted();
      const before = committed;
      await until(
        () =>
          instances.A.replication?.state === 'ready' &&
          instances.B.replication?.state === 'ready' &&
          committed >= before + 50,
      );
    } finally {
      writing = false;
      await Promise.all(loops);
    }

    const redis = new Redis(setup.replica.port, '127.0.0.1');
    let held: string[];
    try {
      held = (await redis.hkeys(`{${prefix}}:t:accounts:rows`)).map((k) => JSON.parse(k) as string);
    } finally {
      redis.disconnect();
    }
    const inRedis = new Set(held);
    const lost = [...acked].filter((id) => !inRedis.has(id));
    process.stdout.write(
      `Sentinel failover (waitForReplicas: ${waitForReplicas}): ${acked.size} writes acknowledged, ` +
        `${acked.size - lost.length} survived, ${lost.length} lost; refused: ${JSON.stringify(Object.fromEntries(refused))}\n`,
    );
    const sorted = [...inRedis].sort().join(',');
    for (const store of Object.values(instances)) {
      await until(
        () =>
          store
            .all()
            .map((a) => a.id)
            .sort()
            .join(',') === sorted,
      );
    }
    return { acked, lost, refused };
  }

  it('with waitForReplicas: 1, keeps every acknowledged write over a failover to a replica that was behind', async () => {
    const { lost, refused } = await failover(1);
    expect(lost).toEqual([]);
    // writes made while the replica was paused were committed on the master but not confirmed
    expect(refused.get(ReplicationWaitError.name) ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('without waitForReplicas, follows the new master and converges to what it holds (writes the replica lacked are lost)', async () => {
    const { acked, lost } = await failover(0);
    expect(acked.size).toBeGreaterThan(100);
    // what the master acknowledged after the link was cut never reached the replica
    expect(lost.length).toBeGreaterThan(0);
  }, 120_000);
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(20);
  }
}
