// Tables of cases, run by one harness.
//
// A case is one operation: its baseline (the best hand-written code, a `Map`, an array), the
// rows measured beside it (nestjs-memory-store, and reference floors such as "the least a
// copying write costs"), and the rows of peer libraries, each built and dropped in turn:
//
//   {
//     id: 'get',
//     title: 'get by key',
//     inputs: (data) => data.keys,       // what the loop walks: keys, records, query params
//     fold: true,                        // add what each op returns into the sink
//     baseline: row('Map.get', (c) => (k) => c.map.get(k).age),
//     rows: [row('nestjs-memory-store get', (c) => (k) => c.people.get(k).age, { target: 0.8 })],
//     peers: { lru: [row('lru-cache get', (c) => (k) => c.lru.get(k).age)] },
//   }
//
// `op(context)` returns the operation `(input, i) => result` (`i` counts the operations of
// one call, as the old hand-written loops did). The harness wraps it in a loop walking
// `inputs` from where its previous call stopped, one of four kinds (`mode`): `sync`;
// `await` (await each op in turn); `batch` (BATCH un-awaited ops, then `await Promise.all`);
// `last` (promises made one by one, not awaited; the call returns the last, which the
// harness awaits).
//
// Why the loops are compiled: a loop shared by every case has one call site `op(...)` that
// sees every implementation, its type feedback turns megamorphic and every implementation
// looks alike (the reason the old bench wrote each loop out by hand). `compileLoop` makes a
// new function literal per case with `new Function`, its source made unique by a comment
// naming the case (V8 caches compiled eval code, and its feedback, by source), so each
// loop's call site sees one operation only and V8 inlines it as it did the hand-written loop.

import { collectGarbage, sink } from './harness.mjs';

/** Promise-returning calls issued, un-awaited, before each `await Promise.all`. */
export const BATCH = 1000;

const LOOPS = {
  sync: (fold, settle) => `
    let j = 0;
    return ${settle ? 'async ' : ''}(n) => {
      ${fold ? 'let s = 0;' : ''}
      for (let i = 0; i < n; i++) {
        ${fold ? 's += ' : ''}op(inputs[j], i);
        if (++j === inputs.length) j = 0;
      }
      ${fold ? 'sink.value += s;' : ''}
      ${settle ? 'await settle(n);' : ''}
    };`,
  await: () => `
    let j = 0;
    return async (n) => {
      for (let i = 0; i < n; i++) {
        await op(inputs[j], i);
        if (++j === inputs.length) j = 0;
      }
    };`,
  last: () => `
    let j = 0;
    return (n) => {
      let last;
      for (let i = 0; i < n; i++) {
        last = op(inputs[j], i);
        if (++j === inputs.length) j = 0;
      }
      return last;
    };`,
  batch: () => `
    let j = 0;
    return async (n) => {
      for (let done = 0; done < n; ) {
        const m = Math.min(BATCH, n - done);
        const pending = new Array(m);
        for (let i = 0; i < m; i++) {
          pending[i] = op(inputs[j], i);
          if (++j === inputs.length) j = 0;
        }
        await Promise.all(pending);
        done += m;
      }
    };`,
};

let compiled = 0;

/**
 * `run(n)` performing n operations `op(input, i)` over `inputs`, in a function literal of its
 * own (see the top of this file). `mode`: 'sync' | 'await' | 'batch' | 'last'; `fold`: add each
 * result into the sink (sync only); `settle(n)`: awaited after each call's n operations (sync
 * only: waiting for what the operations set off, such as the delivery of their changes).
 */
export function compileLoop(label, op, inputs, { mode = 'sync', fold = false, settle } = {}) {
  if (!(mode in LOOPS)) throw new Error(`unknown loop mode '${mode}'`);
  if (!Array.isArray(inputs) || inputs.length === 0) throw new Error(`${label}: no inputs`);
  const name = String(label).replace(/[\r\n]+/g, ' ');
  const source = `// bench case ${++compiled}: ${name}\n${LOOPS[mode](fold, settle !== undefined)}`;
  const make = new Function('op', 'inputs', 'sink', 'BATCH', 'settle', source);
  const run = make(op, inputs, sink, BATCH, settle);
  if (mode === 'batch') run.minChunk = BATCH;
  return run;
}

/**
 * A row of a case: `label`, `op(context) => (input, i) => result`, and options: `mode`,
 * `target` (the least ratio to the baseline wanted), `issue` (where the target comes from),
 * `note`, `vs` (`{ case: id, label? }`: also print the ratio to that case's baseline, or to
 * the row of that label in it).
 */
export function row(label, op, extra = {}) {
  return { label, op, ...extra };
}

/**
 * Runs `cases` for each subject in turn: `subjects` is `[{ name, build(data), close?(ctx),
 * rounds? }]`; the first one's rows are each case's baseline and `rows`, every other
 * subject's are `peers[name]`. A case's `before(ctx, data)` / `after(ctx, data, suite)`
 * (set-up, sanity checks) run around its first subject's batch. A case's rows of one subject are measured together
 * (interleaved rounds); a subject is closed and collected before the next is built, so no
 * case pays for another library's heap. `prefix` goes before every title (a size tag).
 * Returns the groups by case id.
 */
export async function runTable(suite, { cases, data, subjects, prefix = '' }) {
  const groups = {};
  for (const c of cases) {
    groups[c.id] = suite.group(`${prefix}${c.title}`, { comment: c.comment, notes: c.notes });
  }
  for (const [s, subject] of subjects.entries()) {
    const chosen = cases.filter((c) =>
      s === 0 ? c.baseline || c.rows?.length : c.peers?.[subject.name]?.length,
    );
    if (chosen.length === 0) continue;
    suite.progress(`building ${subject.name}...`);
    const ctx = await subject.build(data, groups);
    for (const c of chosen) {
      const rows =
        s === 0
          ? [...(c.baseline ? [{ ...c.baseline, baseline: true }] : []), ...(c.rows ?? [])]
          : c.peers[subject.name];
      const inputs = c.inputs(data, ctx);
      const batch = rows.map((r) => ({
        group: groups[c.id],
        label: r.label,
        run: compileLoop(r.label, r.op(ctx), inputs, { mode: r.mode, fold: c.fold }),
        baseline: r.baseline,
        target: r.target,
        issue: r.issue,
        note: r.note,
        vs: r.vs,
      }));
      if (s === 0) await c.before?.(ctx, data);
      await suite.measure(batch, { ...subject.rounds, ...c.rounds });
      if (s === 0) await c.after?.(ctx, data, suite);
    }
    await subject.close?.(ctx);
    collectGarbage();
  }
  resolveVs(groups, cases);
  return groups;
}

/** Fills the notes of rows that asked for their ratio to another case's baseline or row. */
function resolveVs(groups, cases) {
  for (const c of cases) {
    for (const r of groups[c.id].rows) {
      if (!r.vs) continue;
      const other = groups[r.vs.case];
      const against = r.vs.label
        ? other?.rows.find((x) => x.label === r.vs.label)
        : other?.baseline;
      if (!against) continue;
      const text = `= ${formatX(against.nsPerOp / r.nsPerOp)}x ${against.label}`;
      r.note = r.note ? `${r.note}; ${text}` : text;
    }
  }
}

function formatX(ratio) {
  return ratio >= 10 ? ratio.toFixed(1) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toFixed(3);
}
