import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DuplicateKeyError, MemoryStoreError, StoreValidationError } from 'nestjs-memory-store';
import { createApp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import {
  AutoInvoicesStore,
  CountersAppModule,
  TicketsStore,
} from './fixtures/counters-app.module.js';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascending = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/** The values a few calls handed out, ignoring calls that refused. */
async function handedOut(calls: Promise<number>[]): Promise<number[]> {
  const settled = await Promise.allSettled(calls);
  for (const result of settled) {
    if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(MemoryStoreError);
  }
  return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

describe('counters', () => {
  let app: INestApplication;
  let tickets: TicketsStore;
  let invoices: AutoInvoicesStore;

  beforeEach(async () => {
    app = await createApp(CountersAppModule.register());
    await app.init();
    tickets = app.get(TicketsStore);
    invoices = app.get(AutoInvoicesStore);
  });

  afterEach(async () => {
    await app.close();
  });

  describe('nextId / counter / hasCounter', () => {
    it('hands out 1, 2, 3, … per name, each name on its own', async () => {
      expect(tickets.hasCounter('serial')).toBe(false);
      expect(tickets.counter('serial')).toBe(0);
      const promise = tickets.nextId('serial');
      expect(promise).toBeInstanceOf(Promise);
      expect(await promise).toBe(1);
      expect(await tickets.nextId('serial')).toBe(2);
      expect(await tickets.nextId('batch')).toBe(1);
      expect(await tickets.nextId('serial')).toBe(3);
      expect(tickets.counter('serial')).toBe(3);
      expect(tickets.counter('batch')).toBe(1);
      expect(tickets.hasCounter('serial')).toBe(true);
      expect(tickets.hasCounter('other')).toBe(false);
    });

    it('keeps the counters of each store apart', async () => {
      await tickets.nextId('serial');
      await tickets.nextId('serial');
      expect(await invoices.nextId('serial')).toBe(1);
      expect(invoices.hasCounter('serial')).toBe(true);
      expect(tickets.counter('serial')).toBe(2);
    });

    it('gives 1,000 concurrent callers 1,000 distinct, consecutive values', async () => {
      const values = await Promise.all(range(1, 1_000).map(() => tickets.nextId('serial')));
      expect(new Set(values).size).toBe(1_000);
      expect(ascending(values)).toEqual(range(1, 1_000));
      expect(tickets.counter('serial')).toBe(1_000);
    });

    it('never repeats a value across interleaved async callers', async () => {
      const worker = async () => {
        const mine: number[] = [];
        for (let i = 0; i < 20; i++) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          mine.push(await tickets.nextId('serial'));
        }
        return mine;
      };
      const values = (await Promise.all(range(1, 50).map(worker))).flat();
      expect(ascending(values)).toEqual(range(1, 1_000));
    });

    it('numbers records issued concurrently through a store method without a clash', async () => {
      const issued = await Promise.all(range(1, 100).map(() => tickets.issue()));
      expect(ascending(issued.map((t) => t.serial))).toEqual(range(1, 100));
      expect(tickets.size).toBe(100);
    });

    it('survives deleteAll', async () => {
      await tickets.issue();
      await tickets.issue();
      await tickets.deleteAll();
      expect(tickets.size).toBe(0);
      expect(tickets.counter('serial')).toBe(2);
      expect((await tickets.issue()).serial).toBe(3);
    });

    it('never hands out the same value twice, even past the largest safe integer', async () => {
      await tickets.resetCounter('serial', Number.MAX_SAFE_INTEGER - 1);
      const values = await handedOut([
        tickets.nextId('serial'),
        tickets.nextId('serial'),
        tickets.nextId('serial'),
      ]);
      expect(values[0]).toBe(Number.MAX_SAFE_INTEGER);
      expect(new Set(values).size).toBe(values.length);
      for (const value of values) expect(Number.isSafeInteger(value)).toBe(true);
    });
  });

  describe('resetCounter', () => {
    it('sets the counter so that nextId hands out the value after it', async () => {
      await tickets.nextId('serial');
      await tickets.resetCounter('serial', 41);
      expect(tickets.counter('serial')).toBe(41);
      expect(await tickets.nextId('serial')).toBe(42);
    });

    it('resets to 0 by default, and creates the counter', async () => {
      await tickets.resetCounter('fresh');
      expect(tickets.hasCounter('fresh')).toBe(true);
      expect(tickets.counter('fresh')).toBe(0);
      expect(await tickets.nextId('fresh')).toBe(1);
      await tickets.nextId('fresh');
      await tickets.resetCounter('fresh');
      expect(await tickets.nextId('fresh')).toBe(1);
    });

    it.each([
      ['a negative number', -1],
      ['a fraction', 1.5],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['a string', '5'],
      ['null', null],
      ['more than the largest safe integer', 2 ** 53],
    ])('rejects %s with a MemoryStoreError and keeps the counter', async (_label, to) => {
      await tickets.nextId('serial');
      await tickets.nextId('serial');
      const error = await rejectionOf(tickets.resetCounter('serial', to as number));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as MemoryStoreError).table).toBe('tickets');
      expect((error as Error).message).toContain("'serial'");
      expect(tickets.counter('serial')).toBe(2);
      expect(await tickets.nextId('serial')).toBe(3);
    });
  });

  describe('a bad counter name', () => {
    it.each([
      ['an empty string', ''],
      ['a number', 42],
      ['undefined', undefined],
      ['null', null],
    ])('%s is refused by every counter operation', async (_label, name) => {
      const bad = name as string;
      for (const error of [
        await rejectionOf(tickets.nextId(bad)),
        await rejectionOf(tickets.resetCounter(bad, 1)),
        thrownBy(() => tickets.counter(bad)),
        thrownBy(() => tickets.hasCounter(bad)),
      ]) {
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect((error as Error).message).toMatch(/counter's name must be a non-empty string/);
      }
    });

    it('is reported as a rejected promise by nextId, not a synchronous throw', async () => {
      let promise: Promise<number> | undefined;
      expect(() => (promise = tickets.nextId(''))).not.toThrow();
      expect(await rejectionOf(promise!)).toBeInstanceOf(MemoryStoreError);
    });
  });

  describe('@Table({ autoIncrement: true })', () => {
    it('assigns the keys 1, 2, 3, … to records written without one', async () => {
      const a = await invoices.insert({ customer: 'ada' });
      const b = await invoices.write({ customer: 'bob' });
      const [c, d] = await invoices.writeMany([{ customer: 'cy' }, { customer: 'di' }]);
      const e = invoices.dirtyInsert({ customer: 'ed' });
      const f = await invoices.insert({ id: null, customer: 'fay' });
      expect([a, b, c, d, e, f].map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(invoices.get(3)).toBe(c);
      expect(invoices.counter('id')).toBe(6);
    });

    it('refuses a Date or a promise as a record instead of storing an empty one with a key', async () => {
      for (const [record, kind] of [
        [new Date(), 'not a Date'],
        [Promise.resolve({ customer: 'x' }), 'not a promise'],
      ] as const) {
        const error = await rejectionOf(invoices.insert(record as never));
        expect(error).toBeInstanceOf(StoreValidationError);
        expect((error as Error).message).toContain(kind);
      }
      expect(invoices.size).toBe(0);
    });

    it('gives concurrent inserts distinct keys', async () => {
      const records = await Promise.all(
        range(1, 200).map((i) => invoices.insert({ customer: `c${i}` })),
      );
      expect(ascending(records.map((r) => r.id!))).toEqual(range(1, 200));
      expect(invoices.size).toBe(200);
    });

    it('raises the counter past an explicit numeric key, so later keys never collide', async () => {
      await invoices.insert({ customer: 'a' }); // 1
      await invoices.insert({ id: 10, customer: 'explicit' });
      expect((await invoices.insert({ customer: 'b' })).id).toBe(11);
      await invoices.insert({ id: 5, customer: 'lower' }); // does not lower the counter
      expect((await invoices.insert({ customer: 'c' })).id).toBe(12);
      const batch = await invoices.writeMany([{ id: 20, customer: 'd' }, { customer: 'e' }]);
      expect(batch.map((r) => r.id)).toEqual([20, 21]);
      expect(invoices.keys().sort((x, y) => Number(x) - Number(y))).toEqual([
        1, 5, 10, 11, 12, 20, 21,
      ]);
    });

    it('skips keys already taken when the counter is set back', async () => {
      await invoices.writeMany([{ customer: 'a' }, { customer: 'b' }, { customer: 'c' }]);
      await invoices.resetCounter('id', 0);
      const next = await invoices.insert({ customer: 'd' });
      expect(next.id).toBe(4);
      expect(invoices.size).toBe(4);
    });

    it('still refuses insert of a key that was handed out: DuplicateKeyError', async () => {
      const first = await invoices.insert({ customer: 'a' });
      const error = await rejectionOf(invoices.insert({ id: first.id, customer: 'b' }));
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ table: 'invoices_auto', field: 'id', value: 1 });
      expect(invoices.get(1)).toBe(first);

      const id = await invoices.nextId('id');
      await invoices.insert({ id, customer: 'by hand' });
      expect(await rejectionOf(invoices.insert({ id, customer: 'again' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      // write replaces, as always
      const replaced = await invoices.write({ id, customer: 'replaced' });
      expect(invoices.get(id)).toBe(replaced);
    });

    it('keeps unique indexes: a clash on another field assigns nothing visible', async () => {
      await invoices.insert({ customer: 'a', ref: 'R-1' });
      expect(await rejectionOf(invoices.insert({ customer: 'b', ref: 'R-1' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      expect(invoices.size).toBe(1);
      const next = await invoices.insert({ customer: 'c' });
      expect(next.id).not.toBe(1);
      expect(invoices.size).toBe(2);
    });

    it('survives deleteAll', async () => {
      await invoices.writeMany([{ customer: 'a' }, { customer: 'b' }, { customer: 'c' }]);
      await invoices.deleteAll();
      expect((await invoices.insert({ customer: 'd' })).id).toBe(4);
    });

    it('is not broken by a refused key that is not finite', async () => {
      const error = await rejectionOf(invoices.insert({ id: Infinity, customer: 'x' }));
      expect(error).toBeInstanceOf(MemoryStoreError);
      const next = await invoices.insert({ customer: 'y' });
      expect(Number.isSafeInteger(next.id)).toBe(true);
      expect(invoices.get(next.id!)).toBe(next);
    });

    it('never hands out an explicit key beyond the largest safe integer again', async () => {
      const huge = 2 ** 53;
      // Whether the store takes such a key or refuses it, nextId must stay sound.
      await invoices.write({ id: huge, customer: 'huge' }).catch(() => undefined);
      const values = await handedOut([invoices.nextId('id'), invoices.nextId('id')]);
      expect(new Set(values).size).toBe(values.length);
      for (const value of values) {
        expect(Number.isSafeInteger(value)).toBe(true);
        expect(invoices.exists(value)).toBe(false);
      }
    });
  });
});
