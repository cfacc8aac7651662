// What every section shares: its result groups (one table each in the report), progress
// lines on stderr, sanity checks (warnings, never failures) and the measuring of a batch of
// cases into their groups.

import { measureCases, measureOnce } from './harness.mjs';

export class Suite {
  /** Sections in run order, each `{ name, title, groups, lines? }` (lines: printed as they are). */
  sections = [];
  warnings = [];
  startedAt = Date.now();

  /** Starts a section: the groups made from now on belong to it. */
  section(name, title) {
    const section = { name, title, groups: [] };
    this.sections.push(section);
    return section;
  }

  /**
   * A group of results, printed as one table: a baseline and the implementations compared
   * with it. `notes` are printed under the title (plans, build times, caveats).
   */
  group(title, { comment, notes = [] } = {}) {
    const group = { title, comment, notes: [...notes], baseline: undefined, rows: [] };
    this.sections.at(-1).groups.push(group);
    return group;
  }

  /** Progress goes to stderr, timestamped, so stdout holds only the report. */
  progress(message) {
    process.stderr.write(`[${((Date.now() - this.startedAt) / 1000).toFixed(1)}s] ${message}\n`);
  }

  warn(message) {
    this.warnings.push(message);
  }

  check(condition, message) {
    if (!condition) this.warn(message);
  }

  /**
   * Measures cases `{ group, label, run, baseline?, target?, note? }` together (interleaved
   * rounds) and files each under its group; returns the result rows in the batch's order.
   */
  async measure(batch, overrides = {}) {
    this.progress(`measuring: ${batch.map((c) => c.label).join(' | ')}`);
    const results = await measureCases(batch, (m) => this.progress(m), overrides);
    return this.#file(batch, results);
  }

  /** As `measure`, for cases `{ group, label, setup, run }` timed one call at a time. */
  async measureOnce(batch, options = {}) {
    this.progress(`measuring (one call at a time): ${batch.map((c) => c.label).join(' | ')}`);
    const results = await measureOnce(batch, (m) => this.progress(m), options);
    return this.#file(batch, results);
  }

  /**
   * A group of measured values rather than timed operations (bytes per record, pauses,
   * throughput): rows `{ label, value, unit, baseline?, max?, min?, issue?, note? }` added
   * with `value()`. With a baseline row, each row's ratio is baseline / value where lower is
   * better (`lowerIsBetter`, the default) and value / baseline otherwise.
   */
  values(title, { comment, notes = [], lowerIsBetter = true } = {}) {
    const group = {
      kind: 'values',
      title,
      comment,
      notes: [...notes],
      lowerIsBetter,
      baseline: undefined,
      rows: [],
    };
    this.sections.at(-1).groups.push(group);
    return group;
  }

  /**
   * Adds a measured value to a `values()` group. `max` / `min`: the target as a bound on the
   * value; `target`: as a bound on the ratio to the baseline (as in timed groups).
   */
  value(group, row) {
    if (row.baseline) group.baseline = row;
    else group.rows.push(row);
    return row;
  }

  #file(batch, results) {
    return batch.map((c, i) => {
      const { group, label, baseline, target, note, issue, vs } = c;
      const result = { label, target, issue, note, vs, ...results[i] };
      if (baseline) group.baseline = result;
      else group.rows.push(result);
      return result;
    });
  }
}

/** A case for `Suite.measure`: `run(n)` performs n operations of `label`, filed under `group`. */
export function entry(group, label, run, extra = {}) {
  return { group, label, run, ...extra };
}

/** Formats a duration given in ms for notes. */
export function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

/** Times a synchronous or async function once; returns [result, ms]. */
export async function timeOnce(fn) {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}
