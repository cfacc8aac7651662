import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';

@Table({ name: 'activity_items' })
class Item {
  id!: string;
  @Index() group = 'g0';
  n = 0;
}

/** A table on a clock the test moves by hand. */
function table(capacity?: { maxRecords: number; eviction: 'lru' | 'reject' }) {
  const clock = { time: 1_000_000, now: () => clock.time };
  return { table: new MemoryTable(getTableSchema(Item), { clock, capacity }), clock };
}

describe('TableActivity: what the engine counts for metrics', () => {
  it('counts key reads, writes and deletes, whatever the call that made them', () => {
    const { table: items } = table();
    items.write({ id: 'a' });
    items.insert({ id: 'b' });
    items.update('a', { n: 1 });
    items.writeMany([{ id: 'c' }, { id: 'd' }]);
    items.get('a');
    items.get('missing');
    items.delete('a');
    items.deleteMany({ id: 'b' });
    expect(items.deleteAll()).toBe(2);
    expect(items.activity).toMatchObject({ reads: 2, writes: 5, deletes: 4 });
  });

  it('counts expiries and evictions', () => {
    const { table: items, clock } = table({ maxRecords: 2, eviction: 'lru' });
    items.write({ id: 'a' }, 1000);
    items.write({ id: 'b' });
    items.write({ id: 'c' }); // evicts a
    items.write({ id: 'd' }, 10); // evicts b
    clock.time += 20;
    expect(items.expire()).toBe(1);
    expect(items.activity).toMatchObject({ writes: 4, evictions: 2, expiries: 1, deletes: 0 });
  });

  it('counts queries by the access path the planner chose, and times them only with a recorder', () => {
    const { table: items } = table();
    items.writeMany([{ id: 'a', group: 'x' }, { id: 'b' }]);
    items.select({ id: 'a' });
    items.select({ group: 'x' });
    items.select({ group: 'g0' }, { limit: 1 });
    items.select({ n: 0 });
    expect(items.activity.queries).toMatchObject({ key: 1, index: 2, scan: 1 });

    const timed: string[] = [];
    items.activity.recorder = {
      query: (path, ms) => timed.push(`${path}:${ms >= 0}`),
      sweep: () => undefined,
    };
    items.select({ n: 0 });
    expect(timed).toEqual(['scan:true']);
  });
});
