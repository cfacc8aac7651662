import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { BagStore, DuplicateKeyError, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';

@Table({ name: 'large_readings', key: 'sensor', type: 'bag' })
class Reading {
  sensor!: string;
  n!: number;
  seen = false;
}

@Store({ table: Reading })
class ReadingStore extends BagStore<Reading> {}

@Table({ name: 'large_hits', key: 'page', type: 'duplicate_bag' })
class Hit {
  page!: string;
}

@Store({ table: Hit })
class HitStore extends BagStore<Hit> {}

/**
 * Records under one key: four times the count from which a bag's delete and update go in
 * slices (5,000), enough that handling them at once would stall the event loop.
 */
const MANY = 20_000;

/**
 * Runs `operation` and tells whether a callback queued with setImmediate just before it ran
 * before the operation's promise settled: it did only if the operation let the event loop
 * turn (a synchronous one settles its promise in a microtask, before any immediate).
 */
async function letsOthersRun<R>(operation: () => Promise<R>): Promise<{ result: R; ran: boolean }> {
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  const result = await operation();
  order.push('operation');
  return { result, ran: order[0] === 'other work' };
}

describe('bags: a key with very many records is deleted and updated in slices', () => {
  let app: INestApplication | undefined;

  async function start(): Promise<INestApplication> {
    app = await createApp(MemoryStoreModule.forRoot({ stores: [ReadingStore, HitStore] }));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('delete(key) of 20,000 records under one key lets other work run, and deletes them all', async () => {
    const hits = (await start()).get(HitStore);
    await hits.writeMany(Array.from({ length: MANY }, () => ({ page: 'home' })));
    await hits.writeMany([{ page: 'about' }, { page: 'about' }]);
    expect(hits.get('home')).toHaveLength(MANY);

    const { result, ran } = await letsOthersRun(() => hits.delete('home'));
    expect(ran).toBe(true);
    expect(result).toHaveLength(MANY);
    expect(result.every((hit) => hit.page === 'home')).toBe(true);
    expect(hits.get('home')).toEqual([]);
    expect(hits.size).toBe(2);
    expect(hits.get('about')).toHaveLength(2);
  });

  it('update(query) of 20,000 records under one key lets other work run, and updates them all', async () => {
    const readings = (await start()).get(ReadingStore);
    await readings.writeMany(Array.from({ length: MANY }, (_, n) => ({ sensor: 's1', n })));
    await readings.write({ sensor: 's2', n: 0 });

    const { result, ran } = await letsOthersRun(() =>
      readings.update({ sensor: 's1' }, { seen: true }),
    );
    expect(ran).toBe(true);
    expect(result).toHaveLength(MANY);
    expect(readings.count({ sensor: 's1', seen: true })).toBe(MANY);
    expect(readings.get('s2')[0].seen).toBe(false);
    expect(readings.size).toBe(MANY + 1);

    // in a 'bag', a large update that would make two records of a key equal changes nothing
    const error = await rejectionOf(readings.update({ sensor: 's1' }, { n: 7 }));
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(readings.count({ sensor: 's1', n: 7 })).toBe(1);
    expect(readings.count({ sensor: 's1', seen: true })).toBe(MANY);
  });
});
