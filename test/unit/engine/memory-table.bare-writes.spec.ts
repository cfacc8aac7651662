import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { StoreCapacityError } from '../../../lib/errors/store-capacity.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { orderOf, thrown } from '../test-helpers.js';

// A table without indexes, capacity, deadlines or listeners only stores what it is given
// (it skips even reading the record a write replaces). These tests switch each of those
// on in the middle of a run of such writes and check that nothing after it is missed.

@Table({ name: 'notes' })
class Note {
  id!: string;
  text = '';
  n = 0;
}

const schema = getTableSchema(Note);

describe('MemoryTable: writes to a table with nothing to maintain', () => {
  it('reports every change once changes are wanted, telling inserts from updates', () => {
    const seen: TableChange<Note>[] = [];
    let wanted = false;
    const table = new MemoryTable(schema, {
      onChange: (change) => seen.push(change),
      wantsChanges: () => wanted,
    });
    table.write({ id: 'a' });
    table.write({ id: 'a', n: 1 });
    table.insert({ id: 'b' });
    expect(seen).toEqual([]);

    wanted = true;
    const a1 = table.get('a')!;
    const a2 = table.write({ id: 'a', n: 2 });
    const c = table.write({ id: 'c' });
    const d = table.insert({ id: 'd' });
    const b = table.delete('b');
    wanted = false;
    table.write({ id: 'a', n: 3 });
    table.insert({ id: 'e' });

    expect(seen).toEqual([
      { op: 'update', key: 'a', record: a2, previous: a1 },
      { op: 'insert', key: 'c', record: c, previous: undefined },
      { op: 'insert', key: 'd', record: d, previous: undefined },
      { op: 'delete', key: 'b', record: undefined, previous: b },
    ]);
    expect(seen[0].previous).toBe(a1);
    expect(seen[0].record).toBe(a2);
  });

  it('reports every change to a sink that always wants them, as a journal does', () => {
    const seen: string[] = [];
    const table = new MemoryTable(schema, { onChange: ({ op, key }) => seen.push(`${op} ${key}`) });
    table.write({ id: 'a' });
    table.write({ id: 'a', n: 1 });
    table.insert({ id: 'b' });
    expect(seen).toEqual(['insert a', 'update a', 'insert b']);
  });

  it('keeps a sorted index built in the middle of the writes up to date', () => {
    const table = new MemoryTable(schema);
    for (const id of ['m', 'c', 'x']) table.write({ id });
    const sorted = table.sortedIndex('id')!;
    table.write({ id: 'a' });
    table.write({ id: 'm', n: 1 });
    table.insert({ id: 'q' });
    table.delete('x');
    expect([...sorted.all()]).toEqual(['a', 'c', 'm', 'q'].map((id) => table.get(id)));
    expect(table.get('m')?.n).toBe(1);
    for (const record of sorted.all()) expect(record).toBe(table.get(record.id));
  });

  it('sets and clears deadlines, and stores plainly again once none is left', () => {
    let now = 1_000;
    const table = new MemoryTable(schema, { clock: { now: () => now } });
    table.write({ id: 'a' });
    table.write({ id: 'b' }, 100);
    expect(table.ttl('b')).toBe(100);
    table.write({ id: 'b', n: 1 }); // no ttl: replacing the record drops its deadline
    expect(table.ttl('b')).toBeUndefined();
    table.write({ id: 'c' }, 50);
    table.insert({ id: 'd' });
    now += 60;
    expect(orderOf(table.all())).toEqual(['a', 'b', 'd']);
    table.write({ id: 'a', n: 2 });
    table.write({ id: 'e' }, 10);
    now += 10;
    expect(orderOf(table.all())).toEqual(['a', 'b', 'd']);
    expect(table.get('a')?.n).toBe(2);
  });

  it('tracks recency for a capacity configured after the first writes', () => {
    const table = new MemoryTable(schema);
    for (const id of ['a', 'b', 'c']) table.write({ id });
    table.configure({ capacity: { maxRecords: 3, eviction: 'lru' } });
    table.write({ id: 'a', n: 1 }); // now b is the least recently used
    table.write({ id: 'd' });
    expect(orderOf(table.all())).toEqual(['a', 'c', 'd']);

    table.configure({ capacity: { maxRecords: 3, eviction: 'reject' } });
    thrown(StoreCapacityError, () => table.insert({ id: 'e' }));
    expect(table.size).toBe(3);
  });

  it('counts every write as a change and hands out a new all() array after it', () => {
    const table = new MemoryTable(schema);
    table.write({ id: 'a' });
    const all = table.all();
    const version = table.version;
    const a = table.write({ id: 'a', n: 1 });
    expect(table.version).toBe(version + 1);
    expect(table.all()).not.toBe(all);
    expect(table.all()).toEqual([a]);
    table.insert({ id: 'b' });
    expect(table.version).toBe(version + 2);
    expect(orderOf(table.all())).toEqual(['a', 'b']);
  });
});
