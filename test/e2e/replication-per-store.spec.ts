import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { createApp, delay } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import {
  DISK_DIR,
  DiskNotesStore,
  LocalNotesStore,
  MIXED_STORES,
  OWN_PREFIX,
  OwnNotesStore,
  ReplicationMixedAppModule,
  SharedNotesStore,
} from './fixtures/replication-mixed-app.module.js';

describe('replication per store (@Store({ replication }))', () => {
  const prefix = freshPrefix();
  const running: INestApplication[] = [];

  async function start(
    modulePrefix: string | undefined,
    stores: Parameters<typeof ReplicationMixedAppModule.register>[1],
  ): Promise<INestApplication> {
    const app = await createApp(ReplicationMixedAppModule.register(modulePrefix, stores));
    running.push(app);
    await app.init();
    return app;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
  });

  afterAll(async () => {
    await dropPrefix(prefix);
    await dropPrefix(OWN_PREFIX);
    await rm(DISK_DIR, { recursive: true, force: true });
  });

  it('mixes replicated, persisted and memory-only stores in one application', async () => {
    const a = await start(prefix, MIXED_STORES);
    // an application without forRoot's default replicates only the store that declares its own
    const b = await start(undefined, [OwnNotesStore]);
    expect(a.get(SharedNotesStore).replication?.state).toBe('ready');
    expect(a.get(OwnNotesStore).replication?.state).toBe('ready');
    expect(a.get(LocalNotesStore).replication).toBeUndefined();
    expect(a.get(DiskNotesStore).replication).toBeUndefined();
    expect(b.get(OwnNotesStore).replication?.state).toBe('ready');

    await a.get(SharedNotesStore).write({ id: 's', text: 'shared' });
    await a.get(LocalNotesStore).write({ id: 'l', text: 'local' });
    await a.get(DiskNotesStore).write({ id: 'd', text: 'disk' });
    await a.get(OwnNotesStore).write({ id: 'o', text: 'own' });
    const seen = b.get(OwnNotesStore);
    for (let i = 0; i < 200 && !seen.get('o'); i++) await delay(10);
    expect(seen.get('o')).toEqual({ id: 'o', text: 'own' });

    await a.close();
    running.splice(running.indexOf(a), 1);
    const again = await start(prefix, MIXED_STORES);
    expect(again.get(SharedNotesStore).get('s')).toEqual({ id: 's', text: 'shared' }); // from Redis
    expect(again.get(OwnNotesStore).get('o')).toEqual({ id: 'o', text: 'own' }); // from Redis
    expect(again.get(DiskNotesStore).get('d')).toEqual({ id: 'd', text: 'disk' }); // from disk
    expect(again.get(LocalNotesStore).size).toBe(0); // memory only
  });
});
