import { describe, expect, it } from '@jest/globals';
import { CompoundIndex } from '../../../lib/indexes/compound.index.js';

interface Row {
  id: number;
  dept?: unknown;
  age?: unknown;
}

const rows: Row[] = [
  { id: 1, dept: 'a', age: 30 },
  { id: 2, dept: 'a', age: 20 },
  { id: 3, dept: 'b', age: 25 },
  { id: 4, dept: 'a', age: 20 },
  { id: 5, dept: 'a', age: 'x' },
  { id: 6, dept: 'a' },
];

function built(ordered = true, unique = false): CompoundIndex<Row> {
  const index = new CompoundIndex<Row>(['dept', 'age'], unique, ordered);
  for (const row of rows) index.add(row.id, row);
  return index;
}

const ids = (records: Iterable<Row>) => [...records].map((r) => r.id);

describe('CompoundIndex', () => {
  it('is named by its fields and finds a whole tuple', () => {
    const index = built(false);
    expect(index.field).toBe('dept, age');
    expect(ids(index.lookup(['a', 20]))).toEqual([2, 4]);
    expect(index.count(['a', 20])).toBe(2);
    expect(index.count(['b', 20])).toBe(0);
  });

  it('walks a prefix with a range on the next field in order, staying in the bound type', () => {
    const index = built();
    const lower = { value: 20, inclusive: false };
    expect(ids(index.range(['a'], lower, undefined, 'asc'))).toEqual([1]);
    expect(ids(index.range(['a'], { value: 20, inclusive: true }, undefined, 'asc'))).toEqual([
      2, 4, 1,
    ]);
    expect(index.countRange(['a'], { value: 20, inclusive: true }, undefined)).toBe(3);
    expect(ids(index.range(['a'], undefined, { value: 25, inclusive: true }, 'desc'))).toEqual([
      4, 2,
    ]);
  });

  it('walks a whole prefix in order of the next field then key, and resumes after a point', () => {
    const index = built();
    expect(ids(index.range(['a'], undefined, undefined, 'asc'))).toEqual([6, 2, 4, 1, 5]);
    expect(ids(index.range(['a'], undefined, undefined, 'desc'))).toEqual([5, 1, 4, 2, 6]);
    const point = { value: 20, key: 2 };
    expect(ids(index.range(['a'], undefined, undefined, 'asc', point))).toEqual([4, 1, 5]);
    expect(ids(index.range(['a'], undefined, undefined, 'desc', point))).toEqual([6]);
  });

  it('keeps up with removals and tells when a record holds an array', () => {
    const index = built();
    index.remove(2, rows[1]);
    expect(ids(index.lookup(['a', 20]))).toEqual([4]);
    expect(index.usable).toBe(true);
    const tagged = { id: 9, dept: ['a'], age: 1 };
    index.add(9, tagged);
    expect(index.usable).toBe(false);
    index.remove(9, tagged);
    expect(index.usable).toBe(true);
  });

  it('as a unique index, reports the holder of a tuple and leaves incomplete tuples free', () => {
    const index = new CompoundIndex<Row>(['dept', 'age'], true, true);
    index.add(1, rows[0]);
    index.add(6, rows[5]);
    expect(index.conflict({ id: 7, dept: 'a', age: 30 }, 7)).toBe(1);
    expect(index.conflict({ id: 1, dept: 'a', age: 30 }, 1)).toBeUndefined();
    expect(index.conflict({ id: 8, dept: 'a' }, 8)).toBeUndefined();
    expect(index.valueOf({ id: 8, dept: 'a', age: null })).toBeUndefined();
  });

  it('compares dates by time', () => {
    const index = new CompoundIndex<{ id: number; at: Date; n: number }>(['at', 'n'], false, true);
    index.add(1, { id: 1, at: new Date(5), n: 1 });
    expect([...index.lookup([new Date(5), 1])]).toHaveLength(1);
    expect([
      ...index.range([new Date(5)], { value: 0, inclusive: true }, undefined, 'asc'),
    ]).toHaveLength(1);
  });
});
