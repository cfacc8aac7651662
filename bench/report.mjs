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
    'spread:   (slowest round - fastest round) / median, a rough noise figure for the row',
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

export function formatRatio(ratio) {
  if (ratio >= 10) return ratio.toFixed(1);
  if (ratio >= 0.1) return ratio.toFixed(2);
  if (ratio >= 0.001) return ratio.toFixed(3);
  return ratio.toExponential(1);
}

/** One table per group: the baseline first, then every implementation with its ratio. */
export function printGroups(groups) {
  const columns = ['implementation', 'ns/op', 'ops/sec', 'spread', 'ratio', 'target / note'];
  const align = ['left', 'right', 'right', 'right', 'right', 'left'];
  for (const group of groups) {
    const baseline = group.baseline;
    const rows = [baseline, ...group.rows].map((row) => {
      const ratio = baseline.nsPerOp / row.nsPerOp;
      let target = '';
      if (row === baseline) target = 'baseline';
      else if (row.target !== undefined) {
        target = `>= ${row.target.toFixed(2)} ${ratio >= row.target ? 'met' : 'NOT MET'}`;
      }
      if (row.note) target = target ? `${target}; ${row.note}` : row.note;
      return [
        row.label,
        formatNs(row.nsPerOp),
        formatOps(row.opsPerSec),
        `${Math.round(row.spread * 100)}%`,
        formatRatio(ratio),
        target,
      ];
    });
    const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
    const line = (cells) =>
      cells
        .map((cell, i) => (align[i] === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join('  ')
        .trimEnd();
    console.log(`== ${group.title}`);
    console.log(`   baseline: ${baseline.label}`);
    if (group.comment) console.log(`   ${group.comment}`);
    for (const note of group.notes ?? []) console.log(`   ${note}`);
    console.log(line(columns));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(line(r));
    console.log('');
  }
}

/** A section's banner, then its tables. */
export function printSection(section) {
  const banner = `#### ${section.name}: ${section.title}`;
  console.log(banner);
  console.log('#'.repeat(Math.min(banner.length, 100)));
  console.log('');
  printGroups(section.groups.filter((g) => g.baseline));
  if (section.lines) console.log(`${section.lines.join('\n').replace(/^\n+/, '')}\n`);
}

/** The issues' targets, one line per library row that has one, by section. */
export function printTargets(sections) {
  console.log('== targets (nestjs-memory-store rows; informational, never fails the run)');
  let met = 0;
  let total = 0;
  for (const section of sections) {
    for (const group of section.groups) {
      if (!group.baseline) continue;
      for (const row of group.rows) {
        if (row.target === undefined) continue;
        const ratio = group.baseline.nsPerOp / row.nsPerOp;
        total++;
        if (ratio >= row.target) met++;
        console.log(
          `${ratio >= row.target ? 'met    ' : 'NOT MET'}  [${section.name}] ${group.title}: ${row.label} = ` +
            `${formatRatio(ratio)}x ${group.baseline.label} (target >= ${row.target.toFixed(2)}x)`,
        );
      }
    }
  }
  console.log(`${met} of ${total} targets met`);
  console.log('');
}
