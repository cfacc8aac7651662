/**
 * Fuzz test of the query front end: thousands of malformed or odd queries, each run through
 * `select`, `count`, `one`, `aggregate` and `plan` on populated tables. Every call must return
 * a result or throw `QueryError` (never a raw TypeError/RangeError), finish quickly, and leave
 * `Object.prototype` untouched. Where API.md says what a malformed query is (an unknown
 * operator, a `match` syntax error with its position, a forbidden field name, a value of the
 * wrong shape for its operator), the `QueryError` is required.
 */
import 'reflect-metadata';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import {
  Index,
  MAX_QUERY_DEPTH,
  MAX_REGEX_LENGTH,
  QueryError,
  Table,
  match,
  type MatchQuery,
} from '../../lib/index.js';
import { MemoryTable } from '../../lib/engine/memory-table.js';
import type { TableClass } from '../../lib/interfaces/table-options.interface.js';
import { getTableSchema } from '../../lib/metadata/table-schema.js';

type Row = Record<string, unknown> & { id: number };

/**
 * A hang detector, not a speed test: a catastrophic regex or a runaway recursion takes
 * seconds to minutes, while a loaded CI machine can slow a normal call tenfold.
 */
const BUDGET_MS = 2000;

// ---- prototype pollution canaries --------------------------------------------------------

const PROTOTYPES: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];
const snapshot = () =>
  PROTOTYPES.map(([name, proto]) => {
    const names = Object.getOwnPropertyNames(proto).sort();
    const values = names.map((n) => Object.getOwnPropertyDescriptor(proto, n)?.value as unknown);
    return { name, names, values };
  });
const BEFORE = snapshot();
const CANARIES = ['polluted', 'isAdmin', 'injected', 'x', 'a', 'z', 'theme', 'deep', '0'];

function checkPrototypes(context: () => string): void {
  for (const c of CANARIES) {
    if (({} as Record<string, unknown>)[c] !== undefined)
      throw new Error(`({}).${c} is defined after ${context()}`);
  }
  if (Object.getOwnPropertyNames(Object.prototype).length !== BEFORE[0].names.length)
    throw new Error(`Object.prototype changed after ${context()}`);
}

function checkPrototypesInFull(): void {
  const after = snapshot();
  BEFORE.forEach((before, i) => {
    const now = after[i];
    const same =
      before.names.length === now.names.length &&
      before.names.every((n, j) => n === now.names[j] && before.values[j] === now.values[j]);
    if (!same)
      throw new Error(
        `${before.name} changed: ${JSON.stringify(before.names)} -> ${JSON.stringify(now.names)}`,
      );
  });
}

// ---- tables ------------------------------------------------------------------------------

function makeTable(
  name: string,
  type: 'set' | 'ordered_set',
  indexes: string[],
  uniques: string[],
  records: object[],
): MemoryTable<Row> {
  class FuzzRow {
    id!: number;
  }
  Table({ name, key: 'id', indexes, type })(FuzzRow);
  for (const field of uniques) Index({ unique: true })(FuzzRow.prototype, field);
  const table = new MemoryTable(getTableSchema(FuzzRow as unknown as TableClass<Row>));
  table.writeMany(records);
  return table;
}

function nested(shape: 'array' | 'object', depth: number, leaf: unknown = 'a'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = shape === 'array' ? [v] : { deep: v };
  return v;
}

const RECORDS = Array.from({ length: 40 }, (_, i) => ({
  id: i,
  s: ['a', 'b', 'ab', '', 'A', 'dark', 'aaaaaaa!'][i % 7],
  n: [0, -0, 1, 2.5, NaN, -3, 7n, null, 1e300][i % 9],
  b: i % 3 === 0 ? true : i % 3 === 1 ? false : null,
  d: i % 5 === 0 ? undefined : new Date(i * 1000),
  tags: i % 4 === 0 ? ['x', 'y'] : i % 4 === 1 ? [] : undefined,
  profile:
    i % 2 === 1
      ? { theme: i % 4 === 1 ? 'dark' : 'light', level: i % 3, nested: { deep: [i, { k: 'v' }] } }
      : i % 4 === 0
        ? {}
        : null,
  email: i % 6 === 0 ? null : `u${i}@example.com`,
  odd:
    i === 7
      ? Object.assign(Object.create(null) as object, { z: 1 })
      : i === 8
        ? nested('array', 20)
        : i === 9
          ? { 0: 'a', 1: 'b' }
          : undefined,
}));

const TABLES = [
  makeTable('fuzz_set', 'set', ['s', 'n', 'tags', 'profile', 'odd', 'd'], ['email'], RECORDS),
  makeTable('fuzz_ordered', 'ordered_set', ['n', 'd', 's'], [], RECORDS),
];

// ---- running one query ---------------------------------------------------------------------

const stats = { queries: 0, calls: 0, totalMs: 0, slowestMs: 0 };

/** fc.stringify, safe for values too deep or odd to print, and cut short. */
function show(value: unknown): string {
  let text: string;
  try {
    text = fc.stringify(value);
  } catch {
    text = Array.isArray(value)
      ? '[a very deep array]'
      : `[${typeof value} that cannot be printed]`;
  }
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

type Outcome = { ok: true; value: unknown; ms: number } | { ok: false; error: unknown; ms: number };

function timed(fn: () => unknown): Outcome {
  const start = performance.now();
  try {
    const value = fn();
    return { ok: true, value, ms: performance.now() - start };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - start };
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `a thrown ${show(error)}`;
}

/** Runs one call: a result or a QueryError of this table, within the budget. */
function call(
  table: MemoryTable<Row>,
  name: string,
  fn: () => unknown,
  context: () => string,
): Outcome {
  let outcome = timed(fn);
  // A pause of the garbage collector is not the query's fault: a slow call must be slow twice.
  if (outcome.ms > BUDGET_MS) {
    const again = timed(fn);
    if (again.ms < outcome.ms) outcome = again;
  }
  stats.calls++;
  stats.totalMs += outcome.ms;
  stats.slowestMs = Math.max(stats.slowestMs, outcome.ms);
  if (outcome.ms > BUDGET_MS)
    throw new Error(`${name} took ${outcome.ms.toFixed(0)} ms on ${table.name} for ${context()}`);
  if (!outcome.ok) {
    if (!(outcome.error instanceof QueryError))
      throw new Error(`${name} threw ${describeError(outcome.error)} for ${context()}`);
    if (outcome.error.table !== table.name)
      throw new Error(`${name}: QueryError names table '${outcome.error.table}' for ${context()}`);
  }
  return outcome;
}

interface ProbeResult {
  /** The query was accepted (by select, count, one and aggregate alike). */
  accepted: boolean;
  /** The error, when refused. */
  error?: QueryError;
  /** The records select returned, when accepted. */
  rows?: Row[];
}

/**
 * Runs a query through every reading call of every table. The calls must agree on whether the
 * query is valid, and count/one/select on what it matches.
 */
function probe(query: unknown, options?: unknown): ProbeResult[] {
  stats.queries++;
  return TABLES.map((table) => {
    const context = () =>
      `query ${show(query)}${options === undefined ? '' : ` with options ${show(options)}`}`;
    const select = call(table, 'select', () => table.select(query), context);
    const count = call(table, 'count', () => table.count(query), context);
    const one = call(table, 'one', () => table.one(query), context);
    const aggregated = call(
      table,
      'aggregate',
      () => table.aggregate(query, { count: true }),
      context,
    );
    const plan = call(table, 'plan', () => table.plan(query, options), context);
    const page =
      options === undefined
        ? select
        : call(table, 'select with options', () => table.select(query, options), context);
    checkPrototypes(context);

    const agree = (a: Outcome, b: Outcome, what: string) => {
      if (a.ok !== b.ok)
        throw new Error(
          `${what} disagree on ${context()}: ${a.ok ? 'ok' : describeError(a.error)} / ${
            b.ok ? 'ok' : describeError(b.error)
          }`,
        );
    };
    agree(select, count, 'select and count');
    agree(select, one, 'select and one');
    agree(select, aggregated, 'select and aggregate');
    agree(page, plan, 'select with options and plan');
    if (!select.ok && page.ok)
      throw new Error(`select refused but select with options accepted ${context()}`);
    if (!select.ok) return { accepted: false, error: select.error as QueryError };
    if (!count.ok || !one.ok || !aggregated.ok) throw new Error('unreachable');

    const rows = select.value as Row[];
    const n = count.value as number;
    const first = one.value as Row | undefined;
    const [group] = aggregated.value as { count?: number }[];
    if (!Array.isArray(rows) || rows.length !== n || group?.count !== n)
      throw new Error(`select/count/aggregate disagree (${rows.length}/${n}) on ${context()}`);
    if (n === 0 ? first !== undefined : first === undefined || !rows.includes(first))
      throw new Error(`one() is not one of select()'s records on ${context()}`);
    if (rows.some((r) => table.get(r.id) !== r))
      throw new Error(`select returned something else than stored records on ${context()}`);
    return { accepted: true, rows };
  });
}

function requireRefused(results: ProbeResult[], context: () => string): void {
  if (results.some((r) => r.accepted))
    throw new Error(`expected a QueryError for ${context()}, the query was accepted`);
}

function requireAccepted(results: ProbeResult[], context: () => string): void {
  for (const r of results)
    if (!r.accepted)
      throw new Error(`expected ${context()} to be accepted, got ${describeError(r.error)}`);
}

// ---- generators ---------------------------------------------------------------------------

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const FIELDS = ['s', 'n', 'b', 'd', 'tags', 'profile', 'email', 'odd', 'id', 'missing'];
const PATHS = [...FIELDS, 'profile.theme', 'profile.nested.deep', 'tags.0', 'odd.z', 'toString'];
const KNOWN_OPS = [
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$regex',
  '$options',
  '$not',
  '$and',
  '$or',
  '$nor',
  '$elemMatch',
  '$size',
  '$all',
];
const UNKNOWN_OPS = [
  '$where',
  '$type',
  '$mod',
  '$expr',
  '$',
  '$$',
  '$EQ',
  '$eq ',
  '$__proto__',
  '$constructor',
  '$prototype',
  '$toString',
  '$hasOwnProperty',
];
const ODD_KEYS = [
  '',
  '.',
  'a..b',
  '.s',
  's.',
  ' ',
  's ',
  'ü',
  '0',
  '-1',
  's.__proto__',
  '__proto__.polluted',
  'constructor.prototype.polluted',
  'profile.constructor',
  's.$eq',
];

const keyArb = fc.oneof(
  fc.constantFrom(...PATHS, ...FORBIDDEN, ...KNOWN_OPS, ...UNKNOWN_OPS, ...ODD_KEYS),
  fc.string({ maxLength: 6 }),
);

/** An object with these own entries (`__proto__` included, as an own key). */
function objectOf(entries: readonly (readonly [string, unknown])[], nullPrototype = false): object {
  const out = (nullPrototype ? Object.create(null) : {}) as object;
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

const objectArb = (entry: fc.Arbitrary<readonly [string, unknown]>, maxLength = 4) =>
  fc
    .tuple(fc.array(entry, { maxLength }), fc.boolean())
    .map(([entries, nullPrototype]) => objectOf(entries, nullPrototype));

/** Values of every kind, including ones no record can hold. */
const STRANGE: unknown[] = [
  undefined,
  null,
  NaN,
  -0,
  Infinity,
  -Infinity,
  '',
  [],
  {},
  new Date(NaN),
  new Date(8.64e15),
  /a/,
  /a/gy,
  Symbol('s'),
  Symbol.iterator,
  () => 1,
  class Thing {},
  5n,
  Object.create(null),
  new Map([['a', 1]]),
  new Set([1]),
  new WeakMap(),
  new Error('e'),
  Promise.resolve(1),
  new Uint8Array(2),
  new ArrayBuffer(2),
  new Number(1),
  new String('ab'),
  new Boolean(false),
  JSON.parse('{"__proto__": {"polluted": true}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'),
  [undefined],
  [null],
  [[]],
  { $eq: 1 },
  { $gt: {} },
  'x'.repeat(10_000),
];

const anythingArb = fc.anything({
  key: keyArb,
  maxDepth: 3,
  maxKeys: 4,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withUnicodeString: true,
});

const oddValue = fc.oneof(
  { weight: 3, arbitrary: anythingArb },
  { weight: 3, arbitrary: fc.constantFrom(...STRANGE) },
  fc.date({ noInvalidDate: false }),
  fc.constantFrom<unknown>('a', 1, 2.5, true, 'dark', new Date(3000), ['x', 'y']),
);

const { filter: filterArb } = fc.letrec<{ filter: object; condition: unknown; operators: object }>(
  (tie) => ({
    filter: fc.oneof(
      { maxDepth: 4, depthSize: 'small' },
      objectArb(
        fc.oneof(
          { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...PATHS), tie('condition')) },
          fc.tuple(
            fc.constantFrom('$and', '$or', '$nor'),
            fc.oneof(fc.array(tie('filter'), { maxLength: 3 }), oddValue),
          ),
          fc.tuple(fc.constant('$not'), fc.oneof(tie('filter'), oddValue)),
          fc.tuple(keyArb, fc.oneof(oddValue, tie('operators'))),
        ),
      ),
    ),
    condition: fc.oneof(oddValue, tie('operators')),
    operators: objectArb(
      fc.tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...KNOWN_OPS) },
          fc.constantFrom(...UNKNOWN_OPS),
          keyArb,
        ),
        fc.oneof(oddValue, tie('operators'), fc.array(oddValue, { maxLength: 3 })),
      ),
    ),
  }),
);

const tupleArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.oneof(fc.constantFrom(...PATHS), keyArb),
      fc.oneof(
        fc.constantFrom('==', '===', '!=', '!==', '>', '>=', '<', '<=', 'in', 'nin', 'not in'),
        fc.constantFrom('=', '<>', '=>', 'IN', 'like', '$eq', '', '__proto__', 'constructor'),
        fc.string({ maxLength: 3 }),
      ),
      oddValue,
    ),
  },
  fc.array(oddValue, { maxLength: 5 }),
  oddValue,
);

// ---- the fuzz cases ---------------------------------------------------------------------------

describe('query fuzzing: QueryError or a result, quickly, never pollution', () => {
  it('survives anything as a query', () => {
    fc.assert(
      fc.property(anythingArb, (query) => {
        probe(query);
      }),
      { numRuns: 1200 },
    );
  });

  it('survives random filters with known and unknown $-operators and odd operands', () => {
    fc.assert(
      fc.property(filterArb, (query) => {
        probe(query);
      }),
      { numRuns: 1500 },
    );
  });

  it('refuses operands of the wrong shape and unknown operators with QueryError', () => {
    const isRangeOperand = (v: unknown) =>
      (typeof v === 'number' && !Number.isNaN(v)) ||
      typeof v === 'string' ||
      typeof v === 'bigint' ||
      (v instanceof Date && !Number.isNaN(v.getTime()));
    const isPlain = (v: unknown) =>
      typeof v === 'object' &&
      v !== null &&
      [Object.prototype, null].includes(Object.getPrototypeOf(v) as object | null);
    /** Whether API.md's rules make `{ field: { [op]: operand } }` malformed. */
    const malformed = (op: string, operand: unknown): boolean => {
      switch (op) {
        case '$gt':
        case '$gte':
        case '$lt':
        case '$lte':
          return !isRangeOperand(operand);
        case '$in':
        case '$nin':
          return !Array.isArray(operand);
        case '$exists':
          // MongoDB reads the operand's truthiness
          return (
            operand === undefined || typeof operand === 'function' || typeof operand === 'symbol'
          );
        case '$size':
          return typeof operand !== 'number' || !Number.isInteger(operand) || operand < 0;
        case '$all':
          return !Array.isArray(operand);
        case '$elemMatch':
          return !isPlain(operand);
        case '$regex':
          return typeof operand !== 'string' && !(operand instanceof RegExp);
        case '$eq':
        case '$ne':
          return (
            operand === undefined || typeof operand === 'function' || typeof operand === 'symbol'
          );
        default:
          return !KNOWN_OPS.includes(op);
      }
    };
    const cases = fc.oneof(
      fc.tuple(
        fc.constantFrom(
          '$gt',
          '$gte',
          '$lt',
          '$lte',
          '$in',
          '$nin',
          '$exists',
          '$regex',
          '$size',
          '$all',
          '$elemMatch',
        ),
        oddValue,
      ),
      fc.tuple(
        fc.constantFrom('$eq', '$ne'),
        fc.constantFrom<unknown>(undefined, () => 1, Symbol('x'), class {}),
      ),
      fc.tuple(fc.constantFrom(...UNKNOWN_OPS), oddValue),
      fc.tuple(
        fc.constantFrom('$and', '$or', '$nor', '$not'),
        fc.oneof(oddValue, fc.array(oddValue, { maxLength: 3 })),
      ),
    );
    fc.assert(
      fc.property(cases, fc.constantFrom('s', 'n', 'd', 'id', 'profile.theme'), ([op, v], f) => {
        if (['$and', '$or', '$nor', '$not'].includes(op)) {
          // logical operators take filter objects (and $and/$or/$nor an array of them)
          // (whether an empty $and/$or/$nor is malformed, API.md does not say)
          const malformedLogic =
            op === '$not' ? !isPlain(v) : !Array.isArray(v) || v.some((b) => !isPlain(b));
          const query = objectOf([[op, v]]);
          const results = probe(query);
          if (malformedLogic) requireRefused(results, () => show(query));
          return;
        }
        const query = objectOf([[f, objectOf([[op, v]])]]);
        const results = probe(query);
        if (malformed(op, v)) requireRefused(results, () => show(query));
      }),
      { numRuns: 800 },
    );
  });

  it('refuses __proto__, constructor and prototype as field names or path segments', () => {
    const segment = fc.oneof(
      fc.constantFrom('s', 'profile', 'theme', 'a', '0'),
      fc.constantFrom(...FORBIDDEN),
    );
    const path = fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .filter((segments) => segments.some((s) => FORBIDDEN.includes(s)))
      .map((segments) => segments.join('.'));
    const form = fc.constantFrom(
      'attr',
      'eq',
      'ops',
      'and',
      'or',
      'nor',
      'not',
      'fieldNot',
      'tuple',
      'orderBy',
      'fields',
    );
    fc.assert(
      fc.property(path, form, oddValue, (p, f, v) => {
        const value = v === undefined ? 'a' : v;
        const cond = objectOf([[p, value]]);
        const query: unknown = {
          attr: cond,
          eq: objectOf([[p, { $eq: 'a' }]]),
          ops: objectOf([[p, { $exists: true }]]),
          and: { $and: [{ s: 'a' }, cond] },
          or: { $or: [{ s: 'a' }, cond] },
          nor: { $nor: [cond] },
          not: { $not: cond },
          fieldNot: objectOf([[p, { $not: { $eq: 'a' } }]]),
          tuple: [
            ['s', '==', 'a'],
            [p, '==', 'a'],
          ],
          orderBy: { s: 'a' },
          fields: { s: 'a' },
        }[f];
        const options =
          f === 'orderBy'
            ? { orderBy: objectOf([[p, 'asc']]) }
            : f === 'fields'
              ? { fields: [p] }
              : undefined;
        const results = probe(query, options);
        if (options === undefined) requireRefused(results, () => `${show(query)} (path ${p})`);
        else
          for (const table of TABLES) {
            const outcome = timed(() => table.select(query, options));
            if (outcome.ok || !(outcome.error instanceof QueryError))
              throw new Error(`expected a QueryError for the option ${show(options)}`);
          }
      }),
      { numRuns: 600 },
    );

    for (const text of [
      '{"__proto__": {"polluted": true}}',
      '{"__proto__": {"$eq": 1}}',
      '{"$and": [{"__proto__": {"polluted": true}}]}',
      '{"$or": [{"s": "a"}, {"constructor": {"prototype": {"polluted": true}}}]}',
      '{"$not": {"prototype": null}}',
      '{"s": {"$not": {"__proto__": {"polluted": true}}}}',
      '{"profile.__proto__.polluted": true}',
      '{"constructor.prototype.polluted": true}',
    ]) {
      requireRefused(probe(JSON.parse(text)), () => text);
    }
    // Values that carry such keys are data, not field names: a result or a QueryError.
    for (const text of [
      '{"s": {"__proto__": {"polluted": true}}}',
      '{"profile": {"$eq": {"__proto__": {"polluted": true}}}}',
      '{"s": {"$in": [{"__proto__": {"polluted": true}}]}}',
      '{"odd": {"constructor": {"prototype": {"polluted": true}}}}',
    ]) {
      probe(JSON.parse(text));
    }
    for (const make of [
      (v: unknown) => match`__proto__ == ${v}`,
      (v: unknown) => match`constructor == ${v}`,
      (v: unknown) => match`prototype != ${v}`,
      (v: unknown) => match`profile.__proto__ == ${v}`,
      (v: unknown) => match`s == ${v} or constructor.prototype == ${v}`,
      (v: unknown) => match`not (profile.constructor == ${v})`,
    ]) {
      const query = make({ polluted: true });
      requireRefused(probe(query), () => `match\`${query.toString()}\``);
    }
  });

  it('survives deep nesting of $and/$or/$nor/$not and of operand values', () => {
    const filterDepths = [1, MAX_QUERY_DEPTH - 2, MAX_QUERY_DEPTH - 1, MAX_QUERY_DEPTH];
    const tooDeep = [MAX_QUERY_DEPTH + 2, 64, 100, 1000, 10_000, 100_000];
    const nest = (kind: string, depth: number): unknown => {
      let q: unknown = { s: 'a' };
      for (let i = 0; i < depth; i++) {
        const k = kind === 'mixed' ? ['$and', '$or', '$nor', '$not'][i % 4] : kind;
        q = k === '$not' ? { $not: q } : { [k]: [q] };
      }
      if (kind === 'fieldNot') {
        let ops: object = { $eq: 'a' };
        for (let i = 0; i < depth; i++) ops = { $not: ops };
        q = { s: ops };
      }
      return q;
    };
    for (const kind of ['$and', '$or', '$nor', '$not', 'mixed', 'fieldNot']) {
      for (const depth of filterDepths)
        requireAccepted(probe(nest(kind, depth)), () => `${kind} nested ${depth} deep`);
      for (const depth of tooDeep)
        requireRefused(probe(nest(kind, depth)), () => `${kind} nested ${depth} deep`);
    }

    // Deep values are plain data: a result or a QueryError; an equality matches nothing here.
    // Problems are collected per query form, at the smallest depth that shows them.
    const forms: [string, (v: unknown) => unknown, boolean][] = [
      ['{ s: v } (s indexed)', (v) => ({ s: v }), true],
      ['{ odd: v } (odd indexed)', (v) => ({ odd: v }), true],
      ['{ missing: v } (no index)', (v) => ({ missing: v }), true],
      ['{ id: v } (primary key)', (v) => ({ id: v }), true],
      ['{ s: { $eq: v } }', (v) => ({ s: { $eq: v } }), true],
      ['{ s: { $ne: v } }', (v) => ({ s: { $ne: v } }), false],
      ['{ s: { $in: [v] } }', (v) => ({ s: { $in: [v] } }), true],
      ['{ n: { $nin: [v, 1] } }', (v) => ({ n: { $nin: [v, 1] } }), false],
      ['{ id: { $in: [v] } }', (v) => ({ id: { $in: [v] } }), true],
      ['{ $or: [{ s: v }, { tags: v }] }', (v) => ({ $or: [{ s: v }, { tags: v }] }), true],
      ["[['s', '==', v]]", (v) => [['s', '==', v]], true],
      ['match`s == ${v}`', (v) => match`s == ${v}`, true],
      ['match`missing != ${v}`', (v) => match`missing != ${v}`, false],
    ];
    const problems: string[] = [];
    for (const [label, make, matchesNothing] of forms) {
      search: for (const depth of [10, 100, 1000, 10_000, 100_000]) {
        for (const shape of ['array', 'object'] as const) {
          try {
            const results = probe(make(nested(shape, depth)));
            if (matchesNothing && results.some((r) => r.rows && r.rows.length > 0))
              throw new Error('it matched a record');
          } catch (error) {
            problems.push(
              `${label} with v ${depth} ${shape === 'array' ? 'arrays' : 'objects'} deep: ${(error as Error).message.split(' for ')[0]}`,
            );
            break search;
          }
        }
      }
    }
    if (problems.length > 0) throw new Error(`deeply nested operands:\n${problems.join('\n')}`);
  });

  it('survives condition tuples of every malformed shape', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: fc.array(tupleArb, { maxLength: 4 }) },
          fc.array(fc.array(oddValue, { maxLength: 4 }), { maxLength: 3 }),
        ),
        (tuples) => {
          probe(tuples);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('survives sparse arrays (holes) wherever a query takes an array', () => {
    const holes = (length: number, entries: [number, unknown][]): unknown[] => {
      const array = new Array<unknown>(length);
      for (const [i, v] of entries) array[i] = v;
      return array;
    };
    const sparse = <T>(arb: fc.Arbitrary<T>) =>
      fc
        .sparseArray(arb, { maxLength: 4, noTrailingHole: false })
        .filter((a) => Object.keys(a).length < a.length);
    const query: fc.Arbitrary<unknown> = fc.oneof(
      sparse(fc.constant(['s', '==', 'a'] as const)),
      sparse(fc.constant({ s: 'a' })).map((a) => ({ $and: a })),
      sparse(fc.constant({ s: 'a' })).map((a) => ({ $or: a })),
      sparse(fc.constant({ s: 'b' })).map((a) => ({ $nor: a })),
      sparse(fc.constantFrom('a', 'b', null)).map((a) => ({ s: { $in: a } })),
      sparse(fc.constantFrom('a', 'b', null)).map((a) => ({ s: { $nin: a } })),
      sparse(fc.constantFrom('a', 'b')).map((a) => ({ tags: a })),
    );
    fc.assert(
      fc.property(query, (q) => {
        probe(q);
      }),
      {
        numRuns: 300,
        examples: [[holes(2, [[1, ['s', '==', 'a']]])], [{ $and: holes(2, [[1, { s: 'a' }]]) }]],
      },
    );
  });

  it('gives match syntax errors a QueryError with the position in the query text', () => {
    type Shape = [(a: unknown, b: unknown) => MatchQuery, (text: string) => [number, number]];
    const end = (t: string): [number, number] => [t.length, t.length];
    const at =
      (find: (t: string) => number, upTo = 0) =>
      (t: string): [number, number] => [find(t), find(t) + upTo];
    const index = (s: string) => (t: string) => t.indexOf(s);
    const SHAPES: Shape[] = [
      [() => match`s == 5`, at(index('5'))],
      [(a) => match`s == ${a} and`, end],
      [(a) => match`(s == ${a}`, end],
      [(a) => match`s == ${a})`, at(index(')'))],
      [(a) => match`s =~ ${a}`, () => [2, 2]],
      [(a) => match`s === ${a}`, () => [2, 4]],
      [(a, b) => match`s == ${a} or or s == ${b}`, at((t) => t.indexOf('or or') + 3)],
      [(a) => match`s ${a}`, () => [2, 2]],
      [(a) => match`== ${a}`, () => [0, 0]],
      [(a, b) => match`s == ${a} s == ${b}`, at((t) => t.indexOf(' s ==') + 1)],
      [() => match``, () => [0, 0]],
      [() => match`   `, () => [0, 3]],
      [() => match`s == "x"`, at(index('"'))],
      [() => match`s == 'x'`, at(index("'"))],
      [(a) => match`s == -${a}`, at(index('-'))],
      [(a) => match`s. == ${a}`, () => [1, 1]],
      [(a, b) => match`s == ${a} && n == ${b}`, at(index('&'))],
      [(a, b) => match`s == ${a} || n == ${b}`, at(index('|'))],
      [(a) => match`s in ${a}`, () => [2, 2]],
      [() => match`not`, end],
      [() => match`()`, () => [1, 1]],
      [(a, b) => match`s == ${a} and (n == ${b}`, end],
      [(a) => match`((s == ${a})))`, at((t) => t.lastIndexOf(')'))],
      [(a, b) => match`s == ${a} and or n == ${b}`, at((t) => t.indexOf(' or ') + 1)],
      [(a) => match`s ! ${a}`, () => [2, 2]],
      [(a) => match`s <> ${a}`, () => [2, 3]],
      [(a, b) => match`s == ${a}${b}`, at(index('${1}'))],
      [(a) => match`${a}`, () => [0, 0]],
      [(a) => match`s == ${a} and not`, end],
      [(a) => match`s == ${a} @`, at(index('@'))],
      [(a) => match`s == ${a} or`, end],
      [(a) => match`1s == ${a}`, () => [0, 0]],
      [(a, b) => match`s == ${a} and and n == ${b}`, at((t) => t.indexOf('and and') + 4)],
      [(a, b) => match`s == ${a} not n == ${b}`, at(index('not'))],
      [(a, b) => match`s >= ${a} <= ${b}`, at(index('<='))],
      [(a, b) => match`(s == ${a}) (n == ${b})`, at((t) => t.indexOf('(', 1))],
      [(a, b) => match`s == ${a} and (n == ${b} or)`, at((t) => t.lastIndexOf(')'))],
      [(a) => match`s == ${a}\n  and\n`, end],
      [(a) => match`s\t==\t${a} and @x`, at(index('@'))],
      [(a) => match`s == ${a} and n ==`, end],
      [(a) => match`s == ${a} ; drop table`, at(index(';'))],
      [(a) => match`s.$eq == ${a}`, () => [1, 2]],
      [(a) => match`s[0] == ${a}`, () => [1, 1]],
    ];
    fc.assert(
      fc.property(fc.nat(SHAPES.length - 1), oddValue, oddValue, (i, a, b) => {
        const [make, expected] = SHAPES[i];
        const query = make(a, b);
        const text = query.toString();
        const [lo, hi] = expected(text);
        for (const result of probe(query)) {
          const error = result.error;
          if (result.accepted || error === undefined)
            throw new Error(`match\`${text}\` was accepted; expected a syntax error`);
          if (typeof error.position !== 'number' || error.position < lo || error.position > hi)
            throw new Error(
              `match\`${text}\`: position ${String(error.position)}, expected ${lo === hi ? lo : `${lo}..${hi}`} (text length ${text.length}): ${error.message}`,
            );
        }
      }),
      { numRuns: 900, examples: SHAPES.map((_, i): [number, unknown, unknown] => [i, 'a', 'b']) },
    );
  });

  it('checks the ${} values of well-formed match queries', () => {
    const isRangeOperand = (v: unknown) =>
      (typeof v === 'number' && !Number.isNaN(v)) ||
      typeof v === 'string' ||
      typeof v === 'bigint' ||
      (v instanceof Date && !Number.isNaN(v.getTime()));
    type Verdict = 'refused' | 'accepted' | 'either';
    /** API.md: no record holds undefined, a function or a symbol; not said of RegExps and invalid Dates. */
    /** Values no record can hold, anywhere inside the operand, are refused as well. */
    const holdsNonData = (v: unknown, depth = 0): boolean => {
      if (typeof v === 'function' || typeof v === 'symbol') return true;
      if (typeof v !== 'object' || v === null || v instanceof Date) return false;
      if (
        depth > 64 ||
        !(
          Array.isArray(v) ||
          Object.getPrototypeOf(v) === Object.prototype ||
          Object.getPrototypeOf(v) === null
        )
      )
        return true;
      return Object.values(v).some((x) => holdsNonData(x, depth + 1));
    };
    const equality = (v: unknown): Verdict =>
      v === undefined || typeof v === 'function' || typeof v === 'symbol'
        ? 'refused'
        : v instanceof RegExp || (v instanceof Date && Number.isNaN(v.getTime())) || holdsNonData(v)
          ? 'either'
          : 'accepted';
    const range = (v: unknown): Verdict => (isRangeOperand(v) ? 'accepted' : 'refused');
    const GOOD: [(v: unknown) => MatchQuery, (v: unknown) => Verdict][] = [
      [(v) => match`s == ${v}`, equality],
      [(v) => match`profile.theme != ${v}`, equality],
      [(v) => match`id == ${v} or tags == ${v}`, equality],
      [(v) => match`odd == ${v} and not (b != ${v})`, equality],
      [(v) => match`n > ${v}`, range],
      [(v) => match`d <= ${v} or s >= ${v}`, range],
      [(v) => match`not (id < ${v})`, range],
    ];
    fc.assert(
      fc.property(fc.nat(GOOD.length - 1), oddValue, (i, v) => {
        const [make, verdict] = GOOD[i];
        const query = make(v);
        const results = probe(query);
        const context = () => `match\`${query.toString()}\` with ${show(v)}`;
        if (verdict(v) === 'refused') requireRefused(results, context);
        if (verdict(v) === 'accepted') requireAccepted(results, context);
      }),
      {
        numRuns: 700,
        examples: [
          [0, undefined],
          [0, () => 1],
          [0, Symbol('x')],
          [0, { a: 1 }],
          [4, {}],
          [4, null],
          [4, new Date(NaN)],
          [4, NaN],
        ],
      },
    );
  });

  it('parses random token soups as the grammar says (constructed template arrays)', () => {
    // Template literals cannot be written at run time, but `match` is a plain function of a
    // strings array: these arrays are built like the ones the language makes.
    type Token = {
      kind: 'field' | 'forbidden' | 'kw' | 'op' | '(' | ')' | 'value' | 'bad';
      text: string;
    };
    const tok = (kind: Token['kind']) => (text: string) => ({ kind, text });
    const field = fc
      .constantFrom('s', 'n', 'profile.theme', 'x_1', '_y', 'in', 'd')
      .map(tok('field'));
    const op = fc.constantFrom('==', '!=', '>', '>=', '<', '<=').map(tok('op'));
    const token: fc.Arbitrary<Token> = fc.oneof(
      { weight: 4, arbitrary: field },
      { weight: 1, arbitrary: fc.constantFrom(...FORBIDDEN, 'a.prototype').map(tok('forbidden')) },
      { weight: 3, arbitrary: fc.constantFrom('and', 'or', 'not').map(tok('kw')) },
      { weight: 4, arbitrary: op },
      {
        weight: 2,
        arbitrary: fc.constantFrom('(', ')').map((t) => ({ kind: t, text: t })),
      },
      { weight: 4, arbitrary: fc.constant({ kind: 'value', text: '' }) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(
            '=',
            '!',
            '===',
            '=>',
            '<>',
            '5',
            '"x"',
            "'x'",
            '-',
            '&&',
            '||',
            '.',
            '@',
            '#',
            's.',
            '.s',
            '1a',
            '`',
            ';',
            '[',
            '$eq',
            'a-b',
          )
          .map(tok('bad')),
      },
    );
    const cmp = fc.tuple(field, op).map(([f, o]): Token[] => [f, o, { kind: 'value', text: '' }]);
    const { expr } = fc.letrec<{ expr: Token[] }>((tie) => ({
      expr: fc.oneof(
        { maxDepth: 4, depthSize: 'small' },
        { weight: 3, arbitrary: cmp },
        fc
          .tuple(tie('expr'), fc.constantFrom('and', 'or'), tie('expr'))
          .map(([a, k, b]): Token[] => [...a, { kind: 'kw', text: k }, ...b]),
        tie('expr').map((e): Token[] => [{ kind: '(', text: '(' }, ...e, { kind: ')', text: ')' }]),
        tie('expr').map((e): Token[] => [{ kind: 'kw', text: 'not' }, ...e]),
      ),
    }));
    const mutated = fc
      .tuple(expr, fc.nat(), token, fc.constantFrom('keep', 'drop', 'insert', 'replace'))
      .map(([tokens, n, t, how]) => {
        const i = n % (tokens.length + 1);
        if (how === 'drop') return tokens.filter((_, j) => j !== i);
        if (how === 'insert') return [...tokens.slice(0, i), t, ...tokens.slice(i)];
        if (how === 'replace') return tokens.map((x, j) => (j === i ? t : x));
        return tokens;
      });
    const soup = fc.oneof(mutated, fc.array(token, { maxLength: 12 }));

    const grammatical = (tokens: Token[]): boolean => {
      if (tokens.some((t) => t.kind === 'bad')) return false;
      let i = 0;
      const isKw = (w: string) => tokens[i]?.kind === 'kw' && tokens[i].text === w;
      const primary = (): boolean => {
        const t = tokens[i++];
        if (t?.kind === '(') return or() && tokens[i++]?.kind === ')';
        if (t?.kind !== 'field' && t?.kind !== 'forbidden') return false;
        return tokens[i++]?.kind === 'op' && tokens[i++]?.kind === 'value';
      };
      const not = (): boolean => {
        if (isKw('not')) {
          i++;
          return not();
        }
        return primary();
      };
      const and = (): boolean => {
        if (!not()) return false;
        while (isKw('and')) {
          i++;
          if (!not()) return false;
        }
        return true;
      };
      const or = (): boolean => {
        if (!and()) return false;
        while (isKw('or')) {
          i++;
          if (!and()) return false;
        }
        return true;
      };
      return or() && i === tokens.length;
    };

    fc.assert(
      fc.property(
        soup,
        fc.array(fc.constantFrom(' ', '  ', '\n', '\t'), { minLength: 40, maxLength: 40 }),
        fc.oneof(
          fc.constant<unknown[] | undefined>(undefined),
          fc.array(oddValue, { maxLength: 12 }),
        ),
        (tokens, spaces, odd) => {
          const segments = [''];
          tokens.forEach((t, i) => {
            if (t.kind === 'value') segments.push('');
            else segments[segments.length - 1] += `${spaces[i % spaces.length]}${t.text} `;
          });
          const strings = Object.freeze(
            Object.assign([...segments], { raw: Object.freeze([...segments]) }),
          ) as unknown as TemplateStringsArray;
          const values = segments.slice(1).map((_, i) => (odd ? odd[i] : i % 2 ? 'a' : 1));
          const query = match(strings, ...values);
          const text = query.toString();
          const valid = grammatical(tokens);
          for (let attempt = 0; attempt < 2; attempt++) {
            const results = probe(query);
            if (!valid) {
              for (const r of results) {
                const p = r.error?.position;
                if (r.accepted || typeof p !== 'number' || p < 0 || p > text.length)
                  throw new Error(
                    `match\`${text}\` is not grammatical: expected a QueryError with a position in 0..${text.length}, got ${r.accepted ? 'a result' : `position ${String(p)}`}`,
                  );
              }
            } else if (!odd && !tokens.some((t) => t.kind === 'forbidden')) {
              requireAccepted(results, () => `match\`${text}\``);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );

    for (const depth of [8, 60, 64, 65, 200, 5000, 100_000]) {
      for (const [open, close] of [
        ['(', ')'],
        ['not ', ''],
        ['not (', ')'],
      ]) {
        const segments = [`${open.repeat(depth)}s == `, close.repeat(depth)];
        const strings = Object.assign([...segments], { raw: [...segments] });
        const query = match(strings, 'a');
        const results = probe(query);
        if (depth <= 30) requireAccepted(results, () => `${depth} × '${open}'`);
        if (depth >= 200) requireRefused(results, () => `${depth} × '${open}'`);
      }
    }
  });

  it('refuses long regexes and runs catastrophic ones quickly', () => {
    const regexTable = makeTable(
      'fuzz_regex',
      'set',
      ['s'],
      [],
      [
        { id: 1, s: `${'a'.repeat(22)}!` },
        { id: 2, s: 'a'.repeat(22) },
        { id: 3, s: `${'a,'.repeat(12)}x` },
      ],
    );
    const run = (query: unknown): Outcome => {
      const outcome = timed(() => regexTable.count(query));
      stats.calls++;
      stats.totalMs += outcome.ms;
      return outcome;
    };
    const problems: string[] = [];
    const tooLong = 'a'.repeat(MAX_REGEX_LENGTH + 1);
    const longest = 'a'.repeat(MAX_REGEX_LENGTH);
    for (const [query, wanted] of [
      [{ s: { $regex: tooLong } }, 'refused'],
      [{ s: { $regex: new RegExp(tooLong) } }, 'refused'],
      [{ s: { $not: new RegExp(tooLong) } }, 'refused'],
      [{ s: { $regex: `${'(?:a)'.repeat(60)}` } }, 'refused'],
      [{ s: { $regex: longest } }, 'accepted'],
      [{ s: { $regex: 'a+$' } }, 'accepted'],
    ] as const) {
      const outcome = run(query);
      const refused = !outcome.ok && outcome.error instanceof QueryError;
      if ((wanted === 'refused') !== refused || (!outcome.ok && !refused))
        problems.push(
          `${show(query)}: expected ${wanted}, got ${outcome.ok ? 'a result' : describeError(outcome.error)}`,
        );
    }
    const CATASTROPHIC = [
      '(a+)+$',
      '(a*)*$',
      '((a+)+)+$',
      '(a|a)*$',
      '(a|aa)+$',
      '^(\\w|a)+$',
      '^([a-z]|a)*$',
      '(?:a|a)*b',
      '^(a|\\w)*$',
      '(\\w|\\d|a)*!x',
      'a*a*a*a*a*a*a*a*b',
      '(.*a){12}',
      '^(a?){25}a{25}$',
      '(x+x+)+y',
      '^(.*?,){11}P',
      '(a{1,30}){1,30}$',
    ];
    for (const pattern of CATASTROPHIC) {
      for (const query of [
        { s: { $regex: pattern } },
        { s: { $regex: pattern, $options: 'i' } },
        { s: { $not: new RegExp(pattern) } },
      ]) {
        const outcome = run(query);
        const refused = !outcome.ok && outcome.error instanceof QueryError;
        const limit = BUDGET_MS;
        if (!outcome.ok && !refused)
          problems.push(`${show(query)}: ${describeError(outcome.error)}`);
        else if (outcome.ms > limit)
          problems.push(
            `${show(query)} was ${refused ? 'refused' : 'accepted'} and took ${outcome.ms.toFixed(0)} ms on a 23-character string (limit ${limit} ms)`,
          );
        if (outcome.ms > limit) break; // one slow form of a pattern is enough
      }
    }
    // random patterns and flags: a result or a QueryError, quickly
    const patternArb = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'a()|*+?.\\w[]{}^$,0123-'.split('')), maxLength: 16 }),
      fc.string({ maxLength: 300 }),
    );
    fc.assert(
      fc.property(
        patternArb,
        fc.oneof(
          fc.constant(undefined),
          fc.string({ unit: fc.constantFrom(...'gimsuyvdx'.split('')), maxLength: 3 }),
          oddValue,
        ),
        fc.boolean(),
        (pattern, options, asRegExp) => {
          let regex: unknown = pattern;
          if (asRegExp) {
            try {
              regex = new RegExp(pattern);
            } catch {
              regex = pattern;
            }
          }
          const query: Record<string, unknown> = { s: { $regex: regex } };
          if (options !== undefined) (query.s as Record<string, unknown>).$options = options;
          const results = probe(query);
          if (pattern.length > MAX_REGEX_LENGTH) requireRefused(results, () => show(query));
        },
      ),
      { numRuns: 500 },
    );
    if (problems.length > 0) throw new Error(`regex problems:\n${problems.join('\n')}`);
  });

  it('refuses bad select options with QueryError', () => {
    const direction = fc.oneof(
      fc.constantFrom<unknown>('asc', 'desc', 'ASC', 'up', 1, -1, true, null),
      oddValue,
    );
    const optionsArb = fc.oneof(
      oddValue,
      objectArb(
        fc.oneof(
          fc.tuple(
            fc.constant('orderBy'),
            fc.oneof(
              objectArb(fc.tuple(fc.oneof(fc.constantFrom(...PATHS), keyArb), direction)),
              oddValue,
            ),
          ),
          fc.tuple(
            fc.constantFrom('limit', 'offset'),
            fc.oneof(
              fc.constantFrom<unknown>(
                -1,
                0,
                1,
                1.5,
                NaN,
                Infinity,
                -Infinity,
                2 ** 53,
                '5',
                null,
                true,
                1n,
              ),
              oddValue,
            ),
          ),
          fc.tuple(
            fc.constant('fields'),
            fc.oneof(
              fc.array(fc.oneof(fc.constantFrom(...PATHS), keyArb, oddValue), { maxLength: 3 }),
              oddValue,
            ),
          ),
          fc.tuple(keyArb, oddValue),
        ),
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<unknown>(undefined, { s: 'a' }, { n: { $gt: 0 } }),
        optionsArb,
        (query, options) => {
          probe(query, options);
        },
      ),
      {
        numRuns: 800,
        examples: [
          [undefined, { limit: Object.create(null) }],
          [undefined, { orderBy: { s: Object.create(null) } }],
        ],
      },
    );
  });

  it('never lets an equality operand no record can hold match a record', () => {
    const table = makeTable(
      'fuzz_shapes',
      'set',
      ['p'],
      [],
      [
        { id: 1, p: {}, q: {} },
        { id: 2, p: { 0: 'a', 1: 'b' }, q: { 0: 'a', 1: 'b' } },
        { id: 3, p: { size: 0 }, q: [] },
      ],
    );
    const problems: string[] = [];
    for (const v of [
      new Map([['a', 1]]),
      new Map(),
      new Set([1]),
      new WeakMap(),
      new WeakSet(),
      Promise.resolve(),
      new Uint8Array(0),
      new ArrayBuffer(0),
      new Error('e'),
    ]) {
      const matched: string[] = [];
      for (const [label, query] of [
        ['{ p: v } (indexed)', { p: v }],
        ['{ q: v }', { q: v }],
        ['{ p: { $in: [v] } }', { p: { $in: [v] } }],
        ['{ q: { $eq: v } }', { q: { $eq: v } }],
      ] as const) {
        const outcome = timed(() => table.select(query));
        if (outcome.ok && (outcome.value as Row[]).length > 0)
          matched.push(
            `${label} matched ${show((outcome.value as Row[]).map((r) => table.get(r.id)))}`,
          );
        else if (!outcome.ok && !(outcome.error instanceof QueryError))
          matched.push(`${label} threw ${describeError(outcome.error)}`);
      }
      if (matched.length > 0) problems.push(`v = ${show(v)}: ${matched.join('; ')}`);
    }
    if (problems.length > 0)
      throw new Error(
        `values the store refuses to hold matched stored records:\n${problems.join('\n')}`,
      );
  });

  it('left every prototype untouched and kept every call within budget', () => {
    checkPrototypesInFull();
    if (stats.slowestMs > BUDGET_MS) throw new Error(`a call took ${stats.slowestMs} ms`);
    // the whole file's queries, on two tables, five calls each: far below a second on average
    if (stats.calls > 0 && stats.totalMs / stats.calls > 5)
      throw new Error(`calls took ${(stats.totalMs / stats.calls).toFixed(2)} ms on average`);
  });
});
