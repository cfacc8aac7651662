import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuildCurrent, CrashWriter } from './fixtures/crash-writer-process.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';

/**
 * Crash test: a child process (test/e2e/fixtures/crash-writer.mjs, running the BUILT library
 * from dist/) writes numbered records under `fsync: 'always'` and prints each number once its
 * write is acknowledged; it is killed with SIGKILL at random moments, and the next child
 * recovers the same directory. Every recovery must hold records 1..k exactly (no holes, each
 * with its value), with k at least every number acknowledged so far and at most the highest
 * number issued since the last recovery (nothing that was never written, nothing lost that
 * was recovered before).
 *
 * CRASH_CYCLES sets the number of kills (default 200); CRASH_SEED the random seed. On a
 * failure, it prints the cycles before each problem (the plan, the files the child found, the
 * numbers it issued, acknowledged and recovered) to tell a library fault from a harness one.
 */

const CYCLES = Number(process.env.CRASH_CYCLES ?? 200);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
/** Children loading their modules ahead of the running one (loading Nest takes most of a cycle). */
const AHEAD = 3;
/** Log bytes between snapshots: small, so that snapshots (and log rotation) happen all the time. */
const SNAPSHOT_BYTES = 2048;

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed with CRASH_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The files of a directory with their sizes, as `name:size`. */
function listing(dir: string): string {
  return (
    readdirSync(dir)
      .sort()
      .map((name) => `${name}:${statSync(join(dir, name)).size}`)
      .join(' ') || '(empty)'
  );
}

/** `low..high (count)` of a list of numbers, or `none`. */
function range(numbers: readonly number[]): string {
  if (numbers.length === 0) return 'none';
  const low = numbers.reduce((a, b) => Math.min(a, b));
  const high = numbers.reduce((a, b) => Math.max(a, b));
  return `${low}..${high} (${numbers.length})`;
}

/** How a cycle ends: killed during start-up, after some acknowledgements, or after a delay. */
type KillPlan =
  { kind: 'boot'; ms: number } | { kind: 'acks'; count: number } | { kind: 'delay'; ms: number };

describe('persistence: crash test (SIGKILL at random moments)', () => {
  let dir: string;
  const pool: CrashWriter[] = [];

  beforeAll(async () => {
    assertBuildCurrent();
    dir = await tempDir('crash');
  });

  afterAll(async () => {
    for (const writer of pool.splice(0)) {
      writer.kill();
      await writer.exited;
    }
    if (dir) await removeDir(dir);
  });

  it(`loses no acknowledged write under fsync 'always' over ${CYCLES} kills, and recovers a prefix`, async () => {
    const rand = random(SEED);
    const between = (low: number, high: number) => low + Math.floor(rand() * (high - low + 1));
    const spawnWriter = () => pool.push(new CrashWriter(dir, 'always', SNAPSHOT_BYTES));
    for (let i = 0; i < AHEAD; i++) spawnWriter();

    const stats = {
      cycles: 0,
      recoveries: 0,
      kills: { boot: 0, acks: 0, delay: 0 },
      acknowledged: 0,
      losses: 0,
      tornTails: 0,
    };
    const problems: string[] = [];
    /** One line per cycle: the plan, the files the child found, what it printed. */
    const history: string[] = [];
    /** The problems of the first few failing cycles, each with the cycles before it. */
    const diagnoses: string[] = [];
    let diagnosed = 0;
    const diagnose = () => {
      if (problems.length > diagnosed && diagnoses.length < 3) {
        diagnoses.push(
          `${problems.slice(diagnosed).join('; ')}\n  ${history.slice(-6).join('\n  ')}\n` +
            `  the directory now: ${listing(dir)}\n`,
        );
      }
      diagnosed = problems.length;
    };
    const record = (label: string, found: string, writer: CrashWriter) =>
      history.push(
        `${label}: found ${found}; recovered ${writer.recovered?.length ?? 'nothing'}, ` +
          `issued ${range(writer.issued)}, acked ${range(writer.acked)}, ` +
          `warnings ${JSON.stringify(writer.warnings)}, ` +
          `ended by ${writer.child.signalCode ?? writer.child.exitCode} ` +
          `(before it: k ${k}, issued since ${issuedSince}, acked since ${range(ackedSince)})`,
      );
    /** What the last recovery held: records 1..k. */
    let k = 0;
    /** The highest number issued since the last recovery: a recovery cannot hold more. */
    let issuedSince = 0;
    /** The acknowledged numbers since the last recovery: each must be there. */
    let ackedSince: number[] = [];

    /** Checks what a child recovered against what the children before it were told. */
    const check = (writer: CrashWriter) => {
      const recovered = writer.recovered!;
      const ids = recovered.map(([id]) => id);
      const next = ids.length;
      stats.recoveries++;
      const holes = ids.filter((id, i) => id !== i + 1);
      if (holes.length > 0)
        problems.push(`recovery ${stats.recoveries}: not 1..n: ${holes.slice(0, 5).join()}`);
      const wrong = recovered.filter(([id, value]) => value !== `v${id}`);
      if (wrong.length > 0)
        problems.push(
          `recovery ${stats.recoveries}: wrong values ${JSON.stringify(wrong.slice(0, 3))}`,
        );
      const present = new Set(ids);
      const lost = ackedSince.filter((id) => !present.has(id));
      stats.losses += lost.length;
      if (lost.length > 0)
        problems.push(`recovery ${stats.recoveries}: lost acknowledged ${lost.join()}`);
      if (next < k)
        problems.push(
          `recovery ${stats.recoveries}: ${next} records, but ${k} were recovered before`,
        );
      if (next > Math.max(k, issuedSince))
        problems.push(
          `recovery ${stats.recoveries}: ${next} records, but only up to ${Math.max(k, issuedSince)} were ever written`,
        );
      k = next;
      issuedSince = 0;
      ackedSince = [];
    };

    const started = Date.now();
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const writer = pool.shift()!;
      spawnWriter();
      await Promise.race([writer.loaded, writer.exited]);
      if (writer.child.exitCode !== null) {
        problems.push(`cycle ${cycle}: the child could not load: ${writer.stderr}`);
        break;
      }
      const found = listing(dir);
      const roll = rand();
      const plan: KillPlan =
        roll < 0.1
          ? { kind: 'boot', ms: between(0, 60) }
          : roll < 0.55
            ? { kind: 'acks', count: between(1, 40) }
            : { kind: 'delay', ms: between(5, 40) };
      let timer: NodeJS.Timeout | undefined;
      const safety = setTimeout(() => {
        problems.push(`cycle ${cycle}: still running after 20 s (${JSON.stringify(plan)})`);
        writer.kill();
      }, 20_000);
      if (plan.kind === 'boot') timer = setTimeout(() => writer.kill(), plan.ms);
      else if (plan.kind === 'acks') writer.onAck = (n) => n >= plan.count && writer.kill();
      writer.go();
      if (plan.kind !== 'boot') {
        await Promise.race([writer.booted, writer.exited]);
        if (plan.kind === 'delay') timer = setTimeout(() => writer.kill(), plan.ms);
      }
      await writer.exited;
      clearTimeout(timer);
      clearTimeout(safety);
      stats.cycles++;
      stats.kills[plan.kind]++;
      record(`cycle ${cycle} ${JSON.stringify(plan)}`, found, writer);
      if (writer.recovered) check(writer);
      if (writer.child.signalCode !== 'SIGKILL') {
        // It failed on its own (a start-up that refused the directory): the next would too.
        problems.push(
          `cycle ${cycle}: the child exited by itself (${writer.child.exitCode}): ${writer.stderr}`,
        );
        diagnose();
        break;
      }
      if (writer.rejected.length > 0)
        problems.push(`cycle ${cycle}: rejected writes ${writer.rejected.join('; ')}`);
      if (/error|fatal/i.test(writer.stderr))
        problems.push(`cycle ${cycle}: stderr ${writer.stderr}`);
      stats.tornTails += writer.warnings.filter((w) => /torn/.test(w)).length;
      stats.acknowledged += writer.acked.length;
      issuedSince = Math.max(issuedSince, ...writer.issued);
      ackedSince.push(...writer.acked);
      diagnose();
    }

    // One more child recovers what the last one left.
    const last = pool.shift()!;
    await Promise.race([last.loaded, last.exited]);
    const found = listing(dir);
    last.go();
    await Promise.race([last.booted, last.exited]);
    last.kill();
    await last.exited;
    record('final recovery', found, last);
    if (last.recovered) check(last);
    else problems.push(`the final recovery failed: ${last.stderr}`);
    diagnose();

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `\ncrash test (fsync 'always', seed ${SEED}): ${stats.cycles} cycles in ${seconds} s, ` +
        `kills ${JSON.stringify(stats.kills)}, ${stats.recoveries} recoveries checked, ` +
        `${stats.acknowledged} acknowledged writes, losses ${stats.losses}, ` +
        `torn tails cut ${stats.tornTails}, final records ${k}\n` +
        diagnoses.map((d) => `\n${d}`).join(''),
    );
    expect(problems).toEqual([]);
    expect(stats.losses).toBe(0);
    expect(stats.cycles).toBe(CYCLES);
    // Every child not killed during its start-up recovered, and so did the final one.
    expect(stats.recoveries).toBeGreaterThanOrEqual(stats.cycles - stats.kills.boot + 1);
    expect(stats.acknowledged).toBeGreaterThan(0);
  }, 600_000);
});
