// The "cache" section (issue 19, the cache use case): get on a table whose TTL slides against
// a plain table and one with a fixed TTL; fetch() of a stored record against get(), with
// lru-cache's get and fetch beside them; and cache-manager's get/set through our Keyv
// adapter (memoryStoreKeyv) against cache-manager's default in-memory store (Keyv over a
// Map). 100,000 records, shuffled keys.

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { MemoryStore, MemoryStoreModule, Store, Table, memoryStoreKeyv } from 'nestjs-memory-store';
import { makeRecords, shuffledKeys } from './data.mjs';
import { collectGarbage } from './harness.mjs';
import { entry } from './suite.mjs';
import { compileLoop } from './table.mjs';

const N = 100_000;
const SLIDING_TARGET = 0.8; // get on a sliding table within 1.25x of a plain table
const FETCH_TARGET = 0.8; // a fetch that finds its record within 1.25x of get
const KEYV_TARGET = 1; // not slower than cache-manager's own in-memory store
const HOUR = '1h';

class PlainEntry {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'cache_plain' })(PlainEntry);
class PlainStore extends MemoryStore {}
Store({ table: PlainEntry })(PlainStore);

class FixedEntry {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'cache_fixed', ttl: HOUR })(FixedEntry);
class FixedStore extends MemoryStore {}
Store({ table: FixedEntry })(FixedStore);

class SlidingEntry {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'cache_sliding', ttl: { sliding: true, duration: HOUR } })(SlidingEntry);
class SlidingStore extends MemoryStore {}
Store({ table: SlidingEntry })(SlidingStore);

class KeyvEntry {
  key;
  value;
}
Table({ name: 'cache_keyv', key: 'key' })(KeyvEntry);
class KeyvStore extends MemoryStore {}
Store({ table: KeyvEntry })(KeyvStore);

async function boot() {
  class CacheBenchModule {}
  const stores = [PlainStore, FixedStore, SlidingStore, KeyvStore];
  Module({ imports: [MemoryStoreModule.forRoot({ stores })] })(CacheBenchModule);
  return NestFactory.createApplicationContext(CacheBenchModule, { logger: false });
}

// Each case is its own compiled loop (table.mjs), `read` / `fetch` / `op` its operation: a
// loop shared by the cases would share one call site and make them all look alike.

/** Reads of shuffled keys: `read(key)` returns a number (a field), summed into the sink. */
function reads(keys, read) {
  return compileLoop('cache read', read, keys, { fold: true });
}

/** Fetches that find their record: the promises are made (the cost of fetch), only the last awaited. */
function fetches(keys, fetch) {
  return compileLoop('cache fetch', fetch, keys, { mode: 'last' });
}

/** Awaited cache-manager operations, one after the other: `op(j)`, j indexing `keys`. */
function awaited(keys, op) {
  return compileLoop(
    'cache-manager op',
    op,
    keys.map((_, j) => j),
    { mode: 'await' },
  );
}

export async function runCache(suite) {
  suite.section(
    'cache',
    'issue 19: sliding TTL, fetch, and cache-manager over a store (100,000 records)',
  );
  const getGroup = suite.group('get by key, 100,000 records, shuffled keys', {
    comment: `ratio = plain table / this (target >= ${SLIDING_TARGET} for the sliding table)`,
    notes: [
      'the TTL tables give every record 1 h; nothing expires; each get of the sliding table renews',
    ],
  });
  const fetchGroup = suite.group('fetch of a stored record against get, 100,000 records', {
    comment: `ratio = store.get / this (target >= ${FETCH_TARGET} for store.fetch); fetch returns a promise, made and not awaited one by one`,
    notes: [
      'fetch must return a promise: the Promise.resolve(store.get) row is the least any fetch can cost; fetch / that row = how close fetch comes to it',
    ],
  });
  const keyvGroup = (op) =>
    suite.group(`cache-manager ${op} (awaited), 100,000 keys`, {
      comment: `ratio = cache-manager's default store / ours (target >= ${KEYV_TARGET}: not slower)`,
      notes: [
        "all through createCache() and Keyv. cache-manager's default Keyv keeps values as they are, " +
          'and so does ours (a Keyv over the table, which CacheModule uses as it is); CacheModule wraps ' +
          'any store that is not a Keyv in a Keyv that JSON-serializes values: the third row is that ' +
          'Keyv over a Map, the cost of the serialization alone',
      ],
    });
  const keyvGetGroup = keyvGroup('get');
  const keyvSetGroup = keyvGroup('set');

  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  suite.progress('cache: booting Nest and loading 100,000 records into three stores...');
  const app = await boot();
  const plain = app.get(PlainStore);
  const fixed = app.get(FixedStore);
  const sliding = app.get(SlidingStore);
  await plain.writeMany(records);
  await fixed.writeMany(records);
  await sliding.writeMany(records);
  suite.check(sliding.size === N && sliding.ttl(keys[0]) > 3_500_000, 'sliding store loaded');

  await suite.measure([
    entry(
      getGroup,
      'nestjs-memory-store get, table without TTL',
      reads(keys, (k) => plain.get(k).age),
      {
        baseline: true,
      },
    ),
    entry(
      getGroup,
      'nestjs-memory-store get, fixed TTL (1 h)',
      reads(keys, (k) => fixed.get(k).age),
    ),
    entry(
      getGroup,
      'nestjs-memory-store get, sliding TTL (1 h)',
      reads(keys, (k) => sliding.get(k).age),
      {
        target: SLIDING_TARGET,
      },
    ),
  ]);

  const lru = new LRUCache({
    max: 2 * N,
    fetchMethod: () => {
      throw new Error('every key is stored');
    },
  });
  for (const r of records) lru.set(r.id, r);
  const loader = () => {
    throw new Error('every key is stored');
  };
  await suite.measure([
    entry(
      fetchGroup,
      'nestjs-memory-store get (table without TTL)',
      reads(keys, (k) => plain.get(k).age),
      {
        baseline: true,
      },
    ),
    entry(
      fetchGroup,
      'nestjs-memory-store fetch, record stored',
      fetches(keys, (k) => plain.fetch(k, loader)),
      {
        target: FETCH_TARGET,
      },
    ),
    entry(
      fetchGroup,
      'Promise.resolve(store.get): the floor of any promise-returning read',
      fetches(keys, (k) => Promise.resolve(plain.get(k))),
    ),
    entry(
      fetchGroup,
      'lru-cache get',
      reads(keys, (k) => lru.get(k).age),
    ),
    entry(
      fetchGroup,
      'lru-cache fetch, record stored (fetchMethod)',
      fetches(keys, (k) => lru.fetch(k)),
    ),
  ]);
  collectGarbage();

  // memoryStoreKeyv returns a Keyv: CacheModule.register({ stores: [it] }) uses it as it is
  const ours = createCache({ stores: [memoryStoreKeyv(app.get(KeyvStore))] });
  const theirs = createCache(); // its Keyv stores objects as they are (serialize off)
  // what CacheModule.register({ stores: [store] }) makes of any store: a Keyv that serializes
  const serialized = createCache({ stores: [new Keyv({ store: new Map() })] });
  const values = records.map((r) => ({ name: r.email, age: r.age }));
  for (let i = 0; i < N; i++) {
    await ours.set(keys[i], values[i]);
    await theirs.set(keys[i], values[i]);
    await serialized.set(keys[i], values[i]);
  }
  suite.check(app.get(KeyvStore).size === N, 'the Keyv table holds every key');
  suite.check((await ours.get(keys[5]))?.age === values[5].age, 'our cache reads back');
  await suite.measure([
    entry(
      keyvGetGroup,
      'cache-manager get, default store (Keyv over a Map)',
      awaited(keys, (j) => theirs.get(keys[j])),
      {
        baseline: true,
      },
    ),
    entry(
      keyvGetGroup,
      'cache-manager get, memoryStoreKeyv(store)',
      awaited(keys, (j) => ours.get(keys[j])),
      {
        target: KEYV_TARGET,
      },
    ),
    entry(
      keyvGetGroup,
      'cache-manager get, Keyv over a Map, serialized',
      awaited(keys, (j) => serialized.get(keys[j])),
    ),
  ]);
  await suite.measure([
    entry(
      keyvSetGroup,
      'cache-manager set (1 h), default store (Keyv over a Map)',
      awaited(keys, (j) => theirs.set(keys[j], values[j], 3_600_000)),
      { baseline: true },
    ),
    entry(
      keyvSetGroup,
      'cache-manager set (1 h), memoryStoreKeyv(store)',
      awaited(keys, (j) => ours.set(keys[j], values[j], 3_600_000)),
      { target: KEYV_TARGET },
    ),
    entry(
      keyvSetGroup,
      'cache-manager set (1 h), Keyv over a Map, serialized',
      awaited(keys, (j) => serialized.set(keys[j], values[j], 3_600_000)),
    ),
  ]);
  await app.close();
  collectGarbage();
}
