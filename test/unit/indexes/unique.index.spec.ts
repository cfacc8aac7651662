import { describe, expect, it } from '@jest/globals';
import { UniqueIndex } from '../../../lib/indexes/unique.index.js';

interface Row {
  id: string;
  email?: unknown;
}

const row = (id: string, email?: unknown): Row => (email === undefined ? { id } : { id, email });
const ids = (rows: Iterable<Row>) => Array.from(rows, (r) => r.id).sort();

describe('UniqueIndex', () => {
  it('maps each value to its one owner', () => {
    const rows = new Map<string, Row>();
    const index = new UniqueIndex<Row>('email', rows);
    const a = row('a', 'a@x');
    rows.set('a', a);
    index.add('a', a);
    expect(index.unique).toBe(true);
    expect(index.field).toBe('email');
    expect(index.owner('a@x')).toBe('a');
    expect([...index.lookup('a@x')]).toEqual([a]);
    expect(index.count('a@x')).toBe(1);
    expect(index.count('b@x')).toBe(0);
    expect([...index.lookup('b@x')]).toEqual([]);
    expect(index.owner('b@x')).toBeUndefined();
  });

  it('reports a conflict only for another key holding the value', () => {
    const index = new UniqueIndex<Row>('email', new Map());
    index.add('a', row('a', 'a@x'));
    expect(index.conflict(row('b', 'a@x'), 'b')).toBe('a');
    expect(index.conflict(row('a', 'a@x'), 'a')).toBeUndefined();
    expect(index.conflict(row('b', 'b@x'), 'b')).toBeUndefined();
  });

  it('does not constrain null or missing values, and finds them apart', () => {
    const index = new UniqueIndex<Row>('email', new Map());
    const records = [row('a', null), row('b', null), row('c'), row('d')];
    for (const r of records) {
      expect(index.conflict(r, r.id)).toBeUndefined();
      index.add(r.id, r);
    }
    expect(ids(index.lookup(null))).toEqual(['a', 'b']);
    expect(ids(index.lookup(undefined))).toEqual(['c', 'd']);
    expect(index.count(null)).toBe(2);
    expect(index.count(undefined)).toBe(2);
    expect(index.owner(null)).toBeUndefined();
    index.remove('a', records[0]);
    index.remove('c', records[2]);
    expect(ids(index.lookup(null))).toEqual(['b']);
    expect(ids(index.lookup(undefined))).toEqual(['d']);
  });

  it('removes a value only for its owner', () => {
    const index = new UniqueIndex<Row>('email', new Map());
    index.add('a', row('a', 'x'));
    index.remove('b', row('b', 'x'));
    expect(index.owner('x')).toBe('a');
    index.remove('a', row('a', 'x'));
    expect(index.owner('x')).toBeUndefined();
    expect(index.count('x')).toBe(0);
  });

  it('compares values as queries do', () => {
    const index = new UniqueIndex<Row>('email', new Map());
    index.add('d', row('d', new Date(5)));
    index.add('o', row('o', { a: 1, b: [1, 2] }));
    index.add('n', row('n', NaN));
    index.add('z', row('z', 0));
    expect(index.owner(new Date(5))).toBe('d');
    expect(index.owner(5)).toBeUndefined();
    expect(index.owner({ b: [1, 2], a: 1 })).toBe('o');
    expect(index.owner({ a: 1, b: [2, 1] })).toBeUndefined();
    expect(index.owner(NaN)).toBe('n');
    expect(index.owner(-0)).toBe('z');
    expect(index.owner('0')).toBeUndefined();
    expect(index.conflict(row('q', { b: [1, 2], a: 1 }), 'q')).toBe('o');
  });

  it('clears everything', () => {
    const index = new UniqueIndex<Row>('email', new Map());
    index.add('a', row('a', 'x'));
    index.add('b', row('b', null));
    index.clear();
    expect(index.count('x')).toBe(0);
    expect(index.count(null)).toBe(0);
    expect([...index.lookup(null)]).toEqual([]);
  });
});
