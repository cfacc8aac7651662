// The "ttl" section (issue "time to live"): a sweep of 1,000,000 records of which 1% have
// expired, against a full scan of the same table; get on a table with a TTL against one
// without; the same in node-cache and lru-cache.
//
// Time is faked: Date.now is monkey-patched in this process (our store's clock and
// node-cache read it; lru-cache gets the same offset through its `perf` option) and moved
// forward by 2 s before each sweep, after 1% of the records were rewritten with a 1 s TTL.
// Both our store and lru-cache cache the clock for 1 ms (our `ttl.resolution`, its
// `ttlResolution`, both 1 ms by default) through a timer, so the bench waits 2 ms of real
// time after moving the clock. The patch is removed before the get cases.

import { collectGarbage, sink } from './harness.mjs';
import { LRUCache } from 'lru-cache';
import NodeCache from 'node-cache';
import { makeRecords, shuffledKeys } from './data.mjs';
import { bootTtlStores } from './stores.mjs';
import { formatRatio } from './report.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';

const N = 1_000_000;
/** Every 100th record expires before each sweep. */
const EXPIRING_EVERY = 100;
const HOUR_MS = 3_600_000;
/** The short TTL of the expiring records, and how far the clock moves before a sweep. */
const SHORT_TTL_MS = 1000;
const CLOCK_STEP_MS = 2000;
const SWEEP_TARGET = 10; // a sweep under a tenth of a full scan
/** Records that expire at once for the pause figure, and the longest pause allowed. */
const MASS = 100_000;
const PAUSE_TARGET_MS = 10;
const GET_TARGET = 1 / 1.2; // get with TTL within 1.2x of get without
const SWEEP_REPS = { reps: 11, warmup: 2 };
/** node-cache and lru-cache sweep by visiting every entry (~0.3-0.8 s each): fewer of them. */
const PEER_SWEEP_REPS = { reps: 5, warmup: 1 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Patches Date.now to run `offset` ms ahead; `perf` is the same clock for lru-cache. */
export function installFakeClock() {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  return {
    perf: { now: () => performance.now() + offset },
    advance(ms) {
      offset += ms;
    },
    restore() {
      Date.now = realNow;
    },
  };
}

export async function runTtl(suite) {
  const size = N.toLocaleString('en-US');
  suite.section(
    'ttl',
    `issue "time to live": sweep and get (${size} records; 1% expire before each sweep)`,
  );
  const sweepGroup = suite.group(
    `sweep of ${size} records of which ${(N / EXPIRING_EVERY).toLocaleString('en-US')} (1%) have expired ` +
      '(one op = one sweep or scan of the whole table)',
    {
      comment:
        'ratio = full scan time / sweep time (>= 10: the sweep costs under a tenth of the scan); ' +
        `timed one call at a time, ${SWEEP_REPS.reps} repetitions after ${SWEEP_REPS.warmup} warm-up ` +
        `(node-cache, lru-cache: ${PEER_SWEEP_REPS.reps} after ${PEER_SWEEP_REPS.warmup})`,
      notes: [
        'clock: Date.now patched to run ahead (lru-cache: the same offset through its perf option); ' +
          'before each sweep 1% of the records are rewritten with a 1 s TTL and the clock moves 2 s',
      ],
    },
  );
  const getGroup = suite.group(`get by key, ${size} records, shuffled keys`, {
    comment: 'each TTL table gives every record a 1 h TTL; nothing expires during these cases',
  });

  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const expiring = records.filter((_, i) => i % EXPIRING_EVERY === 0);
  const E = expiring.length;

  // ---- nestjs-memory-store ---------------------------------------------------------------
  suite.progress(`ttl: booting Nest and loading ${size} records into two stores...`);
  const { app, withTtl, withoutTtl } = await bootTtlStores();
  const [, loadTtlMs] = await timeOnce(() => withTtl.writeMany(records));
  const [, loadPlainMs] = await timeOnce(() => withoutTtl.writeMany(records));
  suite.check(withTtl.size === N && withoutTtl.size === N, 'ttl store sizes after load');
  suite.check(Math.abs(withTtl.ttl(keys[0]) - HOUR_MS) < 60_000, "the table's 1 h TTL applies");
  sweepGroup.notes.push(
    `nestjs-memory-store: writeMany of ${size} records took ${formatMs(loadTtlMs)} with the ` +
      `table's TTL, ${formatMs(loadPlainMs)} without`,
  );

  const clock = installFakeClock();
  try {
    const swept = [];
    /** A deadline map as a hand-written cache would keep it, for the least a scan can cost. */
    const deadlines = new Map(records.map((r) => [r.id, Date.now() + HOUR_MS]));
    /** The table's rows as a plain Map: what removing the expired records costs at least. */
    const rows = new Map(records.map((r) => [r.id, r]));
    await suite.measureOnce(
      [
        {
          group: sweepGroup,
          label: "nestjs-memory-store full scan: select({ department: 'none' }) (no index)",
          baseline: true,
          setup: () => sleep(2),
          run: () => (sink.value += withTtl.select({ department: 'none' }).length),
        },
        {
          group: sweepGroup,
          label: 'nestjs-memory-store store.sweep() (deadline buckets)',
          target: SWEEP_TARGET,
          setup: async () => {
            withTtl.dirtyWriteMany(expiring, { ttl: SHORT_TTL_MS });
            clock.advance(CLOCK_STEP_MS);
            await sleep(2);
          },
          run: () => swept.push(withTtl.sweep()),
        },
        {
          group: sweepGroup,
          label: `reference: Map.delete of the ${E.toLocaleString('en-US')} expired keys from a Map of ${size} records`,
          note: 'the removal alone, which any sweep does: no deadline to find, nothing to report',
          setup: async () => {
            for (const r of expiring) rows.set(r.id, r);
            await sleep(2);
          },
          run: () => {
            for (const r of expiring) rows.delete(r.id);
          },
        },
        {
          group: sweepGroup,
          label: 'reference: for..of over a Map of 1,000,000 deadlines, collecting the expired',
          note: 'the least any scanning sweep costs',
          setup: () => sleep(2),
          run: () => {
            const now = Date.now();
            const expired = [];
            for (const [key, deadline] of deadlines) if (deadline <= now) expired.push(key);
            sink.value += expired.length;
          },
        },
      ],
      SWEEP_REPS,
    );
    suite.check(
      swept.length > 0 && swept.every((n) => n === E),
      `every sweep removes the ${E} expired records (got ${[...new Set(swept)].join(', ')})`,
    );
    suite.check(withTtl.size === N - E, 'ttl store size after the last sweep');
    await measureMassExpiry(suite, sweepGroup, withTtl, records, clock, N - E);
    withTtl.dirtyWriteMany(expiring); // back to 1 h, for the get cases
  } finally {
    clock.restore();
  }

  await suite.measure([
    entry(getGroup, 'nestjs-memory-store get, table without TTL', storeGetPlain(withoutTtl, keys), {
      baseline: true,
    }),
    entry(getGroup, 'nestjs-memory-store get, table with TTL (1 h)', storeGetTtl(withTtl, keys), {
      target: GET_TARGET,
    }),
  ]);
  await app.close();
  collectGarbage();

  // ---- node-cache ------------------------------------------------------------------------
  {
    suite.progress(`ttl: building node-cache (stdTTL 1 h, useClones false, ${size} keys)...`);
    const options = { stdTTL: HOUR_MS / 1000, checkperiod: 0, useClones: false };
    const [cache, buildMs] = await timeOnce(() => fillNodeCache(new NodeCache(options), records));
    let expired = 0;
    cache.on('expired', () => expired++);
    const fake = installFakeClock();
    try {
      await suite.measureOnce(
        [
          {
            group: sweepGroup,
            label: 'node-cache _checkData() (its checkperiod job: a pass over every key)',
            setup: () => {
              for (const r of expiring) cache.set(r.id, r, SHORT_TTL_MS / 1000);
              fake.advance(CLOCK_STEP_MS);
            },
            run: () => cache._checkData(false),
          },
        ],
        PEER_SWEEP_REPS,
      );
    } finally {
      fake.restore();
    }
    suite.check(
      expired === E * (PEER_SWEEP_REPS.reps + PEER_SWEEP_REPS.warmup),
      `node-cache expired ${expired}`,
    );
    for (const r of expiring) cache.set(r.id, r);
    const plain = fillNodeCache(new NodeCache({ checkperiod: 0, useClones: false }), records);
    const [withoutRow, withRow] = await suite.measure([
      entry(getGroup, 'node-cache get, no TTL (useClones false)', nodeCacheGetPlain(plain, keys)),
      entry(getGroup, 'node-cache get, stdTTL 1 h (useClones false)', nodeCacheGetTtl(cache, keys)),
    ]);
    withRow.note = `= ${formatRatio(withoutRow.nsPerOp / withRow.nsPerOp)}x node-cache without TTL`;
    sweepGroup.notes.push(`node-cache: filling ${size} keys took ${formatMs(buildMs)}`);
    cache.close();
    plain.close();
  }
  collectGarbage();

  // ---- lru-cache -------------------------------------------------------------------------
  {
    suite.progress(`ttl: building lru-cache (ttl 1 h, ${size} keys)...`);
    const fake = installFakeClock();
    let lru;
    try {
      // ttlResolution: 1 (the default): it reads its clock at most once a millisecond.
      lru = new LRUCache({ max: 2 * N, ttl: HOUR_MS, ttlResolution: 1, perf: fake.perf });
      for (const r of records) lru.set(r.id, r);
      const sizes = [];
      await suite.measureOnce(
        [
          {
            group: sweepGroup,
            label: 'lru-cache purgeStale() (a pass over every entry; ttlResolution 1 ms)',
            setup: async () => {
              for (const r of expiring) lru.set(r.id, r, { ttl: SHORT_TTL_MS });
              fake.advance(CLOCK_STEP_MS);
              await sleep(2);
            },
            run: () => {
              lru.purgeStale();
              sizes.push(lru.size);
            },
          },
        ],
        PEER_SWEEP_REPS,
      );
      suite.check(
        sizes.every((s) => s === N - E),
        `lru-cache purgeStale leaves ${N - E} (got ${[...new Set(sizes)].join(', ')})`,
      );
    } finally {
      fake.restore();
    }
    for (const r of expiring) lru.set(r.id, r);
    const plain = new LRUCache({ max: 2 * N });
    for (const r of records) plain.set(r.id, r);
    const [withoutRow, withRow] = await suite.measure([
      entry(getGroup, 'lru-cache get, no TTL', lruGetPlain(plain, keys)),
      entry(getGroup, 'lru-cache get, ttl 1 h (ttlResolution 1 ms)', lruGetTtl(lru, keys)),
    ]);
    withRow.note = `= ${formatRatio(withoutRow.nsPerOp / withRow.nsPerOp)}x lru-cache without TTL`;
  }
  collectGarbage();

  // Every sweep against ours, too.
  const ours = sweepGroup.rows.find((r) => r.label.includes('store.sweep()'));
  for (const row of sweepGroup.rows) {
    if (row === ours || row.label.startsWith('reference')) continue;
    row.note = `${formatRatio(row.nsPerOp / ours.nsPerOp)}x as long as nestjs-memory-store's sweep`;
  }
}

/**
 * The longest pause of the event loop when MASS records of the table expire at once: the read
 * that finds them (timed itself), then every turn of the event loop until they are all gone
 * (a turn's gap holds whatever ran in it: a step of expiry, change delivery). Once with nobody
 * listening, once with a changes() observer (every expiry then builds and delivers a change).
 */
export async function measureMassExpiry(suite, group, store, records, clock, live) {
  const mass = records.filter((_, i) => i % 10 === 5).slice(0, MASS); // none of `expiring`
  const probe = records[1].id; // never expires here
  const figures = [];
  for (const observed of [false, true]) {
    const pauses = [];
    const cpuPauses = [];
    for (let rep = 0; rep < 3; rep++) {
      store.dirtyWriteMany(mass, { ttl: SHORT_TTL_MS });
      clock.advance(CLOCK_STEP_MS);
      await sleep(2);
      collectGarbage();
      let expired = 0;
      const subscription = observed
        ? store.changes({ op: 'expire' }).subscribe(() => expired++)
        : undefined;
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      sink.value += store.get(probe).age; // the read that finds them all
      let longest = performance.now() - start;
      let longestCpu = cpuMs(process.cpuUsage(cpuStart));
      const size = store.size;
      let quiet = 0;
      for (let turn = 0; turn < 10_000 && quiet < 20; turn++) {
        const cpuBefore = process.cpuUsage();
        const before = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
        const gap = performance.now() - before;
        if (gap > longest) longest = gap;
        longestCpu = Math.max(longestCpu, cpuMs(process.cpuUsage(cpuBefore)));
        quiet = gap < 0.5 && (!observed || expired === mass.length) ? quiet + 1 : 0;
      }
      subscription?.unsubscribe();
      suite.check(size === live - mass.length, `mass expiry: size ${size} right after the read`);
      if (observed) suite.check(expired === mass.length, `mass expiry: ${expired} expire changes`);
      pauses.push(longest);
      cpuPauses.push(longestCpu);
      store.dirtyWriteMany(mass); // back to the table's 1 h
    }
    pauses.sort((a, b) => a - b);
    cpuPauses.sort((a, b) => a - b);
    const median = pauses[1];
    suite.check(
      median < PAUSE_TARGET_MS,
      `mass expiry pause ${median.toFixed(1)} ms >= ${PAUSE_TARGET_MS} ms`,
    );
    figures.push(
      `${observed ? 'with a changes() observer' : 'nobody listening'}: ${formatMs(median)} ` +
        `(median of 3; all: ${pauses.map((p) => p.toFixed(1)).join(', ')} ms; the process's CPU ` +
        `time in that turn, which leaves out time the OS gave other processes: ${cpuPauses.map((p) => p.toFixed(1)).join(', ')} ms)`,
    );
  }
  group.notes.push(
    `longest event-loop pause when ${MASS.toLocaleString('en-US')} of the ${N.toLocaleString('en-US')} records ` +
      `expire at once (the read that finds them, then each turn until they are removed; target < ` +
      `${PAUSE_TARGET_MS} ms): ${figures.join('; ')}`,
  );
}

/** Milliseconds of CPU (user + system, every thread of the process) in a cpuUsage() delta. */
function cpuMs({ user, system }) {
  return (user + system) / 1000;
}

function fillNodeCache(cache, records) {
  for (const r of records) cache.set(r.id, r);
  return cache;
}

// ---- get cases, one function literal each (see cases.mjs) ---------------------------------

function storeGetPlain(store, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

function storeGetTtl(store, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

function nodeCacheGetPlain(cache, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += cache.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

function nodeCacheGetTtl(cache, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += cache.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

function lruGetPlain(lru, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += lru.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

function lruGetTtl(lru, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += lru.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}
