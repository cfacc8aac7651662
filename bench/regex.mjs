// The "regex" section (issue 14, "$regex can still stall"): patterns a backtracking engine
// takes seconds to minutes on, each selected over 10,000 records of 20,000-character
// strings, against the same select with a trivially linear pattern (`b$`) over the same
// data; and the cost of compiling a stream of distinct patterns (a search box), which the
// store does once per pattern (then cached).

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { formatMs } from './suite.mjs';

const N = 10_000;
const LENGTH = 20_000;
/** Each pathological pattern within 3x of the `b$` select on the same data. */
const TARGET = 1 / 3;
const REPS = { reps: 3, warmup: 1 };
const DISTINCT_PATTERNS = 1000;

/** The subjects the patterns stall on, shared by the records (memory stays small). */
const SUBJECTS = {
  'a…a': 'a'.repeat(LENGTH),
  'spaces then !': `${' '.repeat(LENGTH - 1)}!`,
  'abab…': 'ab'.repeat(LENGTH / 2),
};
const CASES = [
  ['(?:a|b)*a(?:a|b){20}$', 'a…a'],
  ['\\s+$', 'spaces then !'],
  ['(ab|a)*c', 'abab…'],
];

class RegexDoc {
  id;
  body = '';
}
Table({ name: 'bench_regex', key: 'id' })(RegexDoc);
class RegexDocs extends MemoryStore {}
Store({ table: RegexDoc })(RegexDocs);

class RegexAppModule {}
Module({ imports: [MemoryStoreModule.forRoot({ stores: [RegexDocs] })] })(RegexAppModule);

/** A seeded generator, so that every run analyses the same 1,000 patterns. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = [
  ...'ab.^$|*+?,'.split(''),
  ...['(?:a|b)', '(ab|a)', '[a-z]', '\\s', '\\w+', '\\d*', 'x{2,5}', '.*', '[^,]+', '(a+)+'],
];

/** `count` distinct patterns of 4-12 pieces (the index makes each distinct). */
function distinctPatterns(count) {
  const next = random(14);
  return Array.from({ length: count }, (_, i) => {
    let p = '';
    const pieces = 4 + Math.floor(next() * 9);
    for (let k = 0; k < pieces; k++) p += PIECES[Math.floor(next() * PIECES.length)];
    return `(?:${p})${i}`;
  });
}

export async function runRegex(suite) {
  suite.section(
    'regex',
    `issue 14: $regex on ${N.toLocaleString('en-US')} records of ${LENGTH.toLocaleString('en-US')}-character strings`,
  );
  const app = await NestFactory.createApplicationContext(RegexAppModule, { logger: false });
  const docs = app.get(RegexDocs);
  try {
    for (const [pattern, subject] of CASES) {
      const body = SUBJECTS[subject];
      docs.dirtyDeleteAll();
      docs.dirtyWriteMany(Array.from({ length: N }, (_, i) => ({ id: i, body })));
      const group = suite.group(`select({ body: { $regex: ${JSON.stringify(pattern)} } })`, {
        comment:
          `every record holds ${JSON.stringify(subject)} (${LENGTH.toLocaleString('en-US')} characters); ` +
          `one op = one select over ${N.toLocaleString('en-US')} records; ratio = b$ time / this time`,
        notes: [
          'b$ runs on V8, which checks an end-anchored literal without scanning the string. ' +
            'Each pattern is rewritten first (lib/query/pattern-rewrite.ts): b+$ becomes b$ and the ' +
            'issue patterns become a[ab]{20}$, \\s$ and c, all run on V8; c has no anchor, so it ' +
            'still reads every character',
        ],
      });
      const select = (p) => () => docs.select({ body: { $regex: p } }).length;
      // The floor of an unanchored search: the literal the pattern reduces to (the same
      // RegExp /c/, which reads every character as String.prototype.includes does).
      const floor =
        pattern === '(ab|a)*c'
          ? [{ group, label: 'c (the literal it reduces to)', run: select('c') }]
          : [];
      const [base, , row] = await suite.measureOnce(
        [
          { group, label: 'b$ (baseline)', run: select('b$'), baseline: true },
          { group, label: 'b+$ (rewritten as b$)', run: select('b+$') },
          { group, label: pattern, run: select(pattern), target: TARGET },
          ...floor,
        ],
        REPS,
      );
      suite.check(row.nsPerOp > 0 && base.nsPerOp > 0, `regex ${pattern} measured`);
    }
    docs.dirtyDeleteAll();
    docs.dirtyWrite({ id: 0, body: 'short' });
    const patterns = distinctPatterns(DISTINCT_PATTERNS);
    let refused = 0;
    let longest = 0;
    const start = performance.now();
    for (const p of patterns) {
      const t = performance.now();
      try {
        docs.count({ body: { $regex: p } });
      } catch {
        refused++;
      }
      longest = Math.max(longest, performance.now() - t);
    }
    const total = performance.now() - start;
    const group = suite.group(`${DISTINCT_PATTERNS.toLocaleString('en-US')} distinct patterns`, {
      comment: 'each compiled once (a count over one short record); target: under 1 s in all',
      notes: [
        `total ${formatMs(total)} (${total < 1000 ? 'met' : 'NOT MET'}), longest one ${formatMs(longest)}, ` +
          `${refused} refused (invalid JavaScript, such as a** , or past RE2's limits), ` +
          `${DISTINCT_PATTERNS - refused} run`,
      ],
    });
    const perPattern = (total * 1e6) / DISTINCT_PATTERNS;
    group.baseline = {
      label: 'compile and run each pattern once (per pattern)',
      nsPerOp: perPattern,
      opsPerSec: 1e9 / perPattern,
      spread: 0,
    };
  } finally {
    await app.close();
  }
}
