// The "core" section (issue 2, with issue 20's write rows): get, write, update, delete +
// re-insert and select on nestjs-memory-store against native Map/Array baselines, hand-written
// floors and peer libraries, over the same 100,000 records. One case per entry of CASES (see
// table.mjs); run in order, so the small-table case, which empties the stores, comes last.

import { row, runTable, BATCH } from './table.mjs';
import { bootStores, IndexedPerson, Person } from './stores.mjs';
import { buildLoki, buildLru, buildNodeCache } from './peers.mjs';
import {
  makeRecords,
  makeReplacements,
  matchesQuery,
  RECORD_COUNT,
  shuffledKeys,
} from './data.mjs';

const N = RECORD_COUNT;
/** Records in the small-table case, where a query's fixed cost shows. */
const SMALL = 50;
const WRITE_TARGET = 0.3; // issue 2
const T20 = '#20';

/**
 * What a hand-written copying store does with a record: a frozen instance of its class. One
 * function per class on purpose: a shared one would see both classes and be slower for each,
 * flattering the store against this reference.
 */
const copyPerson = (r) => {
  const p = new Person();
  p.id = r.id;
  p.department = r.department;
  p.age = r.age;
  p.active = r.active;
  p.email = r.email;
  return Object.freeze(p);
};
const copyIndexedPerson = (r) => {
  const p = new IndexedPerson();
  p.id = r.id;
  p.department = r.department;
  p.age = r.age;
  p.active = r.active;
  p.email = r.email;
  return Object.freeze(p);
};

/** The age written by the i-th update of a call. */
const age = (i) => 18 + (i & 63);
const keysOf = (d) => d.keys;
const replOf = (d) => d.repl;
/** Queries take no input: the loop walks a list of one. */
const once = () => [0];
const d3Active = (r) => r.department === 'd3' && r.active === true;

// ---- the hand-written floors: each stores a frozen copy of the record's class ---------------

/** Map.set behind a promise, awaited: what the promise protocol alone costs. */
const awaitedMapSet = (map) => async (r) => {
  map.set(r.id, r);
  return r;
};

/** A copying write behind a promise, awaited: the least a copying, promise-returning write costs. */
const awaitedCopySet = (map) => async (r) => {
  const record = copyPerson(r);
  map.set(record.id, record);
  return record;
};

/**
 * A copy stored with Map.set and in a hand-built index on department
 * (`Map<department, Map<key, record>>`): the old record's department is read to find its
 * bucket, as any index must, and the bucket's entry replaced.
 */
const indexedCopySet = (map, buckets) => (r) => {
  const record = copyIndexedPerson(r);
  const previous = map.get(record.id);
  map.set(record.id, record);
  if (previous.department === record.department) {
    buckets.get(record.department).set(record.id, record);
  } else {
    buckets.get(previous.department).delete(record.id);
    buckets.get(record.department).set(record.id, record);
  }
};

const CASES = [
  {
    id: 'get',
    title: 'get by key',
    inputs: keysOf,
    fold: true,
    baseline: row('Map.get', (c) => (k) => c.map.get(k).age),
    rows: [
      row('nestjs-memory-store get', (c) => (k) => c.people.get(k).age, {
        target: 0.8,
        issue: T20,
      }),
    ],
    peers: {
      lru: [row('lru-cache get', (c) => (k) => c.lru.get(k).age)],
      nodeCache: [row('node-cache get (useClones: false)', (c) => (k) => c.cache.get(k).age)],
      nodeCacheClones: [
        row('node-cache get (default: useClones true)', (c) => (k) => c.cache.get(k).age),
      ],
      loki: [row("LokiJS by('id', k)", (c) => (k) => c.loki.by('id', k).age)],
    },
  },
  {
    id: 'write',
    title: 'write: replace an existing record',
    comment:
      'the store copies, freezes and stores a new record per write; Map.set stores the given object',
    inputs: replOf,
    baseline: row('Map.set', (c) => (r) => c.map.set(r.id, r)),
    rows: [
      row(
        'reference: Map.set(k, Object.freeze({ ...r }))',
        (c) => (r) => c.map.set(r.id, Object.freeze({ ...r })),
        { note: 'the least any copying store does' },
      ),
      row(
        'reference: await of an async function doing Map.set, one at a time',
        (c) => awaitedMapSet(c.map),
        { mode: 'await', note: 'the least any promise-returning write costs, copying nothing' },
      ),
      row(
        'reference: await of an async function doing a hand-written copy into the class, freeze, Map.set',
        (c) => awaitedCopySet(c.copyMap),
        { mode: 'await', note: 'the least a copying, promise-returning write costs' },
      ),
      row('nestjs-memory-store dirtyWrite (sync)', (c) => (r) => c.people.dirtyWrite(r), {
        target: WRITE_TARGET,
      }),
      row(
        `nestjs-memory-store write (promise; batches of ${BATCH} calls, then await Promise.all)`,
        (c) => (r) => c.people.write(r),
        { mode: 'batch', target: WRITE_TARGET },
      ),
      row(
        'nestjs-memory-store write (promise; await each in turn)',
        (c) => (r) => c.people.write(r),
        { mode: 'await', target: WRITE_TARGET },
      ),
      row(
        'nestjs-memory-store dirtyWrite (sync), table with an index on department',
        (c) => (r) => c.indexed.dirtyWrite(r),
        { target: WRITE_TARGET },
      ),
      row(
        'reference: hand-written copy into the class, freeze, Map.set and a hand-built index on department',
        (c) => indexedCopySet(c.indexedCopyMap, c.copyBuckets),
        { note: 'the least a copying write to an indexed table costs' },
      ),
    ],
    after: (c, d, suite) =>
      suite.check(c.people.get(d.keys[0]).age === d.repl[0].age, 'dirtyWrite replaced the record'),
    peers: {
      lru: [row('lru-cache set', (c) => (r) => c.lru.set(r.id, r))],
      nodeCache: [row('node-cache set (useClones: false)', (c) => (r) => c.cache.set(r.id, r))],
      nodeCacheClones: [
        row('node-cache set (default: useClones true)', (c) => (r) => c.cache.set(r.id, r)),
      ],
      loki: [
        // Loki has no upsert: replace the stored document by a new one carrying its $loki, meta.
        row("LokiJS by('id') + update({ ...r, $loki, meta }) (replace)", (c) => (r) => {
          const old = c.loki.by('id', r.id);
          c.loki.update({ ...r, $loki: old.$loki, meta: old.meta });
        }),
      ],
    },
  },
  {
    id: 'awaitedFloor',
    title: 'awaited write against the hand-written awaited floor',
    inputs: replOf,
    baseline: row(
      'reference: await of an async function doing a hand-written copy into the class, freeze, Map.set',
      (c) => awaitedCopySet(c.copyMap),
      { mode: 'await' },
    ),
    rows: [
      row(
        'nestjs-memory-store write (promise; await each in turn)',
        (c) => (r) => c.people.write(r),
        { mode: 'await', target: 0.8, issue: T20 },
      ),
    ],
  },
  {
    id: 'indexedFloor',
    title: 'write on a table with an index on department against the hand-written indexed floor',
    comment: "the floor's index is a hand-built Map<department, Map<key, record>>",
    inputs: replOf,
    baseline: row(
      'reference: hand-written copy into the class, freeze, Map.set and a hand-built index on department',
      (c) => indexedCopySet(c.indexedCopyMap, c.copyBuckets),
    ),
    rows: [
      row(
        'nestjs-memory-store dirtyWrite (sync), table with an index on department',
        (c) => (r) => c.indexed.dirtyWrite(r),
        { target: 0.8, issue: T20 },
      ),
    ],
  },
  {
    id: 'update',
    title: 'update(key, { age }): patch one field',
    inputs: keysOf,
    baseline: row(
      'Map get + spread + set',
      (c) => (k, i) => c.map.set(k, { ...c.map.get(k), age: age(i) }),
    ),
    rows: [
      row(
        'nestjs-memory-store dirtyUpdate (sync)',
        (c) => (k, i) => c.people.dirtyUpdate(k, { age: age(i) }),
        {
          target: WRITE_TARGET,
        },
      ),
      row(
        `nestjs-memory-store update (promise; batches of ${BATCH} calls, then await Promise.all)`,
        (c) => (k, i) => c.people.update(k, { age: age(i) }),
        { mode: 'batch', target: WRITE_TARGET },
      ),
      row(
        'nestjs-memory-store update (promise; await each in turn)',
        (c) => (k, i) => c.people.update(k, { age: age(i) }),
        { mode: 'await', target: WRITE_TARGET },
      ),
    ],
    peers: {
      lru: [
        row(
          'lru-cache get + spread + set',
          (c) => (k, i) => c.lru.set(k, { ...c.lru.get(k), age: age(i) }),
        ),
      ],
      nodeCache: [
        row(
          'node-cache get + spread + set (useClones: false)',
          (c) => (k, i) => c.cache.set(k, { ...c.cache.get(k), age: age(i) }),
        ),
      ],
      nodeCacheClones: [
        row(
          'node-cache get + spread + set (default: useClones true)',
          (c) => (k, i) => c.cache.set(k, { ...c.cache.get(k), age: age(i) }),
        ),
      ],
      loki: [
        // Loki's idiom: documents are mutable; change the field, then tell the collection.
        row("LokiJS by('id') + set field + update(doc)", (c) => (k, i) => {
          const doc = c.loki.by('id', k);
          doc.age = age(i);
          c.loki.update(doc);
        }),
      ],
    },
  },
  {
    id: 'updateTwoIndexes',
    title:
      'update(key, { age }) on a table with two hash indexes (department, age): the indexed field changes',
    inputs: keysOf,
    baseline: row(
      'Map get + spread + set',
      (c) => (k, i) => c.map.set(k, { ...c.map.get(k), age: age(i) }),
    ),
    rows: [
      row(
        'nestjs-memory-store dirtyUpdate (sync), two indexes',
        (c) => (k, i) => c.twoIndexes.dirtyUpdate(k, { age: age(i) }),
        { target: 0.3, issue: T20 },
      ),
      row(
        'nestjs-memory-store get + spread + dirtyWrite (sync), two indexes',
        (c) => (k, i) => c.twoIndexes.dirtyWrite({ ...c.twoIndexes.get(k), age: age(i) }),
        { target: 0.3, issue: T20 },
      ),
      row(
        'nestjs-memory-store update (promise; await each in turn), two indexes',
        (c) => (k, i) => c.twoIndexes.update(k, { age: age(i) }),
        { mode: 'await', target: 0.25, issue: T20 },
      ),
    ],
  },
  {
    id: 'dirtyUpdate',
    title: 'dirtyUpdate(key, { age }) against get + spread + dirtyWrite, table without index',
    inputs: keysOf,
    baseline: row(
      'nestjs-memory-store get + spread + dirtyWrite (sync)',
      (c) => (k, i) => c.people.dirtyWrite({ ...c.people.get(k), age: age(i) }),
    ),
    rows: [
      row(
        'nestjs-memory-store dirtyUpdate (sync)',
        (c) => (k, i) => c.people.dirtyUpdate(k, { age: age(i) }),
        {
          target: 1,
          issue: T20,
        },
      ),
    ],
  },
  {
    id: 'dirtyUpdateTwoIndexes',
    title:
      'dirtyUpdate(key, { age }) against get + spread + dirtyWrite, table with two hash indexes',
    inputs: keysOf,
    baseline: row(
      'nestjs-memory-store get + spread + dirtyWrite (sync), two indexes',
      (c) => (k, i) => c.twoIndexes.dirtyWrite({ ...c.twoIndexes.get(k), age: age(i) }),
    ),
    rows: [
      row(
        'nestjs-memory-store dirtyUpdate (sync), two indexes',
        (c) => (k, i) => c.twoIndexes.dirtyUpdate(k, { age: age(i) }),
        { target: 1, issue: T20 },
      ),
    ],
  },
  {
    id: 'cycle',
    title: 'delete + re-insert (one op = one delete and one insert)',
    inputs: keysOf,
    baseline: row('Map get + delete + set', (c) => (k) => {
      const r = c.map.get(k);
      c.map.delete(k);
      c.map.set(k, r);
    }),
    rows: [
      row(
        'nestjs-memory-store dirtyInsert(dirtyDelete(k)) (sync)',
        (c) => (k) => c.people.dirtyInsert(c.people.dirtyDelete(k)),
        { target: WRITE_TARGET },
      ),
      row(
        `nestjs-memory-store get, delete, insert (promises; batches of ${BATCH}, then await Promise.all)`,
        // The insert's promise stands for both: the table applies the delete before it.
        (c) => (k) => {
          const r = c.people.get(k);
          c.people.delete(k);
          return c.people.insert(r);
        },
        { mode: 'batch', target: WRITE_TARGET },
      ),
      row(
        'nestjs-memory-store insert(await delete(k)) (promises; await each in turn)',
        (c) => async (k) => c.people.insert(await c.people.delete(k)),
        { mode: 'await', target: WRITE_TARGET },
      ),
    ],
    after: (c, d, suite) =>
      suite.check(
        c.people.size === N && c.map.size === N,
        'sizes after the delete/re-insert cycles',
      ),
    peers: {
      lru: [
        row('lru-cache get + delete + set', (c) => (k) => {
          const r = c.lru.get(k);
          c.lru.delete(k);
          c.lru.set(k, r);
        }),
      ],
      nodeCache: [
        row('node-cache get + del + set (useClones: false)', (c) => (k) => {
          const r = c.cache.get(k);
          c.cache.del(k);
          c.cache.set(k, r);
        }),
      ],
      nodeCacheClones: [
        row('node-cache get + del + set (default: useClones true)', (c) => (k) => {
          const r = c.cache.get(k);
          c.cache.del(k);
          c.cache.set(k, r);
        }),
      ],
      loki: [
        row("LokiJS by('id') + remove + insert", (c) => (k) => {
          const doc = c.loki.by('id', k);
          c.loki.remove(doc);
          c.loki.insert(doc);
        }),
      ],
    },
  },
  {
    id: 'scan',
    title: (d) =>
      `select { department: 'd3', active: true }, no index (${d.expectedMatches} matches)`,
    inputs: once,
    fold: true,
    baseline: row(
      'Array.prototype.filter, hand-written predicate',
      (c) => () => c.array.filter(d3Active).length,
    ),
    rows: [
      row(
        'nestjs-memory-store select (scan)',
        (c) => () => c.people.select({ department: 'd3', active: true }).length,
      ),
    ],
  },
  {
    id: 'indexed',
    title: (d) =>
      `select { department: 'd3', active: true }, department indexed (${d.expectedMatches} matches)`,
    inputs: once,
    fold: true,
    baseline: row('Map<department, Set<key>> + Map.get, hand-written', (c) => () => {
      const out = [];
      for (const k of c.deptIndex.get('d3')) {
        const r = c.map.get(k);
        if (r.active === true) out.push(r);
      }
      return out.length;
    }),
    rows: [
      row(
        'nestjs-memory-store select (index on department)',
        (c) => () => c.indexed.select({ department: 'd3', active: true }).length,
      ),
    ],
    peers: {
      loki: [
        row(
          "LokiJS find({ department: 'd3', active: true }) (binary index)",
          (c) => () => c.loki.find({ department: 'd3', active: true }).length,
        ),
      ],
    },
  },
  {
    id: 'validatedWrite',
    title: 'cost of validation on write (class-validator: IsString x2, IsInt, IsBoolean, IsEmail)',
    inputs: replOf,
    baseline: row(
      'nestjs-memory-store dirtyWrite, no validation',
      (c) => (r) => c.people.dirtyWrite(r),
    ),
    rows: [
      row('validated table: dirtyWrite (sync)', (c) => (r) => c.validated.dirtyWrite(r), {
        vs: { case: 'write' },
      }),
      row(
        `validated table: write (promise; batches of ${BATCH} calls, then await Promise.all)`,
        (c) => (r) => c.validated.write(r),
        { mode: 'batch', vs: { case: 'write' } },
      ),
    ],
  },
  {
    id: 'validatedUpdate',
    title: 'cost of validation on update',
    inputs: keysOf,
    baseline: row(
      'nestjs-memory-store dirtyUpdate, no validation',
      (c) => (k, i) => c.people.dirtyUpdate(k, { age: age(i) }),
    ),
    rows: [
      row(
        'validated table: dirtyUpdate (sync)',
        (c) => (k, i) => c.validated.dirtyUpdate(k, { age: age(i) }),
        { vs: { case: 'update' } },
      ),
    ],
  },
  {
    id: 'small',
    title: `select { department: 'd3', active: true } on a table of ${SMALL} records`,
    comment:
      'the fixed cost of a query (parse, plan, filter), as with feature flags, settings or reference data',
    inputs: once,
    fold: true,
    // Empties the stores and loads the first SMALL records: this case runs last.
    before: (c, d) => {
      for (const store of [c.people, c.indexed]) {
        store.dirtyDeleteAll();
        store.dirtyWriteMany(d.small);
      }
    },
    baseline: row(
      'Array.prototype.filter, hand-written predicate',
      (c) => () => c.small.filter(d3Active).length,
    ),
    rows: [
      row(
        'nestjs-memory-store select (scan)',
        (c) => () => c.people.select({ department: 'd3', active: true }).length,
        {
          target: 0.5,
          issue: T20,
        },
      ),
      row(
        'nestjs-memory-store select (index on department)',
        (c) => () => c.indexed.select({ department: 'd3', active: true }).length,
        { target: 0.5, issue: T20 },
      ),
    ],
    after: (c, d, suite) =>
      suite.check(
        c.people.select({ department: 'd3', active: true }).length ===
          d.small.filter(matchesQuery).length,
        'small-table select count',
      ),
  },
];

/** nestjs-memory-store, its baselines and the hand-written floors, over the same records. */
async function buildOurs(d, suite) {
  const { records, keys } = d;
  const map = new Map(records.map((r) => [r.id, r]));
  /** A hand-built secondary index: department -> Set of keys. */
  const deptIndex = new Map();
  for (const r of records) {
    let bucket = deptIndex.get(r.department);
    if (!bucket) deptIndex.set(r.department, (bucket = new Set()));
    bucket.add(r.id);
  }
  /** The hand-written copying floors' own tables: frozen class instances, as stored. */
  const copyMap = new Map(records.map((r) => [r.id, copyPerson(r)]));
  const indexedCopyMap = new Map(records.map((r) => [r.id, copyIndexedPerson(r)]));
  const copyBuckets = new Map();
  for (const r of indexedCopyMap.values()) {
    let bucket = copyBuckets.get(r.department);
    if (!bucket) copyBuckets.set(r.department, (bucket = new Map()));
    bucket.set(r.id, r);
  }
  const stores = await bootStores();
  for (const store of [stores.people, stores.indexed, stores.validated, stores.twoIndexes]) {
    await store.writeMany(records);
  }
  const { people, indexed, validated } = stores;
  suite.check(
    people.size === N && indexed.size === N && validated.size === N,
    'store sizes after load',
  );
  suite.check(
    people.get(keys[0])?.email === map.get(keys[0]).email,
    'store.get returns the record',
  );
  suite.check(Object.isFrozen(people.get(keys[0])), 'stored records are frozen');
  suite.check(
    people.select({ department: 'd3', active: true }).length === d.expectedMatches &&
      indexed.select({ department: 'd3', active: true }).length === d.expectedMatches,
    'select counts',
  );
  let rejected = false;
  try {
    validated.dirtyWrite({ ...d.repl[0], email: 'not an email' });
  } catch {
    rejected = true;
  }
  suite.check(rejected, 'the validated table rejects an invalid email');
  return {
    ...stores,
    map,
    array: records.slice(),
    small: d.small,
    deptIndex,
    copyMap,
    indexedCopyMap,
    copyBuckets,
  };
}

/** Runs the section into `suite` (a new section of it). */
export async function runCore(suite) {
  suite.section(
    'core',
    `issues 2 and 20: get, write, update, delete + re-insert, select (${N.toLocaleString('en-US')} records)`,
  );
  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const replacementById = new Map(makeReplacements(records).map((r) => [r.id, r]));
  const data = {
    records,
    keys,
    /** Replacement records in the order of `keys`: `repl[j]` replaces the record `keys[j]`. */
    repl: keys.map((k) => replacementById.get(k)),
    small: records.slice(0, SMALL),
    expectedMatches: records.filter(matchesQuery).length,
  };
  replacementById.clear();
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
        build: (d) => buildOurs(d, suite),
        close: (c) => c.app.close(),
      },
      { name: 'lru', build: (d) => ({ lru: buildLru(d.records) }) },
      {
        name: 'nodeCache',
        build: (d) => ({ cache: buildNodeCache(d.records, false) }),
        close: (c) => c.cache.close(),
      },
      {
        name: 'nodeCacheClones',
        build: (d) => ({ cache: buildNodeCache(d.records, undefined) }),
        close: (c) => c.cache.close(),
      },
      {
        name: 'loki',
        build: (d) => {
          const { db, people } = buildLoki(d.records);
          suite.check(
            people.find({ department: 'd3', active: true }).length === d.expectedMatches,
            'loki count',
          );
          return { db, loki: people };
        },
        close: (c) => {
          suite.check(c.loki.count() === N, 'loki size');
          c.db.close();
        },
      },
    ],
  });
}
