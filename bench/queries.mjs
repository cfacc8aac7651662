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
import { formatMs, timeOnce } from './suite.mjs';
import { runTable } from './table.mjs';

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
  const d0 = q.DEPARTMENT_VALUES[0];
  const low0 = q.RANGE_LOWS[0];
  const expected = {
    department: q.expected.equality(records, 'department', d0),
    city: q.expected.equality(records, 'city', q.CITY_VALUES[0]),
    range: q.expected.range(records, low0),
    compound: q.expected.compound(records, d0),
    scan: q.expected.scan(records, q.SCAN_AGE_LOWS[0]),
  };
  const about = (name) => `~${expected[name].length.toLocaleString('en-US')} matches`;
  const cases = q.QUERY_CASES.map((c) => ({ ...c, title: c.title(about) }));
  const peerRounds = rounds.peers;
  const roundsNote = `${peerRounds.rounds} timed rounds per case`;

  /** nestjs-memory-store and the best hand-written code, measured side by side. */
  async function buildOurs(data, G) {
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
      store.select(q.rangeQuery(low0), q.RANGE_OPTIONS),
    );
    G.department.notes.push(
      `nestjs-memory-store: writeMany of ${size} records took ${formatMs(loadMs)}; the first ` +
        `range query, which builds the sorted index of score, ${formatMs(sortedMs)}` +
        (rounds.own.rounds ? `; ${rounds.own.rounds} timed rounds per case` : ''),
    );
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
        `{ score: { $gte: ${low0}, $lt: ${low0 + q.RANGE_WIDTH} } } + orderBy + limit 20`,
        store.explain(q.rangeQuery(low0), q.RANGE_OPTIONS),
      ),
    );
    G.compound.notes.push(
      planNote('the attribute map', store.explain(q.compoundQuery(d0))),
      planNote('match`...`', store.explain(q.compoundMatch(d0))),
      planNote('the condition tuples', store.explain(q.compoundTuples(d0))),
    );
    G.scan.notes.push(planNote('the filter', store.explain(q.scanQuery(q.SCAN_AGE_LOWS[0]))));
    return { app, store, map, departmentIndex, cityIndex, sorted, records };
  }

  async function buildLoki(data, G) {
    suite.progress(`building LokiJS (${size} documents)...`);
    const [{ db, people }, buildMs] = await timeOnce(() => buildQueryLoki(records));
    // Its binary indexes are sorted on the first find that uses them: time that once.
    const [, indexMs] = await timeOnce(() => {
      people.find({ department: d0 });
      people.find({ city: q.CITY_VALUES[0] });
      people.find({ score: { $between: [0, 1] } });
    });
    G.department.notes.push(
      `LokiJS: inserting ${size} documents took ${formatMs(buildMs)}, sorting its 3 binary ` +
        `indexes on first use ${formatMs(indexMs)}; ${roundsNote}`,
    );
    suite.check(
      people.find({ department: d0 }).length === expected.department.length,
      `${tag} loki department`,
    );
    suite.check(
      people
        .chain()
        .find({ score: { $between: [low0, low0 + q.RANGE_WIDTH - 1] } })
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
    return { db, loki: people };
  }

  function buildMingo(data, G) {
    G.department.notes.push(
      `mingo: queries the plain array of records (it has no indexes); ${roundsNote}`,
    );
    const check = (cursor, list, what) =>
      suite.check(sameSet(cursor.all(), list), `${tag} mingo ${what}`);
    check(new mingo.Query({ department: d0 }).find(records), expected.department, 'department');
    check(new mingo.Query(q.compoundQuery(d0)).find(records), expected.compound, 'compound');
    return { records };
  }

  async function buildTiny(data, G) {
    suite.progress(`building TinyBase (${size} rows)...`);
    const [tiny, buildMs] = await timeOnce(() => buildTinyBase(records));
    G.department.notes.push(
      `TinyBase: filling its store, indexes and query definitions took ${formatMs(buildMs)}; ` +
        `${rounds.tinyBase.rounds} timed rounds per case`,
    );
    suite.check(
      tiny.indexes.getSliceRowIds('byDepartment', d0).length === expected.department.length,
      `${tag} tinybase index department`,
    );
    tiny.queries.setParamValue('compound', 'department', d0);
    suite.check(
      tiny.queries.getResultRowCount('compound') === expected.compound.length,
      `${tag} tinybase compound`,
    );
    return { tiny };
  }

  const subjects = [
    {
      name: 'nestjs-memory-store',
      build: buildOurs,
      close: (c) => c.app.close(),
      rounds: rounds.own,
    },
    { name: 'loki', build: buildLoki, close: (c) => c.db.close(), rounds: peerRounds },
    { name: 'mingo', build: buildMingo, rounds: peerRounds },
  ];
  if (N <= tinyBaseMax)
    subjects.push({ name: 'tinyBase', build: buildTiny, rounds: rounds.tinyBase });
  const G = await runTable(suite, { cases, data: { records }, subjects, prefix: `${tag} ` });
  if (N > tinyBaseMax) {
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
