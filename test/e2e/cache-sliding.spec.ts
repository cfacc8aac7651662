import 'reflect-metadata';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import {
  MemoryStoreError,
  MemoryStoreService,
  Store,
  Table,
  MemoryStore,
} from 'nestjs-memory-store';
import { createApp, failedStartUp, fakeDateOnly, rejectionOf } from './fixtures/app.factory.js';
import { CacheAppModule, TokensStore, WebSessionsStore } from './fixtures/cache-app.module.js';
import { HOURLY } from './fixtures/ttl-app.module.js';
import { crashCopy, framesOf, removeDir } from './fixtures/persistence-files.js';
import { encodeFrame } from '../../lib/persistence/log-format.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const MINUTE = 60_000;

describe('sliding expiry', () => {
  let app: INestApplication | undefined;

  async function start(fixture: DynamicModule): Promise<INestApplication> {
    app = await createApp(fixture);
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    jest.useRealTimers();
  });

  describe('in memory', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: T0 });
    });
    const advance = (ms: number) => jest.advanceTimersByTime(ms);

    it("a table's sliding ttl: each get renews the deadline, and an idle record expires", async () => {
      const sessions = (await start(CacheAppModule.register({ ttl: { sweep: HOURLY } }))).get(
        WebSessionsStore,
      );
      await sessions.write({ id: 's1', user: 'ada' });
      expect(sessions.ttl('s1')).toBe(10 * MINUTE);
      for (let i = 0; i < 5; i++) {
        advance(9 * MINUTE); // 45 minutes in all: far past the first deadline
        expect(sessions.get('s1')).toMatchObject({ user: 'ada' });
        expect(sessions.ttl('s1')).toBe(10 * MINUTE);
      }
      advance(10 * MINUTE - 1);
      expect(sessions.exists('s1')).toBe(true);
      advance(1);
      expect(sessions.get('s1')).toBeUndefined();
      expect(sessions.size).toBe(0);
    });

    it('queries and exists() do not renew; touch() does, and is false for a missing record', async () => {
      const sessions = (await start(CacheAppModule.register({ ttl: { sweep: HOURLY } }))).get(
        WebSessionsStore,
      );
      await sessions.write({ id: 's1', user: 'ada' });
      advance(6 * MINUTE);
      expect(sessions.select({ user: 'ada' })).toHaveLength(1);
      expect(sessions.one({ user: 'ada' })).toBeDefined();
      expect(sessions.exists('s1')).toBe(true);
      expect(sessions.ttl('s1')).toBe(4 * MINUTE);
      expect(sessions.touch('s1')).toBe(true);
      expect(sessions.ttl('s1')).toBe(10 * MINUTE);
      expect(sessions.touch('nobody')).toBe(false);
      advance(10 * MINUTE);
      expect(sessions.touch('s1')).toBe(false);
    });

    it('the sweep leaves a renewed record and removes it once idle, reporting it expired', async () => {
      const sessions = (
        await start(CacheAppModule.register({ ttl: { sweep: { everyMs: 1_000 } } }))
      ).get(WebSessionsStore);
      const expired: string[] = [];
      sessions.changes({ op: 'expire' }).subscribe((c) => expired.push(String(c.key)));
      await sessions.writeMany([
        { id: 'busy', user: 'a' },
        { id: 'idle', user: 'b' },
      ]);
      advance(8 * MINUTE);
      sessions.get('busy');
      advance(3 * MINUTE); // idle's deadline passed; busy's moved to 18 minutes
      expect(expired).toEqual(['idle']);
      expect(sessions.keys()).toEqual(['busy']);
      advance(8 * MINUTE);
      expect(expired).toEqual(['idle', 'busy']);
    });

    it('a write gives its own sliding ttl; a later write with a fixed ttl stops the sliding', async () => {
      const tokens = (await start(CacheAppModule.register({ ttl: { sweep: HOURLY } }))).get(
        TokensStore,
      );
      await tokens.write({ id: 't1' }, { ttl: { sliding: true, duration: '1m' } });
      advance(50_000);
      tokens.get('t1');
      expect(tokens.ttl('t1')).toBe(MINUTE);
      await tokens.write({ id: 't1' }, { ttl: '1m' });
      advance(50_000);
      tokens.get('t1');
      expect(tokens.ttl('t1')).toBe(10_000);
      await tokens.update('t1', { scope: 'write' }); // keeps the fixed deadline
      advance(10_000);
      expect(tokens.get('t1')).toBeUndefined();
    });

    it('an update keeps a sliding deadline sliding', async () => {
      const tokens = (await start(CacheAppModule.register({ ttl: { sweep: HOURLY } }))).get(
        TokensStore,
      );
      await tokens.write({ id: 't1' }, { ttl: { sliding: true, duration: '1m' } });
      await tokens.update('t1', { scope: 'write' });
      advance(50_000);
      tokens.get('t1');
      advance(50_000);
      expect(tokens.get('t1')).toMatchObject({ scope: 'write' });
    });

    it('refuses a malformed sliding ttl, naming it', async () => {
      const tokens = (await start(CacheAppModule.register({ ttl: { sweep: HOURLY } }))).get(
        TokensStore,
      );
      const error = await rejectionOf(
        tokens.write({ id: 't1' }, { ttl: { sliding: true, duration: 'soon' } as never }),
      );
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/ttl of a write to 'tokens'\.duration/);
      expect(() =>
        Table({ ttl: { sliding: false, duration: '1m' } as never })(class Bad {}),
      ).toThrow(/must be a duration .* or \{ sliding: true, duration \}/);
    });
  });

  describe('persisted', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cache-sliding-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const persisted = () =>
      CacheAppModule.register({
        persistence: { dir, fsync: 'always' },
        ttl: { sweep: HOURLY, resolution: 0 },
      });

    it('a restart shortens a renewed deadline by at most half the sliding period, and the record slides again', async () => {
      fakeDateOnly(T0);
      let sessions = (await start(persisted())).get(WebSessionsStore);
      await sessions.write({ id: 's1', user: 'ada' });
      const deadlines: number[] = [];
      for (let minute = 1; minute <= 23; minute++) {
        jest.setSystemTime(T0 + minute * MINUTE);
        sessions.get('s1'); // renewed each minute, logged only now and then
        deadlines.push(Date.now() + sessions.ttl('s1')!);
      }
      await sessions.write({ id: 'later', user: 'bob' }); // durable: so is every log record before it
      await app!.close();
      app = undefined;

      sessions = (await start(persisted())).get(WebSessionsStore);
      const now = Date.now();
      const restored = now + sessions.ttl('s1')!;
      const lost = deadlines.at(-1)! - restored;
      expect(lost).toBeGreaterThanOrEqual(0);
      expect(lost).toBeLessThanOrEqual(5 * MINUTE); // half of the 10-minute period
      expect(restored).toBeGreaterThan(T0 + 23 * MINUTE); // renewals were logged
      jest.setSystemTime(now + 4 * MINUTE);
      sessions.get('s1');
      expect(sessions.ttl('s1')).toBe(10 * MINUTE);
    });
    it('after a crash, each deadline comes back as it was: sliding by its own period, or fixed', async () => {
      fakeDateOnly(T0);
      let started = await start(persisted());
      let sessions = started.get(WebSessionsStore);
      let tokens = started.get(TokensStore);
      await sessions.write({ id: 'renewed', user: 'ada' }); // the table's 10-minute sliding ttl
      await sessions.write({ id: 'fixed', user: 'bob' }, { ttl: '60m' }); // stops the sliding
      await sessions.write({ id: 'own', user: 'cy' }, { ttl: { sliding: true, duration: '2m' } });
      await tokens.write({ id: 't1' }, { ttl: { sliding: true, duration: '5m' } });
      const deadlines: number[] = [];
      for (let minute = 1; minute <= 23; minute++) {
        jest.setSystemTime(T0 + minute * MINUTE);
        sessions.get('renewed'); // logged only now and then
        sessions.get('own');
        tokens.get('t1');
        deadlines.push(Date.now() + sessions.ttl('renewed')!);
      }
      await sessions.write({ id: 'later', user: 'dee' }); // durable: so is every log record before it
      const copy = await crashCopy(dir); // no snapshot at shutdown: the log as it stands
      await app!.close();
      app = undefined;
      let restarted: INestApplication | undefined;
      try {
        started = restarted = await start(
          CacheAppModule.register({
            persistence: { dir: copy, fsync: 'always' },
            ttl: { sweep: HOURLY, resolution: 0 },
          }),
        );
        sessions = started.get(WebSessionsStore);
        tokens = started.get(TokensStore);
        const lost = deadlines.at(-1)! - (Date.now() + sessions.ttl('renewed')!);
        expect(lost).toBeGreaterThanOrEqual(0);
        expect(lost).toBeLessThanOrEqual(5 * MINUTE); // half of the 10-minute period

        // a write's own sliding ttl slides again by its own period, on any table
        expect(sessions.ttl('own')).toBeLessThanOrEqual(2 * MINUTE);
        expect(sessions.get('own')).toBeDefined();
        expect(sessions.ttl('own')).toBe(2 * MINUTE);
        expect(tokens.get('t1')).toBeDefined();
        expect(tokens.ttl('t1')).toBe(5 * MINUTE);

        // a fixed ttl stays fixed: reads near its deadline do not move it
        jest.setSystemTime(T0 + 59 * MINUTE);
        expect(sessions.get('fixed')).toMatchObject({ user: 'bob' });
        expect(sessions.ttl('fixed')).toBe(MINUTE);
        jest.setSystemTime(T0 + 60 * MINUTE);
        expect(sessions.get('fixed')).toBeUndefined();
      } finally {
        await restarted?.close(); // (before its directory goes)
        app = undefined;
        await removeDir(copy);
      }
    });

    it('restore() refuses a backup whose sliding period is malformed, restoring nothing', async () => {
      const started = await start(persisted());
      const sessions = started.get(WebSessionsStore);
      const memory = started.get(MemoryStoreService);
      await sessions.write({ id: 'kept', user: 'ada' });
      const file = join(dir, 'sessions.bak');
      await memory.backup(file);
      const frames = framesOf(await readFile(file));
      const tampered = frames.map((frame, i) =>
        encodeFrame(i + 1, frame.payload.replace(/,600000\]/, ',"600000"]')),
      );
      expect(
        tampered.some((frame, i) => !frame.equals(encodeFrame(i + 1, frames[i].payload))),
      ).toBe(true);
      const bad = join(dir, 'tampered.bak');
      await writeFile(bad, Buffer.concat([Buffer.from('NMSBAK1\n'), ...tampered]));
      await sessions.write({ id: 'kept', user: 'bob' });
      await expect(memory.restore(bad)).rejects.toThrow(/sliding period/);
      expect(sessions.get('kept')).toMatchObject({ user: 'bob' });
    });

    it('restore() brings records back as the backup held them: sliding ones slide, fixed ones do not', async () => {
      fakeDateOnly(T0);
      const started = await start(persisted());
      const sessions = started.get(WebSessionsStore);
      const memory = started.get(MemoryStoreService);
      await sessions.write({ id: 'renewed', user: 'ada' });
      await sessions.write({ id: 'fixed', user: 'bob' }, { ttl: '15m' });
      await memory.backup(join(dir, 'sessions.bak'));
      await memory.restore(join(dir, 'sessions.bak'));

      jest.setSystemTime(T0 + 9 * MINUTE);
      expect(sessions.get('renewed')).toBeDefined();
      expect(sessions.ttl('renewed')).toBe(10 * MINUTE);
      jest.setSystemTime(T0 + 14 * MINUTE);
      expect(sessions.get('fixed')).toBeDefined();
      expect(sessions.ttl('fixed')).toBe(MINUTE);
      jest.setSystemTime(T0 + 15 * MINUTE);
      expect(sessions.get('fixed')).toBeUndefined();
      expect(sessions.get('renewed')).toBeDefined(); // renewed at 9 minutes
    });
  });

  describe('replicated', () => {
    @Table({ name: 'replicated_sessions', ttl: { sliding: true, duration: '10m' } })
    class ReplicatedSession {
      id!: string;
    }
    @Store({ table: ReplicatedSession })
    class ReplicatedSessionsStore extends MemoryStore<ReplicatedSession> {}

    const prefix = freshPrefix();
    const replication = { redis: REDIS_URL, prefix };

    afterEach(async () => {
      await app?.close();
      app = undefined;
      await dropPrefix(prefix);
    });

    it('refuses a table whose ttl slides at start-up: Redis decides deadlines, and reads are local', async () => {
      const { error, app: failed } = await failedStartUp(
        CacheAppModule.register({ replication }, [ReplicatedSessionsStore]),
      );
      await failed?.close();
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/replicated and its table's ttl slides/);
    });

    it('refuses a sliding ttl on a write, and takes a fixed one', async () => {
      const tokens = (await start(CacheAppModule.register({ replication }, [TokensStore]))).get(
        TokensStore,
      );
      const error = await rejectionOf(
        tokens.write({ id: 't1' }, { ttl: { sliding: true, duration: '1m' } }),
      );
      expect((error as Error).message).toMatch(
        /sliding ttl cannot be given to a write to the replicated 'tokens'/,
      );
      await tokens.write({ id: 't1' }, { ttl: '1m' });
      expect(tokens.ttl('t1')).toBeGreaterThan(50_000);
    });
  });
});
