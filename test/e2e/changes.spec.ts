import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  MemoryStoreError,
  MemoryStoreService,
  OnStoreEvent,
  QueryError,
  type StoreChange,
  type StoreChangeOp,
} from 'nestjs-memory-store';
import type { Observable, Subscription } from 'rxjs';
import { delay, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  CodesStore,
  EmitterListeners,
  EventsAppModule,
  FailingListeners,
  InvoicesStore,
  Member,
  MemberListeners,
  MembersController,
  MembersStore,
  ReceivedLog,
  RecentStore,
  RecordingLogger,
  StuckListener,
  UnknownTableListener,
  UnlistedStoreListener,
  WildcardListeners,
  type EventsAppSetup,
} from './fixtures/events-app.module.js';

/**
 * Lets the change hub deliver: it delivers on the next turn of the event loop. Tests that
 * subscribe after some set-up writes let those be delivered first, so that what they collect
 * is only what they are about (whether an observer ever sees a change committed before it
 * subscribed is a test of its own, under 'delivery').
 */
const delivered = async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
};

/** What a change says, without its time (checked on its own). */
const summary = (c: StoreChange) => ({ table: c.table, op: c.op, key: c.key });

describe('change events', () => {
  let app: INestApplication | undefined;
  let logger: RecordingLogger;
  const subscriptions: Subscription[] = [];

  async function start(setup: EventsAppSetup = {}): Promise<INestApplication> {
    logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [EventsAppModule.register(setup)],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    return app;
  }

  /** Every change `changes(filter)` delivers from now on, in a list. */
  function collect<T extends object>(observable: Observable<StoreChange<T>>): StoreChange<T>[] {
    const seen: StoreChange<T>[] = [];
    subscriptions.push(observable.subscribe((c) => seen.push(c)));
    return seen;
  }

  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    await app?.close();
    app = undefined;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('a StoreChange', () => {
    it('of an insert carries every field in its diff, the record, the key, the table and the time', async () => {
      const members = (await start()).get(MembersStore);
      const seen = collect<Member>(members.changes());
      const before = Date.now();
      const ada = await members.insert({ id: 'm1', email: 'ada@example.com', name: 'Ada' });
      await delivered();

      expect(seen).toHaveLength(1);
      const [change] = seen;
      expect(change).toMatchObject({ table: 'members', op: 'insert', key: 'm1' });
      expect(change.record).toBe(ada);
      expect(change.previous).toBeUndefined();
      expect(change.diff).toEqual({
        id: 'm1',
        email: 'ada@example.com',
        name: 'Ada',
        role: 'user',
        visits: 0,
        profile: { theme: 'dark', lang: 'en' },
      });
      expect(change.at).toBeInstanceOf(Date);
      expect(change.at.getTime()).toBeGreaterThanOrEqual(before);
      expect(change.at.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('of an update carries only the changed fields, the new record and the previous one', async () => {
      const members = (await start()).get(MembersStore);
      const first = await members.insert({ id: 'm1', email: 'ada@example.com', name: 'Ada' });
      await delivered();
      const seen = collect<Member>(members.changes());
      const second = await members.update('m1', (m) => ({ visits: m.visits + 1, role: 'admin' }));
      await delivered();

      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ table: 'members', op: 'update', key: 'm1' });
      expect(seen[0].record).toBe(second);
      expect(seen[0].previous).toBe(first);
      expect(seen[0].diff).toEqual({ visits: 1, role: 'admin' });
    });

    it('of an update of a nested object carries the new nested value only', async () => {
      const members = (await start()).get(MembersStore);
      await members.insert({ id: 'm1', name: 'Ada' });
      await delivered();
      const seen = collect<Member>(members.changes());
      await members.update('m1', (m) => ({ profile: { ...m.profile, theme: 'light' } }));
      await delivered();

      expect(seen[0].diff).toEqual({ profile: { theme: 'light', lang: 'en' } });
      expect(seen[0].previous?.profile).toEqual({ theme: 'dark', lang: 'en' });
    });

    it('of a replacing write shows a field that disappeared as undefined', async () => {
      const members = (await start()).get(MembersStore);
      await members.insert({ id: 'm1', name: 'Ada', nickname: 'countess' });
      await delivered();
      const seen = collect<Member>(members.changes());
      await members.write({ id: 'm1', name: 'Ada' });
      await delivered();

      expect(seen).toHaveLength(1);
      expect(seen[0].op).toBe('update');
      const diff = seen[0].diff as Record<string, unknown>;
      expect(Object.keys(diff)).toEqual(['nickname']);
      expect(diff.nickname).toBeUndefined();
      expect(seen[0].previous?.nickname).toBe('countess');
    });

    it('of a delete carries the deleted record as previous', async () => {
      const members = (await start()).get(MembersStore);
      const ada = await members.insert({ id: 'm1', name: 'Ada' });
      await delivered();
      const seen = collect<Member>(members.changes());
      await members.delete('m1');
      await delivered();

      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ table: 'members', op: 'delete', key: 'm1' });
      expect(seen[0].previous).toBe(ada);
      expect(seen[0].record).toBeUndefined();
      expect(seen[0].diff).toBeUndefined();
    });

    it('of an expiry says expire, with the expired record', async () => {
      const codes = (await start()).get(CodesStore);
      const code = await codes.write({ id: 'c1' }, { ttl: 5 });
      await codes.write({ id: 'c2' }, { ttl: '1h' });
      await delivered();
      const seen = collect(codes.changes());
      await delay(20);
      expect(codes.sweep()).toBe(1);
      await delivered();

      expect(seen.map(summary)).toEqual([{ table: 'codes', op: 'expire', key: 'c1' }]);
      expect(seen[0].previous).toBe(code);
      expect(seen[0].record).toBeUndefined();
    });

    it('of an expiry noticed by a read (no sweep) is delivered too', async () => {
      const codes = (await start()).get(CodesStore);
      await codes.write({ id: 'c1' }, { ttl: 5 });
      await delivered();
      const seen = collect(codes.changes());
      await delay(20);
      expect(codes.get('c1')).toBeUndefined();
      await delivered();
      expect(seen.map(summary)).toEqual([{ table: 'codes', op: 'expire', key: 'c1' }]);
    });

    it('of an eviction says evict, with the evicted record, before the insert that made room', async () => {
      const recent = (await start()).get(RecentStore);
      const a = await recent.write({ id: 'a' });
      await recent.write({ id: 'b' });
      await delivered();
      const seen = collect(recent.changes());
      await recent.write({ id: 'c' });
      await delivered();

      expect(seen.map(summary)).toEqual([
        { table: 'recent', op: 'evict', key: 'a' },
        { table: 'recent', op: 'insert', key: 'c' },
      ]);
      expect(seen[0].previous).toBe(a);
    });

    it('of deleteAll is one clear, without a key', async () => {
      const members = (await start()).get(MembersStore);
      await members.writeMany([{ id: 'm1' }, { id: 'm2' }]);
      await delivered();
      const seen = collect(members.changes());
      expect(await members.deleteAll()).toBe(2);
      await delivered();

      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ table: 'members', op: 'clear' });
      expect(seen[0].key).toBeUndefined();
    });

    it('is a change of every kind of write, dirty ones included', async () => {
      const members = (await start()).get(MembersStore);
      const seen = collect(members.changes());
      members.dirtyWrite({ id: 'a' });
      members.dirtyInsert({ id: 'b' });
      members.dirtyUpdate('a', { name: 'A' });
      members.dirtyWriteMany([{ id: 'c' }, { id: 'd', role: 'admin' }]);
      members.dirtyUpdate({ role: 'admin' }, { visits: 3 });
      members.dirtyWithdraw({ id: 'c' });
      members.dirtyDelete('b');
      members.dirtyDeleteMany({ role: 'admin' });
      await members.withdraw({ id: 'a' });
      await delivered();

      expect(seen.map((c) => `${c.op} ${String(c.key)}`)).toEqual([
        'insert a',
        'insert b',
        'update a',
        'insert c',
        'insert d',
        'update d',
        'delete c',
        'delete b',
        'delete d',
        'delete a',
      ]);
    });
  });

  describe('delivery', () => {
    it('follows commit order across many writes and two stores, each change once', async () => {
      await start();
      const members = app!.get(MembersStore);
      const invoices = app!.get(InvoicesStore);
      const log = app!.get(ReceivedLog);
      const merged: string[] = [];
      subscriptions.push(
        members.changes().subscribe((c) => merged.push(`${c.op} ${String(c.key)}`)),
        invoices.changes().subscribe((c) => merged.push(`${c.op} ${String(c.key)}`)),
      );

      const expected: string[] = [];
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const id = `k${i % 37}`;
        const store = i % 3 === 0 ? invoices : members;
        const exists = store.exists(id);
        if (exists && i % 5 === 0) {
          writes.push(store === invoices ? invoices.delete(id) : members.delete(id));
          expected.push(`delete ${id}`);
        } else {
          writes.push(store === invoices ? invoices.write({ id }) : members.write({ id }));
          expected.push(`${exists ? 'update' : 'insert'} ${id}`);
        }
        if (i % 7 === 0) await Promise.all(writes.splice(0));
      }
      await Promise.all(writes);
      await delivered();

      expect(merged).toEqual(expected);
      // the listener of both stores got the same sequence, each change once
      expect(log.of('bothStores').map((c) => `${c.op} ${String(c.key)}`)).toEqual(expected);
    });

    it('comes after the write resolved: the awaiting code runs before any listener', async () => {
      await start();
      const members = app!.get(MembersStore);
      const log = app!.get(ReceivedLog);
      const order: string[] = [];
      subscriptions.push(members.changes().subscribe((c) => order.push(`observer ${c.op}`)));

      await members.insert({ id: 'm1' });
      order.push('after await');
      expect(log.of('byStoreClass')).toEqual([]);
      members.dirtyUpdate('m1', { visits: 1 });
      order.push('after dirty write');
      await delivered();
      order.push('later');

      expect(order).toEqual([
        'after await',
        'after dirty write',
        'observer insert',
        'observer update',
        'later',
      ]);
      expect(log.of('byStoreClass').map((c) => c.op)).toEqual(['insert', 'update']);
    });

    it.each([
      ['while another listener is active', {}],
      ['while nothing else listens', { providers: [], controllers: [] }],
    ])(
      'reaches an observer only with changes committed after it subscribed (%s)',
      async (_, setup: EventsAppSetup) => {
        const members = (await start(setup)).get(MembersStore);
        await members.insert({ id: 'before' });
        const seen = collect(members.changes());
        await members.insert({ id: 'after' });
        await delivered();
        expect(seen.map((c) => c.key)).toEqual(['after']);
      },
    );

    it('delivers nothing for a write that failed', async () => {
      const members = (await start()).get(MembersStore);
      await members.insert({ id: 'm1', email: 'a@example.com' });
      await delivered();
      const seen = collect(members.changes());
      await rejectionOf(members.insert({ id: 'm2', email: 'a@example.com' }));
      await rejectionOf(members.update('nobody', { visits: 1 }));
      await rejectionOf(members.writeMany([{ id: 'm3' }, { id: 'm4', email: 'a@example.com' }]));
      await delivered();
      expect(seen).toEqual([]);
    });
  });

  describe('store.changes(filter)', () => {
    async function filtered() {
      const members = (await start()).get(MembersStore);
      await members.writeMany([
        { id: 'm1', role: 'admin' },
        { id: 'm2', role: 'user' },
      ]);
      await delivered();
      return members;
    }

    async function exercise(members: MembersStore) {
      await members.insert({ id: 'm3', role: 'admin' });
      await members.update('m1', { visits: 1 });
      await members.update('m2', { visits: 1 });
      await members.delete('m2');
      await members.delete('m1');
      await delivered();
    }

    it('by one operation', async () => {
      const members = await filtered();
      const seen = collect(members.changes({ op: 'update' }));
      await exercise(members);
      expect(seen.map(summary)).toEqual([
        { table: 'members', op: 'update', key: 'm1' },
        { table: 'members', op: 'update', key: 'm2' },
      ]);
    });

    it('by several operations', async () => {
      const members = await filtered();
      const seen = collect(members.changes({ op: ['insert', 'delete'] }));
      await exercise(members);
      expect(seen.map((c) => `${c.op} ${String(c.key)}`)).toEqual([
        'insert m3',
        'delete m2',
        'delete m1',
      ]);
    });

    it('by key, and by several keys', async () => {
      const members = await filtered();
      const one = collect(members.changes({ key: 'm2' }));
      const two = collect(members.changes({ key: ['m1', 'm3'] }));
      await exercise(members);
      expect(one.map((c) => `${c.op} ${String(c.key)}`)).toEqual(['update m2', 'delete m2']);
      expect(two.map((c) => `${c.op} ${String(c.key)}`)).toEqual([
        'insert m3',
        'update m1',
        'delete m1',
      ]);
    });

    it('by a query on the record (on the previous record for a removal)', async () => {
      const members = await filtered();
      const admins = collect(members.changes({ where: { role: 'admin' } }));
      const adminUpdates = collect(
        members.changes({ op: 'update', where: { role: { $in: ['admin'] }, visits: { $gt: 0 } } }),
      );
      await exercise(members);
      expect(admins.map((c) => `${c.op} ${String(c.key)}`)).toEqual([
        'insert m3',
        'update m1',
        'delete m1',
      ]);
      expect(adminUpdates.map((c) => `${c.op} ${String(c.key)}`)).toEqual(['update m1']);
    });

    it('by a query: an update moving a record out of the query is delivered, as one moving it in', async () => {
      const members = await filtered();
      const admins = collect(members.changes({ where: { role: 'admin' } }));
      const userUpdates = collect(members.changes({ op: 'update', where: { role: 'user' } }));
      await members.update('m1', { role: 'user' }); // leaves the admins
      await members.update('m1', { visits: 2 }); // a user before and after: not an admin change
      await members.update('m1', { role: 'admin' }); // comes back
      await members.update('m2', { visits: 3 }); // never an admin
      await delivered();
      const shown = (c: StoreChange<Member>) =>
        `${c.op} ${String(c.key)} ${String(c.previous?.role)}->${String(c.record?.role)}`;
      expect(admins.map(shown)).toEqual(['update m1 admin->user', 'update m1 user->admin']);
      expect(userUpdates.map(shown)).toEqual([
        'update m1 admin->user',
        'update m1 user->user',
        'update m1 user->admin',
        'update m2 user->user',
      ]);
    });

    it('a clear (deleteAll) reaches key and query subscribers, unless their op leaves it out', async () => {
      const members = await filtered();
      const byKey = collect(members.changes({ key: 'm1' }));
      const byKeys = collect(members.changes({ key: ['m1', 'm2'], op: ['delete', 'clear'] }));
      const byQuery = collect(members.changes({ where: { role: 'admin' } }));
      const deletesOnly = collect(members.changes({ key: 'm1', op: 'delete' }));
      const updatesOnly = collect(members.changes({ where: { role: 'admin' }, op: 'update' }));
      await members.deleteAll();
      await delivered();
      expect(members.size).toBe(0);
      for (const seen of [byKey, byKeys, byQuery])
        expect(seen.map((c) => ({ op: c.op, key: c.key }))).toEqual([
          { op: 'clear', key: undefined },
        ]);
      expect(deletesOnly).toEqual([]);
      expect(updatesOnly).toEqual([]);
    });

    it('with an empty filter, or none, delivers everything', async () => {
      const members = await filtered();
      const all = collect(members.changes());
      const empty = collect(members.changes({}));
      await exercise(members);
      expect(all).toHaveLength(5);
      expect(empty).toEqual(all);
    });

    it('throws QueryError for a malformed filter, at the call', async () => {
      const members = (await start()).get(MembersStore);
      for (const bad of [
        { op: 'upsert' },
        { op: ['insert', 'rename'] },
        { where: { role: { $bogus: 1 } } },
        { where: { __proto__: { x: 1 } } },
        { when: 'now' },
        'insert',
        [],
      ]) {
        const error = thrownBy(() => members.changes(bad as never));
        expect(error).toBeInstanceOf(QueryError);
        expect(error).toMatchObject({ table: 'members' });
      }
    });

    it('stops delivering once unsubscribed', async () => {
      const members = (await start()).get(MembersStore);
      const seen: StoreChange[] = [];
      const subscription = members.changes().subscribe((c) => seen.push(c));
      await members.insert({ id: 'm1' });
      await delivered();
      subscription.unsubscribe();
      await members.insert({ id: 'm2' });
      await delivered();
      expect(seen.map((c) => c.key)).toEqual(['m1']);
    });

    it('stops delivering to an observer unsubscribed before the queued change is delivered', async () => {
      const members = (await start()).get(MembersStore);
      const seen: StoreChange[] = [];
      const subscription = members.changes().subscribe((c) => seen.push(c));
      await members.insert({ id: 'm1' });
      subscription.unsubscribe();
      await delivered();
      expect(seen).toEqual([]);
    });
  });

  describe('@OnStoreEvent()', () => {
    async function listened() {
      await start();
      const members = app!.get(MembersStore);
      const invoices = app!.get(InvoicesStore);
      await members.insert({ id: 'm1' });
      await members.update('m1', { visits: 1 });
      await invoices.insert({ id: 'i1', amount: 10 });
      await members.delete('m1');
      await invoices.delete('i1');
      await delivered();
      return app!.get(ReceivedLog);
    }

    const ops = (changes: StoreChange[]) => changes.map((c) => `${c.table} ${c.op}`);

    it('by store class, without an operation: every change of the store', async () => {
      const log = await listened();
      expect(ops(log.of('byStoreClass'))).toEqual([
        'members insert',
        'members update',
        'members delete',
      ]);
    });

    it('by table class, with one operation', async () => {
      const log = await listened();
      expect(ops(log.of('byTableClassInserts'))).toEqual(['members insert']);
    });

    it('by table name, with several operations', async () => {
      const log = await listened();
      expect(ops(log.of('byTableNameUpdatesAndDeletes'))).toEqual([
        'members update',
        'members delete',
      ]);
    });

    it('several on one method: each adds what it names', async () => {
      const log = await listened();
      expect(ops(log.of('severalDecorators'))).toEqual(['invoices insert', 'members delete']);
      expect(ops(log.of('bothStores'))).toEqual([
        'members insert',
        'members update',
        'invoices insert',
        'members delete',
        'invoices delete',
      ]);
    });

    it('on a controller', async () => {
      const log = await listened();
      expect(ops(log.of('controller'))).toEqual(['members update']);
      expect(log.of('controller')[0].diff).toEqual({ visits: 1 });
    });

    it('receives the same StoreChange objects as changes() observers', async () => {
      await start();
      const members = app!.get(MembersStore);
      const seen = collect(members.changes());
      await members.insert({ id: 'm1' });
      await delivered();
      expect(app!.get(ReceivedLog).of('byStoreClass')).toEqual(seen);
    });

    it('fails start-up with MemoryStoreError when it names a table no store holds', async () => {
      const error = await rejectionOf(start({ providers: [UnknownTableListener] }));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/UnknownTableListener\.never/);
      expect((error as Error).message).toMatch(/no_such_table/);
    });

    it('fails start-up with MemoryStoreError when it names a store the app does not register', async () => {
      const error = await rejectionOf(start({ providers: [UnlistedStoreListener] }));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/UnlistedStore/);
    });

    it('refuses an unknown operation when the decorator is applied', () => {
      expect(() => OnStoreEventWith('upsert')).toThrow(/unknown operation 'upsert'/);
    });
  });

  describe('a failing listener', () => {
    async function failing() {
      await start({ providers: [FailingListeners, MemberListeners] });
      return {
        members: app!.get(MembersStore),
        invoices: app!.get(InvoicesStore),
        log: app!.get(ReceivedLog),
      };
    }

    it('that throws is logged with the table, and the write still resolves and stays', async () => {
      const { members, log } = await failing();
      const written = await members.insert({ id: 'm1', name: 'Ada' });
      await delivered();

      expect(written).toMatchObject({ id: 'm1', name: 'Ada' });
      expect(members.get('m1')).toBe(written);
      expect(log.of('throws')).toHaveLength(1);
      // the other listeners of the same change still got it
      expect(log.of('byStoreClass')).toHaveLength(1);
      const errors = logger.at('error');
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toContain("'members'");
      expect(errors[0].message).toContain('FailingListeners.throws');
      expect(errors[0].message).toContain('listener blew up');
    });

    it('that rejects is logged with the table, and the write still resolves and stays', async () => {
      const { invoices, log } = await failing();
      const written = await invoices.insert({ id: 'i1', amount: 5 });
      await delivered();

      expect(invoices.get('i1')).toBe(written);
      expect(log.of('rejects')).toHaveLength(1);
      const errors = logger.at('error');
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toContain("'invoices'");
      expect(errors[0].message).toContain('async listener rejected');
    });

    it('keeps failing and being logged on every change, and later writes go on', async () => {
      const { members } = await failing();
      for (let i = 0; i < 5; i++) await members.insert({ id: `m${i}` });
      await delivered();
      expect(members.size).toBe(5);
      expect(logger.at('error')).toHaveLength(5);
    });

    it('does not slow the write: its promise resolves before any listener runs', async () => {
      const { members, log } = await failing();
      const timeline: string[] = [];
      await members
        .insert({ id: 'm1' })
        .then(() => timeline.push(`resolved, ${log.entries.length} heard`));
      await delivered();
      timeline.push(`${log.entries.length} heard`);
      expect(timeline).toEqual(['resolved, 0 heard', '4 heard']);
    });
  });

  describe('EventEmitter2', () => {
    it("with EventEmitterModule imported, @OnEvent('memory-store.<table>.<op>') receives the change", async () => {
      await start({ eventEmitter: {}, providers: [EmitterListeners] });
      const members = app!.get(MembersStore);
      const invoices = app!.get(InvoicesStore);
      const seen = collect(members.changes());
      await members.insert({ id: 'm1', name: 'Ada' });
      await members.update('m1', { visits: 1 });
      await invoices.insert({ id: 'i1' });
      await invoices.delete('i1');
      await delivered();

      const log = app!.get(ReceivedLog);
      expect(log.of('emitter:members.insert')).toEqual([seen[0]]);
      expect(log.of('emitter:members.insert')[0]).toMatchObject({
        table: 'members',
        op: 'insert',
        key: 'm1',
        diff: { name: 'Ada' },
      });
      expect(log.of('emitter:invoices.delete').map(summary)).toEqual([
        { table: 'invoices', op: 'delete', key: 'i1' },
      ]);
    });

    it('reaches wildcard listeners when the emitter has wildcards on', async () => {
      await start({ eventEmitter: { wildcard: true }, providers: [WildcardListeners] });
      const members = app!.get(MembersStore);
      const invoices = app!.get(InvoicesStore);
      await members.insert({ id: 'm1' });
      await members.update('m1', { visits: 2 });
      await invoices.insert({ id: 'i1' });
      await invoices.delete('i1');
      await members.delete('m1');
      await delivered();

      const log = app!.get(ReceivedLog);
      expect(log.of('emitter:members.*').map((c) => c.op)).toEqual(['insert', 'update', 'delete']);
      expect(log.of('emitter:*.delete').map((c) => c.table)).toEqual(['invoices', 'members']);
    });

    it('without EventEmitterModule the app starts, and listeners and changes() work', async () => {
      await start({ eventEmitter: false });
      const members = app!.get(MembersStore);
      const seen = collect(members.changes());
      await members.insert({ id: 'm1' });
      await delivered();
      expect(seen).toHaveLength(1);
      expect(app!.get(ReceivedLog).of('byStoreClass')).toHaveLength(1);
    });

    it('forRoot({ events: false }) turns off the listeners and the bridge, not changes()', async () => {
      await start({
        options: { events: false },
        eventEmitter: { wildcard: true },
        providers: [MemberListeners, EmitterListeners, WildcardListeners],
        controllers: [MembersController],
      });
      const members = app!.get(MembersStore);
      const seen = collect(members.changes());
      await members.insert({ id: 'm1' });
      await members.update('m1', { visits: 1 });
      await delivered();

      expect(seen.map((c) => c.op)).toEqual(['insert', 'update']);
      expect(app!.get(ReceivedLog).entries).toEqual([]);
    });
  });

  describe('a listener that falls behind', () => {
    it('is warned about at highWaterMark unsettled deliveries, and stats() reports them', async () => {
      await start({ options: { events: { highWaterMark: 5 } }, providers: [StuckListener] });
      const invoices = app!.get(InvoicesStore);
      const memory = app!.get(MemoryStoreService);
      const statsOf = (table: string) => memory.stats().find((s) => s.table === table)!;

      for (let i = 0; i < 4; i++) await invoices.insert({ id: `i${i}` });
      await delivered();
      expect(app!.get(StuckListener).calls).toBe(4);
      expect(statsOf('invoices').pendingEvents).toBe(4);
      expect(logger.at('warn')).toEqual([]);

      await invoices.insert({ id: 'i4' });
      await delivered();
      const warnings = logger.at('warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain('StuckListener.stuck');
      expect(warnings[0].message).toContain("'invoices'");
      expect(statsOf('invoices').pendingEvents).toBe(5);

      // the writes themselves are not held up, and the warning is not repeated on every change
      for (let i = 5; i < 20; i++) await invoices.insert({ id: `i${i}` });
      await delivered();
      expect(invoices.size).toBe(20);
      expect(statsOf('invoices').pendingEvents).toBe(20);
      expect(logger.at('warn')).toHaveLength(1);
      expect(statsOf('members').pendingEvents).toBe(0);
    });
  });
});

/** Applies `@OnStoreEvent('members', op)` to a method, as a class declaration would. */
function OnStoreEventWith(op: string): void {
  class Listener {
    handle(): void {}
  }
  const descriptor = Object.getOwnPropertyDescriptor(Listener.prototype, 'handle')!;
  OnStoreEvent('members', op as StoreChangeOp)(Listener.prototype, 'handle', descriptor);
}
