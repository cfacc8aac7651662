import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { orderOf, thrown } from '../test-helpers.js';

@Table({ name: 'people' })
class Person {
  id!: string;
  team = 'core';
  age = 0;
  v?: unknown;
  profile?: { rank?: number };
  get label(): string {
    return `${this.id}:${this.team}`;
  }
}

const people = () => new MemoryTable(getTableSchema(Person));

/** Records written in key order, so that table order and key order agree. */
function staff() {
  const table = people();
  table.writeMany([
    { id: 'k01', team: 'red', age: 30, profile: { rank: 2 } },
    { id: 'k02', team: 'blue', age: 25, profile: { rank: 1 } },
    { id: 'k03', team: 'red', age: 41 },
    { id: 'k04', team: 'green', age: 25, profile: { rank: 3 } },
    { id: 'k05', team: 'blue', age: 52 },
    { id: 'k06', team: 'red', age: 30, profile: { rank: 0 } },
  ]);
  return table;
}

describe('select options: orderBy', () => {
  it('sorts by one field, ascending or descending', () => {
    const table = staff();
    expect(orderOf(table.select({}, { orderBy: { age: 'asc' } }), 'age')).toEqual([
      25, 25, 30, 30, 41, 52,
    ]);
    expect(orderOf(table.select({}, { orderBy: { age: 'desc' } }), 'age')).toEqual([
      52, 41, 30, 30, 25, 25,
    ]);
  });

  it('sorts by several fields in the order given, each in its own direction', () => {
    const table = staff();
    expect(orderOf(table.select(undefined, { orderBy: { team: 'asc', age: 'desc' } }))).toEqual([
      'k05',
      'k02',
      'k04',
      'k03',
      'k01',
      'k06',
    ]);
    expect(orderOf(table.select(undefined, { orderBy: { age: 'asc', team: 'desc' } }))).toEqual([
      'k04',
      'k02',
      'k01',
      'k06',
      'k03',
      'k05',
    ]);
  });

  // Records are written in key order, so this holds whether ties keep table order or fall
  // back to the primary key.
  it('keeps ties in a stable order when ascending', () => {
    const table = staff();
    expect(orderOf(table.select({}, { orderBy: { team: 'asc' } }))).toEqual([
      'k02',
      'k05',
      'k04',
      'k01',
      'k03',
      'k06',
    ]);
  });

  it('sorts only the records matching the query', () => {
    const table = staff();
    expect(orderOf(table.select({ team: 'red' }, { orderBy: { age: 'asc' } }))).toEqual([
      'k01',
      'k06',
      'k03',
    ]);
    expect(orderOf(table.select({ team: 'blue' }, { orderBy: { age: 'desc' } }))).toEqual([
      'k05',
      'k02',
    ]);
  });

  it('sorts by a dotted path, missing values first', () => {
    const table = staff();
    expect(orderOf(table.select({}, { orderBy: { 'profile.rank': 'asc' } }))).toEqual([
      'k03',
      'k05',
      'k06',
      'k02',
      'k01',
      'k04',
    ]);
  });

  it('orders mixed types: missing and null, booleans, numbers (NaN first), strings, dates, others', () => {
    const table = people();
    const values: [string, unknown][] = [
      ['k01', 'b'],
      ['k02', 3],
      ['k03', true],
      ['k04', null],
      ['k05', undefined],
      ['k06', new Date(1)],
      ['k07', 'a'],
      ['k08', 1],
      ['k09', false],
      ['k10', { x: 1 }],
      ['k11', NaN],
      ['k12', new Date(0)],
      ['k13', [1]],
      ['k14', 'B'],
      ['k15', -2],
    ];
    for (const [id, v] of values) table.write(v === undefined ? { id } : { id, v });
    expect(orderOf(table.select({}, { orderBy: { v: 'asc' } }))).toEqual([
      'k04',
      'k05',
      'k09',
      'k03',
      'k11',
      'k15',
      'k08',
      'k02',
      'k14',
      'k07',
      'k01',
      'k12',
      'k06',
      'k10',
      'k13',
    ]);
  });

  it('reverses the mixed-type order when descending', () => {
    const table = people();
    const values: [string, unknown][] = [
      ['k01', 'b'],
      ['k02', 3],
      ['k03', true],
      ['k05', undefined],
      ['k06', new Date(1)],
      ['k08', 1],
      ['k09', false],
      ['k10', { x: 1 }],
      ['k11', NaN],
    ];
    for (const [id, v] of values) table.write(v === undefined ? { id } : { id, v });
    expect(orderOf(table.select({}, { orderBy: { v: 'desc' } }))).toEqual([
      'k10',
      'k06',
      'k01',
      'k02',
      'k08',
      'k11',
      'k03',
      'k09',
      'k05',
    ]);
  });

  it('does not reorder the records as they are stored', () => {
    const table = staff();
    const all = table.all();
    table.select({}, { orderBy: { age: 'desc' } });
    expect(table.all()).toBe(all);
    expect(orderOf(all)).toEqual(['k01', 'k02', 'k03', 'k04', 'k05', 'k06']);
  });
});

describe('select options: limit and offset', () => {
  it('pages through records in table order without orderBy', () => {
    const table = staff();
    expect(orderOf(table.select({}, { limit: 2 }))).toEqual(['k01', 'k02']);
    expect(orderOf(table.select({}, { limit: 2, offset: 2 }))).toEqual(['k03', 'k04']);
    expect(orderOf(table.select({}, { offset: 4 }))).toEqual(['k05', 'k06']);
    expect(table.select({}, { limit: 0 })).toEqual([]);
    expect(table.select({}, { offset: 6 })).toEqual([]);
    expect(table.select({}, { offset: 100, limit: 5 })).toEqual([]);
    expect(orderOf(table.select({}, { limit: 100 }))).toHaveLength(6);
  });

  it('counts the offset in matching records, not in stored ones', () => {
    const table = staff();
    expect(orderOf(table.select({ team: 'red' }, { offset: 1, limit: 1 }))).toEqual(['k03']);
    expect(orderOf(table.select({ age: 25 }, { offset: 1 }))).toEqual(['k04']);
  });

  it('sorts first, then skips and limits', () => {
    const table = staff();
    const options = { orderBy: { age: 'desc' }, offset: 1, limit: 2 } as const;
    expect(orderOf(table.select({}, options), 'age')).toEqual([41, 30]);
    expect(orderOf(table.select({}, { orderBy: { age: 'asc' }, limit: 1 }))).toEqual(['k02']);
    expect(table.select({}, { orderBy: { age: 'asc' }, limit: 0 })).toEqual([]);
    expect(table.select({}, { orderBy: { age: 'asc' }, offset: 6 })).toEqual([]);
  });
});

describe('select options: fields', () => {
  it('returns frozen plain objects holding only the fields asked for', () => {
    const table = staff();
    const rows = table.select({ team: 'red' }, { fields: ['id', 'age'], orderBy: { age: 'asc' } });
    expect(rows).toEqual([
      { id: 'k01', age: 30 },
      { id: 'k06', age: 30 },
      { id: 'k03', age: 41 },
    ]);
    for (const row of rows) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(row).not.toBeInstanceOf(Person);
      expect(Object.keys(row).sort()).toEqual(['age', 'id']);
      expect(Object.isFrozen(row)).toBe(true);
    }
  });

  it('leaves out fields a record does not have', () => {
    const table = staff();
    const rows = table.select({ id: 'k03' }, { fields: ['id', 'profile'] });
    expect(rows).toEqual([{ id: 'k03' }]);
    expect(Object.keys(rows[0])).toEqual(['id']);
  });

  it('sorts and filters on fields it does not return', () => {
    const table = staff();
    const rows = table.select({ team: 'blue' }, { fields: ['id'], orderBy: { age: 'desc' } });
    expect(rows).toEqual([{ id: 'k05' }, { id: 'k02' }]);
  });

  it('shares nested values with the stored records', () => {
    const table = staff();
    const [row] = table.select({ id: 'k01' }, { fields: ['profile'] });
    expect((row as { profile?: object }).profile).toBe(table.get('k01')?.profile);
  });
});

describe('select options: malformed options', () => {
  const cases: [string, unknown][] = [
    ['options that are not an object', 5],
    ['options that are an array', [{ limit: 1 }]],
    ['null options', null],
    ['an unknown option', { sort: { age: 'asc' } }],
    ['a negative limit', { limit: -1 }],
    ['a fractional limit', { limit: 1.5 }],
    ['a limit given as text', { limit: '2' }],
    ['a NaN limit', { limit: NaN }],
    ['a negative offset', { offset: -1 }],
    ['a fractional offset', { offset: 0.5 }],
    ['fields that are not an array', { fields: 'id' }],
    ['a field that is not a string', { fields: ['id', 1] }],
    ['a dotted field', { fields: ['profile.rank'] }],
    ['an empty field', { fields: [''] }],
    ['a forbidden field', { fields: ['constructor'] }],
    ['an orderBy that is not an object', { orderBy: 'age' }],
    ['an orderBy array', { orderBy: [['age', 'asc']] }],
    ['an unknown direction', { orderBy: { age: 'up' } }],
    ['an empty orderBy', { orderBy: {} }],
    ['a forbidden orderBy field', { orderBy: JSON.parse('{"__proto__":"asc"}') }],
    ['an orderBy field with an empty segment', { orderBy: { 'profile..rank': 'asc' } }],
  ];

  it.each(cases)('refuses %s with QueryError', (_label, options) => {
    const table = staff();
    const error = thrown(QueryError, () => table.select({}, options));
    expect(error.message).toMatch(/^Invalid query on table 'people': /);
    expect(error.table).toBe('people');
  });
});
