import { describe, expect, it } from '@jest/globals';
import { QueryError } from '../../../lib/errors/query.error.js';
import { match } from '../../../lib/query/match.js';
import { keysOf, thrown } from '../test-helpers.js';
import { ARRAY_CASES, arrayTable } from './fixtures/array-cases.js';

const sorted = (keys: unknown[]) => [...keys].sort();

describe('arrays and MongoDB idioms, in every query form', () => {
  describe.each([
    ['without indexes', false],
    ['with multikey and unique indexes', true],
  ])('%s', (_label, indexed) => {
    it.each(Object.entries(ARRAY_CASES))('%s', (_group, cases) => {
      const table = arrayTable(indexed);
      for (const [query, keys] of cases) {
        expect([query, sorted(keysOf(table.select(query as never)))]).toEqual([query, keys]);
        expect([query, table.count(query as never)]).toEqual([query, keys.length]);
      }
    });
  });
});

describe('multikey indexes', () => {
  it('serve element equality, $in and $all with an index lookup', () => {
    const table = arrayTable(true);
    expect(table.plan({ tags: 'x' }).path).toMatchObject({ kind: 'index', field: 'tags' });
    expect(table.plan({ tags: { $in: ['y', 'z'] } }).path).toMatchObject({
      kind: 'index',
      field: 'tags',
    });
    expect(table.plan({ tags: { $all: ['x', 'y'] } }).path).toMatchObject({
      kind: 'index',
      field: 'tags',
    });
    expect(table.plan({ codes: 'A1' }).path).toMatchObject({ kind: 'index', unique: true });
    expect(table.plan([['tags', '==', 'y']]).path).toMatchObject({ kind: 'index' });
    expect(table.plan(match`tags == ${'y'}`).path).toMatchObject({ kind: 'index' });
  });

  it('answer a query that is one element equality without re-reading the records', () => {
    const table = arrayTable(true);
    expect(table.plan({ tags: 'x' }).exact).toBe(true);
    expect(table.plan({ codes: 'A1' }).exact).toBe(true);
    expect(table.plan({ tags: 'x', name: 'Ada' }).exact).toBe(false);
    expect(table.plan({ tags: null }).exact).toBe(false);
    expect(table.plan({ tags: ['x', 'y'] }).exact).toBe(false);
    expect(table.plan({ name: 'Ada' }).exact).toBe(false);
  });

  it('hold one entry per distinct element: the estimate counts records, not elements', () => {
    const table = arrayTable(true);
    table.write({ id: 'h', tags: ['y', 'y', 'y'] });
    expect(table.plan({ tags: 'y' }).estimatedRows).toBe(3);
    expect(sorted(keysOf(table.select({ tags: 'y' })))).toEqual(['a', 'b', 'h']);
  });

  it('follow writes and deletes of array values', () => {
    const table = arrayTable(true);
    table.write({ id: 'a', tags: ['z'], codes: ['A9'] });
    table.delete('c');
    table.write({ id: 'h', tags: ['x', 'x', 'w'], codes: ['A1'] });
    expect(sorted(keysOf(table.select({ tags: 'x' })))).toEqual(['g', 'h']);
    expect(sorted(keysOf(table.select({ tags: 'z' })))).toEqual(['a']);
    expect(sorted(keysOf(table.select({ codes: 'A1' })))).toEqual(['b', 'h']);
    expect(sorted(keysOf(table.select({ codes: 'A2' })))).toEqual([]);
    table.delete('h');
    expect(sorted(keysOf(table.select({ tags: 'x' })))).toEqual(['g']);
    expect(table.plan({ tags: 'w' }).estimatedRows).toBe(0);
  });

  it('never answer a range from a sorted index holding arrays', () => {
    const table = arrayTable(true);
    expect(table.plan({ scores: { $gt: 4 } }).path.kind).toBe('scan');
    expect(keysOf(table.select({ scores: { $gt: 4 } }))).toEqual(['a']);
    expect(
      keysOf(table.select({ scores: { $gt: 4 } }, { orderBy: { scores: 'asc' }, limit: 1 })),
    ).toEqual(['a']);
  });

  it('keep a unique index unique by whole array, as before', () => {
    const table = arrayTable(true);
    expect(() => table.write({ id: 'h', codes: ['A1', 'A2'] })).toThrow();
    table.write({ id: 'h', codes: ['A2'] }); // shares an element only
    expect(sorted(keysOf(table.select({ codes: 'A2' })))).toEqual(['a', 'h']);
  });
});

describe('what MongoDB refuses is refused', () => {
  it.each([
    [{ tags: { $size: -1 } }, /\$size takes a non-negative integer/],
    [{ tags: { $size: 1.5 } }, /\$size takes a non-negative integer/],
    [{ tags: { $all: 'x' } }, /\$all takes an array/],
    [{ items: { $elemMatch: 3 } }, /\$elemMatch takes a filter object/],
    [{ name: { $regex: /a/i, $options: 'm' } }, /flags on both/],
    [{ name: { $options: 'x' } }, /\$options goes with \$regex/],
    [{ name: { $regex: 'a', $options: 'g' } }, /\$options takes flags among 'imsux'/],
    [{ name: { $where: 'x' } }, /unknown operator '\$where'/],
    [[['tags', 'all', 'x']], /\$all takes an array/],
    [[['tags', 'contains', 'x']], /unknown operator 'contains'/],
  ])('%j', (query, message) => {
    const error = thrown(QueryError, () => arrayTable(false).select(query as never));
    expect(error.message).toMatch(message);
  });

  it('keeps regexes in the linear-time engine: a catastrophic pattern answers', () => {
    const table = arrayTable(false);
    table.write({ id: 'h', name: 'a'.repeat(40) + '!' });
    expect(keysOf(table.select({ name: { $in: [/^(a|a)*$/] } }))).toEqual([]);
    expect(keysOf(table.select({ name: /^(a|aa)+$/ }))).toEqual([]);
  });
});
