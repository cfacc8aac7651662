import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { match } from '../../../lib/query/match.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

/**
 * NaN in records and in queries: a range holds no NaN (as `<` and `>` in JavaScript), by scan,
 * by the generated scan code and by a sorted index alike; a NaN bound is refused like an
 * invalid Date; equality still finds NaN; aggregates skip it.
 */

@Table({ name: 'nan_plain' })
class Plain {
  id!: string;
  age?: unknown;
  profile?: unknown;
}

@Table({ name: 'nan_indexed', indexes: ['age'] })
class Indexed {
  id!: string;
  age?: unknown;
  profile?: unknown;
}

const ROWS = [
  { id: 'ten', age: 10, profile: { age: 10 } },
  { id: 'nan', age: NaN, profile: { age: NaN } },
  { id: 'minus5', age: -5, profile: { age: -5 } },
  { id: 'big', age: 7n, profile: { age: 7n } },
  { id: 'text', age: 'x', profile: { age: 'x' } },
  { id: 'none' },
];

function tables() {
  const plain = new MemoryTable(getTableSchema(Plain));
  const indexed = new MemoryTable(getTableSchema(Indexed));
  plain.writeMany(ROWS);
  indexed.writeMany(ROWS);
  return { plain, indexed };
}

/** The hand-written filter each range must agree with: JavaScript's own comparison. */
const RANGES: [string, Record<string, number>, (v: number | bigint) => boolean][] = [
  ['$lt 0', { $lt: 0 }, (v) => v < 0],
  ['$lte 100', { $lte: 100 }, (v) => v <= 100],
  ['$gt -100', { $gt: -100 }, (v) => v > -100],
  ['$gte -5', { $gte: -5 }, (v) => v >= -5],
  ['$gt -100 and $lt 100', { $gt: -100, $lt: 100 }, (v) => v > -100 && v < 100],
  ['$lt Infinity', { $lt: Infinity }, (v) => v < Infinity],
  ['$gt -Infinity', { $gt: -Infinity }, (v) => v > -Infinity],
];

const byHand = (test: (v: number | bigint) => boolean) =>
  ROWS.filter((r) => (typeof r.age === 'number' || typeof r.age === 'bigint') && test(r.age))
    .map((r) => r.id)
    .sort();

describe('a range never matches NaN', () => {
  it.each(RANGES)(
    '%s: by scan, by index and on a nested path, as a hand filter',
    (_l, range, test) => {
      const { plain, indexed } = tables();
      const expected = byHand(test);
      expect(expected).not.toContain('nan');
      expect(keysOf(plain.select({ age: range }))).toEqual(expected);
      expect(keysOf(indexed.select({ age: range }))).toEqual(expected);
      expect(keysOf(plain.select({ 'profile.age': range }))).toEqual(expected);
      expect(plain.count({ age: range })).toBe(expected.length);
      expect(indexed.count({ age: range })).toBe(expected.length);
    },
  );

  it('the index range neither examines nor estimates the NaN records', () => {
    const { indexed } = tables();
    indexed.writeMany(Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, age: NaN })));
    const report = indexed.explain({ age: { $lt: 0 } });
    expect(report.plan.path.kind).toBe('range');
    expect(report.plan.estimatedRows).toBe(1);
    expect(report.examinedRows).toBe(1);
    expect(report.returnedRows).toBe(1);
  });

  it('in every query form and in $not', () => {
    const { plain, indexed } = tables();
    for (const table of [plain, indexed]) {
      expect(keysOf(table.select(match`age < ${0}`))).toEqual(['minus5']);
      expect(keysOf(table.select([['age', '<=', 0]]))).toEqual(['minus5']);
      // not (age >= 0) holds for every record outside the range, NaN among them
      expect(keysOf(table.select({ age: { $not: { $gte: 0 } } }))).toEqual([
        'minus5',
        'nan',
        'none',
        'text',
      ]);
    }
  });
});

describe('a NaN bound', () => {
  const queries: [string, unknown][] = [
    ['$gt', { age: { $gt: NaN } }],
    ['$gte', { age: { $gte: NaN } }],
    ['$lt', { age: { $lt: NaN } }],
    ['$lte', { age: { $lte: NaN } }],
    ['a bound inside $or', { $or: [{ id: 'ten' }, { age: { $lt: NaN } }] }],
    ['a bound inside $not', { age: { $not: { $gt: NaN } } }],
    ['a match template', match`age > ${NaN}`],
    ['a condition tuple', [['age', '<=', NaN]]],
  ];

  it.each(queries)('is refused with QueryError, as an invalid Date is: %s', (_label, query) => {
    const { plain, indexed } = tables();
    for (const table of [plain, indexed]) {
      const error = thrown(QueryError, () => table.select(query));
      expect(error.message).toMatch(/'age': a range comparison takes .*, got number NaN$/);
      thrown(QueryError, () => table.count(query));
    }
  });
});

describe('NaN equality', () => {
  it('still finds NaN, by scan and by index ($eq, $in, $ne)', () => {
    const { plain, indexed } = tables();
    for (const table of [plain, indexed]) {
      expect(keysOf(table.select({ age: NaN }))).toEqual(['nan']);
      expect(keysOf(table.select({ age: { $in: [NaN, 10] } }))).toEqual(['nan', 'ten']);
      expect(keysOf(table.select({ age: { $ne: NaN } }))).not.toContain('nan');
    }
  });
});

describe('aggregates', () => {
  it('skip NaN in min and max, as sum and avg do', () => {
    const table = new MemoryTable(getTableSchema(Plain));
    table.writeMany([
      { id: 'a', age: 10 },
      { id: 'b', age: NaN },
      { id: 'c', age: -5 },
      { id: 'd', age: NaN },
    ]);
    expect(table.aggregate({}, { min: 'age', max: 'age', sum: 'age', avg: 'age' })).toEqual([
      { min: { age: -5 }, max: { age: 10 }, sum: { age: 5 }, avg: { age: 2.5 } },
    ]);
    // NaN first in the table too: the first value seen must not stick as the minimum
    table.write({ id: 'a', age: NaN });
    table.write({ id: 'a2', age: 10 });
    const [result] = table.aggregate({}, { min: 'age', max: 'age' });
    expect(result).toEqual({ min: { age: -5 }, max: { age: 10 } });
  });

  it('report no minimum when every value is NaN', () => {
    const table = new MemoryTable(getTableSchema(Plain));
    table.writeMany([{ id: 'a', age: NaN }]);
    const [result] = table.aggregate({}, { min: 'age', max: 'age' });
    expect(result.min?.age).toBeUndefined();
    expect(result.max?.age).toBeUndefined();
  });
});
