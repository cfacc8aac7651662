// The "queryindexes" section (issue 18, indexes and cursors), at 100,000 records: a compound
// equality + range through an index on (department, age) against a hand-built nested
// Map<department, Map<age, records>>, and a keyset page at depth 50,000 against the first
// page, with LokiJS, mingo and TinyBase doing the same where they can (they page by offset).

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mingo from 'mingo';
import { createQueries, createStore } from 'tinybase';
import { Index, MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { collectGarbage, sink } from './harness.mjs';
import { makeQueryRecords } from './data.mjs';
import { buildQueryLoki } from './peers.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';

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

export async function runQueryIndexes(suite) {
  suite.section(
    'queryindexes',
    'issue 18: compound and nested indexes, keyset pages (100,000 records)',
  );
  const records = makeQueryRecords(N);
  const expectedCount = ([department, low]) =>
    records.filter((r) => r.department === department && r.age >= low && r.age < low + WIDTH)
      .length;
  const bySize = [...records].sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1));
  const deepIds = bySize.slice(DEPTH, DEPTH + PAGE).map((r) => r.id);

  const G = {
    compound: suite.group(
      `compound equality + range: select({ department, age: { $gte, $lt: +3 } }), index on ` +
        `(department, age) (~${expectedCount(ASKS[0])} matches)`,
    ),
    page: suite.group(
      `page of ${PAGE} ordered by score (ordered index) at depth ${DEPTH.toLocaleString('en-US')}, ` +
        'against the first page',
    ),
  };
  G.compound.comment = 'each op asks the next (department, age range) of a fixed list of 8';

  // ---- nestjs-memory-store and the hand-built code --------------------------------------
  {
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
    G.compound.notes.push(
      `nestjs-memory-store: writeMany of ${N.toLocaleString('en-US')} records with both ` +
        `indexes took ${formatMs(loadMs)}; plan: ${plan.strategy} on ${plan.field}, ` +
        `examined ${plan.examinedRows} rows, returned ${plan.returnedRows}`,
    );
    for (const ask of ASKS)
      suite.check(
        store.select(compoundQuery(ask)).length === expectedCount(ask),
        `compound ${ask.join(' ')}`,
      );

    const first = store.page(undefined, { orderBy: { score: 'asc' }, limit: PAGE });
    const [deepCursor, walkMs] = await timeOnce(() => {
      let page = first;
      let seen = PAGE;
      while (seen < DEPTH) {
        page = store.page(undefined, { orderBy: { score: 'asc' }, limit: PAGE, after: page.next });
        seen += PAGE;
      }
      return page.next;
    });
    const deep = store.page(undefined, {
      orderBy: { score: 'asc' },
      limit: PAGE,
      after: deepCursor,
    });
    suite.check(
      deep.items.every((r, i) => r.id === deepIds[i]),
      'the page at depth 50,000 holds records 50,000..50,019 by score',
    );
    G.page.notes.push(
      `nestjs-memory-store: walking ${(DEPTH / PAGE).toLocaleString('en-US')} pages to depth ` +
        `${DEPTH.toLocaleString('en-US')} took ${formatMs(walkMs)}; LokiJS, mingo and TinyBase ` +
        'have no cursor: they page by offset (skip)',
    );

    await suite.measure([
      entry(
        G.compound,
        'nested Map<department, Map<age, records>> + 3 gets, hand-written',
        (n) => {
          for (let i = 0; i < n; i++) {
            const [department, low] = ASKS[i & 7];
            const ages = nested.get(department);
            const out = [];
            for (let age = low; age < low + WIDTH; age++) {
              const list = ages.get(age);
              if (list) for (const r of list) out.push(r);
            }
            sink.value += out.length;
          }
        },
        { baseline: true },
      ),
      entry(
        G.compound,
        'nestjs-memory-store select (compound index)',
        (n) => {
          for (let i = 0; i < n; i++) {
            const [department, low] = ASKS[i & 7];
            sink.value += store.select({ department, age: { $gte: low, $lt: low + WIDTH } }).length;
          }
        },
        { target: COMPOUND_TARGET },
      ),
    ]);
    await suite.measure([
      entry(
        G.page,
        'nestjs-memory-store page, first page',
        (n) => {
          for (let i = 0; i < n; i++)
            sink.value += store.page(undefined, {
              orderBy: { score: 'asc' },
              limit: PAGE,
            }).items.length;
        },
        { baseline: true },
      ),
      entry(
        G.page,
        'nestjs-memory-store page at depth 50,000 (after: cursor)',
        (n) => {
          for (let i = 0; i < n; i++)
            sink.value += store.page(undefined, {
              orderBy: { score: 'asc' },
              limit: PAGE,
              after: deepCursor,
            }).items.length;
        },
        { target: DEPTH_TARGET },
      ),
      entry(G.page, 'nestjs-memory-store select offset 50,000 (for contrast)', (n) => {
        for (let i = 0; i < n; i++)
          sink.value += store.select(undefined, {
            orderBy: { score: 'asc' },
            limit: PAGE,
            offset: DEPTH,
          }).length;
      }),
    ]);
    await app.close();
  }
  collectGarbage();

  // ---- peers ------------------------------------------------------------------------------
  {
    suite.progress('building LokiJS...');
    const { db, people } = buildQueryLoki(records);
    people.find({ department: 'd0' });
    people.find({ score: { $between: [0, 1] } });
    const lokiCompound = ([department, low]) =>
      people.find({ department, age: { $between: [low, low + WIDTH - 1] } });
    suite.check(lokiCompound(ASKS[0]).length === expectedCount(ASKS[0]), 'loki compound');
    const lokiPage = (offset) =>
      people.chain().find().simplesort('score').offset(offset).limit(PAGE).data();
    const mingoCompound = ([department, low]) =>
      new mingo.Query({ department, age: { $gte: low, $lt: low + WIDTH } }).find(records).all();
    const mingoPage = (offset) =>
      new mingo.Query({}).find(records).sort({ score: 1 }).skip(offset).limit(PAGE).all();
    suite.check(mingoCompound(ASKS[0]).length === expectedCount(ASKS[0]), 'mingo compound');
    await suite.measure(
      [
        entry(
          G.compound,
          'LokiJS find({ department, age: $between }) (index on department)',
          (n) => {
            for (let i = 0; i < n; i++) sink.value += lokiCompound(ASKS[i & 7]).length;
          },
        ),
        entry(G.compound, 'mingo Query.find(array).all() (no indexes)', (n) => {
          for (let i = 0; i < n; i++) sink.value += mingoCompound(ASKS[i & 7]).length;
        }),
        entry(G.page, 'LokiJS chain().simplesort(score).offset(50,000).limit(20)', (n) => {
          for (let i = 0; i < n; i++) sink.value += lokiPage(DEPTH).length;
        }),
        entry(G.page, 'LokiJS chain().simplesort(score).offset(0).limit(20)', (n) => {
          for (let i = 0; i < n; i++) sink.value += lokiPage(0).length;
        }),
        entry(G.page, 'mingo sort({ score: 1 }).skip(50,000).limit(20)', (n) => {
          for (let i = 0; i < n; i++) sink.value += mingoPage(DEPTH).length;
        }),
      ],
      { rounds: 3 },
    );
    db.close();
  }
  collectGarbage();
  {
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
    await suite.measure(
      [
        entry(G.compound, 'TinyBase queries: setParamValues + getResultTable', (n) => {
          for (let i = 0; i < n; i++) {
            const [department, low] = ASKS[i & 7];
            queries.setParamValues('compound', { department, low, high: low + WIDTH });
            sink.value += Object.keys(queries.getResultTable('compound')).length;
          }
        }),
        entry(G.page, 'TinyBase getResultSortedRowIds(score, offset 50,000, 20)', (n) => {
          for (let i = 0; i < n; i++)
            sink.value += queries.getResultSortedRowIds('all', 'score', false, DEPTH, PAGE).length;
        }),
      ],
      { rounds: 3 },
    );
  }
}
