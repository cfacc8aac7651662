// A small timing harness: warm up, time a few fixed-duration rounds, take the median.
//
// Every case is a function `run(n)` that performs `n` operations in its own loop (sync or
// async). The loop lives in the case, not here, so that each case's call sites keep their
// own type feedback. The harness calls `run(chunk)` repeatedly, with a chunk size chosen
// during warm-up so that one call takes about a millisecond: the harness's own cost (one
// call and one clock read per chunk) stays negligible, and a round lasts a fixed time
// however fast or slow the operation and however loaded the machine.
//
// The cases given to one `measureCases()` call are timed in interleaved rounds (round 1 of
// every case, then round 2 of every case, ...), so that a burst of load from elsewhere on
// the machine lands on all of them alike instead of on whichever case ran at that moment.
// A full gc() runs before each case's warm-up; a minor (young-generation) gc() before each
// timed round, which is cheap (a full one takes ~0.2 s with these heaps).

import { performance } from 'node:perf_hooks';

export const SETTINGS = {
  /** Wall time of one timed round. */
  roundMs: Number(process.env.BENCH_ROUND_MS ?? 200),
  /** Timed rounds per case; the median is reported. */
  rounds: Number(process.env.BENCH_ROUNDS ?? 7),
  /** Warm-up time per case (its code gets optimised; the chunk size is found). */
  warmupMs: Number(process.env.BENCH_WARMUP_MS ?? 200),
  /** Target duration of one `run(chunk)` call. */
  chunkMs: 1,
};

/** A sink that results are folded into so the JIT cannot drop the work. */
export const sink = { value: 0 };

export function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

function collectYoungGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc({ type: 'minor' });
}

/**
 * Calls `run(chunk)` until `ms` have passed; returns [operations, elapsed ms]. Doubles the
 * chunk whenever a call took less than `chunkMs`, in timed rounds too (the chunk size only
 * sets how often the clock is read, not what is measured), and never shrinks it, so a
 * stall of the machine during one call cannot leave the chunk too small for good.
 */
async function runFor(state, ms, chunkMs) {
  const { run } = state;
  const start = performance.now();
  let now = start;
  let ops = 0;
  while (now - start < ms) {
    const chunk = state.chunk;
    const before = now;
    const result = run(chunk);
    if (result !== undefined && typeof result.then === 'function') await result;
    now = performance.now();
    ops += chunk;
    if (now - before < chunkMs) state.chunk = chunk * 2;
  }
  return [ops, now - start];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures cases `{ label, run }` (`run.minChunk`, if set, is the smallest `n` that `run`
 * should be called with). Each is warmed up, then all are timed in interleaved rounds.
 * Returns, per case: ns/op (median of the rounds), ops/sec, the fastest and slowest round
 * (fastest, slowest, in ns/op) and their spread ((slowest - fastest) / median), a rough noise figure. `overrides` replaces some of
 * SETTINGS for this call (fewer rounds for operations that take longer than a round).
 */
export async function measureCases(cases, onProgress = () => {}, overrides = {}) {
  const settings = { ...SETTINGS, ...overrides };
  const states = cases.map((c) => ({
    run: c.run,
    chunk: c.minChunk ?? c.run.minChunk ?? 1,
    samples: [],
  }));
  for (let i = 0; i < cases.length; i++) {
    onProgress(`  warming up ${cases[i].label}`);
    collectGarbage();
    await runFor(states[i], settings.warmupMs, settings.chunkMs);
  }
  collectGarbage();
  for (let round = 0; round < settings.rounds; round++) {
    for (const state of states) {
      collectYoungGarbage();
      const [ops, elapsed] = await runFor(state, settings.roundMs, settings.chunkMs);
      state.samples.push((elapsed * 1e6) / ops);
    }
  }
  cases.forEach((c, i) => {
    const { chunk, samples } = states[i];
    onProgress(
      `  ${c.label}: chunk ${chunk}, ns/op by round: ${samples.map((x) => x.toFixed(0)).join(' ')}`,
    );
  });
  return states.map(({ samples }) => summarize(samples));
}

function summarize(samples, perCall = 1) {
  const nsPerOp = median(samples) / perCall;
  const fastest = Math.min(...samples) / perCall;
  const slowest = Math.max(...samples) / perCall;
  return {
    nsPerOp,
    opsPerSec: 1e9 / nsPerOp,
    fastest,
    slowest,
    spread: (slowest - fastest) / nsPerOp,
  };
}

/**
 * Measures operations that cannot simply be repeated, such as a sweep that removes what
 * it finds: per repetition, each case's `setup()` (untimed, may be async) prepares the
 * state and then one call of its `run()` is timed on its own. Repetitions are interleaved
 * across the cases as in `measureCases`; the first `warmup` of them are not counted.
 * Returns the same figures, an "op" being one `run()` call, or one of the case's `perCall`
 * items when it says how many one call handles (a sweep: ns per expired record).
 */
export async function measureOnce(cases, onProgress = () => {}, { reps = 15, warmup = 3 } = {}) {
  const samples = cases.map(() => []);
  collectGarbage();
  for (let rep = 0; rep < warmup + reps; rep++) {
    for (let i = 0; i < cases.length; i++) {
      await cases[i].setup?.();
      collectYoungGarbage();
      const start = performance.now();
      const result = cases[i].run();
      if (result !== undefined && typeof result.then === 'function') await result;
      const elapsed = performance.now() - start;
      if (rep >= warmup) samples[i].push(elapsed * 1e6);
    }
  }
  cases.forEach((c, i) => {
    onProgress(
      `  ${c.label}: ms by repetition: ${samples[i].map((x) => (x / 1e6).toFixed(2)).join(' ')}`,
    );
  });
  return samples.map((s, i) => summarize(s, cases[i].perCall ?? 1));
}
