import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreError, MemoryStoreHealthIndicator } from 'nestjs-memory-store';
import request from 'supertest';
import { createApp } from './fixtures/app.factory.js';
import {
  BooksStore,
  HEALTH_THRESHOLDS,
  OperationsAppModule,
  SessionsStore,
} from './fixtures/operations-app.module.js';

/** The health indicator given wrong thresholds or store names, and no stores at all. */
describe('health: bad thresholds and store names', () => {
  const apps: INestApplication[] = [];

  async function start(stores = [BooksStore, SessionsStore]) {
    const app = await createApp(OperationsAppModule.register({}, stores));
    apps.push(app);
    await app.init();
    return { app, indicator: app.get(MemoryStoreHealthIndicator) };
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const key of Object.keys(HEALTH_THRESHOLDS))
      delete HEALTH_THRESHOLDS[key as 'maxEventBacklog'];
  });

  it('refuses thresholds that are not numbers in their range, naming the threshold', async () => {
    const { app, indicator } = await start();
    const sessions = app.get(SessionsStore);
    for (let i = 0; i < 10; i++) await sessions.write({ id: `s${i}`, user: 'u' }); // 100% used
    const bad: [string, unknown][] = [
      ['maxCapacityUsed', 90], // a percentage: never passed, the store full was still 'up'
      ['maxCapacityUsed', '0.5'],
      ['maxCapacityUsed', Number.NaN],
      ['maxCapacityUsed', -0.1],
      ['maxEventBacklog', -1],
      ['maxEventBacklog', '10'],
      ['maxReplicationLag', Number.NaN],
    ];
    for (const [name, value] of bad) {
      const check = indicator.isHealthy('stores', { [name]: value });
      await expect(check).rejects.toThrow(MemoryStoreError);
      await expect(check).rejects.toThrow(new RegExp(`'${name}' must be a number from 0 to`));
    }
    const edge = await indicator.isHealthy('stores', {
      maxCapacityUsed: 1,
      maxEventBacklog: 0,
      maxReplicationLag: Infinity,
    });
    expect(edge.stores.status).toBe('up');
  });

  it('a bad threshold answers GET /health with an error (500), never up', async () => {
    const { app } = await start();
    HEALTH_THRESHOLDS.maxCapacityUsed = 95;
    await request(app.getHttpServer()).get('/health').expect(500);
  });

  it('names an unknown store in the error; with no stores at all it is up', async () => {
    const { indicator } = await start();
    await expect(indicator.isHealthy('stores', { stores: ['nope'] })).rejects.toThrow(
      /No store for table 'nope'/,
    );
    const none = await start([]);
    await expect(none.indicator.isHealthy('stores')).resolves.toEqual({
      stores: { status: 'up', stores: {} },
    });
  });
});
