import { describe, expect, it } from '@jest/globals';
import { HashIndex } from '../../../lib/indexes/hash.index.js';

interface Row {
  id: string;
  team?: unknown;
}

const ids = (rows: Iterable<Row>) => Array.from(rows, (r) => r.id).sort();

describe('HashIndex', () => {
  it('keeps every record holding a value', () => {
    const index = new HashIndex<Row>('team');
    const rows: Row[] = [
      { id: 'a', team: 'red' },
      { id: 'b', team: 'red' },
      { id: 'c', team: 'blue' },
      { id: 'd' },
      { id: 'e', team: null },
    ];
    for (const r of rows) index.add(r.id, r);
    expect(index.unique).toBe(false);
    expect(ids(index.lookup('red'))).toEqual(['a', 'b']);
    expect(index.count('red')).toBe(2);
    expect(ids(index.lookup('blue'))).toEqual(['c']);
    expect(ids(index.lookup(undefined))).toEqual(['d']);
    expect(ids(index.lookup(null))).toEqual(['e']);
    expect(ids(index.lookup('green'))).toEqual([]);
    expect(index.conflict()).toBeUndefined();
  });

  it('removes one record from a value, and the value with its last record', () => {
    const index = new HashIndex<Row>('team');
    const a = { id: 'a', team: 'red' };
    const b = { id: 'b', team: 'red' };
    index.add('a', a);
    index.add('b', b);
    index.remove('a', a);
    expect(ids(index.lookup('red'))).toEqual(['b']);
    index.remove('b', b);
    expect(index.count('red')).toBe(0);
    index.remove('b', b);
    expect(index.count('red')).toBe(0);
  });

  it('groups values by query equality', () => {
    const index = new HashIndex<Row>('team');
    index.add('a', { id: 'a', team: new Date(1) });
    index.add('b', { id: 'b', team: new Date(1) });
    index.add('c', { id: 'c', team: 1 });
    index.add('d', { id: 'd', team: { x: 1, y: 2 } });
    index.add('e', { id: 'e', team: { y: 2, x: 1 } });
    expect(ids(index.lookup(new Date(1)))).toEqual(['a', 'b']);
    expect(ids(index.lookup(1))).toEqual(['c']);
    expect(ids(index.lookup({ x: 1, y: 2 }))).toEqual(['d', 'e']);
    index.clear();
    expect(index.count(1)).toBe(0);
  });

  it('hands out the current record of the rows after an update with the same value', () => {
    const rows = new Map<string, Row>();
    const index = new HashIndex<Row>('team');
    const put = (r: Row) => {
      const previous = rows.get(r.id);
      if (previous) index.update(r.id, r, previous);
      else index.add(r.id, r);
      rows.set(r.id, r);
    };
    const a1 = { id: 'a', team: 'red' };
    const b1 = { id: 'b', team: 'red' };
    put(a1);
    put(b1);
    const a2 = { id: 'a', team: 'red' };
    put(a2);
    expect([...index.lookup('red')]).toEqual([a2, b1]);
    expect([...index.lookup('red')][0]).toBe(a2); // kept its place in the bucket
    expect(index.count('red')).toBe(2);

    const b2 = { id: 'b', team: 'blue' };
    put(b2);
    expect([...index.lookup('red')]).toEqual([a2]);
    expect([...index.lookup('blue')][0]).toBe(b2);

    let a = a2;
    for (let i = 0; i < 5; i++) put((a = { id: 'a', team: 'red' }));
    expect([...index.lookup('red')][0]).toBe(a);
  });

  it('moves a record between values on an update only where its value changed', () => {
    const index = new HashIndex<Row>('team');
    const a1 = { id: 'a', team: 'red' };
    const b1 = { id: 'b', team: 'red' };
    index.add('a', a1);
    index.add('b', b1);
    const a2 = { id: 'a', team: 'blue' };
    index.update('a', a2, a1);
    expect([...index.lookup('red')]).toEqual([b1]);
    expect([...index.lookup('blue')]).toEqual([a2]);
    const a3 = { id: 'a', team: 'red' };
    index.update('a', a3, a2);
    expect(index.count('blue')).toBe(0);
    expect([...index.lookup('red')]).toEqual([b1, a3]); // filed again: at the end
  });

  it('updates an array-valued record element by element', () => {
    const index = new HashIndex<Row>('team');
    const tags = ['x', 'y'];
    const a1 = { id: 'a', team: tags };
    index.add('a', a1);
    const a2 = { id: 'a', team: tags }; // the same array, shared as an update shares it
    index.update('a', a2, a1);
    expect([...index.lookup('x')]).toEqual([a2]);
    expect([...index.lookup('y')]).toEqual([a2]);
    const a3 = { id: 'a', team: ['y', 'z'] };
    index.update('a', a3, a2);
    expect(index.count('x')).toBe(0);
    expect([...index.lookup('y')]).toEqual([a3]);
    expect([...index.lookup('z')]).toEqual([a3]);
    const a4 = { id: 'a', team: 'y' };
    index.update('a', a4, a3);
    expect([...index.lookup('y')]).toEqual([a4]);
    expect(index.count('z')).toBe(0);
  });

  it('files nothing but array elements when elementsOnly', () => {
    const index = new HashIndex<Row>('team', true);
    const a1 = { id: 'a', team: 'red' };
    index.add('a', a1);
    expect(index.count('red')).toBe(0);
    const a2 = { id: 'a', team: ['red', 'blue'] };
    index.update('a', a2, a1);
    expect([...index.lookup('red')]).toEqual([a2]);
    const a3 = { id: 'a', team: [] };
    index.update('a', a3, a2);
    expect(index.count('red') + index.count('blue') + index.count([])).toBe(0);
    index.remove('a', a3);
  });
});
