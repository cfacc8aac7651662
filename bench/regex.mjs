// The "regex" section (issue 14, "$regex can still stall"): patterns a backtracking engine
// takes seconds to minutes on, each selected over 10,000 records of 20,000-character
// strings, against the same select with a trivially linear pattern (`b$`) over the same
// data; and the cost of compiling a stream of distinct patterns (a search box), which the
// store does once per pattern (then cached). One case of the table harness (table.mjs) per
// pattern, each loading its subject before it runs; the compile stream is a value row.

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { formatMs } from './suite.mjs';
import { row, runTable } from './table.mjs';

const N = 10_000;
const LENGTH = 20_000;
/** Each pathological pattern within 3x of the `b$` select on the same data. */
const TARGET = 1 / 3;
/** A select over the pathological data takes up to ~0.1 s: fewer, shorter rounds. */
const ROUNDS = { rounds: 3, warmupMs: 100 };
const DISTINCT_PATTERNS = 1000;

/** The subjects the issue's patterns stall on, shared by the records (memory stays small). */
const SUBJECTS = {
  'a…a': 'a'.repeat(LENGTH),
  'spaces then !': `${' '.repeat(LENGTH - 1)}!`,
  'abab…': 'ab'.repeat(LENGTH / 2),
};
/** [pattern, the subject every record holds, whether the pattern matches it] */
const PATTERNS = [
  ['(?:a|b)*a(?:a|b){20}$', 'a…a', true],
  ['\\s+$', 'spaces then !', false],
  ['(ab|a)*c', 'abab…', false],
];
/** Target for the stream of distinct patterns: all compiled and run within this. */
const DISTINCT_MAX_MS = 1000;

const select = (c, p) => c.docs.select({ body: { $regex: p } }).length;
/** The cases take no input: the loop walks a list of one. */
const once = () => [0];

/** One case per pattern: the pattern against b$ over the same records, its subject loaded first. */
const CASES = PATTERNS.map(([pattern, subject, matches], i) => ({
  id: `pattern${i}`,
  title: `select({ body: { $regex: ${JSON.stringify(pattern)} } })`,
  comment:
    `every record holds ${JSON.stringify(subject)} (${LENGTH.toLocaleString('en-US')} characters); ` +
    `one op = one select over ${N.toLocaleString('en-US')} records; ratio = b$ time / this time`,
  notes: [
    'b$ runs on V8, which checks an end-anchored literal without scanning the string. ' +
      'Each pattern is rewritten first (lib/query/pattern-rewrite.ts): b+$ becomes b$ and the ' +
      'issue patterns become a[ab]{20}$, \\s$ and c, all run on V8; c has no anchor, so it ' +
      'still reads every character',
  ],
  inputs: once,
  fold: true,
  rounds: ROUNDS,
  before: (c) => {
    c.docs.dirtyDeleteAll();
    const body = SUBJECTS[subject];
    c.docs.dirtyWriteMany(Array.from({ length: N }, (_, id) => ({ id, body })));
  },
  baseline: row('b$ (baseline)', (c) => () => select(c, 'b$')),
  rows: [
    row('b+$ (rewritten as b$)', (c) => () => select(c, 'b+$')),
    row(pattern, (c) => () => select(c, pattern), { target: TARGET, issue: '#14' }),
    // The floor of an unanchored search: the literal the pattern reduces to (the same
    // RegExp /c/, which reads every character as String.prototype.includes does).
    ...(pattern === '(ab|a)*c'
      ? [row('c (the literal it reduces to)', (c) => () => select(c, 'c'))]
      : []),
  ],
  after: (c, d, suite) =>
    suite.check(select(c, pattern) === (matches ? N : 0), `regex ${pattern}: matches`),
}));

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
  await runTable(suite, {
    cases: CASES,
    data: {},
    subjects: [
      {
        name: 'nestjs-memory-store',
        build: async () => {
          const app = await NestFactory.createApplicationContext(RegexAppModule, {
            logger: false,
          });
          return { app, docs: app.get(RegexDocs) };
        },
        close: async (c) => {
          distinctPatternRows(suite, c.docs);
          await c.app.close();
        },
      },
    ],
  });
}

/** Compiles and runs DISTINCT_PATTERNS distinct patterns once each: value rows, total and longest. */
function distinctPatternRows(suite, docs) {
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
  const group = suite.values(`${DISTINCT_PATTERNS.toLocaleString('en-US')} distinct patterns`, {
    comment: 'each compiled once (a count over one short record)',
    notes: [
      `${refused} refused (invalid JavaScript, such as a** , or past RE2's limits), ` +
        `${DISTINCT_PATTERNS - refused} run`,
    ],
  });
  suite.value(group, {
    label: 'compile and run each pattern once: total',
    value: total,
    unit: 'ms',
    max: DISTINCT_MAX_MS,
    issue: '#14',
    note: `${formatMs(total / DISTINCT_PATTERNS)} per pattern`,
  });
  suite.value(group, { label: 'the longest one', value: longest, unit: 'ms' });
}
