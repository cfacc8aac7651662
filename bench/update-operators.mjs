// The "update-operators" section (issue 18, update operators): `update(k, { $inc: { age: 1 } })`
// against what a user writes without operators (get + spread + dirtyWrite, or an update
// function), and a Map floor (get + spread + set), on 100,000 records with shuffled keys.
// The ratio is against get + spread + dirtyWrite: >= 1 means the operator is not slower than
// writing the record back by hand. One case of the table harness (table.mjs).

import { makeRecords, shuffledKeys } from './data.mjs';
import { bootStores } from './stores.mjs';
import { row, runTable } from './table.mjs';

const N = 100_000;
const INC = { $inc: { age: 1 } };

const CASES = [
  {
    id: 'inc',
    title: `increment one field of a record by key, ${N.toLocaleString('en-US')} records, shuffled keys`,
    comment:
      'ratio = (get + spread + dirtyWrite) ns / case ns; the Map floor copies no value, ' +
      'validates nothing and keeps no index',
    inputs: (d) => d.keys,
    baseline: row('nestjs-memory-store get + spread + dirtyWrite (sync)', (c) => (k) => {
      const r = c.people.get(k);
      c.people.dirtyWrite({ ...r, age: r.age + 1 });
    }),
    rows: [
      row(
        'nestjs-memory-store dirtyUpdate(k, { $inc: { age: 1 } }) (sync)',
        (c) => (k) => c.people.dirtyUpdate(k, INC),
      ),
      row(
        'nestjs-memory-store dirtyUpdate(k, (r) => ({ age: r.age + 1 })) (sync)',
        (c) => (k) => c.people.dirtyUpdate(k, (r) => ({ age: r.age + 1 })),
      ),
      row(
        'nestjs-memory-store update(k, { $inc: { age: 1 } }) (promise; await each)',
        (c) => (k) => c.people.update(k, INC),
        { mode: 'await' },
      ),
      row(
        'reference: Map get + spread + set',
        (c) => (k) => {
          const r = c.map.get(k);
          c.map.set(k, { ...r, age: r.age + 1 });
          return r.age;
        },
        { note: 'the least an update by key costs' },
      ),
    ],
    after: (c, d, suite) =>
      suite.check(c.people.get(d.keys[0]).age > c.before, '$inc changed the record'),
  },
];

export async function runUpdateOperators(suite) {
  const size = N.toLocaleString('en-US');
  suite.section('update-operators', `issue 18: update operators ($inc) on ${size} records`);
  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  await runTable(suite, {
    cases: CASES,
    data: { records, keys },
    subjects: [
      {
        name: 'nestjs-memory-store',
        build: async () => {
          suite.progress(`update-operators: booting Nest and loading ${size} records...`);
          const { app, people } = await bootStores();
          await people.writeMany(records);
          const map = new Map(records.map((r) => [r.id, { ...r }]));
          return { app, people, map, before: people.get(keys[0]).age };
        },
        close: (c) => c.app.close(),
      },
    ],
  });
}
