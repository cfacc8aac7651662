import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { CoarseClock } from '../../../lib/ttl/clock.js';
import { keysOf } from '../test-helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

@Table({ name: 'ttl_items', ttl: '1h' })
class Item {
  id!: string;
  @Index() group = 'g0';
  n = 0;
}

@Table({ name: 'ttl_ordered', type: 'ordered_set' })
class Ordered {
  id!: number;
}

/**
 * A table on a clock the test moves by hand, recording every change it reports. Its steps of
 * expiry read a timer that stands still: the tests count what one step removes, which the
 * step's time bound (EXPIRY_SLICE_MS) would cut short on a busy machine.
 */
function tableOf<T extends object>(cls: new () => T) {
  const clock = { time: 1_000_000, now: () => clock.time };
  const changes: TableChange<T>[] = [];
  const table = new MemoryTable(getTableSchema(cls), {
    clock,
    onChange: (change) => changes.push(change),
    stepTimer: () => 0,
  });
  const expired = () => changes.filter((c) => c.op === 'expire').map((c) => c.key);
  return { table, clock, changes, expired };
}

describe('MemoryTable: time to live', () => {
  it('expires records earliest deadline first, each as an expire change with the record', () => {
    const { table, clock, changes } = tableOf(Item);
    const ttls = Array.from({ length: 300 }, (_, i) => ((i * 7_919) % 3_000) + 1);
    ttls.forEach((ttl, i) => table.write({ id: `r${i}` }, ttl));
    changes.length = 0;
    clock.time += 2_000;
    const removed = table.expire();
    const expected = ttls
      .map((ttl, i): [string, number] => [`r${i}`, ttl])
      .filter(([, ttl]) => ttl <= 2_000)
      .sort((a, b) => a[1] - b[1]);
    expect(removed).toBe(expected.length);
    expect(changes.map((c) => c.op)).toEqual(expected.map(() => 'expire'));
    const deadlineOf = new Map(expected);
    const order = changes.map((c) => deadlineOf.get(c.key as string)!);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const change of changes) {
      expect(change.previous).toMatchObject({ id: change.key });
      expect(change.record).toBeUndefined();
    }
    expect(table.size).toBe(300 - expected.length);
  });

  it('counts a time to live from the write, not from a time the clock cached earlier', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(5_000_000);
    try {
      const clock = new CoarseClock(60_000); // caches the time for a minute: reads stay cheap
      const table = new MemoryTable(getTableSchema(Item), { clock });
      table.write({ id: 'first' }, 1_000);
      expect(table.deadlineOf('first')).toBe(5_001_000);
      now.mockReturnValue(5_000_400); // the cache still says 5_000_000
      table.write({ id: 'second' }, 1_000);
      expect(table.deadlineOf('second')).toBe(5_001_400);
      expect(table.ttl('second')).toBe(1_000);
      expect(table.ttl('first')).toBe(600); // reads see the time the write read
    } finally {
      now.mockRestore();
    }
  });

  it('never shows an expired record, and keeps the rest', () => {
    const { table, clock } = tableOf(Item);
    table.write({ id: 'short', group: 'a' }, 1_000);
    table.write({ id: 'long', group: 'a' }, 5_000);
    table.write({ id: 'forever', group: 'a' }, null);
    expect(keysOf(table.select({ group: 'a' }))).toEqual(['forever', 'long', 'short']);
    clock.time += 1_000;
    expect(table.get('short')).toBeUndefined();
    expect(table.has('short')).toBe(false);
    expect(keysOf(table.select({ group: 'a' }))).toEqual(['forever', 'long']);
    expect(keysOf(table.select({ n: 0 }))).toEqual(['forever', 'long']); // a scan
    expect(table.count()).toBe(2);
    clock.time += 10 * HOUR;
    expect(keysOf(table.all())).toEqual(['forever']);
    expect(keysOf(table.indexes.get('group')!.lookup('a'))).toEqual(['forever']);
  });

  it('reports the time left to the millisecond, through rewrites', () => {
    const { table, clock } = tableOf(Item);
    table.write({ id: 'a' });
    expect(table.ttl('a')).toBe(HOUR);
    clock.time += 1_234;
    expect(table.ttl('a')).toBe(HOUR - 1_234);
    table.write({ id: 'a' }, 10 * MINUTE); // earlier
    expect(table.ttl('a')).toBe(10 * MINUTE);
    table.write({ id: 'a' }, 5 * HOUR); // later
    expect(table.ttl('a')).toBe(5 * HOUR);
    table.update('a', { n: 1 }); // keeps the deadline
    clock.time += 7;
    expect(table.ttl('a')).toBe(5 * HOUR - 7);
    table.update('a', { n: 2 }, null); // clears it
    expect(table.ttl('a')).toBeUndefined();
    clock.time += 100 * HOUR;
    expect(table.get('a')).toMatchObject({ n: 2 });
  });

  it('expires a record at its latest deadline only, not at one it had before', () => {
    const { table, clock, expired } = tableOf(Item);
    table.write({ id: 'moved-later' }, 1_000);
    table.write({ id: 'moved-later' }, 3 * HOUR);
    table.write({ id: 'moved-earlier' }, 3 * HOUR);
    table.write({ id: 'moved-earlier' }, 2_000);
    clock.time += 2_000;
    expect(table.expire()).toBe(1);
    expect(expired()).toEqual(['moved-earlier']);
    clock.time += 2 * HOUR;
    expect(table.expire()).toBe(0);
    expect(table.ttl('moved-later')).toBe(3 * HOUR - 2 * HOUR - 2_000);
    clock.time += HOUR;
    expect(table.expire()).toBe(1);
    expect(expired()).toEqual(['moved-earlier', 'moved-later']);
  });

  it('does not expire a deleted record, nor the record written after it under its key', () => {
    const { table, clock, expired } = tableOf(Item);
    table.write({ id: 'a' }, 1_000);
    table.delete('a');
    table.write({ id: 'a' }, 5_000);
    clock.time += 1_000;
    expect(table.expire()).toBe(0);
    expect(table.get('a')).toBeDefined();
    clock.time += 4_000;
    expect(table.expire()).toBe(1);
    expect(expired()).toEqual(['a']);
  });

  it('expires a record written again after it expired, at its new deadline', () => {
    const { table, clock, expired } = tableOf(Item);
    table.write({ id: 'a' }, 1_000);
    clock.time += 1_000;
    expect(table.get('a')).toBeUndefined();
    table.write({ id: 'a' }, 1_000);
    expect(table.ttl('a')).toBe(1_000);
    clock.time += 999;
    expect(table.get('a')).toBeDefined();
    clock.time += 1;
    expect(table.get('a')).toBeUndefined();
    expect(expired()).toEqual(['a', 'a']);
  });

  it('expires records restored with deadlines that passed at the next operation', () => {
    const { table, clock, changes } = tableOf(Item);
    table.restore(
      [
        ['old', { id: 'old' }, clock.time - 10, 1],
        ['new', { id: 'new' }, clock.time + 10, 1],
      ],
      [],
    );
    expect(changes).toEqual([]);
    expect(keysOf(table.all())).toEqual(['new']);
    expect(changes.map((c) => [c.op, c.key])).toEqual([['expire', 'old']]);
  });

  it('counts each expired record as a change of the table', () => {
    const { table, clock } = tableOf(Item);
    for (let i = 0; i < 100; i++) table.write({ id: `r${i}` }, i < 70 ? 1_000 : null);
    const version = table.version;
    clock.time += 1_000;
    expect(table.expire()).toBe(70);
    expect(table.version).toBe(version + 70);
  });

  it('keeps an ordered_set table’s key order and key index through expiry', () => {
    const { table, clock } = tableOf(Ordered);
    for (let id = 10; id > 0; id--) table.write({ id }, id % 2 === 0 ? 1_000 : null);
    clock.time += 1_000;
    expect(table.all().map((r) => r.id)).toEqual([1, 3, 5, 7, 9]);
    expect(table.select({ id: { $gte: 4 } }).map((r) => r.id)).toEqual([5, 7, 9]);
  });
});
