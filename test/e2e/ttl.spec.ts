import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  getSweepName,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  RecordNotFoundError,
  Store,
  Table,
  type MemoryStoreModuleOptions,
  type WriteOptions,
} from 'nestjs-memory-store';
import { createApp, failedStartUp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  CachedPage,
  CronSweptStore,
  ExactStore,
  HOURLY,
  OtpStore,
  PageCacheStore,
  SchedulerProbe,
  Session,
  SessionsStore,
  TickProbe,
  TtlAppModule,
} from './fixtures/ttl-app.module.js';

/** A whole minute, so that a cron schedule's ticks fall on round seconds from T0. */
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

const ids = (records: readonly { id: string }[]) => records.map((r) => r.id).sort();

describe('time to live', () => {
  let app: INestApplication | undefined;

  /** Starts a real application; fake timers are on already (see beforeEach). */
  async function start(fixture: DynamicModule): Promise<INestApplication> {
    app = await createApp(fixture);
    await app.init();
    return app;
  }

  async function sessionsApp(options: MemoryStoreModuleOptions = { ttl: { sweep: HOURLY } }) {
    await start(TtlAppModule.register(options));
    return app!.get(SessionsStore);
  }

  const advance = (ms: number) => jest.advanceTimersByTime(ms);

  beforeEach(() => {
    // Before the application is compiled, so the sweeps it registers run on fake time.
    jest.useFakeTimers({ now: T0 });
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    jest.useRealTimers();
  });

  describe('a TTL given to a write', () => {
    it('takes milliseconds: the record lives exactly that long', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 's1' }, { ttl: 900_000 });
      expect(sessions.ttl('s1')).toBe(900_000);
      advance(899_999);
      expect(sessions.get('s1')).toMatchObject({ id: 's1' });
      expect(sessions.ttl('s1')).toBe(1);
      advance(1);
      expect(sessions.get('s1')).toBeUndefined();
      expect(sessions.ttl('s1')).toBeUndefined();
    });

    it.each([
      ['500ms', 500],
      ['30s', 30_000],
      ['15m', 900_000],
      ['1h', 3_600_000],
      ['2d', 172_800_000],
    ])('takes %p: the record lives %p ms', async (ttl, ms) => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 's1' }, { ttl } as WriteOptions);
      expect(sessions.ttl('s1')).toBe(ms);
      advance(ms - 1);
      expect(sessions.exists('s1')).toBe(true);
      advance(1);
      expect(sessions.exists('s1')).toBe(false);
    });

    it('is taken by every kind of write, acknowledged or dirty', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 'write' }, { ttl: '1s' });
      await sessions.insert({ id: 'insert' }, { ttl: '2s' });
      await sessions.writeMany([{ id: 'many-1' }, { id: 'many-2' }], { ttl: '3s' });
      sessions.dirtyWrite({ id: 'dirty-write' }, { ttl: '4s' });
      sessions.dirtyInsert({ id: 'dirty-insert' }, { ttl: '5s' });
      sessions.dirtyWriteMany([{ id: 'dirty-many' }], { ttl: '6s' });
      await sessions.write({ id: 'upd' });
      await sessions.update('upd', { hits: 1 }, { ttl: '7s' });
      await sessions.write({ id: 'dirty-upd' });
      sessions.dirtyUpdate('dirty-upd', { hits: 1 }, { ttl: '8s' });
      await sessions.writeMany([
        { id: 'q-1', user: 'q' },
        { id: 'q-2', user: 'q' },
      ]);
      await sessions.update({ user: 'q' }, { hits: 2 }, { ttl: '9s' });

      expect(sessions.ttl('write')).toBe(1_000);
      expect(sessions.ttl('insert')).toBe(2_000);
      expect(sessions.ttl('many-1')).toBe(3_000);
      expect(sessions.ttl('many-2')).toBe(3_000);
      expect(sessions.ttl('dirty-write')).toBe(4_000);
      expect(sessions.ttl('dirty-insert')).toBe(5_000);
      expect(sessions.ttl('dirty-many')).toBe(6_000);
      expect(sessions.ttl('upd')).toBe(7_000);
      expect(sessions.ttl('dirty-upd')).toBe(8_000);
      expect(sessions.ttl('q-1')).toBe(9_000);
      expect(sessions.ttl('q-2')).toBe(9_000);

      advance(3_000);
      expect(sessions.keys().sort()).toEqual(
        ['dirty-insert', 'dirty-many', 'dirty-upd', 'dirty-write', 'q-1', 'q-2', 'upd'].sort(),
      );
      advance(6_000);
      expect(sessions.size).toBe(0);
    });

    it('is counted down by ttl(key), which is undefined without a deadline or a record', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 'timed' }, { ttl: '10s' });
      await sessions.write({ id: 'forever' });
      expect(sessions.ttl('timed')).toBe(10_000);
      advance(2_500);
      expect(sessions.ttl('timed')).toBe(7_500);
      advance(7_000);
      expect(sessions.ttl('timed')).toBe(500);
      expect(sessions.ttl('forever')).toBeUndefined();
      expect(sessions.ttl('missing')).toBeUndefined();
      advance(500);
      expect(sessions.ttl('timed')).toBeUndefined();
    });
  });

  describe('changing or clearing a deadline', () => {
    it('update keeps the deadline (a patch or a function)', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 's1' }, { ttl: '10s' });
      advance(4_000);
      await sessions.update('s1', { hits: 1 });
      expect(sessions.ttl('s1')).toBe(6_000);
      advance(1_000);
      sessions.dirtyUpdate('s1', (s) => ({ hits: s.hits + 1 }));
      expect(sessions.ttl('s1')).toBe(5_000);
      await sessions.update({ user: 'anon' }, { user: 'ada' });
      expect(sessions.ttl('s1')).toBe(5_000);
      advance(4_999);
      expect(sessions.get('s1')).toMatchObject({ hits: 2, user: 'ada' });
      advance(1);
      expect(sessions.get('s1')).toBeUndefined();
    });

    it('update with { ttl } sets a new deadline, later or earlier', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 'later' }, { ttl: '10s' });
      await sessions.write({ id: 'earlier' }, { ttl: '1h' });
      await sessions.write({ id: 'none-yet' });
      await sessions.update('later', { hits: 1 }, { ttl: '1m' });
      await sessions.update('earlier', { hits: 1 }, { ttl: 5_000 });
      await sessions.update('none-yet', { hits: 1 }, { ttl: '20s' });
      expect(sessions.ttl('later')).toBe(60_000);
      expect(sessions.ttl('earlier')).toBe(5_000);
      expect(sessions.ttl('none-yet')).toBe(20_000);
      advance(5_000);
      expect(ids(sessions.all())).toEqual(['later', 'none-yet']);
      advance(15_000);
      expect(ids(sessions.all())).toEqual(['later']);
      advance(39_999);
      expect(sessions.exists('later')).toBe(true);
      advance(1);
      expect(sessions.exists('later')).toBe(false);
    });

    it('writing the record again without a ttl clears its deadline', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 's1' }, { ttl: '10s' });
      await sessions.write({ id: 's1', hits: 5 });
      expect(sessions.ttl('s1')).toBeUndefined();
      advance(60_000);
      expect(sessions.get('s1')).toMatchObject({ hits: 5 });
    });

    it('{ ttl: null } clears the deadline, on write and on update', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 'w' }, { ttl: '10s' });
      await sessions.write({ id: 'u' }, { ttl: '10s' });
      await sessions.write({ id: 'w' }, { ttl: null });
      await sessions.update('u', { hits: 1 }, { ttl: null });
      expect(sessions.ttl('w')).toBeUndefined();
      expect(sessions.ttl('u')).toBeUndefined();
      advance(60_000);
      expect(ids(sessions.all())).toEqual(['u', 'w']);
    });
  });

  describe("the table's default TTL", () => {
    async function pagesApp() {
      await start(TtlAppModule.register({ ttl: { sweep: HOURLY } }));
      return app!.get(PageCacheStore);
    }

    it('applies to every write that gives none', async () => {
      const pages = await pagesApp();
      await pages.write({ id: 'a' });
      await pages.insert({ id: 'b' });
      await pages.writeMany([{ id: 'c' }]);
      pages.dirtyWrite({ id: 'd' });
      for (const id of ['a', 'b', 'c', 'd']) expect(pages.ttl(id)).toBe(60_000);
      advance(59_999);
      expect(pages.size).toBe(4);
      advance(1);
      expect(pages.size).toBe(0);
    });

    it('gives way to a ttl of the write, and to { ttl: null }', async () => {
      const pages = await pagesApp();
      await pages.write({ id: 'short' }, { ttl: '5s' });
      await pages.write({ id: 'long' }, { ttl: '1h' });
      await pages.write({ id: 'forever' }, { ttl: null });
      expect(pages.ttl('short')).toBe(5_000);
      expect(pages.ttl('long')).toBe(3_600_000);
      expect(pages.ttl('forever')).toBeUndefined();
      advance(2 * 3_600_000);
      expect(pages.keys()).toEqual(['forever']);
    });

    it('is set afresh by writing the record again, and kept by update', async () => {
      const pages = await pagesApp();
      await pages.write({ id: 'a' });
      await pages.write({ id: 'b' });
      advance(30_000);
      await pages.write({ id: 'a', body: 'v2' });
      await pages.update('b', { body: 'v2' });
      expect(pages.ttl('a')).toBe(60_000);
      expect(pages.ttl('b')).toBe(30_000);
      advance(30_000);
      expect(pages.keys()).toEqual(['a']);
    });
  });

  describe('an expired record, before any sweep has run', () => {
    let sessions: SessionsStore;
    let sweep: ReturnType<typeof jest.spyOn>;

    beforeEach(async () => {
      // The sweep runs once an hour; the records expire after 5 s; the test reads at 10 s.
      sessions = await sessionsApp({ ttl: { sweep: HOURLY } });
      await sessions.write({ id: 'gone', email: 'gone@example.com', user: 'ada' }, { ttl: '5s' });
      await sessions.write({ id: 'gone-too', user: 'bob', hits: 3 }, { ttl: '5s' });
      await sessions.write({ id: 'kept', email: 'kept@example.com', user: 'ada', hits: 1 });
      sweep = jest.spyOn(sessions, 'sweep');
      advance(10_000);
    });

    afterEach(() => {
      // Each test's first operation after the deadline is the one under test.
      expect(sweep).not.toHaveBeenCalled();
    });

    // Each case runs on a fresh application, its read the first one after the deadline, so
    // one read cannot pass by relying on an earlier read having removed the records.
    it.each<[string, (store: SessionsStore) => void]>([
      ['get', (s) => expect(s.get('gone')).toBeUndefined()],
      ['exists', (s) => expect(s.exists('gone')).toBe(false)],
      ['all', (s) => expect(ids(s.all())).toEqual(['kept'])],
      ['keys', (s) => expect(s.keys()).toEqual(['kept'])],
      ['size', (s) => expect(s.size).toBe(1)],
      ['select() of everything', (s) => expect(ids(s.select())).toEqual(['kept'])],
      ['select by an index', (s) => expect(ids(s.select({ user: 'ada' }))).toEqual(['kept'])],
      ['select by a scan', (s) => expect(ids(s.select({ hits: { $gte: 0 } }))).toEqual(['kept'])],
      [
        'select ordered and paged',
        (s) => expect(ids(s.select({}, { orderBy: { hits: 'desc' }, limit: 1 }))).toEqual(['kept']),
      ],
      [
        'one by a unique index',
        (s) => expect(s.one({ email: 'gone@example.com' })).toBeUndefined(),
      ],
      ['one by the key', (s) => expect(s.one({ id: 'gone-too' })).toBeUndefined()],
      ['count()', (s) => expect(s.count()).toBe(1)],
      ['count of a query', (s) => expect(s.count({ user: 'bob' })).toBe(0)],
      [
        'aggregate with groupBy',
        (s) =>
          expect(s.aggregate(undefined, { groupBy: 'user', count: true, sum: 'hits' })).toEqual([
            { group: { user: 'ada' }, count: 1, sum: { hits: 1 } },
          ]),
      ],
      [
        'aggregate without groupBy',
        (s) => expect(s.aggregate({}, { count: true, max: 'hits' })).toMatchObject({ count: 1 }),
      ],
      [
        'explain',
        (s) =>
          expect(s.explain({ user: 'bob' })).toMatchObject({ returnedRows: 0, examinedRows: 0 }),
      ],
      ['explain of a scan', (s) => expect(s.explain()).toMatchObject({ examinedRows: 1 })],
      ['ttl', (s) => expect(s.ttl('gone')).toBeUndefined()],
    ])('is not seen by %s', (_name, read) => {
      read(sessions);
    });

    it('is not counted by MemoryStoreService.stats()', () => {
      const stats = app!.get(MemoryStoreService).stats();
      expect(stats.find((s) => s.table === 'sessions')).toMatchObject({ size: 1 });
    });

    it('is not found by update, delete or withdraw', async () => {
      expect(await rejectionOf(sessions.update('gone', { hits: 9 }))).toBeInstanceOf(
        RecordNotFoundError,
      );
      expect(await sessions.delete('gone-too')).toBeUndefined();
      expect(await sessions.withdraw({ user: 'bob' })).toBeUndefined();
      expect(await sessions.update({ user: 'bob' }, { hits: 9 })).toEqual([]);
      expect(sessions.keys()).toEqual(['kept']);
    });

    it('releases its unique values: a new record may take them', async () => {
      await sessions.insert({ id: 'new', email: 'gone@example.com' });
      expect(sessions.one({ email: 'gone@example.com' })?.id).toBe('new');
    });

    it('releases its unique values to an update and to writeMany', async () => {
      await sessions.update('kept', { email: 'gone@example.com' });
      await sessions.writeMany([{ id: 'n1', email: 'kept@example.com' }]);
      expect(sessions.one({ email: 'gone@example.com' })?.id).toBe('kept');
      expect(sessions.one({ email: 'kept@example.com' })?.id).toBe('n1');
    });

    it('frees its key: insert of the same key succeeds, without the old deadline', async () => {
      const fresh = await sessions.insert({ id: 'gone', user: 'carol' });
      expect(sessions.get('gone')).toBe(fresh);
      expect(fresh.email).toBeUndefined();
      expect(sessions.ttl('gone')).toBeUndefined();
      expect(ids(sessions.select({ user: 'ada' }))).toEqual(['kept']);
    });

    it('does not come back as the previous record of a write with its key', async () => {
      await sessions.write({ id: 'gone-too', user: 'dan' });
      expect(sessions.get('gone-too')).toMatchObject({ user: 'dan', hits: 0 });
      expect(sessions.select({ user: 'bob' })).toEqual([]);
    });
  });

  describe('the sweep', () => {
    it('removes exactly the expired records each time it runs (an interval)', async () => {
      const sessions = await sessionsApp({ ttl: { sweep: { everyMs: 2_000 } } });
      await sessions.write({ id: 'a' }, { ttl: '1s' });
      await sessions.write({ id: 'b' }, { ttl: '3s' });
      await sessions.write({ id: 'c' }, { ttl: '3s' });
      await sessions.write({ id: 'd' }, { ttl: '10s' });
      await sessions.write({ id: 'e' });
      const sweep = jest.spyOn(sessions, 'sweep');

      advance(1_999);
      expect(sweep).not.toHaveBeenCalled();
      advance(1); // 2 s: a
      expect(sweep.mock.results.map((r) => r.value)).toEqual([1]);
      advance(2_000); // 4 s: b, c
      advance(2_000); // 6 s: none
      expect(sweep.mock.results.map((r) => r.value)).toEqual([1, 2, 0]);
      expect(ids(sessions.all())).toEqual(['d', 'e']);
      advance(4_000); // 10 s: d
      expect(sweep.mock.results.map((r) => r.value)).toEqual([1, 2, 0, 0, 1]);
      expect(ids(sessions.all())).toEqual(['e']);
    });

    it('runs on a cron expression', async () => {
      const sessions = await sessionsApp({ ttl: { sweep: '*/5 * * * * *' } });
      await sessions.write({ id: 'a' }, { ttl: '1s' });
      await sessions.write({ id: 'b' }, { ttl: '7s' });
      await sessions.write({ id: 'c' });
      const sweep = jest.spyOn(sessions, 'sweep');

      advance(4_999);
      expect(sweep).not.toHaveBeenCalled();
      advance(1); // 12:00:05
      expect(sweep.mock.results.map((r) => r.value)).toEqual([1]);
      advance(5_000); // 12:00:10
      expect(sweep.mock.results.map((r) => r.value)).toEqual([1, 1]);
      expect(sessions.keys()).toEqual(['c']);
    });

    it('runs once a second by default', async () => {
      const sessions = await sessionsApp({});
      await sessions.write({ id: 'a' }, { ttl: '1500ms' });
      const sweep = jest.spyOn(sessions, 'sweep');
      advance(1_000);
      expect(sweep.mock.results.map((r) => r.value)).toEqual([0]);
      advance(1_000);
      expect(sweep.mock.results.map((r) => r.value)).toEqual([0, 1]);
    });

    it("follows a store's own schedule over the module's (interval and cron)", async () => {
      await start(
        TtlAppModule.register({ ttl: { sweep: HOURLY } }, [
          SessionsStore,
          OtpStore,
          CronSweptStore,
        ]),
      );
      const sessions = app!.get(SessionsStore);
      const otp = app!.get(OtpStore);
      const cron = app!.get(CronSweptStore);
      await sessions.write({ id: 's' }, { ttl: '500ms' });
      await otp.write({ id: 'o' }, { ttl: '500ms' });
      await cron.write({ id: 'c' }, { ttl: '500ms' });
      const sweeps = [sessions, otp, cron].map((store) => jest.spyOn(store, 'sweep'));

      advance(1_000);
      expect(sweeps.map((s) => s.mock.calls.length)).toEqual([0, 1, 0]);
      expect(sweeps[1].mock.results[0].value).toBe(1);
      advance(4_000); // 12:00:05
      expect(sweeps.map((s) => s.mock.calls.length)).toEqual([0, 5, 1]);
      expect(sweeps[2].mock.results[0].value).toBe(1);
    });

    it('never runs every millisecond for an interval longer than a timer can hold', async () => {
      // setInterval turns a delay past 2^31 - 1 ms (about 24.8 days) into 1 ms: such an
      // interval must be refused at start, or honoured.
      const thirtyDays = { everyMs: 30 * 86_400_000 };
      let sessions: SessionsStore;
      try {
        sessions = await sessionsApp({ ttl: { sweep: thirtyDays } });
      } catch (error) {
        expect(error).toBeInstanceOf(MemoryStoreError);
        return;
      }
      await sessions.write({ id: 'a' }, { ttl: '1h' });
      const sweep = jest.spyOn(sessions, 'sweep');
      advance(1_000);
      expect(sweep).not.toHaveBeenCalled();
    });

    it('keeps a failing sweep from stopping the next ones', async () => {
      const sessions = await sessionsApp({ ttl: { sweep: { everyMs: 1_000 } } });
      await sessions.write({ id: 'a' }, { ttl: '1500ms' });
      const sweep = jest.spyOn(sessions, 'sweep').mockImplementationOnce(() => {
        throw new Error('boom');
      });
      advance(1_000);
      advance(1_000);
      expect(sweep).toHaveBeenCalledTimes(2);
      expect(sweep.mock.results[1]).toEqual({ type: 'return', value: 1 });
    });
  });

  describe('the sweep in the SchedulerRegistry', () => {
    it('is named memory-store:<table>:ttl-sweep, from the store class, the table or the name', () => {
      expect(getSweepName(SessionsStore)).toBe('memory-store:sessions:ttl-sweep');
      expect(getSweepName(Session)).toBe('memory-store:sessions:ttl-sweep');
      expect(getSweepName('sessions')).toBe('memory-store:sessions:ttl-sweep');
      expect(getSweepName(PageCacheStore)).toBe('memory-store:page_cache:ttl-sweep');
      expect(getSweepName(CachedPage)).toBe('memory-store:page_cache:ttl-sweep');
    });

    it('is registered at start for a table with a default TTL', async () => {
      await start(TtlAppModule.register());
      const scheduler = app!.get(SchedulerRegistry);
      expect(scheduler.doesExist('interval', getSweepName(PageCacheStore))).toBe(true);
    });

    it('is registered by the first write with a TTL, not before', async () => {
      const sessions = await sessionsApp();
      const scheduler = app!.get(SchedulerRegistry);
      const name = getSweepName(SessionsStore);
      expect(scheduler.doesExist('interval', name)).toBe(false);
      await sessions.write({ id: 'a' });
      expect(scheduler.doesExist('interval', name)).toBe(false);
      await sessions.write({ id: 'b' }, { ttl: '1m' });
      expect(scheduler.doesExist('interval', name)).toBe(true);
      await sessions.write({ id: 'c' }, { ttl: '1m' });
      expect(scheduler.getIntervals().filter((n) => n === name)).toHaveLength(1);
    });

    it('is a cron job when the schedule is a cron expression', async () => {
      await start(TtlAppModule.register({}, [CronSweptStore]));
      await app!.get(CronSweptStore).write({ id: 'a' }, { ttl: '1m' });
      const scheduler = app!.get(SchedulerRegistry);
      const name = getSweepName(CronSweptStore);
      expect(scheduler.doesExist('cron', name)).toBe(true);
      expect(scheduler.doesExist('interval', name)).toBe(false);
    });

    it('is in the application’s own registry when it imports ScheduleModule.forRoot()', async () => {
      await start(
        TtlAppModule.register({}, [SessionsStore, PageCacheStore], { withSchedule: true }),
      );
      const injected = app!.get(SchedulerProbe).scheduler;
      expect(injected.getIntervals()).toContain(getSweepName(PageCacheStore));
      await app!.get(SessionsStore).write({ id: 'a' }, { ttl: '1m' });
      expect(injected.getIntervals()).toContain(getSweepName(SessionsStore));
      expect(injected.getIntervals()).toContain('app-tick');
      expect(app!.get(SchedulerRegistry)).toBe(injected);
    });

    it('does not run the application’s own @Interval jobs twice', async () => {
      await start(TtlAppModule.register({}, [SessionsStore], { withSchedule: true }));
      advance(3_000);
      expect(app!.get(TickProbe).ticks).toBe(3);
    });

    it('is gone after app.close()', async () => {
      await start(TtlAppModule.register({}, [SessionsStore, PageCacheStore, CronSweptStore]));
      const scheduler = app!.get(SchedulerRegistry);
      const stores = [app!.get(SessionsStore), app!.get(PageCacheStore), app!.get(CronSweptStore)];
      for (const store of stores) await store.write({ id: 'x' }, { ttl: '10s' });
      expect(scheduler.getIntervals()).toEqual(
        expect.arrayContaining([getSweepName(SessionsStore), getSweepName(PageCacheStore)]),
      );
      expect(scheduler.doesExist('cron', getSweepName(CronSweptStore))).toBe(true);
      const sweeps = stores.map((store) => jest.spyOn(store, 'sweep'));

      await app!.close();
      app = undefined;

      expect(scheduler.doesExist('interval', getSweepName(SessionsStore))).toBe(false);
      expect(scheduler.doesExist('interval', getSweepName(PageCacheStore))).toBe(false);
      expect(scheduler.doesExist('cron', getSweepName(CronSweptStore))).toBe(false);
      advance(60_000);
      for (const sweep of sweeps) expect(sweep).not.toHaveBeenCalled();
    });

    it('runs and stops without ScheduleModule.forRoot() in the application', async () => {
      await start(
        TtlAppModule.register({}, [SessionsStore, CronSweptStore], { withSchedule: false }),
      );
      expect(() => app!.get(SchedulerRegistry)).toThrow();
      const stores = [app!.get(SessionsStore), app!.get(CronSweptStore)];
      for (const store of stores) await store.write({ id: 'x' }, { ttl: '10s' });
      const sweeps = stores.map((store) => jest.spyOn(store, 'sweep'));
      advance(3_600_000);
      for (const sweep of sweeps) expect(sweep).toHaveBeenCalled();
      for (const store of stores) expect(store.size).toBe(0);

      await app!.close();
      app = undefined;
      for (const sweep of sweeps) sweep.mockClear();
      advance(3_600_000);
      for (const sweep of sweeps) expect(sweep).not.toHaveBeenCalled();
    });

    it('is not started again by a TTL write after app.close()', async () => {
      const sessions = await sessionsApp();
      const scheduler = app!.get(SchedulerRegistry);
      await app!.close();
      app = undefined;
      // Whether a closed store refuses the write or takes it, no sweep may outlive the app.
      await sessions.write({ id: 'late' }, { ttl: '1s' }).catch(() => undefined);
      const sweep = jest.spyOn(sessions, 'sweep');
      advance(10_000);
      expect(scheduler.doesExist('interval', getSweepName(SessionsStore))).toBe(false);
      expect(sweep).not.toHaveBeenCalled();
    });
  });

  describe('a bad duration', () => {
    const BAD: [string, unknown][] = [
      ["'5 parsecs'", '5 parsecs'],
      ['-1', -1],
      ['0', 0],
      ['NaN', NaN],
      ["''", ''],
      ['{}', {}],
    ];

    function expectClear(error: unknown): void {
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as MemoryStoreError).table).toBe('sessions');
      expect((error as Error).message).toMatch(/ttl/i);
      expect((error as Error).message).toMatch(/'30s'|'15m'|milliseconds/);
    }

    it.each(BAD)('%s is refused by every write, which changes nothing', async (_label, ttl) => {
      const sessions = await sessionsApp({});
      const options = { ttl } as WriteOptions;
      const scheduler = app!.get(SchedulerRegistry);
      const original = await sessions.write({ id: 'a', hits: 1 });

      expectClear(await rejectionOf(sessions.write({ id: 'a', hits: 2 }, options)));
      expectClear(await rejectionOf(sessions.write({ id: 'b' }, options)));
      expectClear(await rejectionOf(sessions.insert({ id: 'b' }, options)));
      expectClear(await rejectionOf(sessions.update('a', { hits: 2 }, options)));
      expectClear(await rejectionOf(sessions.update({ id: 'a' }, { hits: 2 }, options)));
      expectClear(await rejectionOf(sessions.writeMany([{ id: 'b' }, { id: 'c' }], options)));
      expectClear(thrownBy(() => sessions.dirtyWrite({ id: 'b' }, options)));
      expectClear(thrownBy(() => sessions.dirtyInsert({ id: 'b' }, options)));
      expectClear(thrownBy(() => sessions.dirtyUpdate('a', { hits: 2 }, options)));
      expectClear(thrownBy(() => sessions.dirtyWriteMany([{ id: 'b' }], options)));

      expect(sessions.get('a')).toBe(original);
      expect(sessions.keys()).toEqual(['a']);
      expect(sessions.ttl('a')).toBeUndefined();
      expect(scheduler.doesExist('interval', getSweepName(SessionsStore))).toBe(false);
    });

    it('leaves an existing deadline as it was', async () => {
      const sessions = await sessionsApp();
      await sessions.write({ id: 'a' }, { ttl: '10s' });
      // @ts-expect-error -- the Duration type already refuses a unit it does not know
      await rejectionOf(sessions.update('a', { hits: 1 }, { ttl: '5 parsecs' }));
      await rejectionOf(sessions.write({ id: 'a' }, { ttl: -1 }));
      expect(sessions.ttl('a')).toBe(10_000);
      expect(sessions.get('a')?.hits).toBe(0);
    });

    it('quotes the value it refused', async () => {
      const sessions = await sessionsApp();
      const options = { ttl: '5 parsecs' } as unknown as WriteOptions;
      const error = await rejectionOf(sessions.write({ id: 'a' }, options));
      expect((error as Error).message).toContain('5 parsecs');
    });

    it('refuses write options that are not an object', async () => {
      const sessions = await sessionsApp();
      const error = await rejectionOf(sessions.write({ id: 'a' }, '15m' as WriteOptions));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect(sessions.size).toBe(0);
    });

    it.each([
      ["'5 parsecs'", '5 parsecs'],
      ['0', 0],
      ['-1', -1],
      ['NaN', NaN],
      ["''", ''],
    ])('%s as a table default is refused by @Table()', (_label, ttl) => {
      const error = thrownBy(() => {
        @Table({ name: 'bad_default', ttl: ttl as '1m' })
        class BadDefault {
          id!: string;
        }
        return BadDefault;
      });
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('@Table() on BadDefault');
      expect((error as Error).message).toMatch(/ttl/);
    });
  });

  describe('bad TTL options', () => {
    const BAD_OPTIONS: [string, unknown, RegExp][] = [
      ['a malformed cron expression', { sweep: 'every five seconds' }, /ttl\.sweep.*cron/],
      ['a cron expression out of range', { sweep: '99 * * * * *' }, /ttl\.sweep/],
      ['everyMs 0', { sweep: { everyMs: 0 } }, /ttl\.sweep/],
      ['a negative everyMs', { sweep: { everyMs: -5 } }, /ttl\.sweep/],
      ['everyMs NaN', { sweep: { everyMs: NaN } }, /ttl\.sweep/],
      ['everyMs as a string', { sweep: { everyMs: '1000' } }, /ttl\.sweep/],
      ['a sweep that is neither', { sweep: 42 }, /ttl\.sweep/],
      ['an unknown key', { sweeps: { everyMs: 1000 } }, /ttl\.sweeps/],
      ['a negative resolution', { resolution: -1 }, /ttl\.resolution/],
      ['ttl not an object', '1s', /'ttl' must be an object/],
    ];

    it.each(BAD_OPTIONS)('forRoot refuses %s at start', async (_label, ttl, message) => {
      const { error, app: failed } = await failedStartUp(
        TtlAppModule.register({ ttl } as MemoryStoreModuleOptions),
      );
      app = failed;
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(message);
    });

    it('forRootAsync refuses them too', async () => {
      @Module({
        imports: [
          MemoryStoreModule.forRootAsync({
            useFactory: () => ({ ttl: { sweep: { everyMs: 0 } } }),
            stores: [SessionsStore],
          }),
        ],
      })
      class AsyncTtlApp {}
      const { error, app: failed } = await failedStartUp(AsyncTtlApp);
      app = failed;
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/ttl\.sweep/);
    });

    it.each(BAD_OPTIONS)(
      '@Store() refuses %s when it decorates the class',
      (_label, ttl, message) => {
        const error = thrownBy(() => {
          @Store({ table: Session, ttl } as { table: typeof Session })
          class BadSweepStore extends MemoryStore<Session> {}
          return BadSweepStore;
        });
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect((error as Error).message).toContain('@Store() on BadSweepStore');
        expect((error as Error).message).toMatch(message);
      },
    );
  });

  describe('resolution: 0', () => {
    it('a record is gone at exactly its deadline, whatever the timers did', async () => {
      await start(TtlAppModule.register({ ttl: { sweep: HOURLY } }, [ExactStore]));
      const exact = app!.get(ExactStore);
      await exact.write({ id: 'a' }, { ttl: 1_000 });
      // Only the system time moves: a store reading the clock on every check still sees it.
      jest.setSystemTime(T0 + 400);
      expect(exact.ttl('a')).toBe(600);
      jest.setSystemTime(T0 + 999);
      expect(exact.exists('a')).toBe(true);
      expect(exact.ttl('a')).toBe(1);
      jest.setSystemTime(T0 + 1_000);
      expect(exact.exists('a')).toBe(false);
      expect(exact.size).toBe(0);
    });

    it('is taken from the module as well', async () => {
      const sessions = await sessionsApp({ ttl: { sweep: HOURLY, resolution: 0 } });
      await sessions.write({ id: 'a' }, { ttl: 250 });
      jest.setSystemTime(T0 + 249);
      expect(sessions.get('a')).toBeDefined();
      jest.setSystemTime(T0 + 250);
      expect(sessions.get('a')).toBeUndefined();
    });
  });
});
