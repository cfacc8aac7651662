import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

class Tag {
  constructor(
    readonly name = '',
    readonly weight = 0,
  ) {}
}

@Table({ name: 'things' })
class Thing {
  id!: string;
  value?: unknown;
  profile?: unknown;
}

/** A table without indexes: every query here is answered by a scan and the query's test. */
function things() {
  const table = new MemoryTable(getTableSchema(Thing));
  table.writeMany([
    { id: 'one', value: 1 },
    { id: 'oneText', value: '1' },
    { id: 'true', value: true },
    { id: 'zero', value: 0 },
    { id: 'minusZero', value: -0 },
    { id: 'false', value: false },
    { id: 'empty', value: '' },
    { id: 'nan', value: NaN },
    { id: 'null', value: null },
    { id: 'undefined', value: undefined },
    { id: 'missing' },
    { id: 'date5', value: new Date(5) },
    { id: 'date6', value: new Date(6) },
    { id: 'five', value: 5 },
    { id: 'iso5', value: new Date(5).toISOString() },
    { id: 'array12', value: [1, 2] },
    { id: 'array21', value: [2, 1] },
    { id: 'object12', value: { 0: 1, 1: 2 } },
    { id: 'objectAB', value: { a: 1, b: { c: [1, { d: 2 }] } } },
    { id: 'objectABC', value: { a: 1, b: { c: [1, { d: 2 }] }, e: 3 } },
    { id: 'emptyArray', value: [] },
    { id: 'emptyObject', value: {} },
    { id: 'tag', value: new Tag('x', 1) },
  ]);
  return table;
}

const find = (query: Record<string, unknown>) => keysOf(things().select(query));

describe('attribute maps: equality', () => {
  it('compares primitives strictly (an array matches when one of its elements is equal)', () => {
    expect(find({ value: 1 })).toEqual(['array12', 'array21', 'one']);
    expect(find({ value: '1' })).toEqual(['oneText']);
    expect(find({ value: true })).toEqual(['true']);
    expect(find({ value: false })).toEqual(['false']);
    expect(find({ value: '' })).toEqual(['empty']);
    expect(find({ value: 5 })).toEqual(['five']);
  });

  it('holds 0 and -0 equal, as === does', () => {
    expect(find({ value: 0 })).toEqual(['minusZero', 'zero']);
    expect(find({ value: -0 })).toEqual(['minusZero', 'zero']);
  });

  it('holds NaN equal to NaN', () => {
    expect(find({ value: NaN })).toEqual(['nan']);
  });

  it('compares dates by time, never with numbers or strings', () => {
    expect(find({ value: new Date(5) })).toEqual(['date5']);
    expect(find({ value: new Date(7) })).toEqual([]);
  });

  it('compares arrays by content and order', () => {
    expect(find({ value: [1, 2] })).toEqual(['array12']);
    expect(find({ value: [2, 1] })).toEqual(['array21']);
    expect(find({ value: [] })).toEqual(['emptyArray']);
    expect(find({ value: [1] })).toEqual([]);
  });

  it('compares objects by content, whatever the key order', () => {
    expect(find({ value: { b: { c: [1, { d: 2 }] }, a: 1 } })).toEqual(['objectAB']);
    expect(find({ value: { e: 3, a: 1, b: { c: [1, { d: 2 }] } } })).toEqual(['objectABC']);
    expect(find({ value: { a: 1 } })).toEqual([]);
    expect(find({ value: { 1: 2, 0: 1 } })).toEqual(['object12']);
    expect(find({ value: {} })).toEqual(['emptyObject']);
  });

  it('compares class instances by their fields', () => {
    expect(find({ value: { name: 'x', weight: 1 } })).toEqual(['tag']);
  });

  it('lets null match null, undefined and missing values, and nothing falsy else', () => {
    expect(find({ value: null })).toEqual(['missing', 'null', 'undefined']);
  });

  it('requires every field of the map', () => {
    const table = things();
    table.write({ id: 'both', value: 1, profile: 'p' });
    expect(keysOf(table.select({ value: 1, profile: 'p' }))).toEqual(['both']);
    expect(keysOf(table.select({ value: 1 }))).toEqual(['array12', 'array21', 'both', 'one']);
    expect(keysOf(table.select({ value: 1, profile: null }))).toEqual([
      'array12',
      'array21',
      'one',
    ]);
  });

  it('matches everything with an empty or absent query', () => {
    const table = things();
    expect(table.select({})).toHaveLength(table.size);
    expect(table.select()).toHaveLength(table.size);
    expect(table.count()).toBe(table.size);
    expect(table.count({})).toBe(table.size);
  });

  it('answers one() and count() like select()', () => {
    const table = things();
    expect(table.one({ value: NaN })?.id).toBe('nan');
    expect(table.one({ value: 'nope' })).toBeUndefined();
    expect(table.count({ value: 0 })).toBe(2);
    expect(table.count({ value: null })).toBe(3);
  });
});

describe('attribute maps: dotted paths', () => {
  function profiles() {
    const table = new MemoryTable(getTableSchema(Thing));
    table.writeMany([
      { id: 'dark', profile: { theme: 'dark', lang: 'en', deep: { level: 3 } } },
      { id: 'light', profile: { theme: 'light', lang: 'en' } },
      { id: 'none' },
      { id: 'scalar', profile: 'dark' },
      { id: 'nullTheme', profile: { theme: null } },
      { id: 'tags', profile: { tags: ['a', 'b'] } },
    ]);
    return table;
  }

  it('reach nested fields', () => {
    const table = profiles();
    expect(keysOf(table.select({ 'profile.theme': 'dark' }))).toEqual(['dark']);
    expect(keysOf(table.select({ 'profile.lang': 'en' }))).toEqual(['dark', 'light']);
    expect(keysOf(table.select({ 'profile.deep.level': 3 }))).toEqual(['dark']);
    expect(keysOf(table.select({ 'profile.lang': 'en', 'profile.theme': 'light' }))).toEqual([
      'light',
    ]);
  });

  it('reach array items by position', () => {
    expect(keysOf(profiles().select({ 'profile.tags.1': 'b' }))).toEqual(['tags']);
  });

  it('treat a path through a missing or scalar value as missing', () => {
    const table = profiles();
    expect(keysOf(table.select({ 'profile.theme': null }))).toEqual([
      'none',
      'nullTheme',
      'scalar',
      'tags',
    ]);
    expect(keysOf(table.select({ 'profile.deep.level': null }))).toHaveLength(5);
    expect(table.select({ 'profile.length': 4 })).toEqual([]);
  });
});

describe('malformed queries', () => {
  const cases: [string, unknown][] = [
    ['a string', 'dark'],
    ['a number', 42],
    ['null', null],
    ['a class instance', new Tag()],
    ['a Map', new Map([['value', 1]])],
    ['an unknown top-level operator', { $where: 'x' }],
    ['an unknown operator on a field', { value: { $foo: 1 } }],
    ['an undefined value', { value: undefined }],
    ['a function value', { value: () => 1 }],
    ['a symbol value', { value: Symbol('s') }],
    ['an own __proto__ field', JSON.parse('{"__proto__":{"admin":true}}')],
    ['a constructor field', { constructor: 'x' }],
    ['a forbidden segment in a path', { 'profile.prototype.x': 1 }],
    ['a __proto__ segment in a path', { 'profile.__proto__': 1 }],
    ['an empty path segment', { 'profile..theme': 1 }],
    ['an empty field', { '': 1 }],
    ['a trailing dot', { 'profile.': 1 }],
  ];

  it.each(cases)('refuses %s with QueryError, in every read and delete', (_label, query) => {
    const table = things();
    const size = table.size;
    for (const run of [
      () => table.select(query),
      () => table.one(query),
      () => table.count(query),
      () => table.plan(query),
      () => table.deleteMany(query),
      () => table.withdraw(query),
    ]) {
      const error = thrown(QueryError, run);
      expect(error.table).toBe('things');
      expect(error.message).toMatch(/^Invalid query on table 'things': /);
    }
    expect(table.size).toBe(size);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
