import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { match } from '../../../lib/query/match.js';
import { cachedScanShapes, MAX_SCAN_SHAPES } from '../../../lib/query/scan-compiler.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf } from '../test-helpers.js';

/**
 * Queries of one shape share generated code, with each query's values passed in: these
 * tests check that a query never sees another query's values, whatever their shapes.
 */

@Table({ name: 'shapes' })
class Row {
  id!: string;
  n?: unknown;
  s?: unknown;
  at?: unknown;
  profile?: unknown;
}

function rows() {
  const table = new MemoryTable(getTableSchema(Row));
  table.writeMany([
    { id: 'a', n: 1, s: 'apple', at: new Date(1000), profile: { age: 30, tags: ['x'] } },
    { id: 'b', n: 2, s: 'banana', at: new Date(2000), profile: { age: 40 } },
    { id: 'c', n: 3, s: 'cherry', at: '1970-01-01T00:00:02.000Z', profile: { age: 50 } },
    { id: 'd', n: NaN, s: 2, at: 2000 },
    { id: 'e', n: 2n, s: null },
    { id: 'f', n: '2' },
  ]);
  return table;
}

const find = (table: MemoryTable<Row>, query: unknown) => keysOf(table.select(query));

describe('queries of the same shape with different values', () => {
  it('each get their own values, however often the shape is reused', () => {
    const table = rows();
    for (let round = 0; round < 3; round++) {
      expect(find(table, { n: 1 })).toEqual(['a']);
      expect(find(table, { n: 2 })).toEqual(['b']);
      expect(find(table, { n: '2' })).toEqual(['f']);
      expect(find(table, { n: { $gte: 2, $lt: 3 } })).toEqual(['b', 'e']);
      expect(find(table, { n: { $gte: 1, $lt: 2 } })).toEqual(['a']);
      expect(find(table, { n: { $lt: 2 } })).toEqual(['a', 'd']); // NaN sorts below numbers
      expect(find(table, { n: { $lt: 3 } })).toEqual(['a', 'b', 'd', 'e']);
      expect(find(table, { s: { $gte: 'b', $lt: 'c' } })).toEqual(['b']);
      expect(find(table, { s: { $gte: 'c' } })).toEqual(['c']);
    }
  });

  it('share the code generated for a shape', () => {
    const table = rows();
    find(table, { n: { $gte: 1, $lt: 2 } });
    const shapes = cachedScanShapes();
    for (let low = 0; low < 10; low++) find(table, { n: { $gte: low, $lt: low + 1 } });
    expect(cachedScanShapes()).toBe(shapes);
  });

  it('keep values of different types apart: numbers, strings, bigints, dates', () => {
    const table = rows();
    expect(find(table, { n: { $gte: 2 } })).toEqual(['b', 'c', 'e']);
    expect(find(table, { n: { $gte: '2' } })).toEqual(['f']);
    expect(find(table, { n: { $gte: 2n } })).toEqual(['b', 'c', 'e']);
    expect(find(table, { at: { $gte: new Date(2000) } })).toEqual(['b']);
    expect(find(table, { at: { $gte: 2000 } })).toEqual(['d']);
    expect(find(table, { at: new Date(1000) })).toEqual(['a']);
    expect(find(table, { at: new Date(2000) })).toEqual(['b']);
  });

  it('keep regexes apart', () => {
    const table = rows();
    expect(find(table, { s: { $regex: '^a' } })).toEqual(['a']);
    expect(find(table, { s: { $regex: '^b' } })).toEqual(['b']);
    expect(find(table, { s: { $regex: /an/ } })).toEqual(['b']);
    expect(find(table, { s: { $not: /an/ } })).toEqual(['a', 'c', 'd', 'e', 'f']);
  });

  it('keep nested fields and object values apart', () => {
    const table = rows();
    expect(find(table, { 'profile.age': { $gte: 40 } })).toEqual(['b', 'c']);
    expect(find(table, { 'profile.age': { $gte: 50 } })).toEqual(['c']);
    expect(find(table, { profile: { age: 40 } })).toEqual(['b']);
    expect(find(table, { profile: { age: 30, tags: ['x'] } })).toEqual(['a']);
    expect(find(table, { 'profile.tags.0': 'x' })).toEqual(['a']);
  });

  it('keep or, nor and not branches apart', () => {
    const table = rows();
    expect(find(table, { $or: [{ n: 1 }, { n: 3 }] })).toEqual(['a', 'c']);
    expect(find(table, { $or: [{ n: 2 }, { n: 3 }] })).toEqual(['b', 'c']);
    expect(find(table, { $nor: [{ n: 2 }, { s: 'apple' }] })).toEqual(['c', 'd', 'e', 'f']);
    expect(find(table, { $not: { n: { $gte: 2 } } })).toEqual(['a', 'd', 'f']);
  });

  it('are the same for every query form', () => {
    const table = rows();
    for (const [low, expected] of [
      [1, ['a', 'b', 'e']],
      [2, ['b', 'c', 'e']],
    ] as const) {
      const high = low + 2;
      expect(find(table, { n: { $gte: low, $lt: high } })).toEqual(expected);
      expect(find(table, match`n >= ${low} and n < ${high}`)).toEqual(expected);
      expect(
        find(table, [
          ['n', '>=', low],
          ['n', '<', high],
        ]),
      ).toEqual(expected);
    }
  });
});

describe('a query changed after the call', () => {
  it('keeps the values it was compiled with', () => {
    const table = rows();
    const filter = { n: { $gte: 1, $lt: 2 } };
    const compiled = table.compile(filter);
    filter.n.$gte = 3;
    filter.n.$lt = 4;
    expect(keysOf(table.all().filter(compiled.test))).toEqual(['a']);
    expect(keysOf(compiled.filter(table.all()))).toEqual(['a']);
  });

  it('is read afresh by the next call', () => {
    const table = rows();
    const filter: Record<string, unknown> = { s: 'apple' };
    expect(find(table, filter)).toEqual(['a']);
    filter.s = 'banana';
    expect(find(table, filter)).toEqual(['b']);
    filter.n = 3;
    expect(find(table, filter)).toEqual([]);
  });
});

describe('field names', () => {
  it('are data in the generated code, never code', () => {
    const table = rows();
    const odd = ['a"]; globalThis["injected"] = 1; //', "'", '\\', '0', 'a\u2028b', 'a${x}', 'é'];
    table.writeMany(odd.map((field, i) => ({ id: `odd${i}`, [field]: i })));
    odd.forEach((field, i) => {
      expect(find(table, { [field]: i })).toEqual([`odd${i}`]);
      expect(find(table, { [field]: { $gte: i, $lt: i + 1 } })).toEqual([`odd${i}`]);
    });
    expect((globalThis as Record<string, unknown>).injected).toBeUndefined();
  });
});

describe('the cache of generated code', () => {
  it('stays bounded, and answers right for shapes it dropped', () => {
    const table = rows();
    const fields = Array.from({ length: MAX_SCAN_SHAPES + 20 }, (_, i) => `f${i}`);
    table.writeMany(fields.map((field, i) => ({ id: field, [field]: i })));
    for (let pass = 0; pass < 2; pass++) {
      fields.forEach((field, i) => {
        expect(find(table, { [field]: { $gte: i } })).toEqual([field]);
        expect(cachedScanShapes()).toBeLessThanOrEqual(MAX_SCAN_SHAPES);
      });
    }
  });
});
