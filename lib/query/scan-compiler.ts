import type { FilterNode } from './filter-node.js';
import { INHERITED_NAMES, MAX_CACHED_NAME } from './query-values.js';

type Predicate = (record: object) => boolean;

/** A query's test and scan loop, as code generated for the query's shape. */
export interface GeneratedScan {
  readonly test: Predicate;
  /** The records of `list` that pass `test`, in order, in a new array. */
  readonly filter: <T extends object>(list: readonly T[]) => T[];
}

/** Makes a query's test and filter from the query's values (and fallback predicates). */
export type ScanFactory = (...bindings: unknown[]) => GeneratedScan;

/** How many query shapes keep their generated code; the least recently used is dropped. */
export const MAX_SCAN_SHAPES = 256;

/** Generated code, with when it was last used. */
interface CachedScan {
  readonly factory: ScanFactory;
  used: number;
}

/** Generated factories by condition. */
const factories = new Map<string, CachedScan>();
let uses = 0;
/** False once generating code failed (`--disallow-code-generation-from-strings`). */
let generating = true;

const RANGE_OPERATORS: Readonly<Record<string, string>> = {
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

/**
 * The test and the scan loop of a conjunction of `leaves`, as one generated function per
 * shape of query, so that a scan runs as fast as `Array.prototype.filter` with a predicate
 * written by hand: each shape gets its own code, whose property reads see one kind of record
 * and whose test is inlined into its loop, where closures shared by every query would see
 * every field and every test. Equality with a primitive and ranges with a finite number or
 * a string bound on top-level fields are written out; any other leaf is called as the
 * predicate `fallback` makes of it.
 *
 * The generated source holds only field names (as JSON string literals) and operators; every
 * value and fallback reaches it as an argument. The condition is the cache key, so a cached
 * factory can only ever be reused for a query of the same shape, with that query's values;
 * a tree of shapes (each leaf's kind of test and field) finds it without writing the
 * condition out (writing it took about a fifth of a select on a small table).
 * Where the process forbids generating code, every leaf is tested by its `fallback`.
 */
export function generateScan(
  leaves: readonly FilterNode[],
  fallback: (leaf: FilterNode) => Predicate,
): GeneratedScan {
  if (generating) {
    // The query's values (and fallback predicates), and its shape: a walk of the shape tree
    // finds the cached code without writing out the condition.
    const bindings: unknown[] = [];
    let node: ShapeNode | undefined = shapes;
    for (const leaf of leaves) {
      const shape = shapeOf(leaf);
      if (shape === CALL) bindings.push(fallback(leaf));
      else if (shape !== TRUE) bindings.push((leaf as { value: unknown }).value);
      node = node?.children.get(shape)?.get(fieldOf(leaf, shape));
    }
    const cached = node?.cached;
    if (cached) {
      cached.used = ++uses;
      return cached.factory(...bindings);
    }
    let bound = 0; // leaves that match everything take no argument
    const cond =
      leaves.length === 0
        ? 'true'
        : leaves
            .map((leaf) => {
              const shape = shapeOf(leaf);
              return condition(leaf, shape, shape === TRUE ? '' : `a${bound++}`);
            })
            .join(' && ');
    const entry = factoryFor(cond, bindings.length);
    if (entry) {
      remember(leaves, entry);
      return entry.factory(...bindings);
    }
  }
  const tests = leaves.map(fallback);
  const test = (r: object) => tests.every((t) => t(r));
  return { test, filter: (list) => list.filter(test) };
}

/**
 * The factory of the code for `leaves` when every leaf is written out (no predicate passed
 * in, none matching everything): called with the leaves' values in order, it makes the
 * test and the filter of any query of the same shape. Undefined when a leaf is not written
 * out or the process forbids generating code.
 */
export function scanFactory(leaves: readonly FilterNode[]): ScanFactory | undefined {
  if (!generating) return undefined;
  let node: ShapeNode | undefined = shapes;
  for (const leaf of leaves) {
    const shape = shapeOf(leaf);
    if (shape === CALL || shape === TRUE) return undefined;
    node = node?.children.get(shape)?.get(fieldOf(leaf, shape));
  }
  let entry = node?.cached;
  if (!entry) {
    const cond = leaves.map((leaf, i) => condition(leaf, shapeOf(leaf), `a${i}`)).join(' && ');
    entry = factoryFor(cond || 'true', leaves.length);
    if (!entry) return undefined;
    remember(leaves, entry);
  }
  entry.used = ++uses;
  return entry.factory;
}

/** The number of query shapes whose code is kept (for tests). */
export function cachedScanShapes(): number {
  return factories.size;
}

/**
 * The factory of the code testing `cond` (with `arity` arguments), generated on first use.
 * When the cache is full, the least recently used is dropped: a walk of every entry, but
 * only when code is generated anyway, which costs far more.
 */
function factoryFor(cond: string, arity: number): CachedScan | undefined {
  const cached = factories.get(cond);
  if (cached) {
    cached.used = ++uses;
    return cached;
  }
  if (factories.size >= MAX_SCAN_SHAPES) {
    let oldest: string | undefined;
    let oldestUse = Infinity;
    for (const [key, { used }] of factories) {
      if (used < oldestUse) [oldest, oldestUse] = [key, used];
    }
    factories.delete(oldest!);
    forgetShapes(); // the tree must not keep the dropped code alive
  }
  let factory: ScanFactory;
  try {
    factory = generate(cond, arity);
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
    generating = false;
    return undefined;
  }
  const entry = { factory, used: ++uses };
  factories.set(cond, entry);
  return entry;
}

/** A function of the arguments `a0`, `a1`, … returning the test and the filter of `cond`. */
function generate(cond: string, arity: number): ScanFactory {
  const params = ['$has', '$any', ...Array.from({ length: arity }, (_, i) => `a${i}`)];
  const body =
    "'use strict';\n" +
    'return {\n' +
    `  test: (r) => { let x; return ${cond}; },\n` +
    '  filter: (list) => {\n' +
    '    const out = [];\n' +
    '    for (let i = 0; i < list.length; i++) {\n' +
    '      const r = list[i];\n' +
    '      let x;\n' +
    `      if (${cond}) out.push(r);\n` +
    '    }\n' +
    '    return out;\n' +
    '  },\n' +
    '};';
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds no value; see generateScan
  const make = new Function(...params, body) as (...args: unknown[]) => GeneratedScan;
  return (...bindings) => make(hasElement, anyElementInRange, ...bindings);
}

/** Whether `value` is an array holding `wanted` (a primitive, not NaN). */
function hasElement(value: object, wanted: unknown): boolean {
  return Array.isArray(value) && (value as unknown[]).includes(wanted);
}

/**
 * Whether `value` is an array one of whose elements passes a range leaf of shape `shape`
 * ('str>=', 'num<', …) with `bound`, as the generated code tests a plain value.
 */
function anyElementInRange(value: object, shape: string, bound: never): boolean {
  if (!Array.isArray(value)) return false;
  const text = shape.startsWith('str');
  const accept = RANGE_TESTS[shape.slice(3)];
  return (value as unknown[]).some((e) =>
    text
      ? typeof e === 'string' && accept(e as never, bound)
      : (typeof e === 'number' || typeof e === 'bigint') && accept(e as never, bound),
  );
}

const RANGE_TESTS: Readonly<Record<string, (a: never, b: never) => boolean>> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
};

// ---- shapes ---------------------------------------------------------------------------

/** A leaf tested by a predicate passed in (`a<i>(r)`). */
const CALL = 'call';
/** A leaf that matches everything. */
const TRUE = 'true';
const EQUAL = 'eq';
/** Range comparisons with a string or a finite number, by operator: 'str>=', 'num<'… */
const STRING_RANGE = rangeShapes('str');
const NUMBER_RANGE = rangeShapes('num');

function rangeShapes(type: string): Readonly<Record<string, string>> {
  return Object.fromEntries(Object.entries(RANGE_OPERATORS).map(([op, js]) => [op, type + js]));
}

/**
 * How a leaf is written out: which code tests it, given its field. Equality with a primitive
 * and ranges with a finite number or a string bound on top-level fields are written out; any
 * other leaf is called as a predicate.
 */
function shapeOf(leaf: FilterNode): string {
  if (leaf.kind === 'all') return TRUE;
  // (a field named like a method of every object is read as an own field, by the predicate;
  // a very long name is kept out of the cached code and its keys)
  if (
    leaf.kind === 'cmp' &&
    leaf.path.length === 1 &&
    !INHERITED_NAMES.has(leaf.path[0]) &&
    leaf.path[0].length <= MAX_CACHED_NAME
  ) {
    const { op, value } = leaf;
    if (op === 'eq' && value !== null && typeof value !== 'object' && value === value) return EQUAL;
    if (Object.prototype.hasOwnProperty.call(RANGE_OPERATORS, op)) {
      if (typeof value === 'string') return STRING_RANGE[op];
      if (typeof value === 'number' && Number.isFinite(value)) return NUMBER_RANGE[op];
    }
  }
  return CALL;
}

/** The field a written-out leaf reads ('' for the others). */
function fieldOf(leaf: FilterNode, shape: string): string {
  return shape === CALL || shape === TRUE ? '' : (leaf as { path: readonly string[] }).path[0];
}

/**
 * Cached code by query shape: a tree with a level per leaf, keyed by the leaf's shape and
 * field. Both are strings a query reuses (the shape tokens above; field names from the
 * query's keys), so a lookup hashes nothing new, where the condition text is a new string
 * per query. Cleared when it grows past a bound, and when `factories` drops code (so that the
 * tree never keeps dropped code alive).
 */
interface ShapeNode {
  readonly children: Map<string, Map<string, ShapeNode>>;
  cached?: CachedScan;
}

const MAX_SHAPE_NODES = 4096;
let shapes: ShapeNode = { children: new Map() };
let shapeNodes = 0;

function forgetShapes(): void {
  shapes = { children: new Map() };
  shapeNodes = 0;
}

function remember(leaves: readonly FilterNode[], entry: CachedScan): void {
  if (shapeNodes + leaves.length > MAX_SHAPE_NODES) forgetShapes();
  let node = shapes;
  for (const leaf of leaves) {
    const shape = shapeOf(leaf);
    const field = fieldOf(leaf, shape);
    let byField = node.children.get(shape);
    if (!byField) node.children.set(shape, (byField = new Map<string, ShapeNode>()));
    let next = byField.get(field);
    if (!next) {
      byField.set(field, (next = { children: new Map() }));
      shapeNodes++;
    }
    node = next;
  }
  node.cached = entry;
}

/**
 * One leaf of this shape as a JavaScript condition on the record `r` (`x` is scratch), with
 * `name` for its argument.
 */
function condition(leaf: FilterNode, shape: string, name: string): string {
  if (shape === TRUE) return 'true';
  if (shape === CALL) return `${name}(r)`;
  const field = `r[${JSON.stringify((leaf as { path: readonly string[] }).path[0])}]`;
  // An array matches when one of its elements does (MongoDB's reading; see anyReached): the
  // test of an array is called out of line, after the test of a plain value failed.
  if (shape === EQUAL)
    return `((x = ${field}) === ${name} || (typeof x === 'object' && x !== null && $has(x, ${name})))`;
  const op = shape.slice(3);
  const array = `(typeof x === 'object' && x !== null && $any(x, '${shape}', ${name}))`;
  if (shape.startsWith('str'))
    return `((typeof (x = ${field}) === 'string' && x ${op} ${name}) || ${array})`;
  // A NaN field fails every bound, as JavaScript's comparison does; a bigint compares by value.
  return `(((typeof (x = ${field}) === 'number' || typeof x === 'bigint') && x ${op} ${name}) || ${array})`;
}
