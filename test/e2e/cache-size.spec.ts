import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import {
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  StoreCapacityError,
  Table,
  type StoreChange,
  type StoreEntry,
} from 'nestjs-memory-store';
import { createApp, failedStartUp, rejectionOf } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

@Table({ name: 'blobs' })
class Blob {
  id!: string;
  body = '';
}

/** Each record's size is its body's length: easy figures for the tests. */
const bodySize = (record: object) => (record as Blob).body.length;

@Store({ table: Blob, maxSize: 100, sizeOf: bodySize, eviction: 'lru' })
class LruBlobsStore extends MemoryStore<Blob> {}

@Table({ name: 'strict_blobs' })
class StrictBlob {
  id!: string;
  body = '';
}

@Store({ table: StrictBlob, maxSize: 100, sizeOf: bodySize, eviction: 'reject' })
class StrictBlobsStore extends MemoryStore<StrictBlob> {}

@Table({ name: 'both_caps' })
class BothCaps {
  id!: string;
  body = '';
}

@Store({ table: BothCaps, maxRecords: 3, maxSize: 100, sizeOf: bodySize, eviction: 'lru' })
class BothCapsStore extends MemoryStore<BothCaps> {}

@Table({ name: 'estimated' })
class Estimated {
  id!: string;
  body = '';
}

/** No sizeOf: the default estimate. */
@Store({ table: Estimated, maxSize: 1_000, eviction: 'lru' })
class EstimatedStore extends MemoryStore<Estimated> {}

const body = (n: number) => 'x'.repeat(n);

function appModule(stores: StoreEntry[]): DynamicModule {
  return { module: class SizeAppModule {}, imports: [MemoryStoreModule.forRoot({ stores })] };
}

describe('maxSize', () => {
  let app: INestApplication | undefined;

  async function start(...stores: StoreEntry[]): Promise<INestApplication> {
    app = await createApp(appModule(stores));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("evicts the least recently used records until a write's bytes fit, reporting each", async () => {
    const blobs = (await start(LruBlobsStore)).get(LruBlobsStore);
    const evicted: string[] = [];
    blobs.changes({ op: 'evict' }).subscribe((c: StoreChange<Blob>) => evicted.push(String(c.key)));
    await blobs.write({ id: 'a', body: body(40) });
    await blobs.write({ id: 'b', body: body(40) });
    await blobs.write({ id: 'c', body: body(20) }); // 100: full
    blobs.get('a'); // a is used: b is now the least recent
    await blobs.write({ id: 'd', body: body(30) }); // needs 30 more: b goes
    expect(blobs.keys().sort()).toEqual(['a', 'c', 'd']);
    await blobs.write({ id: 'e', body: body(70) }); // needs 60 more: c (20) and a (40) go
    expect(blobs.keys().sort()).toEqual(['d', 'e']);
    await new Promise((resolve) => setImmediate(resolve)); // changes are delivered after the write
    expect(evicted).toEqual(['b', 'c', 'a']);
    // a record growing in place makes room as well, never evicting itself
    blobs.get('e');
    await blobs.update('d', { body: body(35) });
    expect(blobs.keys()).toEqual(['d']);
  });

  it('refuses a record larger than maxSize by itself, even with eviction', async () => {
    const blobs = (await start(LruBlobsStore)).get(LruBlobsStore);
    await blobs.write({ id: 'a', body: body(10) });
    const error = await rejectionOf(blobs.write({ id: 'big', body: body(101) }));
    expect(error).toBeInstanceOf(StoreCapacityError);
    expect((error as StoreCapacityError).maxSize).toBe(100);
    expect((error as Error).message).toMatch(/at most 100 bytes of records \(maxSize\)/);
    expect(blobs.keys()).toEqual(['a']);
  });

  it("with eviction: 'reject', refuses a write past maxSize and changes nothing", async () => {
    const blobs = (await start(StrictBlobsStore)).get(StrictBlobsStore);
    await blobs.writeMany([
      { id: 'a', body: body(50) },
      { id: 'b', body: body(50) },
    ]);
    expect(await rejectionOf(blobs.write({ id: 'c', body: body(1) }))).toBeInstanceOf(
      StoreCapacityError,
    );
    expect(await rejectionOf(blobs.update('a', { body: body(51) }))).toBeInstanceOf(
      StoreCapacityError,
    );
    expect(
      await rejectionOf(
        blobs.writeMany([
          { id: 'a', body: body(10) },
          { id: 'c', body: body(50) },
        ]),
      ),
    ).toBeInstanceOf(StoreCapacityError);
    expect(blobs.get('a')?.body).toHaveLength(50);
    // shrinking makes room; a transaction is checked the same way
    await blobs.update('a', { body: body(10) });
    await blobs.write({ id: 'c', body: body(40) });
    const service = app!.get(MemoryStoreService);
    const error = await rejectionOf(
      service.transaction(async () => {
        await blobs.write({ id: 'd', body: body(1) });
      }),
    );
    expect(error).toBeInstanceOf(StoreCapacityError);
    expect(blobs.keys().sort()).toEqual(['a', 'b', 'c']);
  });

  it('maxRecords and maxSize together: whichever is reached first evicts', async () => {
    const store = (await start(BothCapsStore)).get(BothCapsStore);
    await store.writeMany([
      { id: 'a', body: body(1) },
      { id: 'b', body: body(1) },
      { id: 'c', body: body(1) },
    ]);
    await store.write({ id: 'd', body: body(1) }); // the count: a goes
    expect(store.keys()).toEqual(['b', 'c', 'd']);
    await store.write({ id: 'e', body: body(99) }); // the bytes: b and c go (1 + 99 = 100)
    expect(store.keys()).toEqual(['d', 'e']);
    await store.write({ id: 'f', body: body(100) }); // d and e go
    expect(store.keys()).toEqual(['f']);
  });

  it('the default sizeOf estimates a record from its fields', async () => {
    const store = (await start(EstimatedStore)).get(EstimatedStore);
    // a record of two strings: 16 + 2 × (8 + 16 + 2 × length) bytes; 'x' id and a 200-char body ≈ 474
    await store.write({ id: 'x', body: body(200) });
    await store.write({ id: 'y', body: body(200) });
    expect(store.keys()).toEqual(['x', 'y']);
    await store.write({ id: 'z', body: body(200) }); // 3 × 474 > 1,000
    expect(store.keys()).toEqual(['y', 'z']);
  });

  it('refuses bad options, and maxSize on a replicated store', async () => {
    expect(() =>
      Store({ table: Blob, maxSize: -1 })(class BadSize extends MemoryStore<Blob> {}),
    ).toThrow(/'maxSize' must be a positive integer of bytes/);
    expect(() =>
      Store({ table: Blob, maxSize: 10, sizeOf: 'length' as never })(
        class BadSizeOf extends MemoryStore<Blob> {},
      ),
    ).toThrow(/'sizeOf' must be a function/);
    const prefix = freshPrefix();
    try {
      const { error, app: failed } = await failedStartUp({
        module: class ReplicatedSizeModule {},
        imports: [
          MemoryStoreModule.forRoot({
            stores: [StrictBlobsStore],
            replication: { redis: REDIS_URL, prefix },
          }),
        ],
      });
      await failed?.close();
      expect((error as Error).message).toMatch(/replicated with maxSize/);
    } finally {
      await dropPrefix(prefix);
    }
  });
});
