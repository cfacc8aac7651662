import { describe, expect, it } from '@jest/globals';
import { decodeValue, encodeValue } from '../../../lib/persistence/value-codec.js';

/** Encodes, writes as JSON and reads back, as the log and snapshots do. */
const roundTrip = (value: unknown): unknown =>
  decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));

describe('value codec', () => {
  it('gives back every kind of value it encodes, nested', () => {
    const value = {
      text: 'a',
      n: 1.5,
      flag: true,
      none: null,
      missing: undefined,
      big: 12345678901234567890n,
      odd: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0],
      when: new Date(86_400_000),
      list: [1, ['x', { deep: [new Date(0)] }], []],
      nested: { a: { b: 'c' }, toString: 'own', constructor: 1 },
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect(Object.is(back.odd[3], -0)).toBe(true);
    expect('missing' in back).toBe(true);
    expect(Object.getPrototypeOf(back.nested)).toBe(Object.prototype);
  });

  it("keeps a field named '__proto__' as an own field, never as the prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as object;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('throws a TypeError on anything it could not have made', () => {
    for (const bad of [['Z', 1], [1, 2], ['O', null], ['O', [1]], {}, undefined])
      expect(() => decodeValue(bad)).toThrow(TypeError);
  });
});
