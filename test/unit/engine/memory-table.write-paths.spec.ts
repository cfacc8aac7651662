import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { orderOf, thrown } from '../test-helpers.js';

// The write paths that skip work: an index is touched only where its field's value changed,
// a table with nothing to maintain stores (and expires) rows without reading them, and an
// update clones its base record field by field. Each is checked against what a reader sees.

@Table({ name: 'crew', indexes: ['team'] })
class Crew {
  id!: string;
  @Index({ unique: true }) badge?: string | null;
  @Index({ kind: 'ordered' }) rank = 0;
  team = 'core';
  note = '';
}

@Table({ name: 'plain_rows' })
class PlainRow {
  id!: string;
  n = 0;
}

function crew() {
  const changes: TableChange<Crew>[] = [];
  const clock = { time: 1_000_000, now: () => clock.time };
  const table = new MemoryTable(getTableSchema(Crew), {
    clock,
    onChange: (change) => changes.push(change),
  });
  return { table, changes, clock };
}

/** What every index of the crew table holds, read through the indexes themselves. */
function indexed(table: MemoryTable<Crew>) {
  const read = (field: string, value: unknown) => orderOf(table.indexes.get(field)!.lookup(value));
  return {
    teams: { core: read('team', 'core'), ops: read('team', 'ops') },
    badges: { b1: read('badge', 'b1'), b2: read('badge', 'b2'), none: read('badge', undefined) },
    byRank: orderOf(table.sortedIndex('rank')!.all()),
  };
}

describe('MemoryTable: writes touch an index only where its value changed', () => {
  it('moves a record whose indexed field an update changes, in every kind of index', () => {
    const { table } = crew();
    table.write({ id: 'a', badge: 'b1', rank: 1 });
    table.write({ id: 'b', rank: 2 });
    table.write({ id: 'c', rank: 3, team: 'ops' });
    const a = table.update('a', { team: 'ops', badge: 'b2', rank: 4 });
    expect(indexed(table)).toEqual({
      teams: { core: ['b'], ops: ['c', 'a'] },
      badges: { b1: [], b2: ['a'], none: ['b', 'c'] },
      byRank: ['b', 'c', 'a'],
    });
    expect(table.select({ team: 'ops' })).toContain(a);
    expect(table.select({ rank: { $gt: 3 } })).toEqual([a]);
    expect(table.select({ badge: 'b2' })).toEqual([a]);
    expect(table.select({ badge: 'b1' })).toEqual([]);
  });

  it('leaves a record in place, as the current one, where an update keeps the value', () => {
    const { table } = crew();
    table.write({ id: 'a', badge: 'b1', rank: 1 });
    table.write({ id: 'b', rank: 1 });
    const before = indexed(table);
    const a = table.update('a', { note: 'changed' });
    expect(indexed(table)).toEqual(before);
    expect([...table.indexes.get('team')!.lookup('core')][0]).toBe(a);
    expect([...table.indexes.get('badge')!.lookup('b1')][0]).toBe(a);
    expect([...table.sortedIndex('rank')!.all()][0]).toBe(a);
    const b = table.write({ id: 'b', rank: 1, note: 'x' }); // a replacing write, no badge
    expect([...table.indexes.get('badge')!.lookup(undefined)]).toEqual([b]);
    expect([...table.sortedIndex('rank')!.all()]).toEqual([a, b]);
  });

  it('refuses an update taking a unique value another record holds, changing nothing', () => {
    const { table, changes } = crew();
    table.write({ id: 'a', badge: 'b1', rank: 1 });
    table.write({ id: 'b', badge: 'b2', rank: 2, team: 'ops' });
    const rows = [...table.rows.entries()];
    const before = indexed(table);
    const version = table.version;
    changes.length = 0;
    const error = thrown(DuplicateKeyError, () =>
      table.update('b', { badge: 'b1', team: 'core', rank: 0 }),
    );
    expect(error.value).toBe('b1');
    expect([...table.rows.entries()]).toEqual(rows);
    expect(table.get('b')).toBe(rows[1][1]);
    expect(indexed(table)).toEqual(before);
    expect(changes).toEqual([]);
    expect(table.version).toBe(version);
  });

  it('files an array field by its elements again when an update changes it', () => {
    @Table({ name: 'tagged_crew', indexes: ['tags'] })
    class Tagged {
      id!: string;
      tags: string[] = [];
      n = 0;
    }
    const table = new MemoryTable(getTableSchema(Tagged));
    table.write({ id: 'a', tags: ['x', 'y'] });
    const kept = table.update('a', { n: 1 }); // the same array, shared by the new record
    expect(table.select({ tags: 'x' })).toEqual([kept]);
    const moved = table.update('a', { tags: ['y', 'z'] });
    expect(table.select({ tags: 'x' })).toEqual([]);
    expect(table.select({ tags: 'y' })).toEqual([moved]);
    expect(table.select({ tags: 'z' })).toEqual([moved]);
  });
});

describe('MemoryTable: a table with nothing to maintain', () => {
  it('counts every write and update it stores without reading the record it replaces', () => {
    const table = new MemoryTable(getTableSchema(PlainRow));
    table.write({ id: 'a' });
    table.write({ id: 'a', n: 1 });
    table.insert({ id: 'b' });
    const updated = table.update('a', { n: 2 });
    expect(table.activity.writes).toBe(4);
    expect(table.get('a')).toBe(updated);
    expect(updated).toEqual({ id: 'a', n: 2 });
  });

  it('expires its records without reading them, and counts them', () => {
    const clock = { time: 1_000_000, now: () => clock.time };
    const table = new MemoryTable(getTableSchema(PlainRow), { clock });
    for (let i = 0; i < 10; i++) table.write({ id: `r${i}`, n: i }, i < 4 ? 1_000 : null);
    clock.time += 2_000;
    expect(table.expire()).toBe(4);
    expect(table.size).toBe(6);
    expect(table.has('r0')).toBe(false);
    expect(table.activity.expiries).toBe(4);
    expect(table.all().map((r) => r.id)).toEqual(['r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('still reports expiries when someone listens', () => {
    const clock = { time: 1_000_000, now: () => clock.time };
    const changes: TableChange<PlainRow>[] = [];
    const table = new MemoryTable(getTableSchema(PlainRow), {
      clock,
      onChange: (change) => changes.push(change),
    });
    const r = table.write({ id: 'r' }, 1_000);
    clock.time += 2_000;
    expect(table.expire()).toBe(1);
    expect(changes.at(-1)).toEqual({ op: 'expire', key: 'r', record: undefined, previous: r });
  });
});
