import type { FilterNode } from './filter-node.js';

type Predicate = (record: object) => boolean;

/** A query's test and scan loop, as code generated for the query's shape. */
export interface GeneratedScan {
  readonly test: Predicate;
  /** The records of `list` that pass `test`, in order, in a new array. */
  readonly filter: <T extends object>(list: readonly T[]) => T[];
}

/** Makes a query's test and filter from the query's values (and fallback predicates). */
type ScanFactory = (...bindings: unknown[]) => GeneratedScan;

/** How many query shapes keep their generated code; the least recently used is dropped. */
export const MAX_SCAN_SHAPES = 256;

/** Generated factories by condition, each with when it was last used. */
const factories = new Map<string, { readonly factory: ScanFactory; used: number }>();
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
 * factory can only ever be reused for a query of the same shape, with that query's values.
 * Where the process forbids generating code, every leaf is tested by its `fallback`.
 */
export function generateScan(
  leaves: readonly FilterNode[],
  fallback: (leaf: FilterNode) => Predicate,
): GeneratedScan {
  if (generating) {
    const bindings: unknown[] = [];
    const conditions = leaves.map((leaf) => condition(leaf, bindings, fallback));
    const cond = conditions.length === 0 ? 'true' : conditions.join(' && ');
    const factory = factoryFor(cond, bindings.length);
    if (factory) return factory(...bindings);
  }
  const tests = leaves.map(fallback);
  const test = (r: object) => tests.every((t) => t(r));
  return { test, filter: (list) => list.filter(test) };
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
function factoryFor(cond: string, arity: number): ScanFactory | undefined {
  const cached = factories.get(cond);
  if (cached) {
    cached.used = ++uses;
    return cached.factory;
  }
  if (factories.size >= MAX_SCAN_SHAPES) {
    let oldest: string | undefined;
    let oldestUse = Infinity;
    for (const [key, { used }] of factories) {
      if (used < oldestUse) [oldest, oldestUse] = [key, used];
    }
    factories.delete(oldest!);
  }
  let factory: ScanFactory;
  try {
    factory = generate(cond, arity);
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
    generating = false;
    return undefined;
  }
  factories.set(cond, { factory, used: ++uses });
  return factory;
}

/** A function of the arguments `a0`, `a1`, … returning the test and the filter of `cond`. */
function generate(cond: string, arity: number): ScanFactory {
  const params = Array.from({ length: arity }, (_, i) => `a${i}`);
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
  return new Function(...params, body) as ScanFactory;
}

/** `r["field"]` for each field name seen, as generated code reads it. */
const fieldReads = new Map<string, string>();

/** The code reading `field` of the record `r`: the name as a JSON string literal. */
function fieldRead(field: string): string {
  let read = fieldReads.get(field);
  if (read === undefined) {
    if (fieldReads.size >= 1024) fieldReads.clear();
    fieldReads.set(field, (read = `r[${JSON.stringify(field)}]`));
  }
  return read;
}

/** One leaf as a JavaScript condition on the record `r` (`x` is scratch). */
function condition(
  leaf: FilterNode,
  bindings: unknown[],
  fallback: (leaf: FilterNode) => Predicate,
): string {
  if (leaf.kind === 'all') return 'true';
  const name = `a${bindings.length}`;
  if (leaf.kind === 'cmp' && leaf.path.length === 1) {
    const field = fieldRead(leaf.path[0]);
    const value = leaf.value;
    if (leaf.op === 'eq' && value !== null && typeof value !== 'object' && value === value) {
      bindings.push(value);
      return `${field} === ${name}`;
    }
    const op = Object.prototype.hasOwnProperty.call(RANGE_OPERATORS, leaf.op)
      ? RANGE_OPERATORS[leaf.op]
      : undefined;
    if (op && typeof value === 'string') {
      bindings.push(value);
      return `(typeof (x = ${field}) === 'string' && x ${op} ${name})`;
    }
    if (op && typeof value === 'number' && Number.isFinite(value)) {
      bindings.push(value);
      // As compareValues within numbers: NaN sorts below every number, so it passes an
      // upper bound (written as "not at or above it") and fails a lower one; a bigint
      // compares by value.
      const test =
        op === '<' ? `!(x >= ${name})` : op === '<=' ? `!(x > ${name})` : `x ${op} ${name}`;
      return `((typeof (x = ${field}) === 'number' || typeof x === 'bigint') && ${test})`;
    }
  }
  bindings.push(fallback(leaf));
  return `${name}(r)`;
}
