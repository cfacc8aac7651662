import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  DuplicateKeyError,
  MemoryStore,
  MemoryStoreError,
  Store,
  StoreCapacityError,
  type MemoryStoreModuleOptions,
  type StoreEntry,
} from 'nestjs-memory-store';
import { createApp, failedStartUp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  CapacityAppModule,
  Limited,
  LruStore,
  OwnLimitStore,
  OwnPolicyStore,
  PlainStore,
  RejectingStore,
} from './fixtures/capacity-app.module.js';

const sorted = (keys: readonly unknown[]) => [...keys].map(String).sort();

function expectCapacityError(error: unknown, table: string, maxRecords: number): void {
  expect(error).toBeInstanceOf(StoreCapacityError);
  expect(error).toBeInstanceOf(MemoryStoreError);
  expect(error).toMatchObject({ table, maxRecords });
}

describe('capacity', () => {
  let app: INestApplication | undefined;

  async function start(
    options: MemoryStoreModuleOptions = {},
    stores: readonly StoreEntry[] = [RejectingStore, LruStore],
  ): Promise<INestApplication> {
    app = await createApp(CapacityAppModule.register(options, stores));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    jest.useRealTimers();
  });

  describe("eviction: 'reject'", () => {
    async function full(): Promise<RejectingStore> {
      const store = (await start()).get(RejectingStore);
      await store.write({ id: 'a', sku: 'A' });
      await store.write({ id: 'b', sku: 'B' });
      await store.write({ id: 'c', sku: 'C' });
      return store;
    }

    it('refuses a write past maxRecords with StoreCapacityError, changing nothing', async () => {
      const store = await full();
      const before = store.all();
      const error = await rejectionOf(store.write({ id: 'd', sku: 'D' }));
      expectCapacityError(error, 'limited', 3);
      expect(store.all()).toEqual(before);
      expect(store.size).toBe(3);
      expect(store.get('d')).toBeUndefined();
      expect(store.one({ sku: 'D' })).toBeUndefined();
    });

    it('refuses insert, dirtyWrite and dirtyInsert alike', async () => {
      const store = await full();
      expectCapacityError(await rejectionOf(store.insert({ id: 'd' })), 'limited', 3);
      expectCapacityError(
        thrownBy(() => store.dirtyWrite({ id: 'd' })),
        'limited',
        3,
      );
      expectCapacityError(
        thrownBy(() => store.dirtyInsert({ id: 'd' })),
        'limited',
        3,
      );
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
    });

    it('answers an insert of an existing key with DuplicateKeyError, not a capacity error', async () => {
      const store = await full();
      expect(await rejectionOf(store.insert({ id: 'a' }))).toBeInstanceOf(DuplicateKeyError);
    });

    it('lets a write replace an existing record at capacity, and updates through', async () => {
      const store = await full();
      const replaced = await store.write({ id: 'a', sku: 'A2', n: 1 });
      await store.update('b', { n: 2 });
      await store.update({ id: 'c' }, { n: 3 });
      expect(store.get('a')).toBe(replaced);
      expect(store.select().map((r) => r.n)).toEqual(expect.arrayContaining([1, 2, 3]));
      expect(store.size).toBe(3);
    });

    it('takes new records again once one is deleted', async () => {
      const store = await full();
      await store.delete('b');
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['a', 'c', 'd']);
      await store.deleteAll();
      await store.writeMany([{ id: 'x' }, { id: 'y' }, { id: 'z' }]);
      expect(store.size).toBe(3);
    });

    it('refuses a writeMany that would go past maxRecords as a whole', async () => {
      const store = (await start()).get(RejectingStore);
      await store.writeMany([{ id: 'a' }, { id: 'b' }]);
      expectCapacityError(
        await rejectionOf(store.writeMany([{ id: 'c' }, { id: 'd' }])),
        'limited',
        3,
      );
      expectCapacityError(
        thrownBy(() => store.dirtyWriteMany([{ id: 'c' }, { id: 'd' }])),
        'limited',
        3,
      );
      expect(sorted(store.keys())).toEqual(['a', 'b']);
      // a batch that replaces records and adds only what fits is taken
      await store.writeMany([{ id: 'a', n: 1 }, { id: 'b', n: 1 }, { id: 'c' }]);
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
    });

    it('does not count expired records against maxRecords', async () => {
      jest.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
      const store = (await start()).get(RejectingStore);
      await store.write({ id: 'a' }, { ttl: '1s' });
      await store.write({ id: 'b' });
      await store.write({ id: 'c' });
      jest.advanceTimersByTime(1_000);
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['b', 'c', 'd']);
    });
  });

  describe("eviction: 'lru'", () => {
    async function full(): Promise<LruStore> {
      const store = (await start()).get(LruStore);
      await store.write({ id: 'a', sku: 'A' });
      await store.write({ id: 'b', sku: 'B' });
      await store.write({ id: 'c', sku: 'C' });
      return store;
    }

    it('evicts the least recently written record to make room', async () => {
      const store = await full();
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['b', 'c', 'd']);
      await store.insert({ id: 'e' });
      expect(sorted(store.keys())).toEqual(['c', 'd', 'e']);
      store.dirtyWrite({ id: 'f' });
      expect(sorted(store.keys())).toEqual(['d', 'e', 'f']);
      expect(store.get('a')).toBeUndefined();
    });

    it('counts a get as a use', async () => {
      const store = await full();
      expect(store.get('a')).toBeDefined();
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['a', 'c', 'd']);
      store.get('c');
      await store.write({ id: 'e' });
      expect(sorted(store.keys())).toEqual(['c', 'd', 'e']);
    });

    it('counts a write, a replace and an update as a use', async () => {
      const store = await full();
      await store.update('a', { n: 1 });
      await store.write({ id: 'd' }); // b is the least recent
      expect(sorted(store.keys())).toEqual(['a', 'c', 'd']);
      await store.write({ id: 'c', n: 2 }); // replace: now a is the least recent
      await store.write({ id: 'e' });
      expect(sorted(store.keys())).toEqual(['c', 'd', 'e']);
      await store.update({ id: 'd' }, { n: 3 }); // d was the least recent; now c is
      await store.write({ id: 'f' });
      expect(sorted(store.keys())).toEqual(['d', 'e', 'f']);
    });

    it('does not count queries as uses', async () => {
      const store = await full();
      store.select({ id: 'a' });
      store.one({ sku: 'A' });
      store.all();
      store.count({ id: 'a' });
      await store.write({ id: 'd' });
      expect(store.get('a')).toBeUndefined();
    });

    it('evicts nothing for a write that is refused for another reason', async () => {
      const store = await full();
      expect(await rejectionOf(store.write({ id: 'd', sku: 'B' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      expect(await rejectionOf(store.insert({ id: 'b' }))).toBeInstanceOf(DuplicateKeyError);
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
      await store.write({ id: 'd' }); // a is still the least recent
      expect(sorted(store.keys())).toEqual(['b', 'c', 'd']);
    });

    it('lets a write replace a record at capacity without evicting another', async () => {
      const store = await full();
      await store.write({ id: 'a', n: 9 });
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
    });

    it('forgets deleted records: a delete makes room without an eviction', async () => {
      const store = await full();
      await store.delete('a');
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['b', 'c', 'd']);
      await store.write({ id: 'e' });
      expect(sorted(store.keys())).toEqual(['c', 'd', 'e']);
    });

    it('frees the unique values of an evicted record', async () => {
      const store = await full();
      await store.write({ id: 'd' }); // evicts a, whose sku was A
      await store.insert({ id: 'e', sku: 'A' }); // evicts b
      expect(store.one({ sku: 'A' })?.id).toBe('e');
      expect(store.one({ sku: 'B' })).toBeUndefined();
    });

    it('writeMany evicts enough records, never one of the batch', async () => {
      const store = await full();
      // a is the least recent, but the batch writes it: b and c make room for d and e
      const written = await store.writeMany([{ id: 'd' }, { id: 'e' }, { id: 'a', n: 1 }]);
      expect(written).toHaveLength(3);
      expect(sorted(store.keys())).toEqual(['a', 'd', 'e']);
      expect(store.get('a')?.n).toBe(1);
      // a batch of exactly maxRecords new records replaces every record
      await store.writeMany([{ id: 'x' }, { id: 'y' }, { id: 'z' }]);
      expect(sorted(store.keys())).toEqual(['x', 'y', 'z']);
    });

    it('refuses a batch larger than maxRecords, evicting nothing', async () => {
      const store = await full();
      const error = await rejectionOf(
        store.writeMany([{ id: 'd' }, { id: 'e' }, { id: 'f' }, { id: 'g' }]),
      );
      expectCapacityError(error, 'lru_items', 3);
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
      // with one record of the batch stored already, four records would still be one too many
      const withStored = [{ id: 'a' }, { id: 'd' }, { id: 'e' }, { id: 'f' }];
      expectCapacityError(await rejectionOf(store.writeMany(withStored)), 'lru_items', 3);
      expect(sorted(store.keys())).toEqual(['a', 'b', 'c']);
    });

    it('removes expired records before it evicts a live one', async () => {
      jest.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
      const store = (await start({ ttl: { sweep: { everyMs: 3_600_000 } } })).get(LruStore);
      await store.write({ id: 'a' });
      await store.write({ id: 'b' }, { ttl: '1s' });
      await store.write({ id: 'c' });
      jest.advanceTimersByTime(1_000);
      await store.write({ id: 'd' });
      expect(sorted(store.keys())).toEqual(['a', 'c', 'd']);
    });
  });

  describe('module-level options', () => {
    it("apply to a store without its own: maxRecords with 'lru'", async () => {
      const store = (await start({ maxRecords: 2, eviction: 'lru' }, [PlainStore])).get(PlainStore);
      await store.writeMany([{ id: 'a' }, { id: 'b' }]);
      await store.write({ id: 'c' });
      expect(sorted(store.keys())).toEqual(['b', 'c']);
    });

    it("refuse by default ('reject') when only maxRecords is given", async () => {
      const store = (await start({ maxRecords: 2 }, [PlainStore])).get(PlainStore);
      await store.writeMany([{ id: 'a' }, { id: 'b' }]);
      expectCapacityError(await rejectionOf(store.write({ id: 'c' })), 'plain_items', 2);
    });

    it('set no limit without maxRecords', async () => {
      const store = (await start({ eviction: 'lru' }, [PlainStore])).get(PlainStore);
      await store.writeMany(Array.from({ length: 500 }, (_, i) => ({ id: `r${i}` })));
      expect(store.size).toBe(500);
    });

    it("give way to a store's own maxRecords and eviction, one option at a time", async () => {
      await start({ maxRecords: 4, eviction: 'lru' }, [
        PlainStore,
        OwnLimitStore,
        OwnPolicyStore,
        RejectingStore,
      ]);
      const plain = app!.get(PlainStore); // 4, lru
      const ownLimit = app!.get(OwnLimitStore); // 2, lru
      const ownPolicy = app!.get(OwnPolicyStore); // 4, reject
      const rejecting = app!.get(RejectingStore); // 3, reject

      await plain.writeMany(['a', 'b', 'c', 'd'].map((id) => ({ id })));
      await plain.write({ id: 'e' });
      expect(sorted(plain.keys())).toEqual(['b', 'c', 'd', 'e']);

      await ownLimit.writeMany([{ id: 'a' }, { id: 'b' }]);
      await ownLimit.write({ id: 'c' });
      expect(sorted(ownLimit.keys())).toEqual(['b', 'c']);

      await ownPolicy.writeMany(['a', 'b', 'c', 'd'].map((id) => ({ id })));
      expectCapacityError(await rejectionOf(ownPolicy.write({ id: 'e' })), 'own_policy_items', 4);

      await rejecting.writeMany(['a', 'b', 'c'].map((id) => ({ id })));
      expectCapacityError(await rejectionOf(rejecting.write({ id: 'd' })), 'limited', 3);
    });
  });

  describe('bad options', () => {
    const BAD: [string, MemoryStoreModuleOptions, RegExp][] = [
      ['maxRecords 0', { maxRecords: 0 }, /maxRecords/],
      ['a negative maxRecords', { maxRecords: -1 }, /maxRecords/],
      ['a fractional maxRecords', { maxRecords: 1.5 }, /maxRecords/],
      ['maxRecords NaN', { maxRecords: NaN }, /maxRecords/],
      ['maxRecords Infinity', { maxRecords: Infinity }, /maxRecords/],
      ['maxRecords as a string', { maxRecords: '3' as unknown as number }, /maxRecords/],
      ['an unknown eviction policy', { maxRecords: 3, eviction: 'fifo' as 'lru' }, /eviction/],
      ['an eviction policy in capitals', { eviction: 'LRU' as 'lru' }, /eviction/],
    ];

    it.each(BAD)('forRoot refuses %s at start', async (_label, options, message) => {
      const { error, app: failed } = await failedStartUp(
        CapacityAppModule.register(options, [PlainStore]),
      );
      app = failed;
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(message);
    });

    it.each(BAD)('@Store() refuses %s when it decorates the class', (_label, options, message) => {
      const error = thrownBy(() => {
        @Store({ table: Limited, ...options })
        class BadCapacityStore extends MemoryStore<Limited> {}
        return BadCapacityStore;
      });
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('@Store() on BadCapacityStore');
      expect((error as Error).message).toMatch(message);
    });

    it("refuses a store's own eviction when no maxRecords applies to it, at start", async () => {
      const { error, app: failed } = await failedStartUp(
        CapacityAppModule.register({}, [OwnPolicyStore]),
      );
      app = failed;
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain(
        "OwnPolicyStore sets eviction: 'reject' but has no maxRecords",
      );
    });
  });
});
