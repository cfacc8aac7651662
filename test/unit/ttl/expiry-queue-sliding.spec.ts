import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RecordKey } from '../../../lib/interfaces/table-options.interface.js';
import { ExpiryQueue } from '../../../lib/ttl/expiry-queue.js';
import { SLIDING_SLOT, SlidingDeadline } from '../../../lib/ttl/sliding-deadline.js';

function take(queue: ExpiryQueue, now: number): RecordKey[] {
  const taken: RecordKey[] = [];
  queue.expire(now, (keys) => taken.push(...keys));
  return taken;
}

/** An expiry queue whose sliding keys keep their deadline in slotted records, as a table's do. */
function slidingQueue() {
  const records = new Map<RecordKey, object>();
  const queue = new ExpiryQueue((key) => SlidingDeadline.of(records.get(key)));
  return {
    queue,
    /** Sets a key's deadline; with a period, in a fresh record whose deadline slides. */
    set(key: RecordKey, deadline: number, now: number, period = 0) {
      const record = {};
      SLIDING_SLOT.first(record);
      SLIDING_SLOT.last(record);
      Object.freeze(record);
      if (period > 0) SlidingDeadline.start(record, deadline, period);
      records.set(key, record);
      queue.set(key, deadline, now, period > 0);
    },
    renew: (key: RecordKey, now: number) => SlidingDeadline.renew(records.get(key)!, now),
  };
}

describe('ExpiryQueue with sliding deadlines', () => {
  it('a renewal moves the deadline without expiring the key at the old one', () => {
    const { queue, set, renew } = slidingQueue();
    set('s', 100, 0, 100);
    renew('s', 90);
    expect(queue.deadline('s')).toBe(190);
    expect(take(queue, 150)).toEqual([]); // queued again at 190
    expect(queue.deadline('s')).toBe(190);
    expect(take(queue, 190)).toEqual(['s']);
    expect(queue.slidingCount).toBe(0);
  });

  it('reports a renewal to persist only once it moved more than half a period past the last', () => {
    const { set, renew } = slidingQueue();
    set('s', 100, 0, 100);
    expect(renew('s', 30)).toBeUndefined(); // 130: 30 past the logged 100
    expect(renew('s', 50)).toBeUndefined(); // 150: 50, not more than half
    expect(renew('s', 51)).toBe(151);
    expect(renew('s', 100)).toBeUndefined(); // 200: 49 past 151
  });

  it('a fixed deadline set later stops the sliding; a key without one is not renewed', () => {
    const { queue, set, renew } = slidingQueue();
    set('s', 100, 0, 100);
    set('s', 100, 0);
    renew('s', 90);
    expect(queue.deadline('s')).toBe(100);
    set('f', 100, 0);
    expect(renew('f', 50)).toBeUndefined();
    expect(take(queue, 100).sort()).toEqual(['f', 's']);
  });

  it('the slot is no property of the record, and survives its freezing', () => {
    const record = { a: 1 };
    SLIDING_SLOT.first(record);
    SLIDING_SLOT.last(record);
    Object.freeze(record);
    SlidingDeadline.start(record, 100, 100);
    expect(SlidingDeadline.renew(record, 60)).toBe(160);
    expect(SlidingDeadline.of(record)).toBe(160);
    expect(Object.getOwnPropertyNames(record)).toEqual(['a']);
    expect(Object.getOwnPropertySymbols(record)).toEqual([]);
    expect(JSON.stringify(record)).toBe('{"a":1}');
    expect(SlidingDeadline.of({ ...record })).toBeUndefined(); // a copy carries no slot
  });

  it('expires every key at its latest deadline, whatever the renewals (model)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 50 })), {
          maxLength: 200,
        }),
        (steps) => {
          const { queue, set, renew } = slidingQueue();
          const model = new Map<RecordKey, number>();
          const period = 100;
          let now = 0;
          for (let k = 0; k < 10; k++) {
            set(k, now + period, now, period);
            model.set(k, now + period);
          }
          for (const [key, dt] of steps) {
            now += dt;
            const expired = take(queue, now);
            const due = [...model].filter(([, d]) => d <= now).map(([k]) => k);
            expect(expired.sort()).toEqual(due.sort());
            for (const k of due) model.delete(k);
            if (model.has(key)) {
              renew(key, now);
              model.set(key, now + period);
            }
            for (const [k, d] of model) expect(queue.deadline(k)).toBe(d);
          }
        },
      ),
    );
  });
});
