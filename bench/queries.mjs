// The "queries" section (issue "query engine"): equality on an indexed field, a range on an
// indexed field ordered by it with a limit, a compound query (indexed equality AND an
// unindexed range) and an unindexed scan, at 100,000 and 1,000,000 records, against the
// best hand-written code and against LokiJS, mingo and TinyBase.
//
// TinyBase runs at 100,000 records only unless BENCH_TINYBASE_MAX says otherwise: at
// 1,000,000 rows, filling its store took about 20 s and 2.3 GB of heap on this machine and
// each re-evaluation of a query about 3 s, which alone would take the run past its budget.

import mingo from 'mingo';
import * as q from './query-cases.mjs';
import { collectGarbage, SETTINGS } from './harness.mjs';
import { makeQueryRecords } from './data.mjs';
import { bootQueryStore } from './stores.mjs';
import { buildQueryLoki, buildTinyBase } from './peers.mjs';
import { formatRatio } from './report.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';

const EQUALITY_TARGET = 0.5; // within 2x of a hand-made Map<value, Set<key>> index
const SCAN_TARGET = 1 / 1.5; // within 1.5x of Array.prototype.filter

/**
 * Fewer timed rounds where operations often outlast a round: the peer libraries (TinyBase's
 * query re-evaluations take ~0.3 s even at 100,000 rows), and everything at 1,000,000 records.
 */
const roundsFor = (N) => {
  const atMost = (n) => ({ rounds: Math.min(n, SETTINGS.rounds) });
  return {
    own: N >= 1_000_000 ? atMost(5) : {},
    peers: atMost(N >= 1_000_000 ? 3 : 5),
    tinyBase: atMost(3),
  };
};

export async function runQueries(suite) {
  const sizes = (process.env.BENCH_QUERY_SIZES ?? '100000,1000000')
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')))
    .filter((n) => Number.isSafeInteger(n) && n > 0);
  const tinyBaseMax = Number(process.env.BENCH_TINYBASE_MAX ?? 100_000);
  suite.section(
    'queries',
    `issue "query engine": select with indexes, ranges, order + limit and scans (${sizes
      .map((n) => n.toLocaleString('en-US'))
      .join(' and ')} records)`,
  );
  for (const size of sizes) {
    await runTier(suite, size, tinyBaseMax);
    collectGarbage();
  }
}

/** "plan: index lookup on department; estimated 10,012 rows, examined 10,012, returned 10,012" */
function planNote(form, explanation) {
  const { strategy, field, estimatedRows, examinedRows, returnedRows } = explanation;
  const n = (x) => x.toLocaleString('en-US');
  return (
    `plan of ${form} (explain): ${strategy}${field ? ` on ${field}` : ''}; estimated ` +
    `${n(estimatedRows)} rows, examined ${n(examinedRows)}, returned ${n(returnedRows)}`
  );
}

const sameRecords = (a, b) => a.length === b.length && a.every((r, i) => r.id === b[i].id);
const sameSet = (a, b) => {
  if (a.length !== b.length) return false;
  const ids = new Set(a.map((r) => r.id));
  return b.every((r) => ids.has(r.id));
};

async function runTier(suite, N, tinyBaseMax) {
  const rounds = roundsFor(N);
  const size = N.toLocaleString('en-US');
  const tag = `[${size} records]`;
  suite.progress(`queries at ${size} records: generating data...`);
  const records = makeQueryRecords(N);
  const expected = {
    department: q.expected.equality(records, 'department', q.DEPARTMENT_VALUES[0]),
    city: q.expected.equality(records, 'city', q.CITY_VALUES[0]),
    range: q.expected.range(records, q.RANGE_LOWS[0]),
    compound: q.expected.compound(records, q.DEPARTMENT_VALUES[0]),
    scan: q.expected.scan(records, q.SCAN_AGE_LOWS[0]),
  };
  const about = (list) => `~${list.length.toLocaleString('en-US')} matches`;

  const G = {
    department: suite.group(
      `${tag} equality, indexed field with 10 values: select({ department }) (${about(expected.department)})`,
    ),
    city: suite.group(
      `${tag} equality, indexed field with 1,000 values: select({ city }) (${about(expected.city)})`,
    ),
    range: suite.group(
      `${tag} range + order + limit: select({ score: { $gte, $lt } }, { orderBy: { score: 'asc' }, limit: 20 }), ` +
        'score indexed (~10% of the records in range)',
    ),
    compound: suite.group(
      `${tag} compound: select({ department, age: { $gte: 30, $lt: 40 } }), department indexed, ` +
        `age not (${about(expected.compound)})`,
    ),
    scan: suite.group(
      `${tag} scan: select({ active: true, age: { $gte, $lt } }), neither field indexed ` +
        `(${about(expected.scan)})`,
    ),
  };
  G.department.comment =
    'each op queries the next value of a fixed list of 8 (the same list for every row of every table)';
  G.range.comment =
    'ranges are [low, low + 100,000) of scores in [0, 1,000,000); LokiJS: $between [low, high - 1]';

  // ---- the best hand-written code and nestjs-memory-store, measured side by side ---------
  {
    const map = new Map(records.map((r) => [r.id, r]));
    const departmentIndex = q.buildHandIndex(records, 'department');
    const cityIndex = q.buildHandIndex(records, 'city');
    const sorted = q.sortByScore(records);

    suite.progress('booting Nest and loading the query store...');
    const { app, store } = await bootQueryStore();
    const [, loadMs] = await timeOnce(() => store.writeMany(records));
    suite.check(store.size === N, `${tag} query store size after load`);
    // The first range query builds the sorted index of score (then kept up to date on writes).
    const [firstRange, sortedMs] = await timeOnce(() =>
      store.select(q.rangeQuery(q.RANGE_LOWS[0]), q.RANGE_OPTIONS),
    );
    G.department.notes.push(
      `nestjs-memory-store: writeMany of ${size} records took ${formatMs(loadMs)}; the first ` +
        `range query, which builds the sorted index of score, ${formatMs(sortedMs)}` +
        (rounds.own.rounds ? `; ${rounds.own.rounds} timed rounds per case` : ''),
    );

    const d0 = q.DEPARTMENT_VALUES[0];
    const select = (query, options) => store.select(query, options);
    suite.check(sameSet(select({ department: d0 }), expected.department), `${tag} department`);
    suite.check(sameSet(select({ city: q.CITY_VALUES[0] }), expected.city), `${tag} city`);
    suite.check(sameRecords(firstRange, expected.range), `${tag} range: the first 20 by score`);
    suite.check(sameSet(select(q.compoundQuery(d0)), expected.compound), `${tag} compound`);
    suite.check(sameSet(select(q.compoundMatch(d0)), expected.compound), `${tag} compound match`);
    suite.check(sameSet(select(q.compoundTuples(d0)), expected.compound), `${tag} tuples`);
    suite.check(sameSet(select(q.scanQuery(q.SCAN_AGE_LOWS[0])), expected.scan), `${tag} scan`);

    G.department.notes.push(planNote(`{ department: '${d0}' }`, store.explain({ department: d0 })));
    G.city.notes.push(
      planNote(`{ city: '${q.CITY_VALUES[0]}' }`, store.explain({ city: q.CITY_VALUES[0] })),
    );
    G.range.notes.push(
      planNote(
        `{ score: { $gte: ${q.RANGE_LOWS[0]}, $lt: ${q.RANGE_LOWS[0] + q.RANGE_WIDTH} } } + orderBy + limit 20`,
        store.explain(q.rangeQuery(q.RANGE_LOWS[0]), q.RANGE_OPTIONS),
      ),
    );
    G.compound.notes.push(
      planNote('the attribute map', store.explain(q.compoundQuery(d0))),
      planNote('match`...`', store.explain(q.compoundMatch(d0))),
      planNote('the condition tuples', store.explain(q.compoundTuples(d0))),
    );
    G.scan.notes.push(planNote('the filter', store.explain(q.scanQuery(q.SCAN_AGE_LOWS[0]))));

    await suite.measure(
      [
        entry(
          G.department,
          'Map<department, Set<key>> + Map.get, hand-written',
          q.handDepartment(departmentIndex, map),
          { baseline: true },
        ),
        entry(G.department, 'nestjs-memory-store select (index)', q.storeDepartment(store), {
          target: EQUALITY_TARGET,
        }),
      ],
      rounds.own,
    );
    await suite.measure(
      [
        entry(G.city, 'Map<city, Set<key>> + Map.get, hand-written', q.handCity(cityIndex, map), {
          baseline: true,
        }),
        entry(G.city, 'nestjs-memory-store select (index)', q.storeCity(store), {
          target: EQUALITY_TARGET,
        }),
      ],
      rounds.own,
    );
    await suite.measure(
      [
        entry(
          G.range,
          'pre-sorted array + binary search, hand-written (best)',
          q.sortedArrayRange(sorted),
          { baseline: true },
        ),
        entry(
          G.range,
          'Array filter + sort + slice(0, 20), hand-written (naive)',
          q.naiveFilterSortRange(records),
        ),
        entry(G.range, 'nestjs-memory-store select (sorted index walk)', q.storeRange(store)),
      ],
      rounds.own,
    );
    await suite.measure(
      [
        entry(
          G.compound,
          'Map<department, Set<key>> + Map.get + age test, hand-written',
          q.handCompound(departmentIndex, map),
          { baseline: true },
        ),
        entry(G.compound, 'nestjs-memory-store select (attribute map)', q.storeCompound(store)),
        entry(G.compound, 'nestjs-memory-store select (match`...`)', q.storeCompoundMatch(store)),
        entry(
          G.compound,
          'nestjs-memory-store select (condition tuples)',
          q.storeCompoundTuples(store),
        ),
      ],
      rounds.own,
    );
    await suite.measure(
      [
        entry(
          G.scan,
          'Array.prototype.filter, hand-written predicate',
          q.arrayFilterScan(records),
          {
            baseline: true,
          },
        ),
        entry(G.scan, 'nestjs-memory-store select (full scan)', q.storeScan(store), {
          target: SCAN_TARGET,
        }),
      ],
      rounds.own,
    );
    await app.close();
  }
  collectGarbage();

  const peerRounds = rounds.peers;
  const roundsNote = `${peerRounds.rounds} timed rounds per case`;

  // ---- LokiJS ----------------------------------------------------------------------------
  {
    suite.progress(`building LokiJS (${size} documents)...`);
    const [{ db, people }, buildMs] = await timeOnce(() => buildQueryLoki(records));
    // Its binary indexes are sorted on the first find that uses them: time that once.
    const [, indexMs] = await timeOnce(() => {
      people.find({ department: q.DEPARTMENT_VALUES[0] });
      people.find({ city: q.CITY_VALUES[0] });
      people.find({ score: { $between: [0, 1] } });
    });
    G.department.notes.push(
      `LokiJS: inserting ${size} documents took ${formatMs(buildMs)}, sorting its 3 binary ` +
        `indexes on first use ${formatMs(indexMs)}; ${roundsNote}`,
    );
    const d0 = q.DEPARTMENT_VALUES[0];
    const low = q.RANGE_LOWS[0];
    suite.check(
      people.find({ department: d0 }).length === expected.department.length,
      `${tag} loki department`,
    );
    suite.check(
      people
        .chain()
        .find({ score: { $between: [low, low + q.RANGE_WIDTH - 1] } })
        .simplesort('score')
        .limit(20)
        .data()
        .every((r, i) => r.score === expected.range[i].score),
      `${tag} loki range`,
    );
    suite.check(
      people.find({ department: d0, age: { $between: [30, 39] } }).length ===
        expected.compound.length,
      `${tag} loki compound`,
    );
    await suite.measure(
      [
        entry(G.department, 'LokiJS find({ department }) (binary index)', q.lokiDepartment(people)),
        entry(G.city, 'LokiJS find({ city }) (binary index)', q.lokiCity(people)),
        entry(
          G.range,
          "LokiJS chain().find($between).simplesort('score').limit(20)",
          q.lokiRange(people),
        ),
        entry(G.compound, 'LokiJS find({ department, age: $between })', q.lokiCompound(people)),
        entry(G.scan, 'LokiJS find({ active, age: $between })', q.lokiScan(people)),
      ],
      peerRounds,
    );
    db.close();
  }
  collectGarbage();

  // ---- mingo -----------------------------------------------------------------------------
  {
    G.department.notes.push(
      `mingo: queries the plain array of records (it has no indexes); ${roundsNote}`,
    );
    const check = (cursor, list, what) =>
      suite.check(sameSet(cursor.all(), list), `${tag} mingo ${what}`);
    check(
      new mingo.Query({ department: q.DEPARTMENT_VALUES[0] }).find(records),
      expected.department,
      'department',
    );
    check(
      new mingo.Query(q.compoundQuery(q.DEPARTMENT_VALUES[0])).find(records),
      expected.compound,
      'compound',
    );
    await suite.measure(
      [
        entry(G.department, 'mingo Query.find(array).all()', q.mingoDepartment(records)),
        entry(G.city, 'mingo Query.find(array).all()', q.mingoCity(records)),
        entry(
          G.range,
          'mingo Query.find(array).sort({ score: 1 }).limit(20).all()',
          q.mingoRange(records),
        ),
        entry(G.compound, 'mingo Query.find(array).all()', q.mingoCompound(records)),
        entry(G.scan, 'mingo Query.find(array).all()', q.mingoScan(records)),
      ],
      peerRounds,
    );
  }
  collectGarbage();

  // ---- TinyBase --------------------------------------------------------------------------
  if (N <= tinyBaseMax) {
    suite.progress(`building TinyBase (${size} rows)...`);
    const [tiny, buildMs] = await timeOnce(() => buildTinyBase(records));
    G.department.notes.push(
      `TinyBase: filling its store, indexes and query definitions took ${formatMs(buildMs)}; ` +
        `${rounds.tinyBase.rounds} timed rounds per case`,
    );
    const d0 = q.DEPARTMENT_VALUES[0];
    suite.check(
      tiny.indexes.getSliceRowIds('byDepartment', d0).length === expected.department.length,
      `${tag} tinybase index department`,
    );
    tiny.queries.setParamValue('compound', 'department', d0);
    suite.check(
      tiny.queries.getResultRowCount('compound') === expected.compound.length,
      `${tag} tinybase compound`,
    );
    await suite.measure(
      [
        entry(
          G.department,
          'TinyBase indexes getSliceRowIds + getRow',
          q.tinyIndexDepartment(tiny),
        ),
        entry(
          G.department,
          'TinyBase queries: setParamValue + getResultTable',
          q.tinyQueryDepartment(tiny),
        ),
        entry(G.city, 'TinyBase indexes getSliceRowIds + getRow', q.tinyIndexCity(tiny)),
        entry(G.city, 'TinyBase queries: setParamValue + getResultTable', q.tinyQueryCity(tiny)),
        entry(
          G.range,
          'TinyBase queries: setParamValues + getResultSortedRowIds(score, 0, 20) + rows',
          q.tinyQueryRange(tiny),
        ),
        entry(
          G.compound,
          'TinyBase queries: setParamValue + getResultTable',
          q.tinyQueryCompound(tiny),
        ),
        entry(G.scan, 'TinyBase queries: setParamValues + getResultTable', q.tinyQueryScan(tiny)),
        entry(G.scan, 'TinyBase forEachRow + getCell filter', q.tinyForEachRowScan(tiny)),
      ],
      rounds.tinyBase,
    );
  } else {
    G.department.notes.push(
      `TinyBase: not run at ${size} rows (BENCH_TINYBASE_MAX=${tinyBaseMax.toLocaleString('en-US')}): ` +
        'in a trial on this machine, filling its store with 1,000,000 rows took ~20 s and 2.3 GB ' +
        'of heap, and each query re-evaluation ~3 s',
    );
  }

  // Every row of the range table against the naive filter + sort as well.
  const naive = G.range.rows.find((r) => r.label.includes('(naive)'));
  for (const row of [G.range.baseline, ...G.range.rows]) {
    if (row === naive) continue;
    const vsNaive = `${formatRatio(naive.nsPerOp / row.nsPerOp)}x the naive filter + sort`;
    row.note = row.note ? `${row.note}; ${vsNaive}` : vsNaive;
  }
}
