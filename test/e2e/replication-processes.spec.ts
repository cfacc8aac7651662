import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { delay } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { RedisServer } from './fixtures/redis-server.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

/**
 * Replication across processes: three application instances, each a node child running
 * test/e2e/fixtures/replica-worker.mjs against the BUILT library (dist/), share one Redis
 * and write at the same time. Every instance must end with the same contents, unique keys
 * and values must be granted once, counters must hand out each value once, and an
 * acknowledged write must survive Redis being killed with SIGKILL and restarted.
 *
 * REPLICA_SEED replays the random workload (the interleaving still varies).
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKER = join(REPO, 'test', 'e2e', 'fixtures', 'replica-worker.mjs');
const SEED = Number(process.env.REPLICA_SEED ?? Date.now() % 1_000_000);
/** How long a condition may take before the test fails with what it waited for. */
const PATIENCE_MS = 20_000;
const NAMES = ['w0', 'w1', 'w2'];
const MONEY = ['acc-0', 'acc-1', 'acc-2', 'acc-3', 'acc-4', 'acc-5'];
const OPENING_BALANCE = 1000;

interface Account {
  id: string;
  number?: string;
  owner: string;
  balance: number;
}

interface Dump {
  replication: { state: string; instanceId: string; appliedSeq: number };
  accounts: Account[];
  orders: { id: number; item: string }[];
  counters: { n: number; id: number };
}

interface ErrorInfo {
  name: string;
  message: string;
  field?: string;
  value?: unknown;
}

interface Outcome {
  ok: boolean;
  error?: ErrorInfo;
}

interface Transfer {
  from: string;
  to: string;
  amount: number;
}

interface LoadEvent {
  event: 'ack' | 'reject';
  kind: 'write' | 'update' | 'transfer';
  key?: string;
  value?: number;
  name?: string;
  message?: string;
}

/** The files of lib/ whose build in dist/ is missing or older. */
function staleBuild(): string[] {
  const lib = join(REPO, 'lib');
  return readdirSync(lib, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .filter((file) => {
      const built = join(REPO, 'dist', file.replace(/\.ts$/, '.js'));
      return !existsSync(built) || statSync(built).mtimeMs < statSync(join(lib, file)).mtimeMs;
    });
}

/** Polls `condition` until it holds; fails after PATIENCE_MS saying what it waited for. */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  detail: () => unknown = () => '',
): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const shown = JSON.stringify(await detail());
      throw new Error(`Waited ${PATIENCE_MS / 1000} s for ${what}, in vain: ${shown}`);
    }
    await delay(20);
  }
}

/** One application instance in a child process, and what it printed. */
class Worker {
  readonly child: ChildProcess;
  readonly states: string[] = [];
  readonly load: LoadEvent[] = [];
  readonly logs: { level: string; message: string }[] = [];
  readonly loaded: Promise<void>;
  readonly exited: Promise<void>;
  stderr = '';
  #partial = '';
  #next = 0;
  readonly #replies = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();

  constructor(readonly name: string) {
    this.child = spawn(process.execPath, [WORKER, name], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let loaded!: () => void;
    this.loaded = new Promise((resolve) => (loaded = resolve));
    this.exited = new Promise((resolve) => this.child.on('close', () => resolve()));
    this.child.stderr!.on('data', (chunk) => (this.stderr += String(chunk)));
    this.child.stdin!.on('error', () => undefined); // a child that died cannot be told anything
    this.child.on('close', (code, signal) => {
      for (const { reject } of this.#replies.values())
        reject(new Error(`${name} exited (${code ?? signal}): ${this.stderr}`));
      this.#replies.clear();
    });
    this.child.stdout!.on('data', (chunk) => {
      const lines = (this.#partial + String(chunk)).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) {
        const message = JSON.parse(line) as Record<string, unknown>;
        if (message.event === 'loaded') loaded();
        else if (message.event === 'state') this.states.push(message.state as string);
        else if (message.event === 'ack' || message.event === 'reject')
          this.load.push(message as unknown as LoadEvent);
        else if (message.event === 'log')
          this.logs.push(message as unknown as { level: string; message: string });
        else if (typeof message.id === 'number') {
          const reply = this.#replies.get(message.id);
          this.#replies.delete(message.id);
          if (message.ok) reply?.resolve(message.result);
          else {
            const error = message.error as ErrorInfo;
            reply?.reject(new Error(`${name}: ${error.name}: ${error.message}`));
          }
        }
      }
    });
  }

  /** Sends a command; resolves to its result, or fails after PATIENCE_MS naming it. */
  request<R>(cmd: string, args: Record<string, unknown> = {}): Promise<R> {
    const id = ++this.#next;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#replies.delete(id);
        reject(new Error(`${this.name}: no answer to '${cmd}' within ${PATIENCE_MS / 1000} s`));
      }, PATIENCE_MS);
      this.#replies.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as R);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  }

  /** Starts an application instance; what the previous one printed is forgotten. */
  start(url: string, prefix: string): Promise<unknown> {
    this.states.length = 0;
    this.load.length = 0;
    this.logs.length = 0;
    return this.request('start', { url, prefix });
  }

  dump(): Promise<Dump> {
    return this.request<Dump>('dump');
  }

  /** Load events since the `from`th, of this kind and outcome. */
  events(from: number, event: 'ack' | 'reject', kind?: LoadEvent['kind']): LoadEvent[] {
    return this.load.slice(from).filter((e) => e.event === event && (!kind || e.kind === kind));
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const workers: Worker[] = [];

/** What each instance holds, once all three applied the replication log to the same change. */
async function converged(): Promise<Dump[]> {
  let dumps: Dump[] = [];
  await until(
    'the three instances to be ready at the same change of the replication log',
    async () => {
      dumps = await Promise.all(workers.map((w) => w.dump()));
      const seqs = dumps.map((d) => d.replication.appliedSeq);
      return (
        dumps.every((d) => d.replication.state === 'ready') && seqs.every((seq) => seq === seqs[0])
      );
    },
    () => dumps.map((d) => d.replication),
  );
  return dumps;
}

/** The contents of an instance: what must be the same everywhere. */
const contents = ({ accounts, orders, counters }: Dump) => ({ accounts, orders, counters });

function expectIdentical(dumps: Dump[]): void {
  for (const [i, dump] of dumps.entries())
    expect({ instance: NAMES[i], ...contents(dump) }).toEqual({
      instance: NAMES[i],
      ...contents(dumps[0]),
    });
}

/** Each money account's balance on an instance. */
function balances(dump: Dump): Record<string, number> {
  return Object.fromEntries(
    dump.accounts.filter((a) => MONEY.includes(a.id)).map((a) => [a.id, a.balance]),
  );
}

const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

const openingAccounts = () => MONEY.map((id) => ({ id, owner: 'bank', balance: OPENING_BALANCE }));

beforeAll(async () => {
  const stale = staleBuild();
  if (stale.length > 0) {
    throw new Error(
      `The workers run the built library, and dist/ is missing or older than lib/ ` +
        `(${stale.slice(0, 3).join(', ')}): run \`npm run build\` first (npm test does)`,
    );
  }
  workers.push(...NAMES.map((name) => new Worker(name)));
  await Promise.all(
    workers.map((w) =>
      Promise.race([
        w.loaded,
        w.exited.then(() => {
          throw new Error(`${w.name} could not load: ${w.stderr}`);
        }),
      ]),
    ),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

describe('replication across processes: three instances, one Redis', () => {
  let prefix: string;

  beforeEach(async () => {
    prefix = freshPrefix();
    await Promise.all(workers.map((w) => w.start(REDIS_URL, prefix)));
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.request('stop')));
    await dropPrefix(prefix);
  });

  it('ends identical everywhere after concurrent writes, updates, deletes and transfers, with money kept', async () => {
    await workers[0].request('seed', { records: openingAccounts() });
    const runs = await Promise.all(
      workers.map((w, i) =>
        w.request<{
          tally: Record<string, number>;
          unexpected: string[];
          transfers: Transfer[];
        }>('workload', {
          seed: SEED + i,
          ops: 150,
          concurrency: 4,
          keys: 12,
          accounts: MONEY,
        }),
      ),
    );
    process.stdout.write(
      `\nreplication workload (seed ${SEED}): ${JSON.stringify(runs.map((r) => r.tally))}\n`,
    );
    expect(runs.map((r) => r.unexpected)).toEqual([[], [], []]);

    const dumps = await converged();
    expectIdentical(dumps);

    // Each account holds its opening balance plus what acknowledged transfers moved.
    const transfers = runs.flatMap((r) => r.transfers);
    expect(transfers.length).toBeGreaterThan(0);
    const expected = Object.fromEntries(MONEY.map((id) => [id, OPENING_BALANCE]));
    for (const { from, to, amount } of transfers) {
      expected[from] -= amount;
      expected[to] += amount;
    }
    for (const dump of dumps) {
      expect(balances(dump)).toEqual(expected);
      expect(sum(Object.values(balances(dump)))).toBe(MONEY.length * OPENING_BALANCE);
    }

    // Unique numbers stayed unique; orders got every key of their counter once.
    const numbers = dumps[0].accounts.flatMap((a) => (a.number === undefined ? [] : [a.number]));
    expect(new Set(numbers).size).toBe(numbers.length);
    const ordered = sum(runs.map((r) => r.tally['order:ok'] ?? 0));
    expect(dumps[0].orders.map((o) => o.id)).toEqual(range(ordered));
    expect(dumps[0].counters.id).toBe(ordered);
  }, 60_000);

  it('grants each key and each unique value to exactly one of the instances inserting it', async () => {
    const KEYS = 20;
    const runs = await Promise.all(
      workers.map((w, i) =>
        w.request<{ inserted: Outcome[]; written: Outcome[] }>('inserts', {
          records: Array.from({ length: KEYS }, (_, j) => ({
            id: `d-${j}`,
            number: `D-${i}-${j}`,
            owner: w.name,
            balance: i,
          })),
          writes: Array.from({ length: KEYS }, (_, j) => ({
            id: `u-${i}-${j}`,
            number: `U-${j}`,
            owner: w.name,
          })),
        }),
      ),
    );
    const dumps = await converged();
    expectIdentical(dumps);
    const held = new Map(dumps[0].accounts.map((a) => [a.id, a]));
    const losers: string[] = [];

    for (let j = 0; j < KEYS; j++) {
      const key = runs.map((r) => r.inserted[j]);
      const keyWinners = key.flatMap((o, i) => (o.ok ? [i] : []));
      expect({ key: `d-${j}`, winners: keyWinners.length }).toEqual({ key: `d-${j}`, winners: 1 });
      for (const o of key.filter((o) => !o.ok))
        expect(o.error).toMatchObject({ name: 'DuplicateKeyError', field: 'id', value: `d-${j}` });
      const winner = keyWinners[0];
      expect(held.get(`d-${j}`)).toMatchObject({
        number: `D-${winner}-${j}`,
        owner: NAMES[winner],
        balance: winner,
      });
      losers.push(...[0, 1, 2].filter((i) => i !== winner).map((i) => `D-${i}-${j}`));

      const unique = runs.map((r) => r.written[j]);
      const valueWinners = unique.flatMap((o, i) => (o.ok ? [i] : []));
      expect({ value: `U-${j}`, winners: valueWinners.length }).toEqual({
        value: `U-${j}`,
        winners: 1,
      });
      for (const o of unique.filter((o) => !o.ok))
        expect(o.error).toMatchObject({
          name: 'DuplicateKeyError',
          field: 'number',
          value: `U-${j}`,
        });
      for (let i = 0; i < workers.length; i++)
        expect(held.has(`u-${i}-${j}`)).toBe(i === valueWinners[0]);
    }

    // The refused inserts claimed nothing: their unique numbers are free for anyone.
    const reuse = await workers[1].request<{ written: Outcome[] }>('inserts', {
      writes: losers.map((number, i) => ({ id: `free-${i}`, number, owner: 'w1' })),
    });
    expect(reuse.written.filter((o) => !o.ok)).toEqual([]);
  }, 60_000);

  it('catching up before refusing a write never mistakes newer changes for lost data', async () => {
    await workers[0].request('seed', { records: openingAccounts() });
    const [missed] = await Promise.all([
      workers[0].request<Record<string, number>>('misses', { count: 300 }),
      ...workers.slice(1).map((w, i) =>
        w.request('workload', {
          seed: SEED + 10 + i,
          ops: 300,
          concurrency: 4,
          keys: 12,
          accounts: MONEY,
        }),
      ),
    ]);
    expect(missed).toEqual({ RecordNotFoundError: 300 });
    const dumps = await converged();
    expectIdentical(dumps);
    expect(workers[0].logs).toEqual([]);
  }, 60_000);

  it('hands out every counter value once, with no gaps, to three instances asking at once', async () => {
    const runs = await Promise.all(
      workers.map((w) =>
        w.request<{ values: number[]; orders: number[] }>('nextIds', { count: 60, orders: 15 }),
      ),
    );
    const values = runs.flatMap((r) => r.values).sort((a, b) => a - b);
    expect(values).toEqual(range(180));
    const keys = runs.flatMap((r) => r.orders).sort((a, b) => a - b);
    expect(keys).toEqual(range(45));

    const dumps = await converged();
    expectIdentical(dumps);
    expect(dumps[0].counters).toEqual({ n: 180, id: 45 });
    expect(dumps[0].orders.map((o) => o.id)).toEqual(range(45));
  }, 60_000);
});

describe('replication across processes: Redis killed with SIGKILL and restarted under load', () => {
  let redis: RedisServer | undefined;

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.request('stop')));
    await redis?.stop();
    redis = undefined;
  });

  it('keeps every acknowledged write, refuses writes while Redis is down, and converges', async () => {
    redis = await RedisServer.start();
    const server = redis;
    const prefix = freshPrefix();
    await Promise.all(workers.map((w) => w.start(server.url, prefix)));
    await workers[0].request('seed', {
      records: [
        ...openingAccounts(),
        ...NAMES.map((name) => ({ id: `${name}-ctr`, owner: name, balance: 0 })),
      ],
    });
    await until('the seeded accounts on every instance', async () =>
      (await Promise.all(workers.map((w) => w.dump()))).every((d) => d.accounts.length === 9),
    );

    const OUTAGES = 2;
    const started = workers.map((w) => w.load.length);
    await Promise.all(workers.map((w) => w.request('load', { accounts: MONEY })));
    const acksSince = (marks: number[], least: number) => () =>
      workers.every((w, i) => w.events(marks[i], 'ack').length >= least);
    const progress = (marks: number[]) => () =>
      Promise.all(
        workers.map(async (w, i) => ({
          name: w.name,
          acks: w.events(marks[i], 'ack').length,
          rejects: w.events(marks[i], 'reject').length,
          states: w.states.slice(-4),
          replication: (await w.dump()).replication,
          pending: await w.request('pending'),
        })),
      );
    await until('each instance to acknowledge writes', acksSince(started, 30), progress(started));

    for (let outage = 1; outage <= OUTAGES; outage++) {
      const stateMarks = workers.map((w) => w.states.length);
      await server.kill();
      const killed = workers.map((w) => w.load.length);
      await until(
        `every instance to report 'degraded' (outage ${outage})`,
        () => workers.every((w, i) => w.states.slice(stateMarks[i]).includes('degraded')),
        progress(killed),
      );
      // A request arriving now reads from the local copy and has its write refused at once.
      const probes = await Promise.all(
        workers.map((w) => w.request<{ read: boolean; write: Outcome }>('probe')),
      );
      for (const probe of probes)
        expect(probe).toMatchObject({
          read: true,
          write: { ok: false, error: { name: 'ReplicationUnavailableError' } },
        });
      // The writes in flight when Redis died settle too (refused, or resolved if Redis had
      // committed and delivered them): none waits for Redis to come back.
      await until(
        `the writes in flight when Redis died to settle while it is down (outage ${outage})`,
        () =>
          workers.every((w, i) =>
            (['write', 'update', 'transfer'] as const).every(
              (kind) =>
                w.events(killed[i], 'reject', kind).length +
                  w.events(killed[i], 'ack', kind).length >
                0,
            ),
          ),
        progress(killed),
      );
      await server.restart();
      const restarted = workers.map((w) => w.load.length);
      await until(
        `every instance to be ready and acknowledge writes again (outage ${outage})`,
        () => acksSince(restarted, 10)() && workers.every((w) => w.states.at(-1) === 'ready'),
        progress(restarted),
      );
      for (const [i, w] of workers.entries()) {
        const states = w.states.slice(stateMarks[i]);
        const degraded = states.indexOf('degraded');
        expect({
          name: w.name,
          states,
          degradedThenReady: states.indexOf('ready', degraded) > degraded,
        }).toMatchObject({ name: w.name, degradedThenReady: true });
      }
    }
    // Every write issued has settled.
    await Promise.all(workers.map((w) => w.request('unload')));

    const dumps = await converged();
    expectIdentical(dumps);
    const held = new Map(dumps[0].accounts.map((a) => [a.id, a]));
    for (const [i, w] of workers.entries()) {
      const events = w.load.slice(started[i]);
      const refusals = events.filter((e) => e.event === 'reject');
      // While Redis was down, writes were refused as unavailable, and for no other reason.
      expect({
        name: w.name,
        refusals: refusals.filter((e) => e.name !== 'ReplicationUnavailableError'),
      }).toEqual({ name: w.name, refusals: [] });
      // Every acknowledged new record is there, as written.
      const acked = events.filter((e) => e.event === 'ack' && e.kind === 'write');
      const missing = acked.filter((e) => held.get(e.key!)?.balance !== e.value);
      expect({ name: w.name, missing }).toEqual({ name: w.name, missing: [] });
      // Nothing is there that was never written (a refused write may have committed).
      const issued = new Set(events.filter((e) => e.kind === 'write').map((e) => e.key));
      const strays = [...held.keys()].filter((k) => k.startsWith(`${w.name}-w`) && !issued.has(k));
      expect({ name: w.name, strays }).toEqual({ name: w.name, strays: [] });
      // No acknowledged increment was lost.
      const increments = events.filter((e) => e.kind === 'update');
      const ackedIncrements = increments.filter((e) => e.event === 'ack').length;
      const counted = held.get(`${w.name}-ctr`)!.balance;
      expect(counted).toBeGreaterThanOrEqual(ackedIncrements);
      expect(counted).toBeLessThanOrEqual(increments.length);
      // The library reported no lost data and no entry it could not apply.
      expect(w.logs.filter((l) => l.level !== 'warn')).toEqual([]);
    }
    for (const dump of dumps)
      expect(sum(Object.values(balances(dump)))).toBe(MONEY.length * OPENING_BALANCE);
    process.stdout.write(
      `\nreplication outage test: ${JSON.stringify(
        workers.map((w, i) => ({
          name: w.name,
          acks: w.events(started[i], 'ack').length,
          refusals: w.events(started[i], 'reject').length,
        })),
      )}\n`,
    );
  }, 60_000);
});
