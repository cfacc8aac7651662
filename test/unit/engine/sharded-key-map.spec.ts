import { describe, expect, it } from '@jest/globals';
import { ShardedKeyMap } from '../../../lib/engine/sharded-key-map.js';

/** The most parts of `map` that reach a power of two (rehash) within `window` writes of `keys`. */
function mostRehashesInWindow(keys: readonly (string | number)[], window: number): number {
  const map = new ShardedKeyMap<number>();
  const crossings: number[] = []; // write number of every part's rehash past 1,024 keys
  keys.forEach((key, i) => {
    const before = map.shardSizes;
    map.set(key, i);
    map.shardSizes.forEach((size, s) => {
      if (size !== before[s] && size >= 1024 && (size & (size - 1)) === 0) crossings.push(i);
    });
  });
  let most = 0;
  for (let a = 0, b = 0; b < crossings.length; b++) {
    while (crossings[b] - crossings[a] >= window) a++;
    most = Math.max(most, b - a + 1);
  }
  return most;
}

describe('ShardedKeyMap', () => {
  it('holds keys as a Map does: strings, numbers, one key given twice', () => {
    const map = new ShardedKeyMap<string>();
    const keys: (string | number)[] = [
      '',
      'a',
      'r1',
      'r10',
      '💡',
      0,
      1,
      -1,
      2.5,
      2 ** 40,
      'é'.repeat(50),
    ];
    keys.forEach((key) => map.set(key, `v${String(key)}`));
    map.set('a', 'again');
    expect(map.size).toBe(keys.length);
    expect(map.get('a')).toBe('again');
    expect(map.get(2.5)).toBe('v2.5');
    expect(map.has(-1)).toBe(true);
    expect(map.has('-1')).toBe(false);
    expect(map.has(3)).toBe(false);
    expect(map.get('r2')).toBeUndefined();
    expect(map.shardSizes.reduce((sum, n) => sum + n, 0)).toBe(keys.length);
  });

  // a Map doubles its table in one step, rehashing every key: parts filled in lockstep would
  // all do it within the same few writes, as one big Map does
  for (const [name, keys] of [
    ['sequential strings', Array.from({ length: 200_000 }, (_, i) => `r${i}`)],
    ['sequential numbers', Array.from({ length: 200_000 }, (_, i) => i + 1)],
  ] as const) {
    it(`its parts rehash at different moments (${name})`, () => {
      expect(mostRehashesInWindow(keys, 256)).toBeLessThanOrEqual(4);
      const sizes = new ShardedKeyMap<number>();
      keys.forEach((key, i) => sizes.set(key, i));
      expect(Math.max(...sizes.shardSizes)).toBeLessThan(keys.length / 20);
    });
  }
});
