// The query section's cases, as a table (see table.mjs): one entry per operation, with its
// baseline (the best hand-written code), nestjs-memory-store's rows and the peers' rows. Each
// operation queries the next value of a fixed list of 8 (the `inputs`, the same for every
// implementation): TinyBase's queries are materialised and only re-run when a param changes,
// and no implementation can profit from asking the same thing twice.

import mingo from 'mingo';
import { match } from 'nestjs-memory-store';
import { row } from './table.mjs';
import { CITIES } from './data.mjs';

/** Equality on department (10 values: each matches ~10% of the records). */
export const DEPARTMENT_VALUES = ['d3', 'd7', 'd1', 'd5', 'd0', 'd8', 'd2', 'd6'];
/** Equality on city (1,000 values: each matches ~0.1%). */
export const CITY_VALUES = [123, 457, 789, 12, 345, 678, 901, 234].map((i) => CITIES[i]);
/** Score ranges [low, low + RANGE_WIDTH): ~10% of the records each; the first 20 are asked for. */
export const RANGE_LOWS = [150_000, 620_000, 330_000, 810_000, 40_000, 470_000, 290_000, 730_000];
export const RANGE_WIDTH = 100_000;
export const RANGE_LIMIT = 20;
/** The compound query: department equality (indexed) AND 30 <= age < 40 (not indexed). */
export const COMPOUND_AGE = [30, 40];
/** The scan: active === true AND low <= age < low + 10, neither field indexed (~14%). */
export const SCAN_AGE_LOWS = [20, 35, 50, 25, 40, 55, 30, 45];

// ---- the queries each implementation runs, as data ----------------------------------------

export const equalityQuery = (field, value) => ({ [field]: value });
export const rangeQuery = (low) => ({ score: { $gte: low, $lt: low + RANGE_WIDTH } });
export const RANGE_OPTIONS = { orderBy: { score: 'asc' }, limit: RANGE_LIMIT };
export const compoundQuery = (department) => ({
  department,
  age: { $gte: COMPOUND_AGE[0], $lt: COMPOUND_AGE[1] },
});
export const compoundMatch = (department) =>
  match`department == ${department} and age >= ${COMPOUND_AGE[0]} and age < ${COMPOUND_AGE[1]}`;
export const compoundTuples = (department) => [
  ['department', '==', department],
  ['age', '>=', COMPOUND_AGE[0]],
  ['age', '<', COMPOUND_AGE[1]],
];
export const scanQuery = (low) => ({ active: true, age: { $gte: low, $lt: low + 10 } });

/** The records the hand-written code would return, for the sanity checks. */
export const expected = {
  equality: (records, field, value) => records.filter((r) => r[field] === value),
  range: (records, low) =>
    records
      .filter((r) => r.score >= low && r.score < low + RANGE_WIDTH)
      .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, RANGE_LIMIT),
  compound: (records, department) =>
    records.filter(
      (r) => r.department === department && r.age >= COMPOUND_AGE[0] && r.age < COMPOUND_AGE[1],
    ),
  scan: (records, low) =>
    records.filter((r) => r.active === true && r.age >= low && r.age < low + 10),
};

// ---- hand-written -------------------------------------------------------------------------

/** `Map<value, Set<key>>` built by hand over a `Map<key, record>`. */
export function buildHandIndex(records, field) {
  const index = new Map();
  for (const r of records) {
    let bucket = index.get(r[field]);
    if (!bucket) index.set(r[field], (bucket = new Set()));
    bucket.add(r.id);
  }
  return index;
}

/** The records sorted by (score, id) once, for the binary-search range. */
export function sortByScore(records) {
  return records
    .slice()
    .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Records of `index.get(value)` (a `Map<value, Set<key>>`) through `map`, hand-written. */
const handEquality = (index, map) => (value) => {
  const out = [];
  const keys = index.get(value);
  if (keys !== undefined) for (const k of keys) out.push(map.get(k));
  return out.length;
};

/** TinyBase's index lookup: getSliceRowIds, then getRow per id (each a copy). */
const tinySlice = (tiny, index) => (value) => {
  const ids = tiny.indexes.getSliceRowIds(index, value);
  const out = new Array(ids.length);
  for (let k = 0; k < ids.length; k++) out[k] = tiny.store.getRow('people', ids[k]);
  return out.length;
};

/** TinyBase's parameterised query `name`: set its param, read its result table. */
const tinyQuery = (tiny, name, param) => (value) => {
  tiny.queries.setParamValue(name, param, value);
  tiny.queries.getResultTable(name);
  return tiny.queries.getResultRowCount(name);
};

const [minAge, maxAge] = COMPOUND_AGE;
const EQUALITY_TARGET = 0.5; // within 2x of a hand-made Map<value, Set<key>> index
const SCAN_TARGET = 1 / 1.5; // within 1.5x of Array.prototype.filter

// Loki applies only the first operator of `{ $gte, $lt }` on one field, so ranges are written
// as its `$between` (inclusive at both ends): `[low, high - 1]`, the same set for integers.
// mingo queries the plain array of records (it has no indexes). TinyBase: slices by department
// and by city through its Indexes, parameterised query definitions through its Queries.

/**
 * The cases; the context of each subject: `store`, `map`, `departmentIndex`, `cityIndex`,
 * `sorted`, `records` (nestjs-memory-store and the hand-written code); `loki`; `records`
 * (mingo); `tiny` (TinyBase).
 */
export const QUERY_CASES = [
  {
    id: 'department',
    title: (about) =>
      `equality, indexed field with 10 values: select({ department }) (${about('department')})`,
    comment:
      'each op queries the next value of a fixed list of 8 (the same list for every row of every table)',
    inputs: () => DEPARTMENT_VALUES,
    fold: true,
    baseline: row('Map<department, Set<key>> + Map.get, hand-written', (c) =>
      handEquality(c.departmentIndex, c.map),
    ),
    rows: [
      row(
        'nestjs-memory-store select (index)',
        (c) => (v) => c.store.select({ department: v }).length,
        {
          target: EQUALITY_TARGET,
        },
      ),
    ],
    peers: {
      loki: [
        row(
          'LokiJS find({ department }) (binary index)',
          (c) => (v) => c.loki.find({ department: v }).length,
        ),
      ],
      mingo: [
        row(
          'mingo Query.find(array).all()',
          (c) => (v) => new mingo.Query({ department: v }).find(c.records).all().length,
        ),
      ],
      tinyBase: [
        row('TinyBase indexes getSliceRowIds + getRow', (c) => tinySlice(c.tiny, 'byDepartment')),
        row('TinyBase queries: setParamValue + getResultTable', (c) =>
          tinyQuery(c.tiny, 'department', 'value'),
        ),
      ],
    },
  },
  {
    id: 'city',
    title: (about) =>
      `equality, indexed field with 1,000 values: select({ city }) (${about('city')})`,
    inputs: () => CITY_VALUES,
    fold: true,
    baseline: row('Map<city, Set<key>> + Map.get, hand-written', (c) =>
      handEquality(c.cityIndex, c.map),
    ),
    rows: [
      row('nestjs-memory-store select (index)', (c) => (v) => c.store.select({ city: v }).length, {
        target: EQUALITY_TARGET,
      }),
    ],
    peers: {
      loki: [
        row('LokiJS find({ city }) (binary index)', (c) => (v) => c.loki.find({ city: v }).length),
      ],
      mingo: [
        row(
          'mingo Query.find(array).all()',
          (c) => (v) => new mingo.Query({ city: v }).find(c.records).all().length,
        ),
      ],
      tinyBase: [
        row('TinyBase indexes getSliceRowIds + getRow', (c) => tinySlice(c.tiny, 'byCity')),
        row('TinyBase queries: setParamValue + getResultTable', (c) =>
          tinyQuery(c.tiny, 'city', 'value'),
        ),
      ],
    },
  },
  {
    id: 'range',
    title: () =>
      "range + order + limit: select({ score: { $gte, $lt } }, { orderBy: { score: 'asc' }, limit: 20 }), " +
      'score indexed (~10% of the records in range)',
    comment:
      'ranges are [low, low + 100,000) of scores in [0, 1,000,000); LokiJS: $between [low, high - 1]',
    inputs: () => RANGE_LOWS,
    fold: true,
    // The best hand-written range + order + limit: binary search in a pre-sorted array.
    baseline: row('pre-sorted array + binary search, hand-written (best)', (c) => (low) => {
      const sorted = c.sorted;
      const high = low + RANGE_WIDTH;
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid].score < low) lo = mid + 1;
        else hi = mid;
      }
      const out = [];
      for (let k = lo; k < sorted.length && out.length < RANGE_LIMIT; k++) {
        const r = sorted[k];
        if (r.score >= high) break;
        out.push(r);
      }
      return out.length;
    }),
    rows: [
      // The naive range + order + limit: filter everything, sort the matches, keep 20.
      row('Array filter + sort + slice(0, 20), hand-written (naive)', (c) => (low) => {
        const high = low + RANGE_WIDTH;
        return c.records
          .filter((r) => r.score >= low && r.score < high)
          .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .slice(0, RANGE_LIMIT).length;
      }),
      row(
        'nestjs-memory-store select (sorted index walk)',
        (c) => (low) =>
          c.store.select(
            { score: { $gte: low, $lt: low + RANGE_WIDTH } },
            { orderBy: { score: 'asc' }, limit: RANGE_LIMIT },
          ).length,
      ),
    ],
    peers: {
      loki: [
        row(
          "LokiJS chain().find($between).simplesort('score').limit(20)",
          (c) => (low) =>
            c.loki
              .chain()
              .find({ score: { $between: [low, low + RANGE_WIDTH - 1] } })
              .simplesort('score')
              .limit(RANGE_LIMIT)
              .data().length,
        ),
      ],
      mingo: [
        row(
          'mingo Query.find(array).sort({ score: 1 }).limit(20).all()',
          (c) => (low) =>
            new mingo.Query({ score: { $gte: low, $lt: low + RANGE_WIDTH } })
              .find(c.records)
              .sort({ score: 1 })
              .limit(RANGE_LIMIT)
              .all().length,
        ),
      ],
      tinyBase: [
        row(
          'TinyBase queries: setParamValues + getResultSortedRowIds(score, 0, 20) + rows',
          (c) => (low) => {
            const { queries } = c.tiny;
            queries.setParamValues('range', { low, high: low + RANGE_WIDTH });
            const ids = queries.getResultSortedRowIds('range', 'score', false, 0, RANGE_LIMIT);
            return ids.map((id) => queries.getResultRow('range', id)).length;
          },
        ),
      ],
    },
  },
  {
    id: 'compound',
    title: (about) =>
      `compound: select({ department, age: { $gte: 30, $lt: 40 } }), department indexed, age not (${about('compound')})`,
    inputs: () => DEPARTMENT_VALUES,
    fold: true,
    baseline: row('Map<department, Set<key>> + Map.get + age test, hand-written', (c) => (v) => {
      const out = [];
      const keys = c.departmentIndex.get(v);
      if (keys !== undefined) {
        for (const k of keys) {
          const r = c.map.get(k);
          if (r.age >= minAge && r.age < maxAge) out.push(r);
        }
      }
      return out.length;
    }),
    rows: [
      row(
        'nestjs-memory-store select (attribute map)',
        (c) => (v) => c.store.select({ department: v, age: { $gte: minAge, $lt: maxAge } }).length,
      ),
      row(
        'nestjs-memory-store select (match`...`)',
        (c) => (v) =>
          c.store.select(match`department == ${v} and age >= ${minAge} and age < ${maxAge}`).length,
      ),
      row(
        'nestjs-memory-store select (condition tuples)',
        (c) => (v) =>
          c.store.select([
            ['department', '==', v],
            ['age', '>=', minAge],
            ['age', '<', maxAge],
          ]).length,
      ),
    ],
    peers: {
      loki: [
        row(
          'LokiJS find({ department, age: $between })',
          (c) => (v) =>
            c.loki.find({ department: v, age: { $between: [minAge, maxAge - 1] } }).length,
        ),
      ],
      mingo: [
        row(
          'mingo Query.find(array).all()',
          (c) => (v) =>
            new mingo.Query({ department: v, age: { $gte: minAge, $lt: maxAge } })
              .find(c.records)
              .all().length,
        ),
      ],
      tinyBase: [
        row('TinyBase queries: setParamValue + getResultTable', (c) =>
          tinyQuery(c.tiny, 'compound', 'department'),
        ),
      ],
    },
  },
  {
    id: 'scan',
    title: (about) =>
      `scan: select({ active: true, age: { $gte, $lt } }), neither field indexed (${about('scan')})`,
    inputs: () => SCAN_AGE_LOWS,
    fold: true,
    baseline: row('Array.prototype.filter, hand-written predicate', (c) => (low) => {
      const high = low + 10;
      return c.records.filter((r) => r.active === true && r.age >= low && r.age < high).length;
    }),
    rows: [
      row(
        'nestjs-memory-store select (full scan)',
        (c) => (low) => c.store.select({ active: true, age: { $gte: low, $lt: low + 10 } }).length,
        { target: SCAN_TARGET },
      ),
    ],
    peers: {
      loki: [
        row(
          'LokiJS find({ active, age: $between })',
          (c) => (low) => c.loki.find({ active: true, age: { $between: [low, low + 9] } }).length,
        ),
      ],
      mingo: [
        row(
          'mingo Query.find(array).all()',
          (c) => (low) =>
            new mingo.Query({ active: true, age: { $gte: low, $lt: low + 10 } })
              .find(c.records)
              .all().length,
        ),
      ],
      tinyBase: [
        row('TinyBase queries: setParamValues + getResultTable', (c) => (low) => {
          const { queries } = c.tiny;
          queries.setParamValues('scan', { low, high: low + 10 });
          queries.getResultTable('scan');
          return queries.getResultRowCount('scan');
        }),
        row('TinyBase forEachRow + getCell filter', (c) => (low) => {
          const { store } = c.tiny;
          const high = low + 10;
          const out = [];
          store.forEachRow('people', (rowId) => {
            if (store.getCell('people', rowId, 'active') !== true) return;
            const age = store.getCell('people', rowId, 'age');
            if (age >= low && age < high) out.push(store.getRow('people', rowId));
          });
          return out.length;
        }),
      ],
    },
  },
];
