import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RecordKey } from '../../../lib/interfaces/table-options.interface.js';
import { ExpiryQueue } from '../../../lib/ttl/expiry-queue.js';

describe('ExpiryQueue', () => {
  it('is empty at first', () => {
    const queue = new ExpiryQueue();
    expect(queue.size).toBe(0);
    expect(queue.next).toBe(Infinity);
    expect(queue.deadline('a')).toBeUndefined();
    expect(queue.takeExpired(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('knows each key’s deadline and the earliest one', () => {
    const queue = new ExpiryQueue();
    queue.set('b', 200);
    queue.set('a', 100);
    queue.set(3, 300);
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
      queue.set(key, deadline);
    }
    expect(queue.takeExpired(99)).toEqual([]);
    expect(queue.takeExpired(300)).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(2);
    expect(queue.deadline('a')).toBeUndefined();
    expect(queue.next).toBe(400);
    expect(queue.takeExpired(300)).toEqual([]);
    expect(queue.takeExpired(10_000)).toEqual(['d', 'e']);
    expect(queue.next).toBe(Infinity);
  });

  it('keeps the string key "1" and the number key 1 apart', () => {
    const queue = new ExpiryQueue();
    queue.set('1', 10);
    queue.set(1, 20);
    expect(queue.takeExpired(10)).toEqual(['1']);
    expect(queue.deadline(1)).toBe(20);
  });

  it('uses the latest deadline of a key set again, earlier or later', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100);
    queue.set('b', 150);
    queue.set('a', 300); // later: the stale entry at 100 must not expire it
    expect(queue.next).toBe(150);
    expect(queue.takeExpired(200)).toEqual(['b']);
    expect(queue.deadline('a')).toBe(300);
    queue.set('a', 50); // earlier
    expect(queue.next).toBe(50);
    expect(queue.takeExpired(60)).toEqual(['a']);
    expect(queue.takeExpired(1_000)).toEqual([]);
    expect(queue.size).toBe(0);
  });

  it('forgets a deleted key, and a key set again after it was deleted', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100);
    queue.set('b', 200);
    queue.delete('a');
    expect(queue.size).toBe(1);
    expect(queue.next).toBe(200);
    expect(queue.takeExpired(150)).toEqual([]);
    queue.set('a', 100); // the same deadline as its stale entry: expires once
    expect(queue.takeExpired(1_000)).toEqual(['a', 'b']);
  });

  it('returns a key once when set to the same deadline twice', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 100);
    queue.set('a', 100);
    expect(queue.takeExpired(100)).toEqual(['a']);
    expect(queue.takeExpired(100)).toEqual([]);
  });

  it('clears everything', () => {
    const queue = new ExpiryQueue();
    queue.set('a', 1);
    queue.set('b', 2);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.next).toBe(Infinity);
    expect(queue.takeExpired(10)).toEqual([]);
  });

  it('stays correct when one key is re-set many times (the heap is compacted)', () => {
    const queue = new ExpiryQueue();
    queue.set('steady', 5_000_000);
    for (let i = 0; i < 10_000; i++) queue.set('busy', 1_000_000 - i);
    expect(queue.size).toBe(2);
    expect(queue.deadline('busy')).toBe(990_001);
    expect(queue.next).toBe(990_001);
    expect(queue.takeExpired(990_000)).toEqual([]);
    expect(queue.takeExpired(990_001)).toEqual(['busy']);
    expect(queue.takeExpired(4_999_999)).toEqual([]);
    expect(queue.takeExpired(5_000_000)).toEqual(['steady']);
  });

  it('takes expired keys in work proportional to them, not to the queue', () => {
    // Not a timing test: the keys not yet due must be neither returned nor disturbed.
    const queue = new ExpiryQueue();
    for (let i = 0; i < 50_000; i++) queue.set(i, 1_000 + i);
    expect(queue.takeExpired(1_002)).toEqual([0, 1, 2]);
    expect(queue.size).toBe(49_997);
    expect(queue.next).toBe(1_003);
  });

  describe('against a naive model (fast-check)', () => {
    type Op =
      | { kind: 'set'; key: RecordKey; deadline: number }
      | { kind: 'delete'; key: RecordKey }
      | { kind: 'take'; now: number }
      | { kind: 'clear' };

    const keyArb: fc.Arbitrary<RecordKey> = fc.oneof(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', '1', '2'),
      fc.integer({ min: 0, max: 6 }),
    );
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('set' as const),
          key: keyArb,
          deadline: fc.integer({ min: 0, max: 200 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('take' as const),
          now: fc.integer({ min: 0, max: 220 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
    );

    /** What takeExpired must return: due keys by deadline; equal deadlines in any order. */
    function modelTake(model: Map<RecordKey, number>, now: number): [RecordKey, number][] {
      const due = [...model].filter(([, deadline]) => deadline <= now);
      for (const [key] of due) model.delete(key);
      return due;
    }

    it('agrees on deadlines, size, next and what expires, through any sequence', () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
          const queue = new ExpiryQueue();
          const model = new Map<RecordKey, number>();
          for (const op of ops) {
            if (op.kind === 'set') {
              queue.set(op.key, op.deadline);
              model.set(op.key, op.deadline);
            } else if (op.kind === 'delete') {
              queue.delete(op.key);
              model.delete(op.key);
            } else if (op.kind === 'clear') {
              queue.clear();
              model.clear();
            } else {
              const taken = queue.takeExpired(op.now);
              const expected = modelTake(model, op.now);
              // the same keys, each once
              expect(new Set(taken)).toEqual(new Set(expected.map(([key]) => key)));
              expect(taken).toHaveLength(expected.length);
              // earliest first
              const wanted = new Map(expected);
              const deadlines = taken.map((key) => wanted.get(key)!);
              expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y));
            }
            expect(queue.size).toBe(model.size);
            expect(queue.next).toBe(model.size ? Math.min(...model.values()) : Infinity);
            for (const key of ['a', 'b', 'c', 'd', 'e', '1', '2', 0, 1, 2, 3, 4, 5, 6]) {
              expect(queue.deadline(key)).toBe(model.get(key));
            }
          }
        }),
        { numRuns: 300 },
      );
    });

    it('stays correct under many re-sets of few keys (heap rebuilds)', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.constantFrom<RecordKey>('a', 'b', 'c', 1, 2),
              fc.integer({ min: 0, max: 1_000 }),
            ),
            { minLength: 100, maxLength: 2_000 },
          ),
          fc.integer({ min: 0, max: 1_000 }),
          (sets, now) => {
            const queue = new ExpiryQueue();
            const model = new Map<RecordKey, number>();
            for (const [key, deadline] of sets) {
              queue.set(key, deadline);
              model.set(key, deadline);
            }
            const expected = [...model]
              .filter(([, deadline]) => deadline <= now)
              .sort((x, y) => x[1] - y[1]);
            const taken = queue.takeExpired(now);
            expect(new Set(taken)).toEqual(new Set(expected.map(([key]) => key)));
            expect(taken.map((key) => model.get(key))).toEqual(expected.map(([, d]) => d));
            const rest = [...model].filter(([, deadline]) => deadline > now);
            expect(queue.size).toBe(rest.length);
            const remaining = queue.takeExpired(Infinity);
            expect(remaining).toHaveLength(rest.length);
            expect(new Set(remaining)).toEqual(new Set(rest.map(([key]) => key)));
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
