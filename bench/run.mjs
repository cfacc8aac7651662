// `npm run bench`: nestjs-memory-store against native Map/Array baselines, hand-written floors
// and peer libraries, in one process. Benchmarks are not tests: this never fails on a ratio
// (only on a crash).
//
// How it is built: a section (one file) declares a table of cases (table.mjs: operation,
// baseline, our rows and reference floors, peers' rows, sizes) that one harness runs
// (harness.mjs: warm-up, interleaved timed rounds, gc; each case's loop compiled as its own
// function literal), and the report (report.mjs) prints every case with the same columns:
// ratio to the baseline, ns/op (median of the rounds), min-max over the rounds, ops/sec,
// target / note. What is not a time per operation (bytes per record, pauses, writes/s, lag)
// is a row of a value table (Suite.values): value, unit, ratio to its baseline if any, target.
// Every target (issue 2, 7, 17, 18, 19, 20...) is printed beside its row and again, met or
// not, in the "targets" list at the end.
//
// Sections (all by default; `node --expose-gc bench/run.mjs --only=queries,ttl` picks some):
//   core     issues 2 and 20: get, write, update, delete + re-insert, select; writes on a table
//            with two indexes, dirtyUpdate against get + spread + dirtyWrite, the awaited and
//            indexed writes against their hand-written floors (core.mjs)
//   queries  the query engine: equality, sorted range + limit, compound, scan, at 100,000
//            and 1,000,000 records, against hand-written code, LokiJS, mingo and TinyBase
//            (queries.mjs, query-cases.mjs; BENCH_QUERY_SIZES, BENCH_TINYBASE_MAX)
//   ttl      time to live: sweep cost per expired record at 100,000 and 1,000,000 records
//            against the bare-removal floor, with a full scan as reference; the longest pause of
//            a mass expiry; get with and without TTL; node-cache and lru-cache (ttl.mjs;
//            BENCH_TTL_SIZES)
//   events   change events (changes(), @OnStoreEvent, EventEmitter2) and transactions
//            (events.mjs)
//   persistence  write throughput per fsync policy, recovery time (persistence.mjs;
//            BENCH_RECOVERY_RECORDS), the longest event-loop pause of writeMany, snapshot,
//            backup, restore, export, import, update/deleteMany and recovery at 1,000,000
//            records, with peak RSS growth of export and backup (persistence-stalls.mjs;
//            BENCH_STALL_RECORDS)
//   replication  issue 7: replication over Redis with two instances in one process: get
//            against memory-only, awaited write throughput at 1 and 50 writers, replication
//            lag (replication.mjs; needs Redis: BENCH_REDIS_URL, default redis://127.0.0.1:6379;
//            BENCH_REPLICATION_RECORDS, BENCH_REPLICATION_BATCH)
//   metrics  issue 17: get, write and an indexed select without the metrics module, with it and
//            no meter provider, and with an SDK MeterProvider (metrics.mjs)
//   regex    issue 14: pathological $regex patterns over 10,000 records of 20,000-character
//            strings against a linear pattern over the same data, and 1,000 distinct
//            patterns compiled (regex.mjs)
//   querylive  issue 18: a watched top-20 updated by one write against re-running the query, a
//            join of 10,000 people to 100 departments against Map.get (query-live.mjs)
//   update-operators  issue 18: update(k, { $inc }) against get + spread + dirtyWrite and a
//            Map floor (update-operators.mjs)
//   queryindexes  issue 18: compound equality + range against a hand-built nested Map, a
//            keyset page at depth 50,000 against the first page, with LokiJS, mingo, TinyBase
//            (query-indexes.mjs)
//   cache    issue 19: get on a sliding-TTL table, fetch of a stored record, cache-manager
//            get/set through memoryStoreKeyv, against lru-cache and cache-manager (cache.mjs)
//   querymodel  issue 18: array-element equality with a multikey index against a hand-built
//            Map<element, Set<record>>, LokiJS, mingo and TinyBase (query-model.mjs)
//   memory   issue 20: heap bytes per record of a 1,000,000-record table with two indexes
//            against a Map of frozen copies + hand-kept indexes (memory.mjs;
//            BENCH_MEMORY_RECORDS)
// Environment: BENCH_ROUND_MS, BENCH_ROUNDS, BENCH_WARMUP_MS (harness.mjs), and each
// section's own, named above.

import os from 'node:os';
import { runCore } from './core.mjs';
import { runQueries } from './queries.mjs';
import { runTtl } from './ttl.mjs';
import { runEvents } from './events.mjs';
import { runPersistence } from './persistence.mjs';
import { runReplication } from './replication.mjs';
import { runMetrics } from './metrics.mjs';
import { runRegex } from './regex.mjs';
import { runQueryLive } from './query-live.mjs';
import { runUpdateOperators } from './update-operators.mjs';
import { runQueryIndexes } from './query-indexes.mjs';
import { runCache } from './cache.mjs';
import { runQueryModel } from './query-model.mjs';
import { runMemory } from './memory.mjs';
import { collectGarbage, sink } from './harness.mjs';
import { printHeader, printSection, printTargets } from './report.mjs';
import { Suite } from './suite.mjs';

async function persistenceSection(suite) {
  suite.section(
    'persistence',
    'write throughput per fsync policy, recovery, and event-loop pauses at 1,000,000 records',
  );
  await runPersistence(suite);
}

const SECTIONS = {
  core: runCore,
  queries: runQueries,
  ttl: runTtl,
  events: runEvents,
  persistence: persistenceSection,
  replication: runReplication,
  metrics: runMetrics,
  regex: runRegex,
  querylive: runQueryLive,
  'update-operators': runUpdateOperators,
  queryindexes: runQueryIndexes,
  cache: runCache,
  querymodel: runQueryModel,
  memory: runMemory,
};

/** The sections named by `--only=a,b` (or `--only a,b`), in run order; all without it. */
function selectedSections(argv) {
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only') names.push(...(argv[++i] ?? '').split(','));
    else if (arg.startsWith('--only=')) names.push(...arg.slice('--only='.length).split(','));
    else throw new Error(`unknown argument '${arg}' (usage: run.mjs [--only=section,...])`);
  }
  const wanted = names.map((n) => n.trim()).filter(Boolean);
  for (const name of wanted) {
    if (!(name in SECTIONS)) {
      throw new Error(
        `unknown section '${name}': the sections are ${Object.keys(SECTIONS).join(', ')}`,
      );
    }
  }
  return Object.keys(SECTIONS).filter((name) => wanted.length === 0 || wanted.includes(name));
}

async function main() {
  let sections;
  try {
    sections = selectedSections(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  const suite = new Suite();
  if (typeof globalThis.gc !== 'function') {
    suite.warn(
      'run with node --expose-gc (as npm run bench does) so that cases start from a clean heap',
    );
  }
  printHeader(sections);
  for (const name of sections) {
    suite.progress(`==== section ${name}`);
    await SECTIONS[name](suite);
    collectGarbage();
  }

  for (const section of suite.sections) printSection(section);
  printTargets(suite.sections);
  for (const w of suite.warnings) console.log(`WARNING: sanity check failed: ${w}`);
  console.log(
    `total ${((Date.now() - suite.startedAt) / 1000).toFixed(1)} s; load average at end ` +
      `${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (sink ${sink.value % 10})`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
