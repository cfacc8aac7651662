import { describe, expect, it } from '@jest/globals';
import {
  copyFields,
  FORBIDDEN_KEYS,
  MAX_VALUE_DEPTH,
  ownValue,
  RecordShapeError,
  StoredDate,
  valuesEqual,
} from '../../../lib/engine/stored-values.js';
import { thrown } from '../test-helpers.js';

class Money {
  constructor(
    readonly amount = 0,
    readonly currency = 'EUR',
  ) {}

  toString(): string {
    return `${this.amount} ${this.currency}`;
  }
}

describe('ownValue', () => {
  it('passes primitives through unchanged', () => {
    for (const v of [1, -0, NaN, 'x', '', true, null, undefined, 10n]) {
      expect(Object.is(ownValue(v, 'f'), v)).toBe(true);
    }
  });

  it('copies and deeply freezes objects and arrays', () => {
    const input = { a: [1, { b: 2 }], c: { d: 'e' } };
    const owned = ownValue(input, 'f') as typeof input;
    expect(owned).toEqual(input);
    expect(owned).not.toBe(input);
    expect(owned.a).not.toBe(input.a);
    expect(owned.a[1]).not.toBe(input.a[1]);
    expect(Object.isFrozen(owned)).toBe(true);
    expect(Object.isFrozen(owned.a)).toBe(true);
    expect(Object.isFrozen(owned.a[1])).toBe(true);
    expect(Object.isFrozen(owned.c)).toBe(true);
  });

  it('returns a value it already owns as it is', () => {
    const owned = ownValue({ a: { b: 1 } }, 'f') as { a: object };
    expect(ownValue(owned, 'g')).toBe(owned);
    const outer = ownValue({ inner: owned.a }, 'h') as { inner: object };
    expect(outer.inner).toBe(owned.a);
  });

  it('takes no copy of an owned value for its own, and marks owned values invisibly', () => {
    const owned = ownValue({ a: 1, list: [1, 2] }, 'f') as { a: number; list: number[] };
    expect(Object.keys(owned)).toEqual(['a', 'list']);
    expect(Object.getOwnPropertySymbols(owned)).toEqual([]);
    expect(Reflect.ownKeys(owned.list)).toEqual(['0', '1', 'length']);
    expect(JSON.stringify(owned)).toBe('{"a":1,"list":[1,2]}');
    for (const copy of [
      { ...owned },
      Object.assign({}, owned),
      structuredClone(owned),
      Object.create(Object.prototype, Object.getOwnPropertyDescriptors(owned)) as object,
    ]) {
      const stored = ownValue(copy, 'g');
      expect(stored).not.toBe(copy);
      expect(stored).toEqual(owned);
    }
    const list = [...owned.list];
    expect(ownValue(list, 'h')).not.toBe(list);
  });

  it('shares values it built itself', () => {
    const owned = ownValue({ id: 1, tags: ['a'] }, 'f');
    expect(ownValue(owned, 'g')).toBe(owned);
    expect(ownValue(Object.freeze({ id: 1 }), 'h')).not.toBe(owned);
  });

  it('keeps the prototype of class instances, and of null-prototype objects', () => {
    const money = ownValue(new Money(5, 'USD'), 'f') as Money;
    expect(money).toBeInstanceOf(Money);
    expect(money.toString()).toBe('5 USD');
    const bare = Object.create(null) as Record<string, unknown>;
    bare.x = 1;
    const copy = ownValue(bare, 'f') as object;
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(copy).toEqual(bare);
  });

  it('refuses holes of sparse arrays, at the first hole, whatever the length', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => ownValue([1, , 3], 'f')).toThrow(
      new RecordShapeError(
        'f',
        'has a hole at index 1 (a sparse array): store null or a shorter array',
      ),
    );
    const huge: unknown[] = [1, 2];
    huge.length = 2 ** 24;
    expect(() => ownValue(huge, 'f')).toThrow('f has a hole at index 2 (a sparse array)');
    // undefined items that are there are not holes
    expect(ownValue([1, undefined], 'f')).toEqual([1, undefined]);
  });

  it('copies dates into StoredDate', () => {
    const date = new Date(42);
    const owned = ownValue(date, 'f') as Date;
    expect(owned).toBeInstanceOf(StoredDate);
    expect(owned).toBeInstanceOf(Date);
    expect(owned.getTime()).toBe(42);
    expect(Object.isFrozen(owned)).toBe(true);
  });

  it('refuses what freezing cannot protect, with the path in the error', () => {
    const refused: [unknown, string][] = [
      [() => 1, 'f'],
      [Symbol('s'), 'f'],
      [new Map(), 'f'],
      [new Set(), 'f'],
      [new WeakSet(), 'f'],
      [/x/g, 'f'],
      [new Float64Array(1), 'f'],
      [Promise.resolve(), 'f'],
      [{ a: [0, new Map()] }, 'f.a[1]'],
      [{ a: { b: () => 1 } }, 'f.a.b'],
    ];
    for (const [value, path] of refused) {
      const error = thrown(RecordShapeError, () => ownValue(value, 'f'));
      expect(error.path).toBe(path);
    }
  });

  it(`refuses values nested ${MAX_VALUE_DEPTH} levels deep`, () => {
    let value: unknown = 1;
    for (let i = 0; i < MAX_VALUE_DEPTH + 1; i++) value = [value];
    thrown(RecordShapeError, () => ownValue(value, 'f'));
  });
});

describe('copyFields', () => {
  it('copies input fields over what the target holds, sharing owned values and copying others', () => {
    const shared = ownValue({ theme: 'dark' }, 'profile');
    const out = Object.assign(Object.create(Money.prototype) as Record<string, unknown>, {
      n: 1,
      keep: true,
    });
    const input = { n: 2, list: [1], profile: shared, skipped: undefined };
    copyFields(out, input, '', 1);
    expect(Object.getPrototypeOf(out)).toBe(Money.prototype);
    expect(out.profile).toBe(shared);
    expect(out.n).toBe(2);
    expect(out.keep).toBe(true);
    expect('skipped' in out).toBe(false);
    expect(out.list).not.toBe(input.list);
    expect(Object.isFrozen(out)).toBe(false);
  });

  it.each([...FORBIDDEN_KEYS])('refuses the key %s', (key) => {
    const input = JSON.parse(`{"ok":1,"${key}":{"polluted":true}}`) as object;
    const error = thrown(RecordShapeError, () => copyFields({}, input, 'p', 1));
    expect(error.path).toBe(`p.${key}`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('StoredDate', () => {
  const setters = Object.getOwnPropertyNames(Date.prototype).filter((n) => n.startsWith('set'));

  it.each(setters)('throws on %s()', (setter) => {
    const date = new StoredDate(1000);
    const call = (date as unknown as Record<string, (...args: number[]) => unknown>)[setter];
    expect(() => call.call(date, 0)).toThrow(TypeError);
    expect(date.getTime()).toBe(1000);
  });

  it('leaves plain dates writable', () => {
    const date = new Date(1000);
    date.setTime(5);
    expect(date.getTime()).toBe(5);
  });
});

describe('valuesEqual', () => {
  const equal: [string, unknown, unknown][] = [
    ['same string', 'a', 'a'],
    ['NaN and NaN', NaN, NaN],
    ['0 and -0', 0, -0],
    ['dates of the same time', new Date(5), new StoredDate(5)],
    ['arrays with equal items', [1, [2, { a: 3 }]], [1, [2, { a: 3 }]]],
    ['objects whatever the key order', { a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }],
    ['nested NaN', { x: [NaN] }, { x: [NaN] }],
    ['nested dates', { at: new Date(7) }, { at: new Date(7) }],
  ];
  const unequal: [string, unknown, unknown][] = [
    ['1 and "1"', 1, '1'],
    ['0 and false', 0, false],
    ['null and undefined', null, undefined],
    ['a date and its time', new Date(5), 5],
    ['a date and its ISO text', new Date(5), new Date(5).toISOString()],
    ['different dates', new Date(5), new Date(6)],
    ['arrays in another order', [1, 2], [2, 1]],
    ['an array and an object with index keys', [1, 2], { 0: 1, 1: 2 }],
    ['an empty array and an empty object', [], {}],
    ['an object with an extra key', { a: 1 }, { a: 1, b: 2 }],
    ['a missing key and an undefined one', { a: undefined }, { b: undefined }],
    ['a date and an empty object', new Date(0), {}],
    ['null and an empty object', null, {}],
  ];

  it.each(equal)('holds %s equal', (_label, a, b) => {
    expect(valuesEqual(a, b)).toBe(true);
    expect(valuesEqual(b, a)).toBe(true);
  });

  it.each(unequal)('holds %s unequal', (_label, a, b) => {
    expect(valuesEqual(a, b)).toBe(false);
    expect(valuesEqual(b, a)).toBe(false);
  });
});
