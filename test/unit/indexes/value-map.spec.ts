import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { valuesEqual } from '../../../lib/engine/stored-values.js';
import { ValueMap } from '../../../lib/indexes/value-map.js';

/** Whether the map files `a` and `b` under one entry. */
function collide(a: unknown, b: unknown): boolean {
  const map = new ValueMap<string>();
  map.set(a, 'a');
  return map.get(b) === 'a';
}

/** A deep copy with fresh objects, arrays and dates (key order reversed). */
function clone(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(clone);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, clone(v)]));
}

describe('ValueMap', () => {
  it('keys primitives as Map does: NaN equals NaN, -0 equals 0, types apart', () => {
    expect(collide(NaN, NaN)).toBe(true);
    expect(collide(-0, 0)).toBe(true);
    expect(collide(1, '1')).toBe(false);
    expect(collide(true, 'true')).toBe(false);
    expect(collide(null, undefined)).toBe(false);
    expect(collide(null, 'null')).toBe(false);
    expect(collide(1n, 1)).toBe(false);
  });

  it('keys dates by time, apart from numbers and strings', () => {
    expect(collide(new Date(5), new Date(5))).toBe(true);
    expect(collide(new Date(5), new Date(6))).toBe(false);
    expect(collide(new Date(5), 5)).toBe(false);
    expect(collide(5, new Date(5))).toBe(false);
    expect(collide(new Date(5), '5')).toBe(false);
    expect(collide(new Date(5), 'date:5')).toBe(false);
    expect(collide(new Date(0), {})).toBe(false);
    const map = new ValueMap<string>();
    map.set(5, 'number');
    map.set(new Date(5), 'date');
    expect(map.get(5)).toBe('number');
    expect(map.get(new Date(5))).toBe('date');
    expect(map.size).toBe(2);
  });

  it('keys objects by content, whatever the key order', () => {
    expect(collide({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(collide({ a: { c: 1, d: [1, 2] }, b: 2 }, { b: 2, a: { d: [1, 2], c: 1 } })).toBe(true);
    expect(collide({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(collide({ a: 1 }, { a: '1' })).toBe(false);
    expect(collide({ a: undefined }, {})).toBe(false);
    expect(collide({ a: null }, { a: undefined })).toBe(false);
    expect(collide({ at: new Date(5) }, { at: new Date(5) })).toBe(true);
    expect(collide({ at: new Date(5) }, { at: 5 })).toBe(false);
  });

  it('keys arrays by content in order, apart from objects', () => {
    expect(collide([1, [2, 3]], [1, [2, 3]])).toBe(true);
    expect(collide([1, 2], [2, 1])).toBe(false);
    expect(collide([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(collide([], {})).toBe(false);
    expect(collide([[]], [])).toBe(false);
    expect(collide(['a,b'], ['a', 'b'])).toBe(false);
  });

  it('holds -0 and 0 equal, and NaN equal to NaN, inside objects and arrays', () => {
    expect(collide({ n: -0 }, { n: 0 })).toBe(true);
    expect(collide([-0], [0])).toBe(true);
    expect(collide({ n: NaN }, { n: NaN })).toBe(true);
    expect(collide([NaN], ['NaN'])).toBe(false);
  });

  it('never confuses a string with an object, array or date that it looks like', () => {
    const lookalikes: [string, unknown][] = [
      ['{"a":1}', { a: 1 }],
      ['{}', {}],
      ['[1,2]', [1, 2]],
      ['[]', []],
      ['date:5', new Date(5)],
      ['5', new Date(5)],
    ];
    for (const [text, value] of lookalikes) {
      expect(collide(text, value)).toBe(false);
      expect(collide(value, text)).toBe(false);
      expect(collide({ v: text }, { v: value })).toBe(false);
      expect(collide([text], [value])).toBe(false);
    }
    const nested: [unknown, unknown][] = [
      [{ a: '1' }, { a: 1 }],
      [{ a: 'boolean:true' }, { a: true }],
      [{ a: 'object:null' }, { a: null }],
      [{ a: 'undefined:undefined' }, { a: undefined }],
      [{ a: 'date:5' }, { a: new Date(5) }],
      [{ a: 'NaN' }, { a: NaN }],
      [{ 'a":1,"b': 2 }, { a: 1, b: 2 }],
      [
        ['1', 2],
        [1, '2'],
      ],
    ];
    for (const [x, y] of nested) expect(collide(x, y)).toBe(false);
  });

  it('deletes and clears', () => {
    const map = new ValueMap<number>();
    map.set('x', 1);
    map.set(new Date(1), 2);
    map.set({ a: 1 }, 3);
    expect(map.size).toBe(3);
    map.delete({ a: 1 });
    expect(map.get({ a: 1 })).toBeUndefined();
    map.delete(new Date(1));
    expect(map.get(new Date(1))).toBeUndefined();
    expect(map.get('x')).toBe(1);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get('x')).toBeUndefined();
  });

  it('treats a sparse array as the dense array valuesEqual holds it equal to', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [, 1];
    expect(valuesEqual(sparse, [undefined, 1])).toBe(true);
    expect(collide(sparse, [undefined, 1])).toBe(true);
    expect(collide([undefined, 1], sparse)).toBe(true);
  });

  it('files two values under one entry exactly when valuesEqual holds them equal', () => {
    const leaf = fc.oneof(
      fc.constantFrom<unknown>(0, -0, 1, NaN, '', '0', '1', 'a', true, false, null, undefined),
      fc.integer({ min: 0, max: 3 }).map((t) => new Date(t)),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', '0'), tie('value'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(collide(a, b)).toBe(valuesEqual(a, b));
        expect(collide(a, clone(a))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
