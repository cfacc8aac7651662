/**
 * The hash a bag's writes look for equal records by: values `valuesEqual` holds equal must
 * hash equal, whatever their field order, -0 or 0, NaN, Dates by time, nested arrays.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { valueHash, valuesEqual } from '../../lib/engine/stored-values.js';

/** Plain data as records hold it, with the values equality treats specially. */
const data = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(0, -0, NaN, 1, '1', '', true, false, null),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'post'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** The same value built again: new objects, fields in reverse order, Dates copied. */
function rebuilt(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(rebuilt);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse())
    out[key] = rebuilt((value as Record<string, unknown>)[key]);
  return out;
}

describe('valueHash', () => {
  it('hashes equal values equal (a copy, fields reordered)', () => {
    fc.assert(
      fc.property(data, (value) => {
        const copy = rebuilt(value);
        expect(valuesEqual(value, copy)).toBe(true);
        expect(valueHash(copy)).toBe(valueHash(value));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes any two values valuesEqual holds equal, equal', () => {
    fc.assert(
      fc.property(data, data, (a, b) => {
        if (valuesEqual(a, b)) expect(valueHash(a)).toBe(valueHash(b));
      }),
      { numRuns: 500 },
    );
    expect(valueHash(-0)).toBe(valueHash(0));
    expect(valueHash(NaN)).toBe(valueHash(Number.NaN));
    expect(valueHash({ a: 1, b: [new Date(5)] })).toBe(valueHash({ b: [new Date(5)], a: 1 }));
  });

  it('tells ordinary different records apart', () => {
    const hashes = new Set<number>();
    for (let i = 0; i < 10_000; i++) hashes.add(valueHash({ post: 'big', tag: `t${i}` }));
    expect(hashes.size).toBeGreaterThan(9_990);
    expect(valueHash({ a: 1, b: 2 })).not.toBe(valueHash({ a: 2, b: 1 }));
    expect(valueHash([1, 2])).not.toBe(valueHash([2, 1]));
  });
});
