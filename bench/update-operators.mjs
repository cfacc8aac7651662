// The "update-operators" section (issue 18, update operators): `update(k, { $inc: { age: 1 } })`
// against what a user writes without operators (get + spread + dirtyWrite, or an update
// function), and a Map floor (get + spread + set), on 100,000 records with shuffled keys.
// The ratio is against get + spread + dirtyWrite: >= 1 means the operator is not slower than
// writing the record back by hand.

import { sink } from './harness.mjs';
import { makeRecords, shuffledKeys } from './data.mjs';
import { bootStores } from './stores.mjs';
import { entry } from './suite.mjs';

const N = 100_000;
const INC = { $inc: { age: 1 } };

export async function runUpdateOperators(suite) {
  const size = N.toLocaleString('en-US');
  suite.section('update-operators', `issue 18: update operators ($inc) on ${size} records`);
  const group = suite.group(
    `increment one field of a record by key, ${size} records, shuffled keys`,
    {
      comment:
        'ratio = (get + spread + dirtyWrite) ns / case ns; the Map floor copies no value, ' +
        'validates nothing and keeps no index',
    },
  );
  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  suite.progress(`update-operators: booting Nest and loading ${size} records...`);
  const { app, people } = await bootStores();
  await people.writeMany(records);
  const map = new Map(records.map((r) => [r.id, { ...r }]));
  const before = people.get(keys[0]).age;

  await suite.measure([
    entry(
      group,
      'nestjs-memory-store get + spread + dirtyWrite (sync)',
      getSpreadWrite(people, keys),
      {
        baseline: true,
      },
    ),
    entry(
      group,
      'nestjs-memory-store dirtyUpdate(k, { $inc: { age: 1 } }) (sync)',
      dirtyInc(people, keys),
    ),
    entry(
      group,
      'nestjs-memory-store dirtyUpdate(k, (r) => ({ age: r.age + 1 })) (sync)',
      dirtyFunction(people, keys),
    ),
    entry(
      group,
      'nestjs-memory-store update(k, { $inc: { age: 1 } }) (promise; await each)',
      awaitedInc(people, keys),
    ),
    entry(group, 'reference: Map get + spread + set', mapFloor(map, keys), {
      note: 'the least an update by key costs',
    }),
  ]);
  suite.check(people.get(keys[0]).age > before, '$inc changed the record');
  await app.close();
}

// ---- cases, one function literal each (see cases.mjs) ---------------------------------------

function getSpreadWrite(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = store.get(keys[j]);
      store.dirtyWrite({ ...r, age: r.age + 1 });
      if (++j === keys.length) j = 0;
    }
  };
}

function dirtyInc(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyUpdate(keys[j], INC);
      if (++j === keys.length) j = 0;
    }
  };
}

function dirtyFunction(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyUpdate(keys[j], (r) => ({ age: r.age + 1 }));
      if (++j === keys.length) j = 0;
    }
  };
}

function awaitedInc(store, keys) {
  let j = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await store.update(keys[j], INC);
      if (++j === keys.length) j = 0;
    }
  };
}

function mapFloor(map, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      const r = map.get(k);
      map.set(k, { ...r, age: r.age + 1 });
      s += r.age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}
