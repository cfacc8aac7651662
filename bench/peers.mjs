// Peer libraries, each filled with the same records. Built one at a time and dropped after
// their cases run, so that no case pays for another library's heap.

import { LRUCache } from 'lru-cache';
import NodeCache from 'node-cache';
import Loki from 'lokijs';
import { createIndexes, createQueries, createStore } from 'tinybase';
import { COMPOUND_AGE } from './query-cases.mjs';

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

/**
 * LokiJS for the query section: binary indexes on department, city and score. Built with
 * `adaptiveBinaryIndices: false` (indexes re-sorted on the next find after a change, instead of
 * patched on every insert): with the default, inserting 1,000,000 documents took 572 s here,
 * each insert splicing into three sorted arrays.
 */
export function buildQueryLoki(records) {
  const db = new Loki('bench-queries.db', { env: 'NODEJS', autosave: false, verbose: false });
  const people = db.addCollection('people', {
    unique: ['id'],
    indices: ['department', 'city', 'score'],
    adaptiveBinaryIndices: false,
  });
  people.insert(records.map((r) => ({ ...r })));
  return { db, people };
}

/**
 * A TinyBase store holding the records as rows of a table 'people' (row id = record id), its
 * Indexes (slices by department and by city) and Queries (parameterised definitions of the
 * section's queries; each selects every cell).
 */
export function buildTinyBase(records) {
  const table = {};
  for (const { id, ...cells } of records) table[id] = cells;
  const store = createStore().setTable('people', table);
  const indexes = createIndexes(store);
  indexes.setIndexDefinition('byDepartment', 'people', 'department');
  indexes.setIndexDefinition('byCity', 'people', 'city');
  const queries = createQueries(store);
  queries.setQueryDefinition(
    'department',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where('department', param('value'));
    },
    { value: '' },
  );
  queries.setQueryDefinition(
    'city',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where('city', param('value'));
    },
    { value: '' },
  );
  queries.setQueryDefinition(
    'range',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where((getCell) => {
        const score = getCell('score');
        return score >= param('low') && score < param('high');
      });
    },
    { low: 0, high: 0 },
  );
  queries.setQueryDefinition(
    'compound',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where('department', param('department'));
      where((getCell) => {
        const age = getCell('age');
        return age >= COMPOUND_AGE[0] && age < COMPOUND_AGE[1];
      });
    },
    { department: '' },
  );
  queries.setQueryDefinition(
    'scan',
    'people',
    ({ selectAll, where, param }) => {
      selectAll();
      where((getCell) => {
        if (getCell('active') !== true) return false;
        const age = getCell('age');
        return age >= param('low') && age < param('high');
      });
    },
    { low: 0, high: 0 },
  );
  return { store, indexes, queries };
}
