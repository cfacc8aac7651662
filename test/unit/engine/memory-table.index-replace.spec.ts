import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, orderOf, thrown } from '../test-helpers.js';

// A replace that keeps an indexed value takes a shortcut in each index: a hash index swaps
// the record in place in its bucket, a unique index (holding keys only) changes nothing.
// These tests replace records in every way a table can, then read through each index and
// check that every record handed out is the table's current one, never one it replaced.

@Table({ name: 'staff', indexes: ['team'] })
class Staff {
  id!: string;
  @Index({ unique: true }) badge?: string | null;
  team: string | null = 'core';
  n = 0;
}

const staff = () => new MemoryTable(getTableSchema(Staff));

/** Every record `field == value` reads through the index itself (not a scan). */
function viaIndex(table: MemoryTable<Staff>, field: 'team' | 'badge', value: unknown): Staff[] {
  return [...table.indexes.get(field)!.lookup(value)];
}

/** Checks that each record the index hands out is the one the table holds for its key. */
function expectCurrent(table: MemoryTable<Staff>, records: readonly Staff[]): void {
  for (const record of records) expect(record).toBe(table.get(record.id));
}

describe('MemoryTable: index reads after records are replaced', () => {
  it('hands out the current record after a replace with the same indexed value', () => {
    const table = staff();
    table.write({ id: 'a', team: 'red' });
    table.write({ id: 'b', team: 'red' });
    const a2 = table.write({ id: 'a', team: 'red', n: 2 });

    expect(viaIndex(table, 'team', 'red')).toEqual([a2, table.get('b')]);
    expect(viaIndex(table, 'team', 'red')[0]).toBe(a2);
    expect(table.select({ team: 'red' })).toContain(a2);
    expect(table.select({ team: 'red', n: 2 })).toEqual([a2]);
    expect(table.one({ team: 'red', n: 0 })!.id).toBe('b');
    expect(table.count({ team: 'red', n: 0 })).toBe(1);
  });

  it('keeps the order of a bucket across replaces, and reads the newest of many', () => {
    const table = staff();
    for (const id of ['a', 'b', 'c']) table.write({ id, team: 'red' });
    for (let n = 1; n <= 5; n++) {
      table.write({ id: 'b', team: 'red', n });
      table.update('a', { n });
    }
    const red = viaIndex(table, 'team', 'red');
    expect(orderOf(red)).toEqual(['a', 'b', 'c']);
    expectCurrent(table, red);
    expect(red.map((r) => r.n)).toEqual([5, 5, 0]);
  });

  it('reads the current record after more replaces than the bucket holds', () => {
    const table = staff();
    table.write({ id: 'a', team: 'red' });
    table.write({ id: 'b', team: 'red' });
    for (let n = 1; n <= 10; n++) table.write({ id: n % 2 ? 'a' : 'b', team: 'red', n });
    const red = viaIndex(table, 'team', 'red');
    expectCurrent(table, red);
    expect(red.map((r) => r.n)).toEqual([9, 10]);
    table.write({ id: 'a', team: 'red', n: 11 }); // and again after a read
    expect(viaIndex(table, 'team', 'red').map((r) => r.n)).toEqual([11, 10]);
  });

  it('follows a record that leaves a value after a replace, and one that comes back', () => {
    const table = staff();
    table.write({ id: 'a', team: 'red' });
    table.write({ id: 'b', team: 'red' });
    table.write({ id: 'a', team: 'red', n: 1 }); // replaced in red
    table.write({ id: 'a', team: 'blue', n: 2 }); // leaves red
    expect(keysOf(viaIndex(table, 'team', 'red'))).toEqual(['b']);
    const blue = viaIndex(table, 'team', 'blue');
    expect(blue).toEqual([table.get('a')]);
    expect(blue[0]).toBe(table.get('a'));

    table.write({ id: 'b', team: 'red', n: 3 }); // replaced in red
    table.write({ id: 'b', team: 'blue', n: 4 }); // leaves red, which goes
    table.write({ id: 'b', team: 'red', n: 5 }); // comes back to a new red
    table.write({ id: 'b', team: 'red', n: 6 });
    const red = viaIndex(table, 'team', 'red');
    expect(red).toHaveLength(1);
    expect(red[0]).toBe(table.get('b'));
    expect(red[0].n).toBe(6);
    expect(table.count({ team: 'blue' })).toBe(1);
  });

  it('never hands out a deleted record that was replaced before', () => {
    const table = staff();
    table.write({ id: 'a', team: 'red' });
    table.write({ id: 'b', team: 'red' });
    table.write({ id: 'a', team: 'red', n: 1 });
    table.delete('a');
    expect(viaIndex(table, 'team', 'red')).toEqual([table.get('b')]);
    const a = table.insert({ id: 'a', team: 'red', n: 2 });
    table.write({ id: 'b', team: 'red', n: 3 });
    const red = viaIndex(table, 'team', 'red');
    expect(orderOf(red)).toEqual(['b', 'a']);
    expect(red[1]).toBe(a);
    expectCurrent(table, red);
  });

  it('reads current records after batch, transactional and replicated replaces', () => {
    const table = staff();
    table.writeMany([
      { id: 'a', team: 'red' },
      { id: 'b', team: 'red' },
      { id: 'c', team: 'blue' },
    ]);
    table.writeMany([
      { id: 'a', team: 'red', n: 1 },
      { id: 'c', team: 'blue', n: 1 },
    ]);
    expectCurrent(table, viaIndex(table, 'team', 'red'));
    table.updateWhere({ team: 'red' }, { n: 2 });
    expect(viaIndex(table, 'team', 'red').map((r) => r.n)).toEqual([2, 2]);

    const b = table.build({ id: 'b', team: 'red', n: 3 });
    table.checkStaged(new Map([['b', { record: b, ttl: undefined }]]));
    table.applyStaged(new Map([['b', { record: b, ttl: undefined }]]));
    expect(viaIndex(table, 'team', 'red')[1]).toBe(b);

    const c = table.revive({ id: 'c', team: 'blue', n: 4 });
    table.applyReplicated([{ key: 'c', record: c, deadline: null, op: 'update' }]);
    expect(viaIndex(table, 'team', 'blue')).toEqual([c]);
    expect(viaIndex(table, 'team', 'blue')[0]).toBe(c);
    expect(table.select({ team: 'blue' })[0]).toBe(c);
  });

  it('starts afresh after deleteAll', () => {
    const table = staff();
    table.write({ id: 'a', team: 'red' });
    table.write({ id: 'a', team: 'red', n: 1 });
    table.deleteAll();
    expect(viaIndex(table, 'team', 'red')).toEqual([]);
    const a = table.write({ id: 'a', team: 'red', n: 2 });
    expect(viaIndex(table, 'team', 'red')).toEqual([a]);
    expect(viaIndex(table, 'team', 'red')[0]).toBe(a);
  });

  it('hands out current records for null and missing values of a unique field', () => {
    const table = staff();
    table.write({ id: 'a', badge: null });
    table.write({ id: 'b' });
    const a = table.write({ id: 'a', badge: null, n: 1 });
    const b = table.write({ id: 'b', n: 1 });
    expect(viaIndex(table, 'badge', null)[0]).toBe(a);
    expect(viaIndex(table, 'badge', undefined)[0]).toBe(b);
    expect(table.select({ badge: null })).toEqual(expect.arrayContaining([a, b]));
    expectCurrent(table, table.select({ badge: null }));
  });

  it('reads the current owner of a unique value after replaces', () => {
    const table = staff();
    table.write({ id: 'a', badge: 'x1' });
    const a = table.write({ id: 'a', badge: 'x1', n: 1 });
    expect(viaIndex(table, 'badge', 'x1')[0]).toBe(a);
    expect(table.one({ badge: 'x1' })).toBe(a);
    expect(table.select({ badge: 'x1' })[0]).toBe(a);
    expect(table.count({ badge: 'x1' })).toBe(1);

    const a2 = table.update('a', { n: 2 });
    expect(table.one({ badge: 'x1' })).toBe(a2);
    const e = thrown(DuplicateKeyError, () => table.write({ id: 'b', badge: 'x1' }));
    expect(e.field).toBe('badge');
    expect(table.one({ badge: 'x1' })).toBe(a2);

    table.write({ id: 'a', badge: 'x2', n: 3 }); // frees x1
    const b = table.write({ id: 'b', badge: 'x1' });
    expect(table.one({ badge: 'x1' })).toBe(b);
    expect(table.one({ badge: 'x2' })!.n).toBe(3);
    expect(table.one({ badge: 'x2' })).toBe(table.get('a'));
  });

  it('swaps unique values between records of a batch and reads the current owners', () => {
    const table = staff();
    table.writeMany([
      { id: 'a', badge: 'x' },
      { id: 'b', badge: 'y' },
    ]);
    const [a, b] = table.writeMany([
      { id: 'a', badge: 'y', n: 1 },
      { id: 'b', badge: 'x', n: 1 },
    ]);
    expect(table.one({ badge: 'y' })).toBe(a);
    expect(table.one({ badge: 'x' })).toBe(b);
    const [a2] = table.writeMany([{ id: 'a', badge: 'y', n: 2 }]);
    expect(table.one({ badge: 'y' })).toBe(a2);
  });
});
