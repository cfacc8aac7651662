/**
 * Model test of live queries: several watches of one store (key order, a top-N on an indexed
 * field, a top-N on an unindexed field, an unlimited order), while random writes, updates,
 * deletes, transactions (committed or rolled back), two commits in one turn, deleteAll and
 * time passing deadlines run. After each step, every watch's last emission must equal
 * running its query again, and no emission repeats the one before it.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import {
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
  type Query,
  type WatchOptions,
} from 'nestjs-memory-store';
import type { Subscription } from 'rxjs';
import { createApp, fakeDateOnly } from '../e2e/fixtures/app.factory.js';

@Table({ name: 'live_items', indexes: ['team', 'score'] })
class Item {
  id!: string;
  team = 'a';
  score = 0;
  rank = 0;
}

@Store({ table: Item, ttl: { sweep: { everyMs: 3_600_000 }, resolution: 0 } })
class ItemsStore extends MemoryStore<Item> {}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [ItemsStore] })] })
class LiveModelModule {}

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
const TEAMS = ['a', 'b', 'c'];

type Write = {
  t: 'write';
  key: string;
  team: string;
  score: number;
  rank: number;
  ttl: number | null;
};
type Command =
  | Write
  | { t: 'update'; key: string; score?: number; team?: string }
  | { t: 'delete'; key: string }
  | { t: 'deleteMany'; team: string }
  | { t: 'deleteAll' }
  | { t: 'transaction'; steps: (Write | { t: 'delete'; key: string })[]; commit: boolean }
  | { t: 'sameTurn'; writes: Write[] }
  | { t: 'advance'; ms: number };

const writeArb: fc.Arbitrary<Write> = fc.record({
  t: fc.constant('write' as const),
  key: fc.constantFrom(...KEYS),
  team: fc.constantFrom(...TEAMS),
  score: fc.integer({ min: 0, max: 6 }),
  rank: fc.integer({ min: 0, max: 3 }),
  ttl: fc.constantFrom<number | null>(null, null, null, 50, 200),
});
const deleteArb = fc.record({ t: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: writeArb },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        t: fc.constant('update' as const),
        key: fc.constantFrom(...KEYS),
        score: fc.integer({ min: 0, max: 6 }),
        team: fc.constantFrom(...TEAMS),
      },
      { requiredKeys: ['t', 'key'] },
    ),
  },
  { weight: 2, arbitrary: deleteArb },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('deleteMany' as const),
      team: fc.constantFrom(...TEAMS),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'deleteAll' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('transaction' as const),
      steps: fc.array(fc.oneof(writeArb, deleteArb), { minLength: 1, maxLength: 4 }),
      commit: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('sameTurn' as const),
      writes: fc.array(writeArb, { minLength: 2, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(60, 250) }),
  },
);

/** The watches, each a query and its options. */
const WATCHES: [Query<Item> | undefined, WatchOptions<Item> | undefined][] = [
  [{ team: 'a' }, undefined],
  [{ score: { $gte: 2 } }, { orderBy: { score: 'desc' }, limit: 3 }],
  [{ team: { $in: ['a', 'b'] } }, { orderBy: { rank: 'asc' }, limit: 2 }],
  [undefined, { orderBy: { rank: 'desc', score: 'asc' } }],
  [{ team: 'c' }, { orderBy: { score: 'asc' }, limit: 1 }],
  [undefined, { limit: 0 }],
];

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('live queries against re-running the query (fast-check)', () => {
  let app: INestApplication;
  let items: ItemsStore;
  let memory: MemoryStoreService;

  beforeAll(async () => {
    fakeDateOnly(1_000_000_000);
    app = await createApp(LiveModelModule);
    await app.init();
    items = app.get(ItemsStore);
    memory = app.get(MemoryStoreService);
  });

  afterAll(async () => {
    await app.close();
    jest.useRealTimers();
  });

  const write = (w: Write) =>
    items.write({ id: w.key, team: w.team, score: w.score, rank: w.rank }, { ttl: w.ttl });

  async function run(command: Command): Promise<void> {
    switch (command.t) {
      case 'write':
        await write(command);
        break;
      case 'update': {
        const patch: Partial<Item> = {};
        if (command.score !== undefined) patch.score = command.score;
        if (command.team !== undefined) patch.team = command.team;
        if (items.exists(command.key)) await items.update(command.key, patch);
        break;
      }
      case 'delete':
        await items.delete(command.key);
        break;
      case 'deleteMany':
        await items.deleteMany({ team: command.team });
        break;
      case 'deleteAll':
        await items.deleteAll();
        break;
      case 'transaction':
        await memory
          .transaction(async () => {
            for (const step of command.steps) {
              if (step.t === 'write') await write(step);
              else await items.delete(step.key);
            }
            if (!command.commit) throw new Error('rolled back');
          })
          .catch((error: unknown) => {
            if ((error as Error).message !== 'rolled back') throw error;
          });
        break;
      case 'sameTurn':
        for (const w of command.writes)
          items.dirtyWrite(
            { id: w.key, team: w.team, score: w.score, rank: w.rank },
            { ttl: w.ttl },
          );
        break;
      case 'advance':
        jest.setSystemTime(Date.now() + command.ms);
        items.sweep();
        break;
    }
  }

  it('every watch emits what running its query again returns', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), async (commands) => {
        await items.deleteAll();
        await settle();
        const emitted: Item[][][] = WATCHES.map(() => []);
        const subscriptions: Subscription[] = WATCHES.map(([query, options], i) =>
          items.watch(query, options).subscribe((result) => emitted[i].push(result)),
        );
        const view = (records: readonly Item[]) =>
          records.map((r) => [r.id, r.team, r.score, r.rank]);
        try {
          for (const command of commands) {
            await run(command);
            await settle();
            WATCHES.forEach(([query, options], i) => {
              const expected = items.select(query, { orderBy: { id: 'asc' }, ...options });
              expect(view(emitted[i].at(-1)!)).toEqual(view(expected));
            });
          }
          for (const emissions of emitted) {
            for (let i = 1; i < emissions.length; i++)
              expect(
                emissions[i].every((r, j) => r === emissions[i - 1][j]) &&
                  emissions[i].length === emissions[i - 1].length,
              ).toBe(false);
          }
        } finally {
          for (const s of subscriptions) s.unsubscribe();
        }
      }),
      { numRuns: 150 },
    );
  });
});
