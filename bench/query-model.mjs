// The "querymodel" section (issue 18, "the query and data model"): the operations the query
// and data model added, each against the best hand-written code and against LokiJS, mingo
// and TinyBase where they can express it. One case per entry of CASES below, run in order;
// a case is `{ name, run(suite, data) }` making its own groups. To add a case (compound
// indexes, page() cursors, watched queries, joins, ...), append an entry to CASES and, if it
// needs records of another shape, a generator next to makeTaggedRecords.
//
// Cases:
//   arrays  array-element equality select({ tags: t }) on 100,000 records with a multikey
//           index on tags, against a hand-built Map<element, Set<record>> whose set is copied
//           to an array (target >= 0.5x),
//           LokiJS ($contains, a scan: Loki indexes no array elements), mingo (a scan) and
//           TinyBase (a table of (person, tag) rows with an Index on tag, and a getRow per
//           match: TinyBase cells hold no arrays)

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Loki from 'lokijs';
import mingo from 'mingo';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { createIndexes, createStore } from 'tinybase';
import { prng } from './data.mjs';
import { SETTINGS } from './harness.mjs';
import { compileLoop } from './table.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';

const N = 100_000;
/** 200 tags; each record holds 1 to 4 distinct ones, so a tag is held by ~1.25% (~1,250). */
const TAGS = Array.from({ length: 200 }, (_, i) => `t${String(i).padStart(3, '0')}`);
/** The tags the element-equality cases ask for, in turn (the same list for every row). */
const TAG_VALUES = [17, 123, 45, 199, 3, 88, 150, 61].map((i) => TAGS[i]);
const ARRAY_TARGET = 0.5; // within 2x of a hand-built Map<element, Set<record>>
/** Fewer timed rounds for the peers that scan the whole array per query. */
const PEER_ROUNDS = { rounds: Math.min(5, SETTINGS.rounds) };

/** Records with an array of tags, reproducible. */
export function makeTaggedRecords(count, seed = 1818) {
  const random = prng(seed);
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => {
    const tags = new Set();
    const holds = 1 + Math.floor(random() * 4);
    while (tags.size < holds) tags.add(TAGS[Math.floor(random() * TAGS.length)]);
    return { id: `m${String(i).padStart(width, '0')}`, age: 18 + (i % 50), tags: [...tags] };
  });
}

// ---- the stores ----------------------------------------------------------------------------

/** A multikey index on tags: one entry per element. */
export class TaggedPerson {
  id;
  age = 0;
  tags = [];
}
Table({ name: 'tagged_people', key: 'id', indexes: ['tags'] })(TaggedPerson);

export class TaggedPeopleStore extends MemoryStore {}
Store({ table: TaggedPerson })(TaggedPeopleStore);

async function bootModelStores() {
  class QueryModelBenchModule {}
  Module({ imports: [MemoryStoreModule.forRoot({ stores: [TaggedPeopleStore] })] })(
    QueryModelBenchModule,
  );
  const app = await NestFactory.createApplicationContext(QueryModelBenchModule, {
    logger: false,
  });
  return { app, tagged: app.get(TaggedPeopleStore) };
}

// ---- the cases -----------------------------------------------------------------------------

const CASES = [{ name: 'arrays', run: arrayElementEquality }];

export async function runQueryModel(suite) {
  suite.section(
    'querymodel',
    `issue 18 "the query and data model": arrays and multikey indexes (${N.toLocaleString('en-US')} records)`,
  );
  suite.progress('querymodel: booting Nest...');
  const stores = await bootModelStores();
  try {
    for (const { name, run } of CASES) {
      suite.progress(`querymodel: ${name}`);
      await run(suite, stores);
    }
  } finally {
    await stores.app.close();
  }
}

/**
 * Cycles through TAG_VALUES: `ask(tag)` returns how many records it found. A compiled loop of
 * its own per case (table.mjs), so that no call site is shared by the cases.
 */
function cycling(ask) {
  return compileLoop('querymodel', ask, TAG_VALUES, { fold: true });
}

async function arrayElementEquality(suite, { tagged }) {
  const records = makeTaggedRecords(N);
  const [, loadMs] = await timeOnce(() => tagged.writeMany(records));
  suite.check(tagged.size === N, 'querymodel: tagged store size after load');
  const expected = records.filter((r) => r.tags.includes(TAG_VALUES[0]));
  const group = suite.group(
    `array-element equality: select({ tags: t }), tags an array of 1-4 of 200 values with a ` +
      `multikey index (~${expected.length.toLocaleString('en-US')} matches)`,
    {
      comment: 'each op asks for the next tag of a fixed list of 8 (the same list for every row)',
      notes: [
        `nestjs-memory-store: writeMany of ${N.toLocaleString('en-US')} records took ${formatMs(loadMs)}`,
      ],
    },
  );
  const explained = tagged.explain({ tags: TAG_VALUES[0] });
  group.notes.push(
    `plan (explain): ${explained.strategy}${explained.field ? ` on ${explained.field}` : ''}; ` +
      `estimated ${explained.estimatedRows} rows, examined ${explained.examinedRows}, ` +
      `returned ${explained.returnedRows}`,
  );

  // hand-written: the index a developer would keep beside the records
  const byTag = new Map();
  for (const r of records) {
    for (const t of r.tags) {
      let bucket = byTag.get(t);
      if (!bucket) byTag.set(t, (bucket = new Set()));
      bucket.add(r);
    }
  }
  const hand = (t) => {
    const bucket = byTag.get(t);
    return bucket === undefined ? 0 : [...bucket].length; // the matches as a new array
  };
  const store = (t) => tagged.select({ tags: t }).length;
  suite.check(store(TAG_VALUES[0]) === expected.length, 'querymodel: store element equality');
  suite.check(hand(TAG_VALUES[0]) === expected.length, 'querymodel: hand element equality');
  await suite.measure([
    entry(group, 'Map<element, Set<record>> + [...set], hand-written', cycling(hand), {
      baseline: true,
    }),
    entry(group, 'nestjs-memory-store select (multikey index)', cycling(store), {
      target: ARRAY_TARGET,
    }),
  ]);

  // LokiJS: $contains tests array fields; its binary indexes hold no array elements
  {
    const db = new Loki('bench-querymodel.db', { env: 'NODEJS', autosave: false, verbose: false });
    const people = db.addCollection('people', { unique: ['id'] });
    people.insert(records.map((r) => ({ ...r, tags: [...r.tags] })));
    const loki = (t) => people.find({ tags: { $contains: t } }).length;
    suite.check(loki(TAG_VALUES[0]) === expected.length, 'querymodel: LokiJS $contains');
    await suite.measure(
      [entry(group, 'LokiJS find({ tags: { $contains } }) (scan)', cycling(loki))],
      PEER_ROUNDS,
    );
    db.close();
  }

  // mingo: MongoDB's query over the plain array (no indexes)
  {
    const mingoOf = (t) => new mingo.Query({ tags: t }).find(records).all().length;
    suite.check(mingoOf(TAG_VALUES[0]) === expected.length, 'querymodel: mingo');
    await suite.measure(
      [entry(group, 'mingo Query({ tags }).find(array) (scan)', cycling(mingoOf))],
      PEER_ROUNDS,
    );
  }

  // TinyBase: no array cells; (person, tag) rows indexed by tag, then each person's row
  {
    const people = {};
    const links = {};
    let link = 0;
    for (const r of records) {
      people[r.id] = { age: r.age };
      for (const t of r.tags) links[`l${link++}`] = { person: r.id, tag: t };
    }
    const tb = createStore().setTables({ people, tagged: links });
    const indexes = createIndexes(tb);
    indexes.setIndexDefinition('byTag', 'tagged', 'tag');
    const tiny = (t) => {
      const out = [];
      for (const linkId of indexes.getSliceRowIds('byTag', t)) {
        out.push(tb.getRow('people', tb.getCell('tagged', linkId, 'person')));
      }
      return out.length;
    };
    suite.check(tiny(TAG_VALUES[0]) === expected.length, 'querymodel: TinyBase');
    await suite.measure(
      [entry(group, 'TinyBase Index slice of (person, tag) rows + getRow', cycling(tiny))],
      PEER_ROUNDS,
    );
  }
}
