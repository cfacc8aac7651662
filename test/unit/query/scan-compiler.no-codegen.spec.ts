import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { cachedScanShapes } from '../../../lib/query/scan-compiler.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf } from '../test-helpers.js';

/**
 * A process started with `--disallow-code-generation-from-strings` cannot generate code
 * from strings: every query still answers, tested by closures. (Its own file: once code
 * generation fails, the module stops trying for the life of the process.)
 */

@Table({ name: 'no_codegen' })
class Row {
  id!: string;
  n?: unknown;
  s?: unknown;
  profile?: unknown;
}

const FunctionBefore = globalThis.Function;

beforeAll(() => {
  globalThis.Function = function () {
    throw new EvalError('Code generation from strings disallowed for this context');
  } as unknown as FunctionConstructor;
});

afterAll(() => {
  globalThis.Function = FunctionBefore;
});

function rows() {
  const table = new MemoryTable(getTableSchema(Row));
  table.writeMany([
    { id: 'a', n: 1, s: 'apple', profile: { age: 30 } },
    { id: 'b', n: 2, s: 'banana', profile: { age: 40 } },
    { id: 'c', n: 3, s: 'cherry' },
    { id: 'd', n: NaN, s: 2 },
    { id: 'e', n: 2n, s: null },
    { id: 'f', n: '2' },
  ]);
  return table;
}

const find = (table: MemoryTable<Row>, query: unknown) => keysOf(table.select(query));

describe('without code generation', () => {
  it('answers equality, ranges, nested fields and branches as with it', () => {
    const table = rows();
    expect(find(table, { n: 2 })).toEqual(['b']);
    expect(find(table, { n: NaN })).toEqual(['d']);
    expect(find(table, { n: '2' })).toEqual(['f']);
    expect(find(table, { s: null })).toEqual(['e', 'f']);
    expect(find(table, { n: { $gte: 2, $lt: 3 } })).toEqual(['b', 'e']);
    expect(find(table, { n: { $lt: 2 } })).toEqual(['a', 'd']);
    expect(find(table, { s: { $gte: 'b', $lt: 'c' } })).toEqual(['b']);
    expect(find(table, { 'profile.age': { $gte: 40 } })).toEqual(['b']);
    expect(find(table, { $or: [{ n: 1 }, { s: { $regex: '^c' } }] })).toEqual(['a', 'c']);
    expect(find(table, { n: { $in: [1, 3] }, s: { $ne: 'apple' } })).toEqual(['c']);
    expect(table.count({ n: { $gte: 2 } })).toBe(3);
    expect(table.one({ s: 'banana' })?.id).toBe('b');
    expect(find(table, {})).toHaveLength(6);
  });

  it('keeps no generated code', () => {
    find(rows(), { n: 1 });
    expect(cachedScanShapes()).toBe(0);
  });
});
