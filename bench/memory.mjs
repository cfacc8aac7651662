// The "memory" section (issue 20): heap bytes per record of a table of 1,000,000 records
// (BENCH_MEMORY_RECORDS) with two hash indexes (department, 10 values; age, 50 values),
// against the floor a hand-written copying store pays: a Map holding a frozen copy of each
// record (an instance of its class) and two hand-kept indexes `Map<value, Set<key>>`.
//
// Method: the input records are made first and stay alive throughout (both sides share their
// strings); heapUsed is read after a full gc() before and after each side is built, and the
// difference divided by the record count. The floor is dropped (and collected) before the
// store is loaded; the Nest application is booted before the store's first reading, so its
// own footprint is not counted.

import { bootStores, TwoIndexPerson } from './stores.mjs';
import { collectGarbage } from './harness.mjs';
import { makeRecords } from './data.mjs';
import { formatMs, timeOnce } from './suite.mjs';

const N = Number(process.env.BENCH_MEMORY_RECORDS ?? 1_000_000);
/** Issue 20: bytes per record at most 1.5x the floor's (ratio = floor / ours >= 1 / 1.5). */
const MEMORY_TARGET = 1 / 1.5;

function heapUsed() {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** The floor's copy: a frozen instance of the record's class, its fields assigned by name. */
const copy = (r) => {
  const p = new TwoIndexPerson();
  p.id = r.id;
  p.department = r.department;
  p.age = r.age;
  p.active = r.active;
  p.email = r.email;
  return Object.freeze(p);
};

function handIndex(map, field) {
  const index = new Map();
  for (const r of map.values()) {
    let bucket = index.get(r[field]);
    if (!bucket) index.set(r[field], (bucket = new Set()));
    bucket.add(r.id);
  }
  return index;
}

export async function runMemory(suite) {
  const size = N.toLocaleString('en-US');
  suite.section('memory', `issue 20: heap bytes per record (${size} records, two indexes)`);
  if (typeof globalThis.gc !== 'function') {
    suite.warn('memory: no gc() (run with --expose-gc): the figures include garbage');
  }
  const group = suite.values(
    `heap bytes per record, ${size} records of 5 fields, indexes on department and age`,
    {
      comment:
        'heapUsed after a full gc, before and after the table is built, / records; ratio = floor / ' +
        "this (the target, >= 0.67, is issue 20's: at most 1.5x the floor's bytes)",
    },
  );
  suite.progress(`memory: making ${size} records...`);
  const records = makeRecords(N);

  // ---- the floor ------------------------------------------------------------------------
  {
    const before = heapUsed();
    let map = new Map();
    for (const r of records) map.set(r.id, copy(r));
    const mapOnly = heapUsed();
    let indexes = [handIndex(map, 'department'), handIndex(map, 'age')];
    const after = heapUsed();
    suite.check(map.size === N && indexes[0].size === 10, 'memory: the floor holds every record');
    suite.value(group, {
      label:
        'floor: Map<key, frozen class instance> + Map<department, Set<key>> + Map<age, Set<key>>',
      value: (after - before) / N,
      unit: 'B/record',
      baseline: true,
    });
    suite.value(group, {
      label: 'reference: the Map of frozen copies alone (no index)',
      value: (mapOnly - before) / N,
      unit: 'B/record',
      note: 'what the indexes add to the floor is the difference',
    });
    map = undefined;
    indexes = undefined;
  }

  // ---- nestjs-memory-store --------------------------------------------------------------
  suite.progress('memory: booting Nest and loading the store...');
  const { app, twoIndexes } = await bootStores();
  const before = heapUsed();
  const [, loadMs] = await timeOnce(() => twoIndexes.writeMany(records));
  // Both indexes answer a query once, in case one is built on first use.
  const d3 = twoIndexes.select({ department: 'd3' }).length;
  const age30 = twoIndexes.select({ age: 30 }).length;
  const after = heapUsed();
  suite.check(twoIndexes.size === N, 'memory: store size after load');
  suite.check(
    d3 === records.filter((r) => r.department === 'd3').length &&
      age30 === records.filter((r) => r.age === 30).length,
    'memory: the indexed selects',
  );
  const plans = ['department', 'age'].map((f) => twoIndexes.explain({ [f]: 'x' }).strategy);
  const value = (after - before) / N;
  suite.value(group, {
    label: 'nestjs-memory-store table with indexes on department and age',
    value,
    unit: 'B/record',
    target: MEMORY_TARGET,
    issue: '#20',
    note:
      `${(value / group.baseline.value).toFixed(2)}x the floor's bytes; writeMany took ` +
      `${formatMs(loadMs)}; plans: ${plans.join(', ')}`,
  });
  await app.close();
}
