// The query section's cases. As in cases.mjs, every case is its own function literal with
// its own loop, so that no call site is shared between implementations. Each operation
// queries the next value of a fixed list of 8 (the same lists for every implementation):
// TinyBase's queries are materialised and only re-run when a param changes, and no
// implementation can profit from asking the same thing twice.

import mingo from 'mingo';
import { match } from 'nestjs-memory-store';
import { sink } from './harness.mjs';
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

export function handDepartment(index, map) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const out = [];
      const keys = index.get(DEPARTMENT_VALUES[j]);
      if (keys !== undefined) for (const k of keys) out.push(map.get(k));
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function handCity(index, map) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const out = [];
      const keys = index.get(CITY_VALUES[j]);
      if (keys !== undefined) for (const k of keys) out.push(map.get(k));
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

/** The records sorted by (score, id) once, for the binary-search range. */
export function sortByScore(records) {
  return records
    .slice()
    .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The best hand-written range + order + limit: binary search in a pre-sorted array. */
export function sortedArrayRange(sorted) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
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
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

/** The naive range + order + limit: filter everything, sort the matches, keep 20. */
export function naiveFilterSortRange(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
      const high = low + RANGE_WIDTH;
      const out = array
        .filter((r) => r.score >= low && r.score < high)
        .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, RANGE_LIMIT);
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function handCompound(index, map) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const out = [];
      const keys = index.get(DEPARTMENT_VALUES[j]);
      if (keys !== undefined) {
        for (const k of keys) {
          const r = map.get(k);
          if (r.age >= minAge && r.age < maxAge) out.push(r);
        }
      }
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function arrayFilterScan(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      const high = low + 10;
      s += array.filter((r) => r.active === true && r.age >= low && r.age < high).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

// ---- nestjs-memory-store ------------------------------------------------------------------

export function storeDepartment(store) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.select({ department: DEPARTMENT_VALUES[j] }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeCity(store) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.select({ city: CITY_VALUES[j] }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeRange(store) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
      s += store.select(
        { score: { $gte: low, $lt: low + RANGE_WIDTH } },
        { orderBy: { score: 'asc' }, limit: RANGE_LIMIT },
      ).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeCompound(store) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.select({
        department: DEPARTMENT_VALUES[j],
        age: { $gte: minAge, $lt: maxAge },
      }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeCompoundMatch(store) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.select(
        match`department == ${DEPARTMENT_VALUES[j]} and age >= ${minAge} and age < ${maxAge}`,
      ).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeCompoundTuples(store) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.select([
        ['department', '==', DEPARTMENT_VALUES[j]],
        ['age', '>=', minAge],
        ['age', '<', maxAge],
      ]).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function storeScan(store) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      s += store.select({ active: true, age: { $gte: low, $lt: low + 10 } }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

// ---- LokiJS (binary indexes on department, city, score) -----------------------------------
//
// Loki applies only the first operator of `{ $gte, $lt }` on one field, so ranges are written
// as its `$between` (inclusive at both ends): `[low, high - 1]`, the same set for integers.

export function lokiDepartment(coll) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += coll.find({ department: DEPARTMENT_VALUES[j] }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function lokiCity(coll) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += coll.find({ city: CITY_VALUES[j] }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function lokiRange(coll) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
      s += coll
        .chain()
        .find({ score: { $between: [low, low + RANGE_WIDTH - 1] } })
        .simplesort('score')
        .limit(RANGE_LIMIT)
        .data().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function lokiCompound(coll) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += coll.find({
        department: DEPARTMENT_VALUES[j],
        age: { $between: [minAge, maxAge - 1] },
      }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function lokiScan(coll) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      s += coll.find({ active: true, age: { $between: [low, low + 9] } }).length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

// ---- mingo (MongoDB queries over a plain array; no indexes) --------------------------------

export function mingoDepartment(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += new mingo.Query({ department: DEPARTMENT_VALUES[j] }).find(array).all().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function mingoCity(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += new mingo.Query({ city: CITY_VALUES[j] }).find(array).all().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function mingoRange(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
      s += new mingo.Query({ score: { $gte: low, $lt: low + RANGE_WIDTH } })
        .find(array)
        .sort({ score: 1 })
        .limit(RANGE_LIMIT)
        .all().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function mingoCompound(array) {
  const [minAge, maxAge] = COMPOUND_AGE;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += new mingo.Query({
        department: DEPARTMENT_VALUES[j],
        age: { $gte: minAge, $lt: maxAge },
      })
        .find(array)
        .all().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function mingoScan(array) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      s += new mingo.Query({ active: true, age: { $gte: low, $lt: low + 10 } })
        .find(array)
        .all().length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

// ---- TinyBase (a store with a table 'people'; its indexes and queries modules) ------------
//
// Indexes: slices by department and by city, kept up to date on every write; a lookup is
// getSliceRowIds, then getRow per id (each a copy). Queries: parameterised query definitions
// whose results TinyBase materialises and re-evaluates when a param changes; a lookup is
// setParamValue(s), then the result rows. Its scan is forEachRow with getCell.

export function tinyIndexDepartment(tiny) {
  const { store, indexes } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const ids = indexes.getSliceRowIds('byDepartment', DEPARTMENT_VALUES[j]);
      const out = new Array(ids.length);
      for (let k = 0; k < ids.length; k++) out[k] = store.getRow('people', ids[k]);
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyIndexCity(tiny) {
  const { store, indexes } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const ids = indexes.getSliceRowIds('byCity', CITY_VALUES[j]);
      const out = new Array(ids.length);
      for (let k = 0; k < ids.length; k++) out[k] = store.getRow('people', ids[k]);
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyQueryDepartment(tiny) {
  const { queries } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      queries.setParamValue('department', 'value', DEPARTMENT_VALUES[j]);
      queries.getResultTable('department');
      s += queries.getResultRowCount('department');
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyQueryCity(tiny) {
  const { queries } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      queries.setParamValue('city', 'value', CITY_VALUES[j]);
      queries.getResultTable('city');
      s += queries.getResultRowCount('city');
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyQueryRange(tiny) {
  const { queries } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = RANGE_LOWS[j];
      queries.setParamValues('range', { low, high: low + RANGE_WIDTH });
      const ids = queries.getResultSortedRowIds('range', 'score', false, 0, RANGE_LIMIT);
      const out = ids.map((id) => queries.getResultRow('range', id));
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyQueryCompound(tiny) {
  const { queries } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      queries.setParamValue('compound', 'department', DEPARTMENT_VALUES[j]);
      queries.getResultTable('compound');
      s += queries.getResultRowCount('compound');
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyQueryScan(tiny) {
  const { queries } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      queries.setParamValues('scan', { low, high: low + 10 });
      queries.getResultTable('scan');
      s += queries.getResultRowCount('scan');
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}

export function tinyForEachRowScan(tiny) {
  const { store } = tiny;
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const low = SCAN_AGE_LOWS[j];
      const high = low + 10;
      const out = [];
      store.forEachRow('people', (rowId) => {
        if (store.getCell('people', rowId, 'active') !== true) return;
        const age = store.getCell('people', rowId, 'age');
        if (age >= low && age < high) out.push(store.getRow('people', rowId));
      });
      s += out.length;
      j = (j + 1) & 7;
    }
    sink.value += s;
  };
}
