// Peer libraries, each filled with the same records. Built one at a time and dropped after
// their cases run, so that no case pays for another library's heap.

import { LRUCache } from 'lru-cache';
import NodeCache from 'node-cache';
import Loki from 'lokijs';

export function buildLru(records) {
  const cache = new LRUCache({ max: records.length * 2 });
  for (const r of records) cache.set(r.id, r);
  return cache;
}

/**
 * node-cache. `useClones` defaults to true (every get and set deep-clones the value); pass
 * undefined to keep that default. `checkperiod: 0` only turns off its expiry timer.
 */
export function buildNodeCache(records, useClones) {
  const options = { checkperiod: 0 };
  if (useClones !== undefined) options.useClones = useClones;
  const cache = new NodeCache(options);
  for (const r of records) cache.set(r.id, r);
  return cache;
}

/** A LokiJS in-memory collection with a unique index on `id`, a binary index on `department`. */
export function buildLoki(records) {
  const db = new Loki('bench.db', { env: 'NODEJS', autosave: false, verbose: false });
  const people = db.addCollection('people', { unique: ['id'], indices: ['department'] });
  // Loki adds $loki and meta to the documents it stores: give it its own copies.
  people.insert(records.map((r) => ({ ...r })));
  return { db, people };
}
