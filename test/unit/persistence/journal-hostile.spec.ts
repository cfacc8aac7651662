import { describe, expect, it } from '@jest/globals';
import { ShardedKeyMap } from '../../../lib/engine/sharded-key-map.js';

/**
 * Hostile inputs to the parts persistence and bulk writes landed with (issue 13).
 */
describe('bulk writes: the staged keys of a batch (ShardedKeyMap)', () => {
  /** The largest share of the keys one part holds. */
  function largestShare(keys: readonly (string | number)[]): number {
    const map = new ShardedKeyMap<number>();
    keys.forEach((key, i) => map.set(key, i));
    expect(map.size).toBe(new Set(keys).size);
    return Math.max(...map.shardSizes) / map.size;
  }

  // one part holding most keys is one Map: it rehashes them all in one step, the pause the
  // parts are there to cut
  for (const [name, make] of [
    ['a common suffix', (i: number) => `${i.toString(36)}-session`],
    [
      'a common suffix and length',
      (i: number) => `user/${String(i).padStart(8, '0')}/profile.json`,
    ],
    ['a common prefix', (i: number) => `tenant-acme:${i}`],
    ['long keys differing in the middle', (i: number) => `${'p'.repeat(40)}${i}${'s'.repeat(40)}`],
  ] as const) {
    it(`spreads keys with ${name} over its parts`, () => {
      const keys = Array.from({ length: 50_000 }, (_, i) => make(i));
      expect(largestShare(keys)).toBeLessThan(1 / 20);
    });
  }

  it('holds keys as a Map does: 1 and "1", 0 and -0, NaN, integers equal in their low 32 bits', () => {
    const keys = [1, '1', 0, -0, '0', '-0', NaN, 'NaN', 2 ** 32 + 1, 1.5, 2 ** 53, Infinity, ''];
    const map = new ShardedKeyMap<number>();
    const reference = new Map<string | number, number>();
    keys.forEach((key, i) => {
      expect(map.get(key)).toBe(reference.get(key));
      map.set(key, i);
      reference.set(key, i);
    });
    for (const key of keys)
      expect([map.has(key), map.get(key)]).toEqual([true, reference.get(key)]);
    expect(map.size).toBe(reference.size);
  });
});
