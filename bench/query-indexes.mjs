// The "queryindexes" section (issue 18, indexes and cursors), at 100,000 records: a compound
// equality + range through an index on (department, age) against a hand-built nested
// Map<department, Map<age, records>>, and a keyset page at depth 50,000 against the first
// page, with LokiJS, mingo and TinyBase doing the same where they can (they page by offset).
// Two cases of the table harness (table.mjs): CASES below, one subject per library.

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mingo from 'mingo';
import { createQueries, createStore } from 'tinybase';
import { Index, MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { makeQueryRecords } from './data.mjs';
import { SETTINGS } from './harness.mjs';
import { buildQueryLoki } from './peers.mjs';
import { formatMs, timeOnce } from './suite.mjs';
import { row, runTable } from './table.mjs';

const N = 100_000;
const COMPOUND_TARGET = 0.5; // within 2x of the hand-built nested map
const DEPTH_TARGET = 0.5; // a page at depth 50,000 within 2x of the first page
const DEPTH = 50_000;
const PAGE = 20;
/** Each op asks the next (department, age range) of a fixed list of 8: ~180 matches each. */
const ASKS = [
  ['d3', 30],
  ['d7', 45],
  ['d1', 22],
  ['d5', 60],
  ['d0', 33],
  ['d8', 51],
  ['d2', 40],
  ['d6', 27],
];
const WIDTH = 3; // ages [low, low + 3)
/** Fewer timed rounds for the peers, which sort or scan the whole table per op. */
const PEER_ROUNDS = { rounds: Math.min(3, SETTINGS.rounds) };

/** The query records with a compound index on (department, age) and an ordered one on score. */
class IndexedQueryPerson {
  id;
  department = 'd0';
  city = 'c000';
  score = 0;
  age = 0;
  active = true;
  email;
}
Index('score', { kind: 'ordered' })(IndexedQueryPerson);
Index(['department', 'age'])(IndexedQueryPerson);
Table({ name: 'query_index_people', key: 'id' })(IndexedQueryPerson);

class IndexedQueryStore extends MemoryStore {}
Store({ table: IndexedQueryPerson })(IndexedQueryStore);

async function bootStore() {
  class BenchAppModule {}
  Module({ imports: [MemoryStoreModule.forRoot({ stores: [IndexedQueryStore] })] })(BenchAppModule);
  const app = await NestFactory.createApplicationContext(BenchAppModule, { logger: false });
  return { app, store: app.get(IndexedQueryStore) };
}

const compoundQuery = ([department, low]) => ({ department, age: { $gte: low, $lt: low + WIDTH } });
const byScore = (extra) => ({ orderBy: { score: 'asc' }, limit: PAGE, ...extra });
/** The page cases take no input: the loop walks a list of one. */
const once = () => [0];

const CASES = [
  {
    id: 'compound',
    title: (d) =>
      `compound equality + range: select({ department, age: { $gte, $lt: +3 } }), index on ` +
      `(department, age) (~${d.expectedCount(ASKS[0])} matches)`,
    comment: 'each op asks the next (department, age range) of a fixed list of 8',
    inputs: () => ASKS,
    fold: true,
    baseline: row(
      'nested Map<department, Map<age, records>> + 3 gets, hand-written',
      (c) =>
        ([department, low]) => {
          const ages = c.nested.get(department);
          const out = [];
          for (let age = low; age < low + WIDTH; age++) {
            const list = ages.get(age);
            if (list) for (const r of list) out.push(r);
          }
          return out.length;
        },
    ),
    rows: [
      row(
        'nestjs-memory-store select (compound index)',
        (c) => (ask) => c.store.select(compoundQuery(ask)).length,
        { target: COMPOUND_TARGET },
      ),
    ],
    peers: {
      loki: [
        row(
          'LokiJS find({ department, age: $between }) (index on department)',
          (c) => (ask) => c.compound(ask).length,
        ),
      ],
      mingo: [
        row('mingo Query.find(array).all() (no indexes)', (c) => (ask) => c.compound(ask).length),
      ],
      tinybase: [
        row('TinyBase queries: setParamValues + getResultTable', (c) => ([department, low]) => {
          c.queries.setParamValues('compound', { department, low, high: low + WIDTH });
          return Object.keys(c.queries.getResultTable('compound')).length;
        }),
      ],
    },
  },
  {
    id: 'page',
    title:
      `page of ${PAGE} ordered by score (ordered index) at depth ${DEPTH.toLocaleString('en-US')}, ` +
      'against the first page',
    inputs: once,
    fold: true,
    baseline: row(
      'nestjs-memory-store page, first page',
      (c) => () => c.store.page(undefined, byScore()).items.length,
    ),
    rows: [
      row(
        'nestjs-memory-store page at depth 50,000 (after: cursor)',
        (c) => () => c.store.page(undefined, byScore({ after: c.deepCursor })).items.length,
        { target: DEPTH_TARGET },
      ),
      row(
        'nestjs-memory-store select offset 50,000 (for contrast)',
        (c) => () => c.store.select(undefined, byScore({ offset: DEPTH })).length,
      ),
    ],
    peers: {
      loki: [
        row(
          'LokiJS chain().simplesort(score).offset(50,000).limit(20)',
          (c) => () => c.page(DEPTH).length,
        ),
        row('LokiJS chain().simplesort(score).offset(0).limit(20)', (c) => () => c.page(0).length),
      ],
      mingo: [
        row('mingo sort({ score: 1 }).skip(50,000).limit(20)', (c) => () => c.page(DEPTH).length),
      ],
      tinybase: [
        row(
          'TinyBase getResultSortedRowIds(score, offset 50,000, 20)',
          (c) => () => c.queries.getResultSortedRowIds('all', 'score', false, DEPTH, PAGE).length,
        ),
      ],
    },
  },
];

export async function runQueryIndexes(suite) {
  suite.section(
    'queryindexes',
    'issue 18: compound and nested indexes, keyset pages (100,000 records)',
  );
  const records = makeQueryRecords(N);
  const expectedCount = ([department, low]) =>
    records.filter((r) => r.department === department && r.age >= low && r.age < low + WIDTH)
      .length;
  const data = { records, expectedCount };
  const cases = CASES.map((c) => ({
    ...c,
    title: typeof c.title === 'function' ? c.title(data) : c.title,
  }));
  await runTable(suite, {
    cases,
    data,
    subjects: [
      {
        name: 'nestjs-memory-store',
        build: (d, groups) => buildOurs(suite, d, groups),
        close: (c) => c.app.close(),
      },
      {
        name: 'loki',
        build: (d) => buildLoki(suite, d),
        close: (c) => c.db.close(),
        rounds: PEER_ROUNDS,
      },
      { name: 'mingo', build: (d) => buildMingo(suite, d), rounds: PEER_ROUNDS },
      { name: 'tinybase', build: (d) => buildTinyBase(suite, d), rounds: PEER_ROUNDS },
    ],
  });
}

/** The store loaded, the hand-built nested map, and the cursor of the page at depth 50,000. */
async function buildOurs(suite, { records, expectedCount }, groups) {
  const nested = new Map();
  for (const r of records) {
    let ages = nested.get(r.department);
    if (!ages) nested.set(r.department, (ages = new Map()));
    let list = ages.get(r.age);
    if (!list) ages.set(r.age, (list = []));
    list.push(r);
  }
  suite.progress('booting Nest and loading the indexed query store...');
  const { app, store } = await bootStore();
  const [, loadMs] = await timeOnce(() => store.writeMany(records));
  const plan = store.explain(compoundQuery(ASKS[0]));
  groups.compound.notes.push(
    `nestjs-memory-store: writeMany of ${N.toLocaleString('en-US')} records with both ` +
      `indexes took ${formatMs(loadMs)}; plan: ${plan.strategy} on ${plan.field}, ` +
      `examined ${plan.examinedRows} rows, returned ${plan.returnedRows}`,
  );
  for (const ask of ASKS)
    suite.check(
      store.select(compoundQuery(ask)).length === expectedCount(ask),
      `compound ${ask.join(' ')}`,
    );

  const bySize = [...records].sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1));
  const deepIds = bySize.slice(DEPTH, DEPTH + PAGE).map((r) => r.id);
  const [deepCursor, walkMs] = await timeOnce(() => {
    let page = store.page(undefined, byScore());
    for (let seen = PAGE; seen < DEPTH; seen += PAGE)
      page = store.page(undefined, byScore({ after: page.next }));
    return page.next;
  });
  const deep = store.page(undefined, byScore({ after: deepCursor }));
  suite.check(
    deep.items.every((r, i) => r.id === deepIds[i]),
    'the page at depth 50,000 holds records 50,000..50,019 by score',
  );
  groups.page.notes.push(
    `nestjs-memory-store: walking ${(DEPTH / PAGE).toLocaleString('en-US')} pages to depth ` +
      `${DEPTH.toLocaleString('en-US')} took ${formatMs(walkMs)}; LokiJS, mingo and TinyBase ` +
      'have no cursor: they page by offset (skip)',
  );
  return { app, store, nested, deepCursor };
}

function buildLoki(suite, { records, expectedCount }) {
  suite.progress('building LokiJS...');
  const { db, people } = buildQueryLoki(records);
  people.find({ department: 'd0' });
  people.find({ score: { $between: [0, 1] } });
  const compound = ([department, low]) =>
    people.find({ department, age: { $between: [low, low + WIDTH - 1] } });
  suite.check(compound(ASKS[0]).length === expectedCount(ASKS[0]), 'loki compound');
  const page = (offset) =>
    people.chain().find().simplesort('score').offset(offset).limit(PAGE).data();
  return { db, compound, page };
}

function buildMingo(suite, { records, expectedCount }) {
  const compound = ([department, low]) =>
    new mingo.Query({ department, age: { $gte: low, $lt: low + WIDTH } }).find(records).all();
  const page = (offset) =>
    new mingo.Query({}).find(records).sort({ score: 1 }).skip(offset).limit(PAGE).all();
  suite.check(compound(ASKS[0]).length === expectedCount(ASKS[0]), 'mingo compound');
  return { compound, page };
}

function buildTinyBase(suite, { records, expectedCount }) {
  suite.progress('building TinyBase...');
  const table = {};
  for (const { id, ...cells } of records) table[id] = cells;
  const tiny = createStore().setTable('people', table);
  const queries = createQueries(tiny);
  queries.setQueryDefinition(
    'compound',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where('department', param('department'));
      where((getCell) => getCell('age') >= param('low') && getCell('age') < param('high'));
    },
    { department: '', low: 0, high: 0 },
  );
  queries.setQueryDefinition('all', 'people', ({ selectAll }) => selectAll());
  queries.setParamValues('compound', { department: 'd3', low: 30, high: 33 });
  suite.check(
    queries.getResultRowCount('compound') === expectedCount(ASKS[0]),
    'tinybase compound',
  );
  return { queries };
}
