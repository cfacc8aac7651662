import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RecordKey } from '../../../lib/interfaces/table-options.interface.js';
import { ExpiryQueue } from '../../../lib/ttl/expiry-queue.js';

function take(queue: ExpiryQueue, now: number): RecordKey[] {
  const taken: RecordKey[] = [];
  queue.expire(now, (keys) => taken.push(...keys));
  return taken;
}

describe('ExpiryQueue with sliding deadlines', () => {
  it('a renewal moves the deadline without expiring the key at the old one', () => {
    const queue = new ExpiryQueue();
    queue.set('s', 100, 0, 100);
    queue.renew('s', 90);
    expect(queue.deadline('s')).toBe(190);
    expect(take(queue, 150)).toEqual([]); // queued again at 190
    expect(queue.deadline('s')).toBe(190);
    expect(take(queue, 190)).toEqual(['s']);
    expect(queue.slidingCount).toBe(0);
  });

  it('reports a renewal to persist only once it moved more than half a period past the last', () => {
    const queue = new ExpiryQueue();
    queue.set('s', 100, 0, 100);
    expect(queue.renew('s', 30)).toBeUndefined(); // 130: 30 past the logged 100
    expect(queue.renew('s', 50)).toBeUndefined(); // 150: 50, not more than half
    expect(queue.renew('s', 51)).toBe(151);
    expect(queue.renew('s', 100)).toBeUndefined(); // 200: 49 past 151
  });

  it('a fixed deadline set later stops the sliding; a key without one is not renewed', () => {
    const queue = new ExpiryQueue();
    queue.set('s', 100, 0, 100);
    queue.set('s', 100, 0);
    queue.renew('s', 90);
    expect(queue.deadline('s')).toBe(100);
    queue.set('f', 100, 0);
    expect(queue.renew('f', 50)).toBeUndefined();
    expect(take(queue, 100).sort()).toEqual(['f', 's']);
  });

  it('expires every key at its latest deadline, whatever the renewals (model)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 50 })), {
          maxLength: 200,
        }),
        (steps) => {
          const queue = new ExpiryQueue();
          const model = new Map<RecordKey, number>();
          const period = 100;
          let now = 0;
          for (let k = 0; k < 10; k++) {
            queue.set(k, now + period, now, period);
            model.set(k, now + period);
          }
          for (const [key, dt] of steps) {
            now += dt;
            const expired = take(queue, now);
            const due = [...model].filter(([, d]) => d <= now).map(([k]) => k);
            expect(expired.sort()).toEqual(due.sort());
            for (const k of due) model.delete(k);
            if (model.has(key)) {
              queue.renew(key, now);
              model.set(key, now + period);
            }
            for (const [k, d] of model) expect(queue.deadline(k)).toBe(d);
          }
        },
      ),
    );
  });
});
