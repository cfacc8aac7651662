import { describe, expect, it } from '@jest/globals';
import { cachedScanShapes, MAX_SCAN_SHAPES } from '../../../lib/query/scan-compiler.js';
import { keysOf } from '../test-helpers.js';
import { find, SCAN_CASES, scanRows as rows } from './fixtures/scan-cases.js';

/**
 * Queries of one shape share generated code, with each query's values passed in: these
 * tests check that a query never sees another query's values, whatever their shapes.
 */

describe('queries of the same shape with different values', () => {
  it.each(Object.entries(SCAN_CASES))('keep their own values: %s', (_group, cases) => {
    const table = rows();
    for (let round = 0; round < 3; round++) {
      for (const [query, keys] of cases) expect(find(table, query)).toEqual(keys);
    }
  });

  it('share the code generated for a shape', () => {
    const table = rows();
    find(table, { n: { $gte: 1, $lt: 2 } });
    const shapes = cachedScanShapes();
    for (let low = 0; low < 10; low++) find(table, { n: { $gte: low, $lt: low + 1 } });
    expect(cachedScanShapes()).toBe(shapes);
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

describe('the shape tree that finds cached code', () => {
  it('tells apart queries that differ only in a field, an operator or a value type', () => {
    const table = rows();
    table.writeMany([
      { id: 'p', x: 5, y: 'm' },
      { id: 'q', x: 'm', y: 5 },
    ]);
    const queries: [Record<string, unknown>, string[]][] = [
      [{ x: 5 }, ['p']],
      [{ y: 5 }, ['q']],
      [{ x: { $gte: 5 } }, ['p']],
      [{ x: { $gt: 5 } }, []],
      [{ x: { $gte: 'm' } }, ['q']],
      [{ y: { $gte: 'm' } }, ['p']],
      [{ x: { $lte: 5 }, y: 'm' }, ['p']],
      [{ y: 'm', x: { $lte: 5 } }, ['p']],
      [{ x: { $in: [5, 'm'] } }, ['p', 'q']],
      [{ x: { $ne: 5 }, y: { $exists: true } }, ['q']],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [query, keys] of queries) expect(find(table, query)).toEqual(keys);
    }
  });

  it('answers right after it was cleared for growing past its bound', () => {
    const table = rows();
    // 120 queries of 40 leaves on fields of their own: 4,800 nodes, past the bound of 4,096
    const queries = Array.from({ length: 120 }, (_, q) =>
      Object.fromEntries(Array.from({ length: 40 }, (_, f) => [`q${q}f${f}`, f])),
    );
    table.writeMany(queries.map((query, q) => ({ id: `q${q}`, ...query })));
    for (let pass = 0; pass < 2; pass++) {
      queries.forEach((query, q) => expect(find(table, query)).toEqual([`q${q}`]));
    }
    expect(find(table, { ...queries[0], q0f39: 0 })).toEqual([]);
  });
});
