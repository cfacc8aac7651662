// Formats the results as plain-text tables.

import os from 'node:os';
import { SETTINGS } from './harness.mjs';

export function printHeader(sections) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log('nestjs-memory-store benchmark');
  console.log(`date:     ${new Date().toISOString()}`);
  console.log(
    `node:     ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}`,
  );
  console.log(
    `machine:  ${cpu}, ${os.cpus().length} cores; load average at start ` +
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
  );
  console.log(`sections: ${sections.join(', ')} (select with --only=<section>[,<section>...])`);
  console.log(
    `method:   per case: ${SETTINGS.warmupMs} ms warm-up, then ` +
      `${SETTINGS.rounds} timed rounds of ${SETTINGS.roundMs} ms (fewer where a table says so); ` +
      'ns/op = median of the rounds',
  );
  console.log(
    "          rounds are interleaved with the cases measured alongside (a table's baseline with",
  );
  console.log(
    "          the store's rows; each peer library's rows together); full gc() before each",
  );
  console.log('          warm-up, minor gc() before each round');
  console.log(
    'ratio:    baseline ns/op / implementation ns/op (1.00 = as fast as the baseline, ' +
      '0.50 = half its speed)',
  );
  console.log(
    'min-max:  the fastest and the slowest round in ns/op (a rough noise figure for the row)',
  );
  console.log(
    "target:   an issue's target for the row (ratio >= target, or a bound on a value), " +
      '"met" / "NOT MET"; informational, never fails the run',
  );
  console.log('');
}

function formatNs(ns) {
  if (ns < 10) return ns.toFixed(2);
  if (ns < 1000) return ns.toFixed(1);
  return Math.round(ns).toLocaleString('en-US');
}

function formatOps(ops) {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`;
  return ops.toFixed(1);
}

function formatValue(value) {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatRatio(ratio) {
  if (ratio >= 10) return ratio.toFixed(1);
  if (ratio >= 0.1) return ratio.toFixed(2);
  if (ratio >= 0.001) return ratio.toFixed(3);
  return ratio.toExponential(1);
}

/** A row's ratio to its group's baseline (higher is better in every kind of group). */
export function ratioOf(group, row) {
  const base = group.baseline;
  if (!base) return undefined;
  if (group.kind === 'values') {
    if (!base.value || !row.value) return undefined;
    return group.lowerIsBetter ? base.value / row.value : row.value / base.value;
  }
  return base.nsPerOp / row.nsPerOp;
}

/**
 * A row's target, if it has one: `{ met, text }`. `target` bounds the ratio from below;
 * `max` / `min` (value rows) bound the value itself.
 */
export function targetOf(group, row) {
  const issue = row.issue ? ` (${row.issue})` : '';
  if (row.target !== undefined) {
    const ratio = ratioOf(group, row);
    if (ratio === undefined) return undefined;
    return { met: ratio >= row.target, text: `>= ${row.target.toFixed(2)}${issue}`, ratio };
  }
  if (row.max !== undefined) {
    return { met: row.value <= row.max, text: `<= ${formatValue(row.max)} ${row.unit}${issue}` };
  }
  if (row.min !== undefined) {
    return { met: row.value >= row.min, text: `>= ${formatValue(row.min)} ${row.unit}${issue}` };
  }
  return undefined;
}

function targetCell(group, row) {
  let cell = '';
  if (row === group.baseline) cell = 'baseline';
  else {
    const t = targetOf(group, row);
    if (t) cell = `${t.text} ${t.met ? 'met' : 'NOT MET'}`;
  }
  if (row.note) cell = cell ? `${cell}; ${row.note}` : row.note;
  return cell;
}

function printTable(columns, align, rows) {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (align[i] === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function printGroupHeading(group) {
  console.log(`== ${group.title}`);
  if (group.baseline) console.log(`   baseline: ${group.baseline.label}`);
  if (group.comment) console.log(`   ${group.comment}`);
  for (const note of group.notes ?? []) console.log(`   ${note}`);
}

/**
 * One table per group. Timed groups: the baseline first, then every row with the same
 * columns (ratio, ns/op, min-max over the rounds, ops/sec, target / note). Value groups:
 * value, unit, ratio to the baseline if there is one, target / note.
 */
export function printGroups(groups) {
  for (const group of groups) {
    const all = group.baseline ? [group.baseline, ...group.rows] : group.rows;
    if (all.length === 0) continue;
    printGroupHeading(group);
    if (group.kind === 'values') {
      const rows = all.map((row) => {
        const ratio = ratioOf(group, row);
        return [
          row.label,
          formatValue(row.value),
          row.unit,
          ratio === undefined ? '' : formatRatio(ratio),
          targetCell(group, row),
        ];
      });
      printTable(
        ['measure', 'value', 'unit', 'ratio', 'target / note'],
        ['left', 'right', 'left', 'right', 'left'],
        rows,
      );
    } else {
      const rows = all.map((row) => [
        row.label,
        formatRatio(ratioOf(group, row)),
        formatNs(row.nsPerOp),
        `${formatNs(row.fastest)}-${formatNs(row.slowest)}`,
        formatOps(row.opsPerSec),
        targetCell(group, row),
      ]);
      printTable(
        ['implementation', 'ratio', 'ns/op', 'min-max ns/op', 'ops/sec', 'target / note'],
        ['left', 'right', 'right', 'right', 'right', 'left'],
        rows,
      );
    }
    console.log('');
  }
}

/** A section's banner, then its tables. */
export function printSection(section) {
  const banner = `#### ${section.name}: ${section.title}`;
  console.log(banner);
  console.log('#'.repeat(Math.min(banner.length, 100)));
  console.log('');
  printGroups(section.groups.filter((g) => g.kind === 'values' || g.baseline));
  if (section.lines) console.log(`${section.lines.join('\n').replace(/^\n+/, '')}\n`);
}

/** Every row that has a target, by section: the targets of the issues, met or not. */
export function printTargets(sections) {
  console.log('== targets (informational, never fails the run)');
  let met = 0;
  let total = 0;
  for (const section of sections) {
    for (const group of section.groups) {
      for (const row of group.rows) {
        const t = targetOf(group, row);
        if (!t) continue;
        total++;
        if (t.met) met++;
        const figure =
          t.ratio !== undefined
            ? `${formatRatio(t.ratio)}x ${group.baseline.label}`
            : `${formatValue(row.value)} ${row.unit}`;
        console.log(
          `${t.met ? 'met    ' : 'NOT MET'}  [${section.name}] ${group.title}: ${row.label} = ` +
            `${figure} (target ${t.text})`,
        );
      }
    }
  }
  console.log(`${met} of ${total} targets met`);
  console.log('');
}
