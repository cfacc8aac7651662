import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RecordKey } from '../../../lib/interfaces/table-options.interface.js';
import { ExpiryQueue } from '../../../lib/ttl/expiry-queue.js';

/** Further ahead than this, a deadline goes into a far bucket (see expiry-queue.ts). */
const FAR = 2 ** 20;

/** Expires what is due at `now`; returns the keys in the order they expired. */
function take(queue: ExpiryQueue, now: number): RecordKey[] {
  const taken: RecordKey[] = [];
  queue.expire(now, (keys) => taken.push(...keys));
  return taken;
}

describe('ExpiryQueue', () => {
  it('is empty at first', () => {
    const queue = new ExpiryQueue();
    expect(queue.size).toBe(0);
    expect(queue.next).toBe(Infinity);
    expect(queue.deadline('a')).toBeUndefined();
    expect(take(queue, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('knows each key’s deadline and the earliest one', () => {
    const queue = new ExpiryQueue();
    queue.set('b', 200, 0);
    queue.set('a', 100, 0);
    queue.set(3, 300, 0);
    expect(queue.size).toBe(3);
    expect(queue.deadline('a')).toBe(100);
    expect(queue.deadline(3)).toBe(300);
    expect(queue.next).toBe(100);
  });

  it('takes only the keys due at or before now, earliest first', () => {
    const queue = new ExpiryQueue();
    for (const [key, deadline] of [
      ['e', 500],
      ['c', 300],
      ['a', 100],
      ['d', 400],
      ['b', 200],
    ] as const) {
      queue.set(key, deadline, 0);
    }
    expect(take(queue, 99)).toEqual([]);
    expect(take(queue, 300)).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(2);
    expect(queue.deadline('a')).toBeUndefined();
    expect(queue.next).toBe(400);
    expect(take(queue, 300)).toEqual([]);
    expect(take(queue, 10_000)).toEqual(['d', 'e']);
    expect(queue.next).toBe(Infinity);
  });

  it('returns how many keys expired', () => {
    const queue = new ExpiryQueue();
    for (let i = 0; i < 5; i++) queue.set(i, 10 * i, 0);
    expect(queue.expire(25, () => {})).toBe(3);
    expect(queue.expire(25, () => {})).toBe(0);
  });

  it('expires keys whose deadline had already passed when it was set', () => {
    const queue = new ExpiryQueue();
    queue.set('late', 50, 1_000);
    queue.set('later', 900, 1_000);
    expect(queue.next).toBeLessThanOrEqual(50);
    expect(take(queue, 1_000)).toEqual(['late', 'later']);
  });

  it('expires every key sharing a deadline, once each', () => {
    const queue = new ExpiryQueue();
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    for (const key of keys) queue.set(key, 5_000, 0);
    queue.set('before', 4_999, 0);
    expect(take(queue, 4_999)).toEqual(['before']);
    const taken = take(queue, 5_000);
    expect(taken).toHaveLength(500);
    expect(new Set(taken)).toEqual(new Set(keys));
    expect(queue.size).toBe(0);
  });

  it('keeps the string key "1" and the number key 1 apart', () => {
    const queue = new ExpiryQueue();
    queue.set('1', 10, 0);
    queue.set(1, 20, 0);
    expect(take(queue, 10)).toEqual(['1']);
    expect(queue.deadline(1)).toBe(20);
  });

  it('uses the latest deadline of a key set again, earlier or later', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100, 0);
    queue.set('b', 150, 0);
    queue.set('a', 300, 0); // later: the stale entry at 100 must not expire it
    expect(queue.next).toBeLessThanOrEqual(150);
    expect(take(queue, 200)).toEqual(['b']);
    expect(queue.deadline('a')).toBe(300);
    expect(queue.next).toBe(300);
    queue.set('a', 50, 200); // earlier, and already passed
    expect(queue.next).toBe(50);
    expect(take(queue, 200)).toEqual(['a']);
    expect(take(queue, 1_000)).toEqual([]);
    expect(queue.size).toBe(0);
  });

  it('moves a key between a far and a near deadline', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 10 * FAR, 0); // far
    queue.set('b', 500, 0);
    queue.set('a', 400, 0); // near now
    expect(take(queue, 450)).toEqual(['a']);
    queue.set('b', 20 * FAR, 450); // far now
    expect(take(queue, 19 * FAR)).toEqual([]);
    expect(queue.deadline('b')).toBe(20 * FAR);
    expect(take(queue, 20 * FAR)).toEqual(['b']);
  });

  it('orders deadlines set far ahead among those set later, nearer', () => {
    const queue = new ExpiryQueue();
    queue.set('far-1', FAR + 300, 0);
    queue.set('far-2', 3 * FAR, 0);
    queue.set('near-1', FAR + 200, FAR); // set when the first far ones have come close
    queue.set('near-2', FAR + 400, FAR);
    expect(take(queue, FAR + 300)).toEqual(['near-1', 'far-1']);
    expect(take(queue, 4 * FAR)).toEqual(['near-2', 'far-2']);
  });

  it('forgets a deleted key, and a key set again after it was deleted', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100, 0);
    queue.set('b', 200, 0);
    queue.delete('a');
    queue.delete('missing');
    expect(queue.size).toBe(1);
    expect(queue.deadline('a')).toBeUndefined();
    expect(take(queue, 150)).toEqual([]);
    queue.set('a', 100, 150); // the same deadline as its stale entry: expires once
    expect(take(queue, 1_000)).toEqual(['a', 'b']);
  });

  it('returns a key once when set to the same deadline twice', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100, 0);
    queue.set('a', 100, 0);
    expect(take(queue, 100)).toEqual(['a']);
    expect(take(queue, 100)).toEqual([]);
  });

  it('clears everything', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 1, 0);
    queue.set('b', 2 * FAR, 0);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.held).toBe(0);
    expect(queue.next).toBe(Infinity);
    expect(take(queue, 10 * FAR)).toEqual([]);
  });

  it('expires many keys earliest first, across buckets and batches', () => {
    const queue = new ExpiryQueue();
    const deadlines = new Map<RecordKey, number>();
    for (let i = 0; i < 5_000; i++) {
      const deadline = (i * 7_919) % 30_000; // scattered over about 30 near buckets
      queue.set(i, deadline, 0);
      deadlines.set(i, deadline);
    }
    const taken = take(queue, 20_000);
    const expected = [...deadlines].filter(([, d]) => d <= 20_000).map(([, d]) => d);
    expect(taken.map((key) => deadlines.get(key))).toEqual(expected.sort((x, y) => x - y));
    expect(queue.size).toBe(5_000 - taken.length);
  });

  it('stays correct when one key is re-set many times, holding few entries', () => {
    const queue = new ExpiryQueue();
    queue.set('steady', 5_000_000, 0);
    for (let i = 0; i < 10_000; i++) queue.set('busy', 1_000_000 - i, 0);
    expect(queue.size).toBe(2);
    expect(queue.held).toBeLessThanOrEqual(2 * 2 + 64);
    expect(queue.deadline('busy')).toBe(990_001);
    expect(queue.next).toBeLessThanOrEqual(990_001);
    expect(take(queue, 990_000)).toEqual([]);
    expect(queue.next).toBe(990_001);
    expect(take(queue, 990_001)).toEqual(['busy']);
    expect(take(queue, 4_999_999)).toEqual([]);
    expect(take(queue, 5_000_000)).toEqual(['steady']);
  });

  it('holds a bounded number of entries under endless rewrites and deletes', () => {
    const queue = new ExpiryQueue();
    let now = 0;
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 100; k++) queue.set(k, now + 1_000 + ((k * round) % 5_000), now);
      for (let k = 0; k < 100; k += 7) queue.delete(k);
      now += 10;
      take(queue, now);
      expect(queue.held).toBeLessThanOrEqual(2 * queue.size + 100 + 64);
    }
    for (let k = 0; k < 100; k++) queue.delete(k);
    expect(queue.held).toBe(0);
  });

  it('drops what it holds once the last key expires', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 10, 0);
    queue.set('a', 20, 0);
    queue.set('b', 3 * FAR, 0);
    queue.set('b', 15, 0);
    expect(take(queue, 20)).toEqual(['b', 'a']);
    expect(queue.held).toBe(0);
  });

  it('takes expired keys in work proportional to them, not to the queue', () => {
    // Not a timing test: the keys not yet due must be neither returned nor disturbed.
    const queue = new ExpiryQueue();
    for (let i = 0; i < 50_000; i++) queue.set(i, 1_000 + i, 0);
    expect(take(queue, 1_002)).toEqual([0, 1, 2]);
    expect(queue.size).toBe(49_997);
    expect(queue.next).toBe(1_003);
  });

  it('expires a passed deadline set while later ones of its bucket wait, earliest first', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100, 0);
    queue.set('b', 900, 0); // the same near bucket: taken at 500, 'b' waits in the heap
    expect(take(queue, 500)).toEqual(['a']);
    queue.set('c', 50, 500); // already passed, in a bucket of its own
    queue.set('d', 600, 500);
    expect(queue.next).toBeLessThanOrEqual(50);
    expect(take(queue, 950)).toEqual(['c', 'd', 'b']);
  });

  it('expires a bucket whose deadlines all passed in deadline order, however they came', () => {
    const queue = new ExpiryQueue();
    [700, 300, 900, 100, 500, 301].forEach((deadline, i) => queue.set(`k${i}`, deadline, 0));
    queue.set('k0', 200, 0); // re-set: its entry at 700 is stale
    queue.delete('k2');
    queue.set('far', FAR + 10, 0);
    expect(take(queue, 1_000)).toEqual(['k3', 'k0', 'k1', 'k5', 'k4']);
    expect(take(queue, FAR + 10)).toEqual(['far']);
    expect(queue.size).toBe(0);
  });

  it('reads a large bucket written in deadline order in place, merged in order with the rest', () => {
    const queue = new ExpiryQueue();
    // 3,000 keys in deadline order (as records written over time with one TTL)…
    for (let i = 0; i < 3_000; i++) queue.set(`o${i}`, 10_000 + Math.floor(i / 3), 0);
    // …some of them re-set or deleted (stale entries in that bucket, read in place), and keys
    // out of order in the bucket before it (pushed into the heap)
    queue.set('o2000', 10_100, 0);
    queue.delete('o2500');
    const extra = [
      ['u1', 10_050],
      ['u2', 10_001],
      ['u3', 10_999],
    ] as const;
    for (const [key, deadline] of extra) queue.set(key, deadline, 0);
    const expected = [...Array(3_000).keys()]
      .filter((i) => i !== 2500)
      .map((i): [RecordKey, number] => [`o${i}`, i === 2000 ? 10_100 : 10_000 + Math.floor(i / 3)])
      .concat(extra.map(([key, deadline]): [RecordKey, number] => [key, deadline]));
    const taken: RecordKey[] = [];
    // in limited steps, as a table removes a mass expiry
    while (queue.expire(20_000, (keys) => taken.push(...keys), 700) > 0);
    expect(taken).toHaveLength(expected.length);
    const deadlineOf = new Map(expected);
    const deadlines = taken.map((key) => deadlineOf.get(key)!);
    expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b));
    expect(new Set(taken).size).toBe(expected.length);
    expect(queue.size).toBe(0);
    expect(queue.next).toBe(Infinity);
  });

  describe('against a naive model (fast-check)', () => {
    type Op =
      | { kind: 'set'; key: RecordKey; ahead: number }
      | { kind: 'delete'; key: RecordKey }
      | { kind: 'advance'; ms: number }
      | { kind: 'clear' };

    const KEYS: RecordKey[] = ['a', 'b', 'c', 'd', 'e', '1', '2', 0, 1, 2, 3, 4, 5, 6];
    const keyArb: fc.Arbitrary<RecordKey> = fc.constantFrom(...KEYS);
    /** Deadlines from a little in the past to several far buckets ahead, equal ones often. */
    const aheadArb = fc.oneof(
      fc.integer({ min: -50, max: 3_000 }),
      fc.constantFrom(0, 100, 1_024, FAR - 1, FAR, FAR + 1),
      fc.integer({ min: 0, max: 4 * FAR }),
    );
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, ahead: aheadArb }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          ms: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 2 * FAR })),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
    );

    it('agrees on deadlines, size, next and what expires, in order, through any sequence', () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
          const queue = new ExpiryQueue();
          const model = new Map<RecordKey, number>();
          let now = 0;
          for (const op of ops) {
            if (op.kind === 'set') {
              queue.set(op.key, now + op.ahead, now);
              model.set(op.key, now + op.ahead);
            } else if (op.kind === 'delete') {
              queue.delete(op.key);
              model.delete(op.key);
            } else if (op.kind === 'clear') {
              queue.clear();
              model.clear();
            } else {
              now += op.ms;
              const due = [...model].filter(([, deadline]) => deadline <= now);
              for (const [key] of due) model.delete(key);
              const taken = take(queue, now);
              // the same keys, each once, earliest deadline first
              expect(new Set(taken)).toEqual(new Set(due.map(([key]) => key)));
              expect(taken).toHaveLength(due.length);
              const wanted = new Map(due);
              const deadlines = taken.map((key) => wanted.get(key)!);
              expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y));
            }
            expect(queue.size).toBe(model.size);
            const earliest = model.size ? Math.min(...model.values()) : Infinity;
            expect(queue.next).toBeLessThanOrEqual(earliest);
            if (earliest === Infinity) expect(queue.next).toBe(Infinity);
            expect(queue.held).toBeLessThanOrEqual(2 * model.size + 64);
            for (const key of KEYS) expect(queue.deadline(key)).toBe(model.get(key));
          }
        }),
        { numRuns: 300 },
      );
    });

    it('stays correct under many re-sets of few keys (rebuilds)', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.constantFrom<RecordKey>('a', 'b', 'c', 1, 2),
              fc.integer({ min: 0, max: 3 * FAR }),
            ),
            { minLength: 100, maxLength: 2_000 },
          ),
          fc.integer({ min: 0, max: 3 * FAR }),
          (sets, now) => {
            const queue = new ExpiryQueue();
            const model = new Map<RecordKey, number>();
            for (const [key, deadline] of sets) {
              queue.set(key, deadline, 0);
              model.set(key, deadline);
            }
            const expected = [...model]
              .filter(([, deadline]) => deadline <= now)
              .sort((x, y) => x[1] - y[1]);
            const taken = take(queue, now);
            expect(new Set(taken)).toEqual(new Set(expected.map(([key]) => key)));
            expect(taken.map((key) => model.get(key))).toEqual(expected.map(([, d]) => d));
            const rest = [...model].filter(([, deadline]) => deadline > now);
            expect(queue.size).toBe(rest.length);
            const remaining = take(queue, Infinity);
            expect(remaining).toHaveLength(rest.length);
            expect(new Set(remaining)).toEqual(new Set(rest.map(([key]) => key)));
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
