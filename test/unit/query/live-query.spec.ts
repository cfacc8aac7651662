import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { ChangeHub } from '../../../lib/events/change-hub.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { liveQuery } from '../../../lib/query/live-query.js';

@Table({ name: 'live_scores', indexes: ['score'] })
class Score {
  id!: string;
  score = 0;
  team = 'a';
}

/** A table whose changes go through a change hub, as a store's do. */
function scores(count: number) {
  const hub = new ChangeHub();
  const table = new MemoryTable(getTableSchema(Score));
  const interest = hub.interestIn(table.name);
  table.configure({
    onChange: (change) => hub.publish(table.name, change),
    wantsChanges: () => interest.active,
  });
  for (let i = 0; i < count; i++) table.write({ id: `s${i}`, score: i, team: i % 2 ? 'a' : 'b' });
  const queries = () => Object.values(table.activity.queries).reduce((a, b) => a + b, 0);
  return { hub, table, queries };
}

const turn = async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('liveQuery: incremental upkeep', () => {
  it('runs the query once at subscription, then only when a member leaves a window it cannot fill', async () => {
    const { hub, table, queries } = scores(1_000);
    const seen: Score[][] = [];
    const subscription = liveQuery(
      table,
      hub.changes(table.name),
      { team: 'a' },
      {
        orderBy: { score: 'desc' },
        limit: 20,
      },
    ).subscribe((r) => seen.push(r));
    expect(queries()).toBe(1);
    expect(seen[0].map((r) => r.score).slice(0, 3)).toEqual([999, 997, 995]);

    table.write({ id: 'top', score: 5_000, team: 'a' }); // enters, the last member drops out
    table.update('s997', { score: 998 }); // a member moves inside the window
    table.write({ id: 'low', score: -1, team: 'a' }); // matches, but falls beyond the window
    table.write({ id: 'other', score: 9_000, team: 'b' }); // does not match
    await turn();
    expect(queries()).toBe(1);
    expect(seen).toHaveLength(2); // one emission for the turn's changes
    expect(seen[1].map((r) => r.id).slice(0, 3)).toEqual(['top', 's999', 's997']);

    table.update('s999', { score: 1_001 }); // leaves and comes back before the window's last
    await turn();
    expect(queries()).toBe(1);

    table.delete('s999'); // a member leaves: the window is read again, once
    table.delete('s995');
    await turn();
    expect(queries()).toBe(2);
    expect(seen.at(-1)).toEqual(
      table.select({ team: 'a' }, { orderBy: { score: 'desc' }, limit: 20 }),
    );
    subscription.unsubscribe();
    expect(hub.interestIn(table.name).active).toBe(false); // nothing is kept for it
  });
});
