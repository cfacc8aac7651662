import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreService, QueryError } from 'nestjs-memory-store';
import { createApp, thrownBy } from './fixtures/app.factory.js';
import {
  LiveAppModule,
  Player,
  PlayersStore,
  Team,
  TeamsStore,
} from './fixtures/live-app.module.js';

describe('joins: select(query, { join })', () => {
  let app: INestApplication | undefined;

  async function start() {
    app = await createApp(LiveAppModule.register());
    await app.init();
    const players = app.get(PlayersStore);
    const teams = app.get(TeamsStore);
    await teams.writeMany([
      { code: 'red', name: 'Reds', league: 'north', region: 'east' },
      { code: 'blue', name: 'Blues', league: 'north', region: 'west' },
      { code: 'gold', name: 'Golds', league: 'south', region: 'east' },
    ]);
    await players.writeMany([
      { id: 'p1', name: 'Ann', team: 'red', score: 30 },
      { id: 'p2', name: 'Bob', team: 'blue', score: 10 },
      { id: 'p3', name: 'Cid', team: 'red', score: 20 },
      { id: 'p4', name: 'Dee', team: 'none', score: 40 },
      { id: 'p5', name: 'Eve', score: 50 }, // no team at all
    ]);
    return { players, teams, memory: app.get(MemoryStoreService) };
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("attaches the related record by the other store's key (left join: undefined when there is none), keeping the record's class", async () => {
    const { players } = await start();
    const rows = players.select(undefined, {
      join: { club: { store: TeamsStore, on: 'team' } },
      orderBy: { score: 'asc' },
    });
    expect(rows.map((r) => [r.id, r.club?.name])).toEqual([
      ['p2', 'Blues'],
      ['p3', 'Reds'],
      ['p1', 'Reds'],
      ['p4', undefined],
      ['p5', undefined],
    ]);
    expect(rows[0]).toBeInstanceOf(Player);
    expect(rows[0].club).toBeInstanceOf(Team);
    expect(Object.isFrozen(rows[0])).toBe(true);
    expect(players.get('p2')).not.toHaveProperty('club'); // the stored record is untouched
  });

  it('an inner join drops records without a match, and limit and offset count what is left', async () => {
    const { players } = await start();
    const rows = players.select(
      { score: { $gte: 10 } },
      {
        join: { club: { store: TeamsStore, on: 'team', type: 'inner' } },
        orderBy: { score: 'desc' },
        limit: 2,
        offset: 1,
      },
    );
    expect(rows.map((r) => [r.id, r.club.code])).toEqual([
      ['p3', 'red'],
      ['p2', 'blue'],
    ]);
  });

  it('attaches many records through an index of the other store, or through a hash map of an unindexed field', async () => {
    const { players, teams } = await start();
    const byIndex = teams.select(
      { league: 'north' },
      {
        join: { roster: { store: PlayersStore, on: 'code', by: 'team', many: true } },
        orderBy: { code: 'asc' },
      },
    );
    expect(byIndex.map((t) => [t.code, t.roster.map((p) => p.id).sort()])).toEqual([
      ['blue', ['p2']],
      ['red', ['p1', 'p3']],
    ]);
    // region is not indexed: one scan of teams builds a map, then one lookup per player
    const sameRegion = players.select(
      { id: 'p1' },
      {
        join: {
          home: { store: teams, on: 'team', by: 'code' },
          neighbours: { store: teams, on: 'team', by: 'name', many: true },
        },
      },
    );
    expect(sameRegion[0].home?.name).toBe('Reds');
    expect(sameRegion[0].neighbours).toEqual([]); // no team is named 'red'

    const explained = teams.explain(
      { league: 'north' },
      {
        join: {
          roster: { store: PlayersStore, on: 'code', by: 'team', many: true },
          sameRegion: { store: TeamsStore, on: 'region', by: 'region' },
          self: { store: TeamsStore, on: 'code' },
        },
      },
    );
    expect(explained.strategy).toBe('index lookup');
    expect(explained.returnedRows).toBe(2);
    expect(explained.joins).toEqual({
      roster: { table: 'players', strategy: 'index lookup', field: 'team', lookups: 2, matched: 2 },
      sameRegion: { table: 'teams', strategy: 'hash map', field: 'region', lookups: 2, matched: 2 },
      self: { table: 'teams', strategy: 'key lookup', field: 'code', lookups: 2, matched: 2 },
    });
  });

  it('orders by a joined field, then pages', async () => {
    const { players } = await start();
    const rows = players.select(
      { team: { $exists: true } },
      {
        join: { club: { store: TeamsStore, on: 'team' } },
        orderBy: { 'club.name': 'desc', score: 'asc' },
        limit: 3,
      },
    );
    // Reds, Reds, then Blues; Dee's team 'none' has no club (missing sorts last in desc)
    expect(rows.map((r) => r.id)).toEqual(['p3', 'p1', 'p2']);
  });

  it('projects fields and keeps the joined aliases', async () => {
    const { players } = await start();
    const rows = players.select(
      { id: 'p1' },
      { join: { club: { store: TeamsStore, on: 'team' } }, fields: ['name'] },
    );
    expect(rows).toEqual([{ name: 'Ann', club: expect.objectContaining({ code: 'red' }) }]);
  });

  it("sees a transaction's own writes on both sides", async () => {
    const { players, teams, memory } = await start();
    await memory
      .transaction(async () => {
        await teams.write({ code: 'none', name: 'Nobody', league: 'south' });
        await players.update('p2', { team: 'gold' });
        const rows = players.select(
          { id: { $in: ['p2', 'p4'] } },
          { join: { club: { store: TeamsStore, on: 'team' } }, orderBy: { id: 'asc' } },
        );
        expect(rows.map((r) => r.club?.name)).toEqual(['Golds', 'Nobody']);
        const rosters = teams.select(
          { code: 'gold' },
          { join: { roster: { store: PlayersStore, on: 'code', by: 'team', many: true } } },
        );
        expect(rosters[0].roster.map((p) => p.id)).toEqual(['p2']);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(
      players.select({ id: 'p2' }, { join: { club: { store: TeamsStore, on: 'team' } } })[0].club
        ?.name,
    ).toBe('Blues');
  });

  it('aggregates over a join: group by a joined field, count distinct values', async () => {
    const { players } = await start();
    const byRegion = players.aggregate(
      undefined,
      { groupBy: 'club.region', count: true, countDistinct: 'team', sum: 'score' },
      { join: { club: { store: TeamsStore, on: 'team', type: 'inner' } } },
    );
    expect(byRegion).toEqual([
      {
        group: { 'club.region': 'east' },
        count: 2,
        countDistinct: { team: 1 },
        sum: { score: 50 },
      },
      {
        group: { 'club.region': 'west' },
        count: 1,
        countDistinct: { team: 1 },
        sum: { score: 10 },
      },
    ]);
    expect(players.aggregate(undefined, { countDistinct: ['team', 'score'] })).toEqual({
      countDistinct: { team: 3, score: 5 }, // p5 has no team: not counted
    });
  });

  it('refuses a join it cannot make, with a clear error', async () => {
    const { players } = await start();
    const unknown = thrownBy(() =>
      players.select(undefined, { join: { x: { store: class Nope {}, on: 'team' } } } as never),
    );
    expect(unknown).toBeInstanceOf(QueryError);
    expect((unknown as Error).message).toMatch(/join 'x' names no store/);
    expect(
      thrownBy(() =>
        players.select(undefined, {
          join: { x: { store: TeamsStore, on: 'team', type: 'outer' } },
        } as never),
      ),
    ).toBeInstanceOf(QueryError);
    expect(
      thrownBy(() =>
        players.select(undefined, { join: { 'a.b': { store: TeamsStore, on: 'team' } } } as never),
      ),
    ).toBeInstanceOf(QueryError);
    const shadowing = thrownBy(() =>
      players.select(undefined, { join: { team: { store: TeamsStore, on: 'team' } } } as never),
    );
    expect((shadowing as Error).message).toMatch(/join alias 'team' is a field of 'players'/);
  });
});
