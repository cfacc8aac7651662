import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import {
  DuplicateKeyError,
  Index,
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
} from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';

// Hostile checks, through a Nest application, of the query-shape cache, exact ranges,
// remembered range positions and one-pass index updates (issue 20): transactions, their
// rollback, unique values refused inside them, and live queries, each against a plain filter.

@Table({ name: 'hostile_players', indexes: ['team'] })
class Player {
  id!: string;
  @Index({ unique: true }) email?: string;
  @Index({ kind: 'ordered' }) score?: number | string | null;
  team = 'red';
  note = '';
}

@Store({ table: Player })
class PlayersStore extends MemoryStore<Player> {}

@Module({})
class HostileAppModule {
  static register(): DynamicModule {
    return {
      module: HostileAppModule,
      imports: [MemoryStoreModule.forRoot({ stores: [PlayersStore] })],
    };
  }
}

const ids = (records: readonly { id: string }[]) => records.map((r) => r.id);
const sortedIds = (records: readonly { id: string }[]) => ids(records).sort();

/** `score > bound` as queries read it: numbers only, NaN never. */
const above = (bound: number) => (p: Player) => typeof p.score === 'number' && p.score > bound;

/** The top `n` by score of the records passing `test`, ties by key descending. */
function top(records: readonly Player[], test: (p: Player) => boolean, n: number): string[] {
  return ids(
    records
      .filter(test)
      .sort((a, b) => (b.score as number) - (a.score as number) || (a.id < b.id ? 1 : -1))
      .slice(0, n),
  );
}

describe('issue 20 paths through a Nest application (hostile)', () => {
  let app: INestApplication;
  let players: PlayersStore;
  let memory: MemoryStoreService;

  beforeEach(async () => {
    app = await createApp(HostileAppModule.register());
    await app.init();
    players = app.get(PlayersStore);
    memory = app.get(MemoryStoreService);
    const teams = ['red', 'blue', 'gold'];
    await players.writeMany(
      Array.from({ length: 30 }, (_, i) => ({
        id: `p${String(i).padStart(2, '0')}`,
        email: `p${i}@x`,
        score: i % 7 === 0 ? null : i % 11 === 0 ? String(i) : (i * 7) % 23,
        team: teams[i % 3],
      })),
    );
  });

  afterEach(async () => {
    await app.close();
  });

  it('answers a repeated range shape with the transaction own writes, and as before after a rollback', async () => {
    const committed = players.select();
    const before = [0, 5, 10, 15].map((b) => ({
      all: sortedIds(players.select({ score: { $gt: b } })),
      top: ids(players.select({ score: { $gt: b } }, { orderBy: { score: 'desc' }, limit: 3 })),
    }));
    const failure = new Error('roll back');
    const error = await rejectionOf(
      memory.transaction(async () => {
        await players.update('p01', { score: 100 });
        await players.update('p02', { note: 'same score, another field' });
        await players.write({ id: 'p99', email: 'p99@x', score: 50 });
        await players.delete('p22');
        const view = players.select();
        for (const b of [0, 5, 10, 15]) {
          expect(sortedIds(players.select({ score: { $gt: b } }))).toEqual(
            sortedIds(view.filter(above(b))),
          );
          expect(
            ids(players.select({ score: { $gt: b } }, { orderBy: { score: 'desc' }, limit: 3 })),
          ).toEqual(top(view, above(b), 3));
        }
        throw failure;
      }),
    );
    expect(error).toBe(failure);
    expect(players.select()).toEqual(committed);
    [0, 5, 10, 15].forEach((b, i) => {
      expect(sortedIds(players.select({ score: { $gt: b } }))).toEqual(before[i].all);
      expect(
        ids(players.select({ score: { $gt: b } }, { orderBy: { score: 'desc' }, limit: 3 })),
      ).toEqual(before[i].top);
    });
  });

  it('refuses, in a transaction too, an email another player holds, and changes nothing', async () => {
    const committed = players.select();
    // (update throws at once where nothing waits for durability: a rejection either way)
    const refused = await rejectionOf(
      Promise.resolve().then(() => players.update('p03', { email: 'p4@x' })),
    );
    expect(refused).toBeInstanceOf(DuplicateKeyError);
    const error = await rejectionOf(
      memory.transaction(async () => {
        await players.update('p03', { score: 99 });
        await players.update('p03', (p) => ({ email: 'p4@x', note: p.note + '!' }));
      }),
    );
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(players.select()).toEqual(committed);
    expect(ids(players.select({ email: 'p4@x' }))).toEqual(['p04']);
    expect(ids(players.select({ email: 'p3@x' }))).toEqual(['p03']);
    expect(sortedIds(players.select({ score: { $gte: 99 } }))).toEqual([]);
  });

  it('keeps a watched top 3 of a range right through updates in place and moves', async () => {
    const emitted: string[][] = [];
    const subscription = players
      .watch({ score: { $gt: 4 } }, { orderBy: { score: 'desc' }, limit: 3 })
      .subscribe((rows) => emitted.push(ids(rows)));
    try {
      const steps: [string, Partial<Player>][] = [
        ['p05', { note: 'in place' }],
        ['p05', { score: 40 }],
        ['p06', { score: 40 }],
        ['p05', { score: 'forty' }],
        ['p08', { score: 4 }],
        ['p06', { note: 'in place again' }],
      ];
      for (const [key, change] of steps) {
        await players.update(key, change);
        // a repeated query of the same shape after each change, with a remembered range
        const expected = top(players.select(), above(4), 3);
        expect(
          ids(players.select({ score: { $gt: 4 } }, { orderBy: { score: 'desc' }, limit: 3 })),
        ).toEqual(expected);
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(emitted.at(-1)).toEqual(expected);
      }
    } finally {
      subscription.unsubscribe();
    }
  });
});
