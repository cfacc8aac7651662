import { describe, expect, it } from '@jest/globals';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { parseDuration } from '../../../lib/ttl/duration.js';
import { thrown } from '../test-helpers.js';

describe('parseDuration', () => {
  it('takes a positive number of milliseconds as it is', () => {
    expect(parseDuration(900_000, 'ttl')).toBe(900_000);
    expect(parseDuration(1, 'ttl')).toBe(1);
  });

  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    [' 10s ', 10_000],
  ])('reads %p as %p ms', (text, ms) => {
    expect(parseDuration(text, 'ttl')).toBe(ms);
  });

  it.each([
    ['a unit it does not know', '5 parsecs'],
    ['an empty string', ''],
    ['a number without a unit, as a string', '15'],
    ['a unit without a number', 'm'],
    ['a negative string', '-5s'],
    ['zero as a string', '0s'],
    ['zero', 0],
    ['a negative number', -1],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['more than a Date can hold', 8.64e15 + 1],
    ['an object', {}],
    ['null', null],
    ['a boolean', true],
  ])('refuses %s with a MemoryStoreError naming what was wrong', (_label, value) => {
    const error = thrown(MemoryStoreError, () => parseDuration(value, "The ttl of 'tokens'", 't'));
    expect(error.message).toContain("The ttl of 'tokens'");
    expect(error.message).toMatch(/positive number of milliseconds/);
    expect(error.message).toMatch(/'15m'/);
    expect(error.table).toBe('t');
  });

  it('quotes the string it refused', () => {
    const error = thrown(MemoryStoreError, () => parseDuration('5 parsecs', 'ttl'));
    expect(error.message).toContain('got the string "5 parsecs"');
  });
});
