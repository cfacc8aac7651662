// The "replication" section (issue #7): what replication over Redis costs a read and a
// write, and how far behind the other instances are.
//
// Two Nest applications in this process play two instances of one application: A and B,
// replicated through the same Redis server and key prefix (a fresh prefix per run, whose
// keys are deleted at the end), with distinct instanceIds. A third application holds the
// same store memory-only, the baseline. Every instance keeps a full copy and reads it
// locally; a write is committed by a Lua script in Redis, appended to a Redis Stream, and
// resolves once the writing instance applied it (from the script's reply when it is the next
// entry, else from the stream); the others apply it when their stream reader gets it.
//
// Everything shares this process's event loop and the machine's cores with Redis: a write's
// figure includes B applying it too (B's stream reader and apply run here), and Redis's own
// work. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379); records:
// BENCH_REPLICATION_RECORDS (default 100000).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { collectGarbage, sink } from './harness.mjs';
import { makeRecords, makeReplacements, shuffledKeys } from './data.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';
import { compileLoop } from './table.mjs';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_REPLICATION_RECORDS ?? 100_000);
const GET_TARGET = 0.9;
/** Write cases run longer than the harness's default: the Redis client's code warms up slowly. */
const WRITE_SETTINGS = { warmupMs: 1000, roundMs: 300 };
/** Concurrent writers of the second write case. */
const WRITERS = 50;
/** Records per writeMany() while A loads the store. */
const LOAD_BATCH = 1000;
/**
 * Writes timed per lag case, after LAG_WARMUP writes that are not counted; a case stops
 * early after LAG_BUDGET_MS (a loaded machine stretches every round trip).
 */
const LAG_WRITES = 2000;
const LAG_WARMUP = 200;
const LAG_BUDGET_MS = 6000;
/** How long a lag case waits for B to receive a change before it gives up. */
const LAG_TIMEOUT_MS = 10_000;
/** Records of the large batch whose longest Redis stall is measured. */
const BATCH = Number(process.env.BENCH_REPLICATION_BATCH ?? 700_000);
/** How long the 50 writers' latency case runs. */
const LATENCY_MS = 3000;
const A_ID = 'bench-a';
const B_ID = 'bench-b';

// ---- the store, replicated or not by the module that provides it --------------------------

class ReplicatedPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'replicated_people', key: 'id' })(ReplicatedPerson);

class ReplicatedPeopleStore extends MemoryStore {}
Store({ table: ReplicatedPerson })(ReplicatedPeopleStore);

/** Boots an application context with the store, replicated when `replication` is given. */
async function bootInstance(replication) {
  class ReplicationBenchModule {}
  Module({
    imports: [
      MemoryStoreModule.forRoot({
        stores: [ReplicatedPeopleStore],
        ...(replication ? { replication } : {}),
      }),
    ],
  })(ReplicationBenchModule);
  const app = await NestFactory.createApplicationContext(ReplicationBenchModule, {
    logger: false,
  });
  return { app, store: app.get(ReplicatedPeopleStore) };
}

/** Null when Redis answers PING, else why not. */
async function redisProblem() {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return error.message;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key of the prefix (`{prefix}:…`); returns how many. */
async function dropPrefix(prefix) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** Waits (10 s at most) until the table's compacted snapshot covers the whole log. */
async function snapshotCovers(prefix) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const end = performance.now() + 10_000;
    while (performance.now() < end) {
      const [seq, covered] = await Promise.all([
        redis.get(`{${prefix}}:seq`),
        redis.hget(`{${prefix}}:t:replicated_people:snap`, 'seq'),
      ]);
      if (seq !== null && seq === covered) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  } finally {
    redis.disconnect();
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** Waits until `done()` holds, polling each millisecond; false after `ms`. */
async function until(done, ms = LAG_TIMEOUT_MS) {
  const start = performance.now();
  while (!done()) {
    if (performance.now() - start > ms) return false;
    await tick();
  }
  return true;
}

export async function runReplication(suite) {
  const size = N.toLocaleString('en-US');
  const section = suite.section(
    'replication',
    `issue #7: replication over Redis, two instances A and B in one process (${size} records)`,
  );
  const problem = await redisProblem();
  if (problem) {
    suite.warn(`replication section skipped: Redis at ${REDIS_URL} did not answer (${problem})`);
    section.lines = [`skipped: Redis at ${REDIS_URL} did not answer (${problem})`];
    return;
  }
  const prefix = `bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const running = [];
  try {
    await measure(suite, section, prefix, running);
  } finally {
    for (const app of running) await app.close();
    const deleted = await dropPrefix(prefix);
    suite.progress(`replication: deleted ${deleted} Redis keys of prefix ${prefix}`);
  }
}

async function measure(suite, section, prefix, running) {
  const size = N.toLocaleString('en-US');
  const getGroup = suite.group(
    `get by key (${size} records, shuffled keys): replicated vs memory-only`,
    {
      comment:
        'one op = one store.get(key), with keys decoded afresh from bytes (as a request gives them)',
    },
  );
  const sameStringGroup = suite.group(
    "get by key with the records' own id strings (those the memory-only store holds as its keys)",
    {
      comment:
        'a replicated store holds the key strings parsed from the log; a Map finds a key string ' +
        'that is the very one it holds without comparing characters, which favours the baseline here',
    },
  );
  const writeGroup = suite.group(
    `awaited write() replacing a record of ${size} (ops/sec = writes/second)`,
    {
      comment:
        `one op = one write; ${WRITERS} writers = ${WRITERS} async loops, each awaiting its ` +
        'own writes (one op = one write of any of them)',
      notes: [
        `${WRITE_SETTINGS.warmupMs} ms warm-up and rounds of ${WRITE_SETTINGS.roundMs} ms per case ` +
          "(the Redis client's code warms up slowly); B applies every write too, in this process",
      ],
    },
  );

  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const freshKeys = keys.map((key) => Buffer.from(key, 'utf8').toString('utf8'));
  const byId = new Map(records.map((r) => [r.id, r]));
  const changedById = new Map(makeReplacements(records).map((r) => [r.id, r]));
  /** Two versions of every record in the order of `keys`; writes alternate between them. */
  const versions = [keys.map((k) => changedById.get(k)), keys.map((k) => byId.get(k))];
  const replication = (instanceId) => ({ redis: REDIS_URL, prefix, instanceId });

  suite.progress(`replication: prefix ${prefix}; booting the memory-only app and instance A...`);
  const local = await bootInstance(undefined);
  running.push(local.app);
  await local.store.writeMany(records);
  const a = await bootInstance(replication(A_ID));
  running.push(a.app);
  const [, loadMs] = await timeOnce(async () => {
    for (let i = 0; i < N; i += LOAD_BATCH)
      await a.store.writeMany(records.slice(i, i + LOAD_BATCH));
  });
  suite.progress('replication: booting instance B (loads the store from Redis)...');
  collectGarbage();
  const cpuBefore = process.cpuUsage();
  const [b, bootMs] = await timeOnce(() => bootInstance(replication(B_ID)));
  const cpu = process.cpuUsage(cpuBefore);
  const bootCpuMs = (cpu.user + cpu.system) / 1000;
  running.push(b.app);
  suite.check(b.store.size === N, `replication: B loaded ${b.store.size} of ${N} records`);
  getGroup.notes.push(
    `A loaded ${size} records with awaited writeMany() of ${LOAD_BATCH.toLocaleString('en-US')} ` +
      `in ${formatMs(loadMs)}; B booted and loaded them from Redis in ${formatMs(bootMs)} ` +
      `(CPU time of this process meanwhile: ${formatMs(bootCpuMs)})`,
  );
  // Once the log is quiet an instance writes the table's compacted snapshot (issue #15): a
  // later instance loads it with GETs and replays nothing, and A writes nothing meanwhile.
  const quiet = await snapshotCovers(prefix);
  collectGarbage();
  const quietCpuBefore = process.cpuUsage();
  const [c, quietMs] = await timeOnce(() => bootInstance(replication('bench-c')));
  const quietCpu = process.cpuUsage(quietCpuBefore);
  running.push(c.app);
  suite.check(c.store.size === N, `replication: C loaded ${c.store.size} of ${N} records`);
  getGroup.notes.push(
    `C booted and loaded them ${quiet ? 'from the compacted snapshot' : '(no snapshot within 10 s)'} ` +
      `once the log was quiet, in ${formatMs(quietMs)} ` +
      `(CPU time of this process meanwhile: ${formatMs((quietCpu.user + quietCpu.system) / 1000)})`,
  );

  /** A get case and an awaited-write case, each its own compiled loop (see table.mjs). */
  const get = (label, store, keyList) =>
    compileLoop(`replication get ${label}`, (k) => store.get(k).age, keyList, { fold: true });
  const writes = [...versions[0], ...versions[1]];
  const write = (label, store) =>
    compileLoop(`replication write ${label}`, (r) => store.write(r), writes, { mode: 'await' });
  await suite.measure([
    entry(getGroup, 'memory-only store', get('memory', local.store, freshKeys), { baseline: true }),
    entry(
      getGroup,
      'replicated, A (records built by its own writes)',
      get('A', a.store, freshKeys),
      { target: GET_TARGET },
    ),
    entry(getGroup, 'replicated, B (records loaded from Redis)', get('B', b.store, freshKeys), {
      target: GET_TARGET,
    }),
  ]);
  await suite.measure([
    entry(sameStringGroup, 'memory-only store', get('memory same', local.store, keys), {
      baseline: true,
    }),
    entry(sameStringGroup, 'replicated, A', get('A same', a.store, keys)),
  ]);

  await suite.measure(
    [
      entry(writeGroup, 'memory-only store, 1 writer', write('memory', local.store), {
        baseline: true,
      }),
      entry(writeGroup, 'replicated (A), 1 writer', write('A', a.store)),
      entry(
        writeGroup,
        `replicated (A), ${WRITERS} concurrent writers`,
        concurrentWrites(a.store, versions),
      ),
    ],
    WRITE_SETTINGS,
  );

  const lagStart = keys.length >> 1; // keys the write cases reached last, if at all
  const lagKeys = (from) => keys.slice(lagStart + from, lagStart + from + LAG_WRITES + LAG_WARMUP);
  suite.progress(`replication lag: up to ${LAG_WRITES} paced writes on A...`);
  collectGarbage();
  const paced = await measureLag(suite, a.store, b.store, lagKeys(0), true);
  suite.progress(`replication lag: up to ${LAG_WRITES} back-to-back writes on A...`);
  collectGarbage();
  const backToBack = await measureLag(
    suite,
    a.store,
    b.store,
    lagKeys(LAG_WRITES + LAG_WARMUP),
    false,
  );
  suite.progress(`replication lag: ${LAG_WRITES} PINGs to Redis, for reference...`);
  const ping = await measurePing();
  lagRows(suite, paced, backToBack, ping);

  const caughtUp = await until(
    () => b.store.replication.appliedSeq === a.store.replication.appliedSeq,
  );
  suite.check(
    caughtUp,
    `replication: B applied up to ${b.store.replication.appliedSeq}, A up to ${a.store.replication.appliedSeq}`,
  );
  const difference = firstDifference(a.store, b.store);
  suite.check(difference === undefined, `replication: A and B differ: ${difference}`);
  suite.check(
    a.store.size === N && local.store.size === N,
    `replication: sizes after the section (A ${a.store.size}, memory-only ${local.store.size}, expected ${N})`,
  );
  const end = suite.values('after the lag cases, and under load', {
    comment: `A and B ${difference === undefined ? 'hold identical contents' : `DIFFER: ${difference}`} (${a.store.size.toLocaleString('en-US')} records, log position ${a.store.replication.appliedSeq} on both)`,
    lowerIsBetter: false,
  });

  suite.progress(`replication: ${WRITERS} writers for ${LATENCY_MS} ms, latency of each write...`);
  collectGarbage();
  const latency = await writerLatency(a.store, versions);
  suite.value(end, {
    label: `${WRITERS} concurrent writers on A for ${formatMs(LATENCY_MS)}`,
    value: latency.count / (LATENCY_MS / 1000),
    unit: 'writes/s',
    note:
      `${latency.count} writes; latency p50 ${latency.p50.toFixed(2)} ms, ` +
      `p99 ${latency.p99.toFixed(2)} ms`,
  });

  if (BATCH > 0) {
    suite.progress(`replication: writeMany of ${BATCH} records on A, PING from another process...`);
    collectGarbage();
    const stall = await batchStall(a.store);
    suite.value(end, {
      label:
        `longest PING from another process during writeMany of ${BATCH.toLocaleString('en-US')} ` +
        'records on A (the longest Redis stall)',
      value: stall.pings.max,
      unit: 'ms',
      note:
        `writeMany: ${stall.outcome} in ${formatMs(stall.ms)}; ${stall.pings.count} PINGs answered, ` +
        `p50 ${stall.pings.p50.toFixed(1)} ms, p99 ${stall.pings.p99.toFixed(1)} ms (the machine's own pauses included)`,
    });
  }
}

/** Each write's latency while WRITERS loops write for LATENCY_MS. */
async function writerLatency(store, versions) {
  const times = [];
  const end = performance.now() + LATENCY_MS;
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const record = versions[i & 1][i % versions[0].length];
        const start = performance.now();
        await store.write(record);
        times.push(performance.now() - start);
      }
    }),
  );
  times.sort((x, y) => x - y);
  return { count: times.length, p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** PING round trips measured by a process of its own (this one's work must not count). */
const PINGER = `
import { Redis } from 'ioredis';
const redis = new Redis(process.argv[1]);
const times = [];
let running = true;
process.stdin.on('end', () => (running = false));
process.stdin.resume();
while (running) {
  const sent = performance.now();
  try { await redis.ping(); } catch {}
  times.push(performance.now() - sent);
  await new Promise((resolve) => setTimeout(resolve, 1));
}
redis.disconnect();
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))] ?? 0;
process.stdout.write(JSON.stringify({ count: times.length, p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? 0 }));
`;

/** Writes a BATCH-record writeMany on A while another process pings Redis. */
async function batchStall(store) {
  const records = Array.from({ length: BATCH }, (_, i) => ({
    id: `batch-${i}`,
    department: `d${i % 20}`,
    age: i % 90,
    active: i % 2 === 0,
    email: `batch-${i}@example.com`,
  }));
  const pinger = spawn(process.execPath, ['--input-type=module', '-e', PINGER, REDIS_URL], {
    cwd: dirname(fileURLToPath(import.meta.url)),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let report = '';
  pinger.stdout.on('data', (chunk) => (report += chunk));
  const exited = new Promise((resolve) => pinger.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the pinger connects
  const start = performance.now();
  let outcome = 'resolved';
  try {
    await store.writeMany(records);
  } catch (error) {
    outcome = `rejected (${error.name}: ${error.message})`;
  }
  const ms = performance.now() - start;
  pinger.stdin.end();
  await exited;
  return { outcome, ms, pings: JSON.parse(report) };
}

/** Undefined when both stores hold the same records, else the first difference found. */
function firstDifference(a, b) {
  if (a.size !== b.size) return `${a.size} records on A, ${b.size} on B`;
  for (const record of a.all()) {
    const other = b.get(record.id);
    if (JSON.stringify(other) !== JSON.stringify(record)) {
      return `record ${record.id}: ${JSON.stringify(record)} on A, ${JSON.stringify(other)} on B`;
    }
  }
  return undefined;
}

// ---- replication lag ----------------------------------------------------------------------

/**
 * Writes a record of each key on A, one writer: after LAG_WARMUP uncounted writes, times up
 * to LAG_WRITES of them (LAG_BUDGET_MS at most), from calling a.write() until (1) its promise
 * resolves on A (the commit) and (2) B's changes() observer receives the change. `paced`:
 * the next write is issued once B received the previous one (no two writes overlap); else
 * as soon as A's promise resolved.
 */
async function measureLag(suite, a, b, keys, paced) {
  const index = new Map(keys.map((key, i) => [key, i]));
  const sent = new Float64Array(keys.length);
  const committed = new Float64Array(keys.length);
  const received = new Float64Array(keys.length);
  /** The age each timed write gives its record: B's change is matched to the write by it. */
  const ages = new Float64Array(keys.length).fill(NaN);
  // B may still be applying earlier cases' writes to these keys: start once it has caught up.
  await until(() => b.replication.appliedSeq === a.replication.appliedSeq, 30_000);
  let deliveries = 0;
  let foreign = 0;
  /** The write whose receipt on B is awaited, and how to wake the wait. */
  let awaited = -1;
  let wake;
  const subscription = b.changes().subscribe((change) => {
    const i = index.get(change.key);
    if (i === undefined || received[i] !== 0 || change.record?.age !== ages[i]) return;
    received[i] = performance.now();
    deliveries++;
    if (change.origin !== A_ID) foreign++;
    if (i === awaited) wake(true);
  });
  /** Resolves to true once B received write `i`, to false after LAG_TIMEOUT_MS. */
  const receivedOnB = (i) =>
    received[i] !== 0 ||
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), LAG_TIMEOUT_MS);
      awaited = i;
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  let issued = 0;
  try {
    let deadline = Infinity;
    for (let i = 0; i < keys.length && performance.now() < deadline; i++) {
      if (i === LAG_WARMUP) deadline = performance.now() + LAG_BUDGET_MS;
      const current = a.get(keys[i]);
      const record = { ...current, age: current.age + 1 };
      ages[i] = record.age;
      sent[i] = performance.now();
      issued++;
      await a.write(record);
      committed[i] = performance.now();
      if (paced && !(await receivedOnB(i))) break;
    }
    await receivedOnB(issued - 1);
    await until(() => deliveries === issued, 1000);
  } finally {
    subscription.unsubscribe();
  }
  suite.check(
    deliveries === issued,
    `replication lag: B received ${deliveries} of ${issued} changes`,
  );
  suite.check(foreign === 0, `replication lag: ${foreign} changes on B had an origin other than A`);
  const timed = (from, to) => {
    const ms = [];
    for (let i = LAG_WARMUP; i < issued; i++) if (to[i] !== 0) ms.push(to[i] - from[i]);
    return ms.sort((x, y) => x - y);
  };
  return { toB: timed(sent, received), commit: timed(sent, committed) };
}

/** The round trips of LAG_WRITES PINGs, one after the other, on a client of its own (ms, ascending). */
async function measurePing() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const ms = [];
    for (let i = 0; i < LAG_WARMUP + LAG_WRITES; i++) {
      const start = performance.now();
      await redis.ping();
      if (i >= LAG_WARMUP) ms.push(performance.now() - start);
    }
    return ms.sort((x, y) => x - y);
  } finally {
    redis.disconnect();
  }
}

/** The nearest-rank percentile `q` (0..1) of ascending `sorted`. */
function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The lag figures as a value table: p50 per row, the rest of the distribution in its note. */
function lagRows(suite, paced, backToBack, ping) {
  const group = suite.values(
    `replication lag: up to ${LAG_WRITES.toLocaleString('en-US')} writes on A (${LAG_BUDGET_MS / 1000} s at most), ` +
      '1 writer, each replacing a record; value = p50',
    {
      comment: `after ${LAG_WARMUP} uncounted, timed with performance.now() (both apps share this process's clock)`,
      notes: [
        'paced: the next write is issued once B received the previous one; back-to-back: as soon as ' +
          "A's write() resolved. B receives a change when its stream reader (XREAD BLOCK) gets the entry and",
        'applies it; changes() then delivers it on the next turn of the event loop (setImmediate).',
        "commit: the Lua commit and XADD in Redis; A applies its change from the script's reply.",
        'The PING row is the floor any round trip to Redis pays on this machine at this moment.',
      ],
    },
  );
  const rows = [
    ['paced: A write() -> B changes() receives', paced.toB],
    ['paced: A write() -> A promise resolves (commit)', paced.commit],
    ['back-to-back: A write() -> B changes() receives', backToBack.toB],
    ['back-to-back: A write() -> A promise resolves (commit)', backToBack.commit],
    ['reference: one PING round trip to Redis', ping],
  ];
  for (const [label, ms] of rows) {
    if (ms.length === 0) {
      suite.warn(`replication lag: no sample for ${label}`);
      continue;
    }
    const mean = ms.reduce((sum, x) => sum + x, 0) / ms.length;
    suite.value(group, {
      label,
      value: percentile(ms, 0.5),
      unit: 'ms',
      note:
        `p99 ${percentile(ms, 0.99).toFixed(2)}, max ${percentile(ms, 1).toFixed(2)}, ` +
        `mean ${mean.toFixed(2)} ms; ${ms.length} writes`,
    });
  }
}

// ---- the 50-writer case: its own shape (WRITERS loops sharing one cursor) ----------------

/**
 * WRITERS loops share one cursor over the records (no two write the same key at once),
 * starting a quarter of the way in, away from the keys the 1-writer case rewrites.
 */
function concurrentWrites(store, versions) {
  let j = versions[0].length >> 2;
  let v = 0;
  const writer = async (count) => {
    for (let i = 0; i < count; i++) {
      const record = versions[v][j];
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
      await store.write(record);
    }
  };
  const loops = new Array(WRITERS);
  const run = async (n) => {
    for (let w = 0; w < WRITERS; w++) loops[w] = writer(n / WRITERS);
    await Promise.all(loops);
  };
  return Object.assign(run, { minChunk: WRITERS });
}
