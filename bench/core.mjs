// The issue-2 section ("core"): get, write, update, delete + re-insert and select on
// nestjs-memory-store against native Map/Array baselines and peer libraries, over the same
// 100,000 records.

import * as cases from './cases.mjs';
import { bootStores, IndexedPerson, Person } from './stores.mjs';
import { collectGarbage } from './harness.mjs';
import { buildLoki, buildLru, buildNodeCache } from './peers.mjs';
import { formatRatio } from './report.mjs';
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
const GET_TARGET = 0.5;

/**
 * What a hand-written copying store does with a record: a frozen instance of its class. One
 * function per class on purpose (see cases.mjs): a shared one would see both classes and be
 * slower for each, flattering the store against this reference.
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
const WRITE_TARGET = 0.3;

/** Runs the section into `suite` (a new section of it). */
export async function runCore(suite) {
  suite.section(
    'core',
    `issue 2: get, write, update, delete + re-insert, select (${N.toLocaleString('en-US')} records)`,
  );

  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const byId = new Map(records.map((r) => [r.id, r]));
  const replacementById = new Map(makeReplacements(records).map((r) => [r.id, r]));
  /** Replacement records in the order of `keys`: `repl[j]` replaces the record `keys[j]`. */
  const repl = keys.map((k) => replacementById.get(k));
  replacementById.clear();
  const expectedMatches = records.filter(matchesQuery).length;

  const group = (title, comment) => suite.group(title, { comment });
  const GROUPS = {
    get: group('get by key'),
    write: group(
      'write: replace an existing record',
      'the store copies, freezes and stores a new record per write; Map.set stores the given object',
    ),
    update: group('update(key, { age }): patch one field'),
    cycle: group('delete + re-insert (one op = one delete and one insert)'),
    scan: group(`select { department: 'd3', active: true }, no index (${expectedMatches} matches)`),
    indexed: group(
      `select { department: 'd3', active: true }, department indexed (${expectedMatches} matches)`,
    ),
    small: group(
      `select { department: 'd3', active: true } on a table of ${SMALL} records`,
      'the fixed cost of a query (parse, plan, filter), as with feature flags, settings or reference data',
    ),
    validatedWrite: group(
      'cost of validation on write (class-validator: IsString x2, IsInt, IsBoolean, IsEmail)',
    ),
    validatedUpdate: group('cost of validation on update'),
  };

  /** A case: `run(n)` performs n operations of `label`, filed under `group`. */
  const entry = (key, label, run, extra = {}) => ({ group: GROUPS[key], label, run, ...extra });
  const measureBatch = (batch) => suite.measure(batch);
  const progress = (message) => suite.progress(message);
  const check = (condition, message) => suite.check(condition, message);

  // ---- nestjs-memory-store and the native baselines, measured side by side -----------------

  async function benchBaselinesAndStores() {
    const map = new Map(records.map((r) => [r.id, r]));
    const array = records.slice();
    /** A hand-built secondary index: department -> Set of keys. */
    const deptIndex = new Map();
    for (const r of records) {
      let bucket = deptIndex.get(r.department);
      if (!bucket) deptIndex.set(r.department, (bucket = new Set()));
      bucket.add(r.id);
    }

    /** The hand-written copying references' own tables: frozen class instances, as stored. */
    const copyMap = new Map(records.map((r) => [r.id, copyPerson(r)]));
    const indexedCopyMap = new Map(records.map((r) => [r.id, copyIndexedPerson(r)]));
    const copyBuckets = new Map();
    for (const r of indexedCopyMap.values()) {
      let bucket = copyBuckets.get(r.department);
      if (!bucket) copyBuckets.set(r.department, (bucket = new Map()));
      bucket.set(r.id, r);
    }

    progress('booting Nest and loading the stores...');
    const { app, people, indexed, validated } = await bootStores();
    await people.writeMany(records);
    await indexed.writeMany(records);
    await validated.writeMany(records);
    check(
      people.size === N && indexed.size === N && validated.size === N,
      'store sizes after load',
    );
    check(people.get(keys[0])?.email === byId.get(keys[0]).email, 'store.get returns the record');
    check(Object.isFrozen(people.get(keys[0])), 'stored records are frozen');

    const B = cases.BATCH;
    await measureBatch([
      entry('get', 'Map.get', cases.mapGet(map, keys), { baseline: true }),
      entry('get', 'nestjs-memory-store get', cases.storeGet(people, keys), { target: GET_TARGET }),
    ]);

    await measureBatch([
      entry('write', 'Map.set', cases.mapSet(map, repl), { baseline: true }),
      entry(
        'write',
        'reference: Map.set(k, Object.freeze({ ...r }))',
        cases.mapSetFrozenCopy(map, repl),
        { note: 'the least any copying store does' },
      ),
      entry(
        'write',
        'reference: await of an async function doing Map.set, one at a time',
        cases.mapSetAwaited(map, repl),
        { note: 'the least any promise-returning write costs, copying nothing' },
      ),
      entry(
        'write',
        'reference: await of an async function doing a hand-written copy into the class, freeze, Map.set',
        cases.mapSetCopyAwaited(copyMap, repl, copyPerson),
        { note: 'the least a copying, promise-returning write costs' },
      ),
      entry('write', 'nestjs-memory-store dirtyWrite (sync)', cases.storeDirtyWrite(people, repl), {
        target: WRITE_TARGET,
      }),
      entry(
        'write',
        `nestjs-memory-store write (promise; batches of ${B} calls, then await Promise.all)`,
        cases.storeWriteBatch(people, repl),
        { target: WRITE_TARGET },
      ),
      entry(
        'write',
        'nestjs-memory-store write (promise; await each in turn)',
        cases.storeWriteSequential(people, repl),
        { target: WRITE_TARGET },
      ),
      entry(
        'write',
        'nestjs-memory-store dirtyWrite (sync), table with an index on department',
        cases.indexedStoreDirtyWrite(indexed, repl),
        { target: WRITE_TARGET },
      ),
      entry(
        'write',
        'reference: hand-written copy into the class, freeze, Map.set and a hand-built index on department',
        cases.mapSetCopyIndexed(indexedCopyMap, copyBuckets, repl, copyIndexedPerson),
        { note: 'the least a copying write to an indexed table costs' },
      ),
    ]);
    check(people.get(keys[0]).age === repl[0].age, 'dirtyWrite replaced the record');

    await measureBatch([
      entry('update', 'Map get + spread + set', cases.mapUpdate(map, keys), { baseline: true }),
      entry(
        'update',
        'nestjs-memory-store dirtyUpdate (sync)',
        cases.storeDirtyUpdate(people, keys),
        {
          target: WRITE_TARGET,
        },
      ),
      entry(
        'update',
        `nestjs-memory-store update (promise; batches of ${B} calls, then await Promise.all)`,
        cases.storeUpdateBatch(people, keys),
        { target: WRITE_TARGET },
      ),
      entry(
        'update',
        'nestjs-memory-store update (promise; await each in turn)',
        cases.storeUpdateSequential(people, keys),
        { target: WRITE_TARGET },
      ),
    ]);

    await measureBatch([
      entry('cycle', 'Map get + delete + set', cases.mapCycle(map, keys), { baseline: true }),
      entry(
        'cycle',
        'nestjs-memory-store dirtyInsert(dirtyDelete(k)) (sync)',
        cases.storeDirtyCycle(people, keys),
        { target: WRITE_TARGET },
      ),
      entry(
        'cycle',
        `nestjs-memory-store get, delete, insert (promises; batches of ${B}, then await Promise.all)`,
        cases.storeCycleBatch(people, keys),
        { target: WRITE_TARGET },
      ),
      entry(
        'cycle',
        'nestjs-memory-store insert(await delete(k)) (promises; await each in turn)',
        cases.storeCycleSequential(people, keys),
        { target: WRITE_TARGET },
      ),
    ]);
    check(people.size === N && map.size === N, 'sizes after the delete/re-insert cycles');

    check(
      people.select({ department: 'd3', active: true }).length === expectedMatches,
      'scan count',
    );
    await measureBatch([
      entry('scan', 'Array.prototype.filter, hand-written predicate', cases.arrayFilter(array), {
        baseline: true,
      }),
      entry('scan', 'nestjs-memory-store select (scan)', cases.storeSelectScan(people)),
    ]);

    let handCount = 0;
    for (const k of deptIndex.get('d3')) if (map.get(k).active === true) handCount++;
    check(handCount === expectedMatches, 'hand-built index count');
    check(
      indexed.select({ department: 'd3', active: true }).length === expectedMatches,
      'indexed select count',
    );
    await measureBatch([
      entry(
        'indexed',
        'Map<department, Set<key>> + Map.get, hand-written',
        cases.handIndexSelect(deptIndex, map),
        { baseline: true },
      ),
      entry(
        'indexed',
        'nestjs-memory-store select (index on department)',
        cases.storeSelectIndexed(indexed),
      ),
    ]);

    // Validation: each validated row against the same operation without validation, both
    // measured in the same batch.
    const mapSetNs = GROUPS.write.baseline.nsPerOp;
    const mapUpdateNs = GROUPS.update.baseline.nsPerOp;
    const [, validWrite, validWriteBatch] = await measureBatch([
      entry(
        'validatedWrite',
        'nestjs-memory-store dirtyWrite, no validation',
        cases.storeDirtyWrite(people, repl),
        { baseline: true },
      ),
      entry(
        'validatedWrite',
        'validated table: dirtyWrite (sync)',
        cases.validatedStoreDirtyWrite(validated, repl),
      ),
      entry(
        'validatedWrite',
        `validated table: write (promise; batches of ${B} calls, then await Promise.all)`,
        cases.validatedStoreWriteBatch(validated, repl),
      ),
    ]);
    validWrite.note = `= ${formatRatio(mapSetNs / validWrite.nsPerOp)}x Map.set`;
    validWriteBatch.note = `= ${formatRatio(mapSetNs / validWriteBatch.nsPerOp)}x Map.set`;
    const [, validUpdate] = await measureBatch([
      entry(
        'validatedUpdate',
        'nestjs-memory-store dirtyUpdate, no validation',
        cases.storeDirtyUpdate(people, keys),
        { baseline: true },
      ),
      entry(
        'validatedUpdate',
        'validated table: dirtyUpdate (sync)',
        cases.validatedStoreDirtyUpdate(validated, keys),
      ),
    ]);
    validUpdate.note = `= ${formatRatio(mapUpdateNs / validUpdate.nsPerOp)}x Map get+spread+set`;

    let rejected = false;
    try {
      validated.dirtyWrite({ ...repl[0], email: 'not an email' });
    } catch {
      rejected = true;
    }
    check(rejected, 'the validated table rejects an invalid email');

    const small = records.slice(0, SMALL);
    for (const store of [people, indexed]) {
      store.dirtyDeleteAll();
      store.dirtyWriteMany(small);
    }
    const smallMatches = small.filter(matchesQuery).length;
    check(
      people.select({ department: 'd3', active: true }).length === smallMatches &&
        indexed.select({ department: 'd3', active: true }).length === smallMatches,
      'small-table select counts',
    );
    await measureBatch([
      entry('small', 'Array.prototype.filter, hand-written predicate', cases.arrayFilter(small), {
        baseline: true,
      }),
      entry('small', 'nestjs-memory-store select (scan)', cases.storeSelectScan(people)),
      entry(
        'small',
        'nestjs-memory-store select (index on department)',
        cases.storeSelectIndexed(indexed),
      ),
    ]);

    await app.close();
  }

  // ---- peer libraries, one at a time (each dropped before the next is built) ---------------

  async function benchLru() {
    progress('building lru-cache...');
    const lru = buildLru(records);
    await measureBatch([
      entry('get', 'lru-cache get', cases.lruGet(lru, keys)),
      entry('write', 'lru-cache set', cases.lruSet(lru, repl)),
      entry('update', 'lru-cache get + spread + set', cases.lruUpdate(lru, keys)),
      entry('cycle', 'lru-cache get + delete + set', cases.lruCycle(lru, keys)),
    ]);
    check(lru.size === N, 'lru-cache size');
  }

  async function benchNodeCache() {
    progress('building node-cache (useClones: false)...');
    const cache = buildNodeCache(records, false);
    await measureBatch([
      entry('get', 'node-cache get (useClones: false)', cases.nodeCacheGet(cache, keys)),
      entry('write', 'node-cache set (useClones: false)', cases.nodeCacheSet(cache, repl)),
      entry(
        'update',
        'node-cache get + spread + set (useClones: false)',
        cases.nodeCacheUpdate(cache, keys),
      ),
      entry(
        'cycle',
        'node-cache get + del + set (useClones: false)',
        cases.nodeCacheCycle(cache, keys),
      ),
    ]);
    check(cache.keys().length === N, 'node-cache size');
    cache.close();
  }

  async function benchNodeCacheCloning() {
    progress('building node-cache (default options: useClones true)...');
    const cache = buildNodeCache(records, undefined);
    await measureBatch([
      entry(
        'get',
        'node-cache get (default: useClones true)',
        cases.nodeCacheCloneGet(cache, keys),
      ),
      entry(
        'write',
        'node-cache set (default: useClones true)',
        cases.nodeCacheCloneSet(cache, repl),
      ),
      entry(
        'update',
        'node-cache get + spread + set (default: useClones true)',
        cases.nodeCacheCloneUpdate(cache, keys),
      ),
      entry(
        'cycle',
        'node-cache get + del + set (default: useClones true)',
        cases.nodeCacheCloneCycle(cache, keys),
      ),
    ]);
    check(cache.keys().length === N, 'node-cache (cloning) size');
    cache.close();
  }

  async function benchLoki() {
    progress('building LokiJS...');
    const { db, people } = buildLoki(records);
    check(people.find({ department: 'd3', active: true }).length === expectedMatches, 'loki count');
    await measureBatch([
      entry('get', "LokiJS by('id', k)", cases.lokiGet(people, keys)),
      entry(
        'write',
        "LokiJS by('id') + update({ ...r, $loki, meta }) (replace)",
        cases.lokiReplace(people, repl),
      ),
      entry('update', "LokiJS by('id') + set field + update(doc)", cases.lokiUpdate(people, keys)),
      entry('cycle', "LokiJS by('id') + remove + insert", cases.lokiCycle(people, keys)),
      entry(
        'indexed',
        "LokiJS find({ department: 'd3', active: true }) (binary index)",
        cases.lokiFind(people),
      ),
    ]);
    check(people.count() === N, 'loki size');
    check(people.find({ department: 'd3', active: true }).length === expectedMatches, 'loki count');
    db.close();
  }

  await benchBaselinesAndStores();
  collectGarbage();
  await benchLru();
  collectGarbage();
  await benchNodeCache();
  collectGarbage();
  await benchNodeCacheCloning();
  collectGarbage();
  await benchLoki();
  collectGarbage();
}
