import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  MemoryStoreError,
  MemoryStoreService,
  type LoaderContext,
  type RecordKey,
} from 'nestjs-memory-store';
import { createApp, fakeDateOnly, rejectionOf } from './fixtures/app.factory.js';
import { CacheAppModule, Profile, ProfilesStore } from './fixtures/cache-app.module.js';
import { HOURLY } from './fixtures/ttl-app.module.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('read-through fetch', () => {
  let app: INestApplication | undefined;
  let profiles: ProfilesStore;

  beforeEach(async () => {
    fakeDateOnly(T0);
    app = await createApp(CacheAppModule.register({ ttl: { sweep: HOURLY, resolution: 0 } }));
    await app.init();
    profiles = app.get(ProfilesStore);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    jest.useRealTimers();
  });

  it('1,000 concurrent fetches of 10 keys call the loader 10 times, and every caller gets its record', async () => {
    const calls: RecordKey[] = [];
    const loader = async (key: RecordKey) => {
      calls.push(key);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { name: `user ${key}` };
    };
    const keys = Array.from({ length: 1_000 }, (_, i) => `u${i % 10}`);
    const records = await Promise.all(
      keys.map((key) => profiles.fetch(key, loader, { ttl: '1m' })),
    );
    expect(calls.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
    records.forEach((record, i) =>
      expect(record).toMatchObject({ id: keys[i], name: `user ${keys[i]}` }),
    );
    expect(records[0]).toBeInstanceOf(Profile);
    expect(profiles.size).toBe(10);
    expect(profiles.ttl('u3')).toBe(60_000);
    // stored: the next fetch is served without the loader
    await profiles.fetch('u3', loader);
    expect(calls).toHaveLength(10);
  });

  it('a hit does not call the loader; a record past its ttl is loaded again', async () => {
    await profiles.write({ id: 'p1', name: 'stored' }, { ttl: '1m' });
    let calls = 0;
    const loader = () => ({ name: `loaded ${++calls}` });
    expect(await profiles.fetch('p1', loader)).toMatchObject({ name: 'stored' });
    jest.setSystemTime(T0 + 60_000);
    expect(await profiles.fetch('p1', loader, { ttl: '1m' })).toMatchObject({ name: 'loaded 1' });
    expect(calls).toBe(1);
  });

  it("a loader's error reaches every waiting caller and is not cached", async () => {
    const gate = deferred<{ name: string }>();
    let calls = 0;
    const loader = () => (++calls === 1 ? gate.promise : { name: 'second try' });
    const waiting = [1, 2, 3].map(() => rejectionOf(profiles.fetch('p1', loader)));
    gate.reject(new Error('upstream down'));
    for (const error of await Promise.all(waiting))
      expect((error as Error).message).toBe('upstream down');
    expect(profiles.exists('p1')).toBe(false);
    expect(await profiles.fetch('p1', loader)).toMatchObject({ name: 'second try' });
    expect(calls).toBe(2);
  });

  it('a loader returning undefined stores nothing; one returning another key is refused', async () => {
    const none: () => Profile | undefined = () => undefined;
    expect(await profiles.fetch('ghost', none)).toBeUndefined();
    expect(profiles.exists('ghost')).toBe(false);
    const error = await rejectionOf(profiles.fetch('p1', () => ({ id: 'p2', name: 'wrong' })));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/whose id is 'p2'/);
    expect(profiles.size).toBe(0);
  });

  it('a loader returning an array is refused, as a write of one is, and stores nothing', async () => {
    const list = () => [{ id: 'p1', name: 'one' }] as unknown as Profile;
    const error = await rejectionOf(profiles.fetch('p1', list));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/returned an array, not a record or undefined/);
    expect(profiles.exists('p1')).toBe(false);
  });

  it('a load started in a transaction stores its record on its own: a rollback does not take back what other callers were given', async () => {
    const memory = app!.get(MemoryStoreService);
    const load = deferred<Profile>();
    const calls: RecordKey[] = [];
    const loader = (key: RecordKey) => {
      calls.push(key);
      return load.promise;
    };
    const rolledBack = rejectionOf(
      memory.transaction(async () => {
        await profiles.fetch('p1', loader);
        throw new Error('the transaction fails after its fetch');
      }),
    );
    const outside = profiles.fetch('p1', loader);
    load.resolve({ id: 'p1', name: 'loaded' } as Profile);
    expect(await outside).toMatchObject({ id: 'p1', name: 'loaded' });
    expect((await rolledBack) as Error).toHaveProperty(
      'message',
      'the transaction fails after its fetch',
    );
    expect(calls).toEqual(['p1']);
    expect(profiles.get('p1')).toMatchObject({ id: 'p1', name: 'loaded' });
  });

  it('a write made while the loader runs is newer than what it loads: it stays, and the callers get it', async () => {
    const load = deferred<Profile>();
    const fetched = profiles.fetch('p1', () => load.promise);
    const written = await profiles.write({ id: 'p1', name: 'written meanwhile', version: 2 });
    load.resolve({ id: 'p1', name: 'loaded, older', version: 1 });
    expect(await fetched).toBe(written);
    expect(profiles.get('p1')).toBe(written);
  });

  it('serves the stale record while one load refreshes it, within staleWhileRevalidate', async () => {
    let version = 0;
    const gate = { current: deferred<void>() };
    let calls = 0;
    const loader = async () => {
      calls++;
      if (calls > 1) await gate.current.promise;
      return { name: 'p', version: ++version };
    };
    const options = { ttl: 60_000, staleWhileRevalidate: 30_000 };
    expect(await profiles.fetch('p1', loader, options)).toMatchObject({ version: 1 });
    expect(profiles.ttl('p1')).toBe(90_000); // kept for the stale stretch too
    jest.setSystemTime(T0 + 59_999);
    expect(await profiles.fetch('p1', loader, options)).toMatchObject({ version: 1 });
    expect(calls).toBe(1); // still fresh
    jest.setSystemTime(T0 + 70_000); // stale
    const stale = await Promise.all([1, 2, 3].map(() => profiles.fetch('p1', loader, options)));
    for (const record of stale) expect(record).toMatchObject({ version: 1 });
    expect(calls).toBe(2); // one refresh for the three
    gate.current.resolve();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(profiles.get('p1')).toMatchObject({ version: 2 });
    expect(profiles.ttl('p1')).toBe(90_000);
    // past the stale stretch, the record is gone: callers wait for the load
    jest.setSystemTime(T0 + 70_000 + 90_000);
    gate.current = deferred<void>();
    const waited = profiles.fetch('p1', loader, options);
    gate.current.resolve();
    expect(await waited).toMatchObject({ version: 3 });
  });

  it('a refresh does not overwrite a record written while it ran', async () => {
    const gate = deferred<void>();
    let calls = 0;
    const loader = async () => {
      if (++calls > 1) await gate.promise;
      return { name: `load ${calls}` };
    };
    const options = { ttl: 1_000, staleWhileRevalidate: 10_000 };
    await profiles.fetch('p1', loader, options);
    jest.setSystemTime(T0 + 2_000); // stale: the next fetch starts a refresh
    expect(await profiles.fetch('p1', loader, options)).toMatchObject({ name: 'load 1' });
    const written = await profiles.write({ id: 'p1', name: 'written meanwhile' });
    gate.resolve();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(2);
    expect(profiles.get('p1')).toBe(written);
  });

  it('a failed refresh keeps the stale record', async () => {
    let calls = 0;
    const loader = () => {
      if (++calls > 1) throw new Error('refresh failed');
      return { name: 'first' };
    };
    const options = { ttl: 1_000, staleWhileRevalidate: 10_000 };
    await profiles.fetch('p1', loader, options);
    jest.setSystemTime(T0 + 2_000);
    expect(await profiles.fetch('p1', loader, options)).toMatchObject({ name: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(2);
    expect(profiles.get('p1')).toMatchObject({ name: 'first' });
  });

  it('staleWhileRevalidate needs a fixed ttl', async () => {
    const error = await rejectionOf(
      profiles.fetch('p1', () => ({ name: 'x' }), { staleWhileRevalidate: '10s' }),
    );
    expect((error as Error).message).toMatch(/staleWhileRevalidate needs a fixed ttl/);
  });

  it('an aborted caller stops waiting; the load goes on for the others', async () => {
    const gate = deferred<{ name: string }>();
    let seen: AbortSignal | undefined;
    const loader = (_key: RecordKey, { signal }: LoaderContext) => {
      seen = signal;
      return gate.promise;
    };
    const controller = new AbortController();
    const aborted = rejectionOf(profiles.fetch('p1', loader, { signal: controller.signal }));
    const other = profiles.fetch('p1', loader);
    controller.abort(new Error('client went away'));
    expect(((await aborted) as Error).message).toBe('client went away');
    expect(seen!.aborted).toBe(false);
    gate.resolve({ name: 'loaded' });
    expect(await other).toMatchObject({ name: 'loaded' });
    expect(profiles.get('p1')).toMatchObject({ name: 'loaded' });
  });

  it("when every caller aborts, the loader's signal aborts and its result is not stored", async () => {
    const gate = deferred<{ name: string }>();
    let seen: AbortSignal | undefined;
    const loader = (_key: RecordKey, { signal }: LoaderContext) => {
      seen = signal;
      return gate.promise;
    };
    const first = new AbortController();
    const second = new AbortController();
    const waits = [
      rejectionOf(profiles.fetch('p1', loader, { signal: first.signal })),
      rejectionOf(profiles.fetch('p1', loader, { signal: second.signal })),
    ];
    first.abort(new Error('gone'));
    await waits[0];
    expect(seen!.aborted).toBe(false);
    second.abort(new Error('gone too'));
    await waits[1];
    expect(seen!.aborted).toBe(true);
    gate.resolve({ name: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(profiles.exists('p1')).toBe(false);
    // an already aborted signal never starts a load
    const error = await rejectionOf(
      profiles.fetch('p2', loader, { signal: AbortSignal.abort(new Error('before')) }),
    );
    expect((error as Error).message).toBe('before');
  });
});
