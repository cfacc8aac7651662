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

  it('hands out the current record of the rows after a replace with the same value', () => {
    const rows = new Map<string, Row>();
    const index = new HashIndex<Row>('team');
    const put = (r: Row, previous?: Row) => {
      if (previous && previous.team === r.team) index.replace(r.id, r);
      else {
        if (previous) index.remove(r.id, previous);
        index.add(r.id, r);
      }
      rows.set(r.id, r);
    };
    const a1 = { id: 'a', team: 'red' };
    const b1 = { id: 'b', team: 'red' };
    put(a1);
    put(b1);
    const a2 = { id: 'a', team: 'red' };
    put(a2, a1);
    expect([...index.lookup('red')]).toEqual([a2, b1]);
    expect([...index.lookup('red')][0]).toBe(a2);
    expect(index.count('red')).toBe(2);

    const b2 = { id: 'b', team: 'blue' };
    index.replace('b', b1); // replaced in place, then the record leaves the value
    put(b2, b1);
    expect([...index.lookup('red')]).toEqual([a2]);
    expect([...index.lookup('blue')][0]).toBe(b2);

    let a = a2;
    for (let i = 0; i < 5; i++) put((a = { id: 'a', team: 'red' }), rows.get('a'));
    expect([...index.lookup('red')][0]).toBe(a);
  });
});
