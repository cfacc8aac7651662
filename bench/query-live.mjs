// The "querylive" section (issue 18, live queries and joins): a watched top-20 kept up to
// date through one write against running the query again after it, with LokiJS's
// DynamicView; a join of 10,000 people to 100 departments against a hand-written loop with
// Map.get, with LokiJS's eqJoin, mingo's $lookup and TinyBase's Queries join.

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Loki from 'lokijs';
import { aggregate } from 'mingo';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { createQueries, createStore } from 'tinybase';
import { prng } from './data.mjs';
import { sink } from './harness.mjs';
import { compileLoop } from './table.mjs';
import { entry } from './suite.mjs';

const PLAYERS = 100_000;
const PEOPLE = 10_000;
const DEPARTMENTS = 100;
const JOIN_TARGET = 0.5;
const TOP_QUERY = { department: 'd3' };
const TOP_OPTIONS = { orderBy: { score: 'desc' }, limit: 20 };

// ---- tables and stores (decorators applied as functions) -----------------------------------

class Player {
  id;
  department = 'd0';
  score = 0;
}
Table({ name: 'live_players', indexes: ['department'] })(Player);
class WatchedPlayersStore extends MemoryStore {}
Store({ table: Player })(WatchedPlayersStore);

class OtherPlayer {
  id;
  department = 'd0';
  score = 0;
}
Table({ name: 'live_players_unwatched', indexes: ['department'] })(OtherPlayer);
class PlayersStore extends MemoryStore {}
Store({ table: OtherPlayer })(PlayersStore);

class Employee {
  id;
  name = '';
  department = '';
  age = 0;
}
Table({ name: 'join_people', indexes: ['department'] })(Employee);
class EmployeesStore extends MemoryStore {}
Store({ table: Employee })(EmployeesStore);

class Department {
  name;
  floor = 0;
  region = '';
}
Table({ name: 'join_departments', key: 'name' })(Department);
class DepartmentsStore extends MemoryStore {}
Store({ table: Department })(DepartmentsStore);

class LiveBenchModule {}
Module({
  imports: [
    MemoryStoreModule.forRoot({
      stores: [WatchedPlayersStore, PlayersStore, EmployeesStore, DepartmentsStore],
    }),
  ],
})(LiveBenchModule);

// ---- data ----------------------------------------------------------------------------------

function makePlayers() {
  const random = prng(1818);
  return Array.from({ length: PLAYERS }, (_, i) => ({
    id: `p${i}`,
    department: `d${Math.floor(random() * 10)}`,
    score: Math.floor(random() * 1_000_000),
  }));
}

function makeJoinData() {
  const random = prng(1819);
  const departments = Array.from({ length: DEPARTMENTS }, (_, i) => ({
    name: `dept-${i}`,
    floor: i % 7,
    region: `r${i % 5}`,
  }));
  const people = Array.from({ length: PEOPLE }, (_, i) => ({
    id: `e${i}`,
    name: `person ${i}`,
    department: `dept-${Math.floor(random() * DEPARTMENTS)}`,
    age: 20 + Math.floor(random() * 45),
  }));
  return { people, departments };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A case's `run(n)` from one operation: a compiled loop of its own (table.mjs), so that no call
 * site is shared by the cases.
 */
const times = (op) => compileLoop('querylive', op, [0]);

// ---- the section ---------------------------------------------------------------------------

export async function runQueryLive(suite) {
  suite.section('querylive', 'issue 18: live queries and joins');
  const live = suite.group(
    `a watched top-20 (department = 'd3' by score desc, score not indexed) of ${PLAYERS.toLocaleString('en-US')} ` +
      "records, after one write that changes a random record's score (one op = the write and a current result)",
    {
      comment:
        'ratio = re-running the query / the case (higher is faster); the watched cases wait one turn of the ' +
        'event loop per write (changes are delivered on the next turn), so a reference case times that alone',
    },
  );
  const join = suite.group(
    `a join of ${PEOPLE.toLocaleString('en-US')} people to ${DEPARTMENTS} departments (one op = every person ` +
      'with their department)',
    { comment: `ratio = hand-written loop / the case (target >= ${JOIN_TARGET})` },
  );

  suite.progress('querylive: booting Nest and loading the stores...');
  const app = await NestFactory.createApplicationContext(LiveBenchModule, { logger: false });
  try {
    await runLive(suite, live, app);
    await runJoin(suite, join, app);
  } finally {
    await app.close();
  }
}

async function runLive(suite, group, app) {
  const players = makePlayers();
  const watched = app.get(WatchedPlayersStore);
  const unwatched = app.get(PlayersStore);
  await watched.writeMany(players);
  await unwatched.writeMany(players);
  const random = prng(99);
  const pick = () => players[Math.floor(random() * PLAYERS)].id;
  const score = () => Math.floor(random() * 1_000_000);

  let latest;
  const subscription = watched.watch(TOP_QUERY, TOP_OPTIONS).subscribe((top) => (latest = top));
  const loki = new Loki('live.db', { env: 'NODEJS', autosave: false, verbose: false });
  const lokiPlayers = loki.addCollection('players', { unique: ['id'], indices: ['department'] });
  lokiPlayers.insert(players.map((p) => ({ ...p })));
  const view = lokiPlayers.addDynamicView('top');
  view.applyFind(TOP_QUERY);
  view.applySimpleSort('score', { desc: true });
  try {
    // the live result equals the query's, after a few writes
    for (let i = 0; i < 50; i++) watched.dirtyUpdate(pick(), { score: score() });
    await turn();
    await turn();
    const again = watched.select(TOP_QUERY, TOP_OPTIONS);
    suite.check(
      latest.length === 20 && latest.every((r, i) => r === again[i]),
      'querylive: the watched top-20 equals the query',
    );
    const lokiTop = view.branchResultset().limit(20).data();
    suite.check(lokiTop.length === 20, 'querylive: LokiJS DynamicView top-20');
    await suite.measure([
      entry(
        group,
        'nestjs-memory-store dirtyUpdate + select(query, { orderBy, limit: 20 }) again',
        (n) => {
          for (let i = 0; i < n; i++) {
            unwatched.dirtyUpdate(pick(), { score: score() });
            sink.value += unwatched.select(TOP_QUERY, TOP_OPTIONS).length;
          }
        },
        { baseline: true },
      ),
      entry(group, 'nestjs-memory-store dirtyUpdate + watch() result (one turn)', async (n) => {
        for (let i = 0; i < n; i++) {
          watched.dirtyUpdate(pick(), { score: score() });
          await turn();
          sink.value += latest.length;
        }
      }),
      entry(
        group,
        'reference: dirtyUpdate + one turn of the event loop, nothing watched',
        async (n) => {
          for (let i = 0; i < n; i++) {
            unwatched.dirtyUpdate(pick(), { score: score() });
            await turn();
          }
        },
        { note: 'the floor of the watched case' },
      ),
      entry(group, 'LokiJS update + DynamicView (find + simple sort) top 20', (n) => {
        for (let i = 0; i < n; i++) {
          const doc = lokiPlayers.by('id', pick());
          doc.score = score();
          lokiPlayers.update(doc);
          sink.value += view.branchResultset().limit(20).data().length;
        }
      }),
    ]);
  } finally {
    subscription.unsubscribe();
  }
}

async function runJoin(suite, group, app) {
  const { people, departments } = makeJoinData();
  const employees = app.get(EmployeesStore);
  const depts = app.get(DepartmentsStore);
  await depts.writeMany(departments);
  await employees.writeMany(people);
  const stored = employees.all(); // the hand-written loop walks the same records
  const byName = new Map(depts.all().map((d) => [d.name, d]));
  const joinOptions = { join: { dept: { store: DepartmentsStore, on: 'department' } } };

  const loki = new Loki('join.db', { env: 'NODEJS', autosave: false, verbose: false });
  const lokiPeople = loki.addCollection('people', { unique: ['id'] });
  const lokiDepts = loki.addCollection('departments', { unique: ['name'] });
  lokiPeople.insert(people.map((p) => ({ ...p })));
  lokiDepts.insert(departments.map((d) => ({ ...d })));

  const tinyPeople = {};
  for (const { id, ...cells } of people) tinyPeople[id] = cells;
  const tinyDepts = {};
  for (const { name, ...cells } of departments) tinyDepts[name] = cells;
  const tiny = createStore().setTable('people', tinyPeople).setTable('departments', tinyDepts);
  const queries = createQueries(tiny);
  const defineTinyJoin = () =>
    queries.setQueryDefinition('joined', 'people', ({ select, join }) => {
      select('name');
      select('department');
      select('age');
      join('departments', 'department');
      select('departments', 'floor');
      select('departments', 'region');
    });

  const ours = employees.select(undefined, joinOptions);
  suite.check(
    ours.length === PEOPLE && ours.every((p) => p.dept === byName.get(p.department)),
    'querylive: the join attaches every department',
  );
  const mingoOut = aggregate(people, [
    { $lookup: { from: departments, localField: 'department', foreignField: 'name', as: 'dept' } },
  ]);
  suite.check(
    mingoOut.length === PEOPLE && mingoOut[0].dept.length === 1,
    'querylive: mingo $lookup',
  );
  defineTinyJoin();
  suite.check(
    Object.keys(queries.getResultTable('joined')).length === PEOPLE,
    'querylive: TinyBase join',
  );
  const explained = employees.explain(undefined, joinOptions);
  group.notes.push(`explain: ${JSON.stringify(explained.joins)}`);

  await suite.measure([
    entry(
      group,
      'hand-written: for..of + { ...record, dept: Map.get(department) }',
      times(() => {
        const out = new Array(stored.length);
        for (let i = 0; i < stored.length; i++) {
          const p = stored[i];
          out[i] = { ...p, dept: byName.get(p.department) };
        }
        sink.value += out.length;
      }),
      { baseline: true },
    ),
    entry(
      group,
      "nestjs-memory-store select(undefined, { join: { dept: { store, on: 'department' } } })",
      times(() => (sink.value += employees.select(undefined, joinOptions).length)),
      { target: JOIN_TARGET },
    ),
    entry(
      group,
      'LokiJS eqJoin(departments, department, name).data()',
      times(() => {
        sink.value += lokiPeople.eqJoin(lokiDepts, 'department', 'name').data().length;
      }),
    ),
    entry(
      group,
      'mingo aggregate([{ $lookup }]) over the plain array',
      times(() => {
        sink.value += aggregate(people, [
          {
            $lookup: {
              from: departments,
              localField: 'department',
              foreignField: 'name',
              as: 'dept',
            },
          },
        ]).length;
      }),
    ),
    entry(
      group,
      'TinyBase Queries join (setQueryDefinition + getResultTable)',
      times(() => {
        defineTinyJoin();
        sink.value += Object.keys(queries.getResultTable('joined')).length;
      }),
    ),
  ]);
}
