import { valuesEqual } from '../engine/stored-values.js';
import { compareValues, rankOf } from './compare.js';
import { anyReached, reader } from './array-paths.js';
import { InPattern, type CompareOp, type FilterNode } from './filter-node.js';
import { toFilterNode } from './filter-parser.js';
import { generateScan, scanFactory, type ScanFactory } from './scan-compiler.js';
import type { TextPattern } from './text-pattern.js';

type Predicate = (record: object) => boolean;

/** A bound of a range. */
export interface RangeBound {
  readonly value: unknown;
  readonly inclusive: boolean;
}

/** What a query requires of one top-level field, for the planner. */
export interface FieldConstraint {
  /** The field must equal this value. */
  equal?: { value: unknown };
  /** The field must equal one of these values. */
  anyOf?: readonly unknown[];
  lower?: RangeBound;
  upper?: RangeBound;
}

/** A query compiled to a predicate, plus what the planner can use of it. */
export interface CompiledQuery {
  /** The full condition; every candidate a plan yields is checked against it. */
  readonly test: Predicate;
  /** The records of an array that pass `test`, in order, in a new array (a scan). */
  readonly filter: <T extends object>(records: readonly T[]) => T[];
  /** True for the empty query, which matches every record. */
  readonly matchesAll: boolean;
  /** Conditions on fields (dotted paths for nested ones) that every match satisfies. */
  readonly fields: ReadonlyMap<string, FieldConstraint>;
  /** `or` nodes every match satisfies: each match satisfies one of each list's branches. */
  readonly alternatives: readonly (readonly CompiledQuery[])[];
  /**
   * Set when the whole query is one equality of a top-level field with a primitive value
   * (not null, not NaN): an index lookup of that value yields exactly the matches.
   */
  readonly sole?: { readonly field: string; readonly value: unknown };
  /**
   * True when the whole query is the conjunction of the constraints in `fields`, each on a
   * top-level field and written once: an equality with a string, a number (not NaN) or a
   * boolean, or one lower and/or one upper bound of one type (string or number). A path
   * yielding exactly those constraints' records then needs no re-check.
   */
  readonly plain: boolean;
  /** The template of the query's shape, when it was compiled from one (see `query-shapes.ts`). */
  readonly template?: QueryTemplate;
}

/** What tests the candidates of a path that yields exactly the matches: nothing to re-check. */
export const EVERY_CANDIDATE = {
  test: (): boolean => true,
  filter: <T>(records: readonly T[]): T[] => records as T[],
};

/** Compiles any query form (see `toFilterNode`) to a predicate and planner hints. */
export function compileQuery(table: string, query: unknown): CompiledQuery {
  return compileNode(toFilterNode(table, query));
}

export function compileNode(node: FilterNode): CompiledQuery {
  const fields = new Map<string, FieldConstraint>();
  const alternatives: CompiledQuery[][] = [];
  collect(node, fields, alternatives);
  const { test, filter } = generateScan(leaves(node), leafPredicate);
  return {
    test,
    filter,
    matchesAll: node.kind === 'all',
    fields,
    alternatives,
    sole: soleOf(node),
    plain: isPlain(node),
  };
}

/**
 * What a query of one shape compiles to whatever its values: a conjunction of comparisons of
 * top-level fields, each written out by generated code (see `queryTemplate`).
 */
export interface QueryTemplate {
  readonly leaves: readonly { readonly path: readonly string[]; readonly op: CompareOp }[];
  readonly plain: boolean;
  /** Makes the test and the filter from the values; undefined without code generation. */
  readonly scan: ScanFactory | undefined;
  /** The last query compiled from the template, which a query with the same values reuses. */
  last?: { readonly values: readonly unknown[]; readonly compiled: CompiledQuery };
}

/**
 * The template of a compiled tree whose comparisons hold `values`, in order, or undefined
 * when the tree is no conjunction of such comparisons: compiling another tree of the same
 * comparisons with other values of the same types (see `query-shapes.ts`) then gives what
 * `fromTemplate` gives, without parsing or compiling.
 */
export function queryTemplate(
  node: FilterNode,
  values: readonly unknown[],
): QueryTemplate | undefined {
  const found = leaves(node);
  if (found.length !== values.length || found.length === 0) return undefined;
  const out: { path: readonly string[]; op: CompareOp }[] = [];
  for (let i = 0; i < found.length; i++) {
    const leaf = found[i];
    if (leaf.kind !== 'cmp' || leaf.path.length !== 1 || !Object.is(leaf.value, values[i]))
      return undefined;
    if (
      leaf.op !== 'eq' &&
      leaf.op !== 'gt' &&
      leaf.op !== 'gte' &&
      leaf.op !== 'lt' &&
      leaf.op !== 'lte'
    )
      return undefined;
    out.push({ path: leaf.path, op: leaf.op });
  }
  return { leaves: out, plain: isPlain(node), scan: scanFactory(found) };
}

/** A query of a template's shape with these values (in the order of its comparisons), compiled. */
export function fromTemplate(template: QueryTemplate, values: readonly unknown[]): CompiledQuery {
  const { leaves, scan } = template;
  const n = values.length;
  const { test, filter } =
    scan === undefined
      ? generateScan(
          leaves.map(({ path, op }, i): FilterNode => ({
            kind: 'cmp',
            path,
            op,
            value: values[i],
          })),
          leafPredicate,
        )
      : n === 1
        ? scan(values[0])
        : n === 2
          ? scan(values[0], values[1])
          : scan(...values);
  return new TemplateQuery(template, values, test, filter);
}

/**
 * A query compiled from a template: what the planner reads of it is gathered on first read,
 * which a plan that needs none of it (a scan of a table with no index on its fields) skips.
 */
class TemplateQuery implements CompiledQuery {
  #fields: Map<string, FieldConstraint> | undefined;

  constructor(
    readonly template: QueryTemplate,
    readonly values: readonly unknown[],
    readonly test: Predicate,
    readonly filter: <T extends object>(records: readonly T[]) => T[],
  ) {}

  get matchesAll(): boolean {
    return false;
  }

  get plain(): boolean {
    return this.template.plain;
  }

  get alternatives(): readonly (readonly CompiledQuery[])[] {
    return NO_ALTERNATIVES;
  }

  /** What `collect` gathers of the same comparisons. */
  get fields(): ReadonlyMap<string, FieldConstraint> {
    if (this.#fields) return this.#fields;
    const { leaves } = this.template;
    const fields = new Map<string, FieldConstraint>();
    for (let i = 0; i < leaves.length; i++) {
      const { path, op } = leaves[i];
      const value = this.values[i];
      let c = fields.get(path[0]);
      if (!c) fields.set(path[0], (c = {}));
      if (op === 'eq') c.equal = { value };
      else if (op === 'gt' || op === 'gte') c.lower ??= { value, inclusive: op === 'gte' };
      else c.upper ??= { value, inclusive: op === 'lte' };
    }
    return (this.#fields = fields);
  }

  /** What `soleOf` finds: the values are strings, finite numbers and booleans. */
  get sole(): CompiledQuery['sole'] {
    const { leaves } = this.template;
    return leaves.length === 1 && leaves[0].op === 'eq'
      ? { field: leaves[0].path[0], value: this.values[0] }
      : undefined;
  }
}

/** A conjunction of comparisons has no `or` (collect adds none to it). */
const NO_ALTERNATIVES = Object.freeze([]) as unknown as CompiledQuery[][];

/** See `CompiledQuery.plain`. */
function isPlain(node: FilterNode): boolean {
  const comparisons: FilterNode[] = [];
  const flatten = (n: FilterNode): void => {
    if (n.kind === 'and') n.nodes.forEach(flatten);
    else comparisons.push(n);
  };
  flatten(node);
  if (comparisons.length === 0) return false;
  const seen = new Map<string, { eq: boolean; lower: boolean; upper: boolean; type?: string }>();
  for (const n of comparisons) {
    if (n.kind !== 'cmp' || n.path.length !== 1) return false;
    const { value } = n;
    const type = typeof value;
    if (type === 'number' ? value !== value : type !== 'string' && type !== 'boolean') return false;
    let field = seen.get(n.path[0]);
    if (!field) seen.set(n.path[0], (field = { eq: false, lower: false, upper: false }));
    if (field.eq) return false;
    if (n.op === 'eq') {
      if (field.lower || field.upper) return false;
      field.eq = true;
      continue;
    }
    if (type === 'boolean' || (field.type !== undefined && field.type !== type)) return false;
    field.type = type;
    if (n.op === 'gt' || n.op === 'gte') {
      if (field.lower) return false;
      field.lower = true;
    } else if (n.op === 'lt' || n.op === 'lte') {
      if (field.upper) return false;
      field.upper = true;
    } else return false;
  }
  return true;
}

function soleOf(node: FilterNode): CompiledQuery['sole'] {
  if (node.kind !== 'cmp' || node.op !== 'eq' || node.path.length !== 1) return undefined;
  const { value } = node;
  if (value === null || typeof value === 'object' || value !== value) return undefined;
  return { field: node.path[0], value };
}

/** Gathers the constraints of the conjunction at the top of the tree. */
function collect(
  node: FilterNode,
  fields: Map<string, FieldConstraint>,
  alternatives: CompiledQuery[][],
): void {
  if (node.kind === 'and') {
    for (const n of node.nodes) collect(n, fields, alternatives);
    return;
  }
  if (node.kind === 'or') {
    alternatives.push(node.nodes.map(compileNode));
    return;
  }
  if (node.kind !== 'cmp') return;
  const field = node.path.length === 1 ? node.path[0] : node.path.join('.');
  let c = fields.get(field);
  if (!c) fields.set(field, (c = {}));
  switch (node.op) {
    case 'eq':
      c.equal = { value: node.value };
      break;
    case 'in':
      // a regex in the list is no value an index holds
      if (!(node.value as unknown[]).some((v) => v instanceof InPattern))
        c.anyOf = node.value as unknown[];
      break;
    case 'gt':
    case 'gte':
      if (!c.lower) c.lower = { value: node.value, inclusive: node.op === 'gte' };
      break;
    case 'lt':
    case 'lte':
      if (!c.upper) c.upper = { value: node.value, inclusive: node.op === 'lte' };
      break;
  }
}

/** Every conjunction (a lone comparison included) is tested by code generated for its shape. */
function predicate(node: FilterNode): Predicate {
  switch (node.kind) {
    case 'all':
      return () => true;
    case 'or': {
      const ps = node.nodes.map(predicate);
      return (r) => ps.some((p) => p(r));
    }
    case 'nor': {
      const ps = node.nodes.map(predicate);
      return (r) => !ps.some((p) => p(r));
    }
    case 'not': {
      const p = predicate(node.node);
      return (r) => !p(r);
    }
    case 'and':
    case 'cmp':
      return generateScan(leaves(node), leafPredicate).test;
  }
}

/** The test of an operand of a conjunction that generated code does not write out. */
function leafPredicate(node: FilterNode): Predicate {
  if (node.kind !== 'cmp') return predicate(node);
  return comparisonPredicate(node.path, node.op, node.value);
}

/**
 * A comparison as MongoDB reads it (see `anyReached`): it holds when a value the path
 * reaches, or an element of an array reached, passes; `$ne`, `$nin` and `$exists: false`
 * are the negations of `$eq`, `$in` and `$exists: true`, so `{ tags: { $ne: 'x' } }` never
 * matches an array holding 'x'. `$size` and `$elemMatch` test the array itself.
 */
function comparisonPredicate(path: readonly string[], op: CompareOp, value: unknown): Predicate {
  switch (op) {
    case 'ne':
    case 'nin': {
      const positive = comparisonPredicate(path, op === 'ne' ? 'eq' : 'in', value);
      return (r) => !positive(r);
    }
    case 'exists': {
      const present = anyReached(path, (v) => v !== undefined, false);
      return value ? present : (r) => !present(r);
    }
    case 'size':
      return anyReached(path, (v) => Array.isArray(v) && v.length === value, false);
    case 'elemMatch': {
      const inner = compileNode(value as FilterNode).test;
      const onObjects = !isElementNode(value as FilterNode);
      const element = onObjects
        ? (e: unknown) => typeof e === 'object' && e !== null && !Array.isArray(e) && inner(e)
        : (e: unknown) => inner(e as object);
      return anyReached(path, (v) => Array.isArray(v) && v.some(element), false);
    }
    default:
      return anyReached(path, valueTest(op, value), true);
  }
}

/** True when an `$elemMatch` tests the elements themselves (its comparisons have no path). */
function isElementNode(node: FilterNode): boolean {
  switch (node.kind) {
    case 'all':
      return false;
    case 'cmp':
      return node.path.length === 0;
    case 'not':
      return isElementNode(node.node);
    default:
      return node.nodes.some(isElementNode);
  }
}

/** The test of one value (an element of an array included) for a positive comparison. */
function valueTest(op: CompareOp, value: unknown): (v: unknown) => boolean {
  switch (op) {
    case 'eq':
      return equals(value);
    case 'in':
      return oneOf(value as unknown[]);
    case 'regex': {
      const regex = value as TextPattern;
      return (v) => typeof v === 'string' && regex.test(v);
    }
    default: {
      const rank = rankOf(value);
      const accept: (c: number) => boolean =
        op === 'gt'
          ? (c) => c > 0
          : op === 'gte'
            ? (c) => c >= 0
            : op === 'lt'
              ? (c) => c < 0
              : (c) => c <= 0;
      // NaN (the only value not equal to itself) sorts first among numbers, but no range
      // holds it, as no comparison with NaN is true in JavaScript.
      return (v) => rankOf(v) === rank && v === v && accept(compareValues(v, value));
    }
  }
}

function equals(value: unknown): (v: unknown) => boolean {
  if (value === null) return (v) => v == null;
  if (typeof value !== 'object' && value === value) return (v) => v === value;
  return (v) => valuesEqual(v, value);
}

function oneOf(values: unknown[]): (v: unknown) => boolean {
  const primitives = new Set<unknown>();
  const objects: unknown[] = [];
  const patterns: InPattern[] = [];
  let nulls = false;
  for (const v of values) {
    if (v === null) nulls = true;
    else if (v instanceof InPattern) patterns.push(v);
    else if (typeof v === 'object') objects.push(v);
    else primitives.add(v);
  }
  return (v) => {
    if (v === null || v === undefined) return nulls;
    if (typeof v !== 'object')
      return (
        primitives.has(v) ||
        (typeof v === 'string' && patterns.some(({ pattern }) => pattern.test(v)))
      );
    return objects.some((o) => valuesEqual(v, o));
  };
}

export { reader };

/** The operands of nested ANDs, flattened: `a and (b and c)` tests as `a && b && c`. */
function leaves(node: FilterNode, out: FilterNode[] = []): FilterNode[] {
  if (node.kind !== 'and') out.push(node);
  else for (const n of node.nodes) leaves(n, out);
  return out;
}
