import { describe, expect, it } from '@jest/globals';
import { decodeValue, encodedJson, encodeValue } from '../../../lib/persistence/value-codec.js';

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

  it('writes as text exactly what encoding then JSON.stringify writes', () => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    class WithToJson {
      a = 1;
      toJSON() {
        return 'replaced';
      }
    }
    const values: unknown[] = [
      'a "quoted" line\n',
      0,
      -0,
      1e21,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      12345678901234567890n,
      true,
      null,
      undefined,
      new Date(86_400_000),
      new Date(Number.NaN),
      sparse,
      { id: 'r1', n: 2, ok: false, none: null },
      { id: 'r1', n: -0, when: new Date(0), list: [1, [2, { x: undefined }]], big: 1n },
      JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'),
      new WithToJson(),
      { 2: 'b', 1: 'a', z: 'c' },
    ];
    for (const value of values) expect(encodedJson(value)).toBe(JSON.stringify(encodeValue(value)));
  });
});
