import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreService, QueryError } from 'nestjs-memory-store';
import type { Subscription } from 'rxjs';
import { createApp, delay, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  LiveAppModule,
  PlayersStore,
  ShortlistStore,
  type Player,
} from './fixtures/live-app.module.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';

/** Lets the change hub deliver (next turn of the event loop) and the live query emit. */
const delivered = async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
};

const ids = (players: readonly Player[]) => players.map((p) => p.id);

describe('live queries: watch()', () => {
  const running: INestApplication[] = [];
  const subscriptions: Subscription[] = [];
  const prefixes: string[] = [];

  async function start(prefix?: string, instanceId?: string) {
    const app = await createApp(LiveAppModule.register(prefix, instanceId));
    running.push(app);
    await app.init();
    return {
      players: app.get(PlayersStore),
      memory: app.get(MemoryStoreService),
      app,
    };
  }

  /** Subscribes and records every emission. */
  function record<T>(observable: import('rxjs').Observable<T[]>): T[][] {
    const seen: T[][] = [];
    subscriptions.push(observable.subscribe((result) => seen.push(result)));
    return seen;
  }

  afterEach(async () => {
    while (subscriptions.length > 0) subscriptions.pop()!.unsubscribe();
    while (running.length > 0) await running.pop()!.close();
    while (prefixes.length > 0) await dropPrefix(prefixes.pop()!);
  });

  it('emits the current result at subscription, then after each write that changes it, and not for one that does not', async () => {
    const { players } = await start();
    await players.writeMany([
      { id: 'a', team: 'red', score: 5 },
      { id: 'b', team: 'blue', score: 7 },
    ]);
    const seen = record(players.watch({ team: 'red' }));
    expect(seen.map(ids)).toEqual([['a']]); // at once, before any write

    await players.write({ id: 'c', team: 'blue', score: 1 }); // does not match
    await delivered();
    expect(seen.map(ids)).toEqual([['a']]);

    await players.write({ id: 'd', team: 'red', score: 2 });
    await delivered();
    expect(seen.map(ids)).toEqual([['a'], ['a', 'd']]); // key order without orderBy

    await players.update('b', { team: 'red' }); // moves into the result
    await players.update('a', { team: 'blue' }); // and out of it, in the same turn
    await delivered();
    expect(seen.map(ids)).toEqual([['a'], ['a', 'd'], ['b', 'd']]);

    await players.update('d', { name: 'Dee' }); // a member changes: a new record is emitted
    await delivered();
    expect(seen.at(-1)!.find((p) => p.id === 'd')!.name).toBe('Dee');
    const emissions = seen.length;
    await players.write({ ...players.get('d')! }); // the same values again: nothing changed
    await delivered();
    expect(seen).toHaveLength(emissions);
  });

  it('keeps a top-N window in order: a better record enters, the last leaves, a member that leaves is replaced from the table', async () => {
    const { players } = await start();
    await players.writeMany(
      [10, 20, 30, 40, 50].map((score, i) => ({ id: `p${i}`, score, team: 'red' })),
    );
    const top = record(players.watch({ team: 'red' }, { orderBy: { score: 'desc' }, limit: 3 }));
    const scores = () => top.at(-1)!.map((p) => p.score);
    expect(scores()).toEqual([50, 40, 30]);

    await players.write({ id: 'new', score: 45, team: 'red' });
    await delivered();
    expect(scores()).toEqual([50, 45, 40]);

    await players.write({ id: 'low', score: 1, team: 'red' }); // below the window: no emission
    await delivered();
    expect(top).toHaveLength(2);

    await players.delete('p4'); // 50 leaves: 30 comes back from the table
    await delivered();
    expect(scores()).toEqual([45, 40, 30]);

    await players.update('p2', { score: 99 }); // a member moves to the top
    await delivered();
    expect(scores()).toEqual([99, 45, 40]);

    await players.update('p2', { team: 'blue' }); // and leaves the query
    await delivered();
    expect(scores()).toEqual([45, 40, 20]);
    expect(top.at(-1)).toEqual(
      players.select({ team: 'red' }, { orderBy: { score: 'desc' }, limit: 3 }),
    );
  });

  it('emits once per transaction, after it commits, and never for one rolled back', async () => {
    const { players, memory } = await start();
    await players.write({ id: 'a', team: 'red', score: 1 });
    const seen = record(players.watch({ team: 'red' }, { orderBy: { score: 'asc' } }));

    await memory.transaction(async () => {
      await players.write({ id: 'b', team: 'red', score: 2 });
      await players.write({ id: 'c', team: 'red', score: 3 });
      await players.update('a', { score: 9 });
      await delay(5); // the hub's turns pass: nothing is committed yet
      expect(seen).toHaveLength(1);
    });
    await delivered();
    expect(seen.map(ids)).toEqual([['a'], ['b', 'c', 'a']]);

    const failure = await rejectionOf(
      memory.transaction(async () => {
        await players.write({ id: 'd', team: 'red', score: 0 });
        throw new Error('changed my mind');
      }),
    );
    expect((failure as Error).message).toBe('changed my mind');
    await delivered();
    expect(seen).toHaveLength(2);
  });

  it('drops records that expire, that are evicted, and everything at deleteAll()', async () => {
    const { players, app } = await start();
    await players.write({ id: 'keep', team: 'red' });
    await players.write({ id: 'brief', team: 'red' }, { ttl: 20 });
    const seen = record(players.watch({ team: 'red' }));
    expect(ids(seen.at(-1)!)).toEqual(['brief', 'keep']);
    await delay(40);
    players.sweep();
    await delivered();
    expect(ids(seen.at(-1)!)).toEqual(['keep']);

    await players.deleteAll();
    await delivered();
    expect(seen.at(-1)).toEqual([]);

    const shortlist = app.get(ShortlistStore);
    const picks = record(shortlist.watch(undefined, { orderBy: { score: 'desc' } }));
    for (const [id, score] of [
      ['x', 1],
      ['y', 2],
      ['z', 3],
    ] as const)
      await shortlist.write({ id, score });
    await delivered();
    await shortlist.write({ id: 'w', score: 0 }); // evicts x, the least recently used
    await delivered();
    expect(picks.at(-1)!.map((p) => p.id)).toEqual(['z', 'y', 'w']);
  });

  it('stops at unsubscribe: no emission after it', async () => {
    const { players } = await start();
    const seen: Player[][] = [];
    const subscription = players.watch({ team: 'red' }).subscribe((r) => seen.push(r));
    await players.write({ id: 'a', team: 'red' });
    subscription.unsubscribe();
    await delivered();
    await players.write({ id: 'b', team: 'red' });
    await delivered();
    expect(seen).toEqual([[]]);
  });

  it('completes when the application shuts down', async () => {
    const { players, app } = await start();
    let completed = false;
    subscriptions.push(players.watch().subscribe({ complete: () => (completed = true) }));
    await app.close();
    running.length = 0;
    await delivered();
    expect(completed).toBe(true);
  });

  it('refuses a malformed query or an unknown option at watch(), before anyone subscribes', async () => {
    const { players } = await start();
    expect(thrownBy(() => players.watch({ score: { $bogus: 1 } } as never))).toBeInstanceOf(
      QueryError,
    );
    expect(thrownBy(() => players.watch({}, { offset: 2 } as never))).toBeInstanceOf(QueryError);
    expect((thrownBy(() => players.watch({}, { limit: -1 })) as Error).message).toMatch(/limit/);
  });

  it('follows changes applied from Redis: a write on another instance updates the result', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const a = await start(prefix, 'a');
    const b = await start(prefix, 'b');
    const seen = record(a.players.watch({ team: 'red' }, { orderBy: { score: 'desc' }, limit: 2 }));
    await b.players.write({ id: 'r1', team: 'red', score: 3 });
    await b.players.write({ id: 'r2', team: 'red', score: 5 });
    await b.players.write({ id: 'r3', team: 'red', score: 4 });
    for (let i = 0; i < 100 && a.players.size < 3; i++) await delay(10);
    await delivered();
    expect(ids(seen.at(-1)!)).toEqual(['r2', 'r3']);
    await b.players.delete('r2');
    for (let i = 0; i < 100 && a.players.exists('r2'); i++) await delay(10);
    await delivered();
    expect(ids(seen.at(-1)!)).toEqual(['r3', 'r1']);
  });
});
