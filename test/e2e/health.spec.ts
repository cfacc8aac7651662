import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { configureApp } from '../../sample-app/src/configure-app.js';
import { createApp, delay } from './fixtures/app.factory.js';
import {
  BooksStore,
  HEALTH_THRESHOLDS,
  OperationsAppModule,
  SessionsStore,
  SwitchableFileSystem,
} from './fixtures/operations-app.module.js';
import { RedisServer } from './fixtures/redis-server.js';

interface StoreReport {
  status: string;
  ready: boolean;
  records: number;
  persistence?: { state: string; error?: string };
  replication?: { state: string; appliedSeq: number; lag?: number };
  eventBacklog: number;
  capacity?: { used: number; max: number; ratio: number };
  reasons?: string[];
}

interface HealthBody {
  status: string;
  details: { stores: { status: string; stores: Record<string, StoreReport> } };
}

describe('health (Terminus)', () => {
  const apps: INestApplication[] = [];
  const dirs: string[] = [];
  const servers: RedisServer[] = [];

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'nms-health-'));
    dirs.push(dir);
    return dir;
  }

  async function start(app: INestApplication): Promise<INestApplication> {
    apps.push(app);
    await app.init();
    return app;
  }

  const health = async (app: INestApplication, status: number) =>
    (await request(app.getHttpServer()).get('/health').expect(status)).body as HealthBody;

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const server of servers.splice(0)) await server.stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    for (const key of Object.keys(HEALTH_THRESHOLDS))
      delete HEALTH_THRESHOLDS[key as 'maxEventBacklog'];
  });

  it("the sample app's GET /health is up, with every store ready and its persistence writable", async () => {
    process.env.DATA_DIR = tempDir();
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = await start(configureApp(moduleRef.createNestApplication({ logger: false })));
      const body = await health(app, 200);
      expect(body.status).toBe('ok');
      const people = body.details.stores.stores.people;
      expect(people).toMatchObject({ status: 'up', ready: true, eventBacklog: 0 });
      expect(people.records).toBeGreaterThan(0);
      expect(people.persistence).toMatchObject({ state: 'writable' });
      expect(people.reasons).toBeUndefined();
    } finally {
      delete process.env.DATA_DIR;
    }
  });

  it('is down (503) once persistence fails, naming the failure', async () => {
    const fileSystem = new SwitchableFileSystem();
    const app = await start(
      await createApp(
        OperationsAppModule.register({
          persistence: { dir: tempDir(), fsync: 'always', fileSystem },
        }),
      ),
    );
    const books = app.get(BooksStore);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    expect((await health(app, 200)).details.stores.stores.books).toMatchObject({
      status: 'up',
      records: 1,
      persistence: { state: 'writable' },
    });

    fileSystem.readOnly = true;
    await expect(books.write({ isbn: '2', title: 'Emma', author: 'Austen' })).rejects.toThrow(
      /EROFS/,
    );
    const body = await health(app, 503);
    expect(body.status).toBe('error');
    const report = body.details.stores.stores.books;
    expect(report.status).toBe('down');
    expect(report.persistence?.state).toBe('failed');
    expect(report.persistence?.error).toMatch(/EROFS/);
    expect(report.reasons).toEqual(['persistence failed']);
  });

  it('is down (503) when its Redis stops, and reports replication state and lag while up', async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const app = await start(
      await createApp(
        OperationsAppModule.register({
          replication: { redis: redis.url, prefix: `health-${process.pid}` },
        }),
      ),
    );
    await app.get(BooksStore).write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    const up = (await health(app, 200)).details.stores.stores.books;
    expect(up.status).toBe('up');
    expect(up.replication).toMatchObject({ state: 'ready', lag: 0 });
    expect(up.replication!.appliedSeq).toBeGreaterThanOrEqual(1);

    await redis.kill();
    for (let i = 0; i < 100 && app.get(BooksStore).replication?.state === 'ready'; i++)
      await delay(50);
    const body = await health(app, 503);
    const report = body.details.stores.stores.books;
    expect(report.status).toBe('down');
    expect(report.replication?.state).toBe('degraded');
    expect(report.reasons).toEqual(['replication degraded']);
  });

  it('is degraded (still 200) past a threshold: capacity used, and a lower limit the caller sets', async () => {
    const app = await start(
      await createApp(OperationsAppModule.register({}, [BooksStore, SessionsStore])),
    );
    const sessions = app.get(SessionsStore);
    for (let i = 0; i < 9; i++) await sessions.write({ id: `s${i}`, user: 'ada' });
    expect((await health(app, 200)).status).toBe('ok'); // 90% is not past 0.9

    await sessions.write({ id: 's9', user: 'ada' });
    const body = await health(app, 200);
    expect(body.status).toBe('degraded');
    expect(body.details.stores.status).toBe('degraded');
    expect(body.details.stores.stores.sessions).toMatchObject({
      status: 'degraded',
      capacity: { used: 10, max: 10, ratio: 1 },
      reasons: ['capacity 100% used'],
    });
    expect(body.details.stores.stores.books.status).toBe('up');

    HEALTH_THRESHOLDS.maxCapacityUsed = 1;
    expect((await health(app, 200)).status).toBe('ok');
  });
});
