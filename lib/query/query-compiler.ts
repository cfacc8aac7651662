import { valuesEqual } from '../engine/stored-values.js';
import { compareValues, rankOf } from './compare.js';
import type { FilterNode } from './filter-node.js';
import { toFilterNode } from './filter-parser.js';
import { INHERITED_NAMES } from './query-values.js';
import { generateScan } from './scan-compiler.js';
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
}

/** Compiles any query form (see `toFilterNode`) to a predicate and planner hints. */
export function compileQuery(table: string, query: unknown): CompiledQuery {
  return compileNode(toFilterNode(table, query));
}

export function compileNode(node: FilterNode): CompiledQuery {
  const fields = new Map<string, FieldConstraint>();
  const alternatives: CompiledQuery[][] = [];
  collect(node, fields, alternatives);
  const { test, filter } = generateScan(leaves(node), leafPredicate);
  return { test, filter, matchesAll: node.kind === 'all', fields, alternatives };
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
  return comparisonPredicate(reader(node.path), node.op, node.value);
}

function comparisonPredicate(read: (r: object) => unknown, op: string, value: unknown): Predicate {
  switch (op) {
    case 'eq':
      return equals(read, value);
    case 'ne': {
      const eq = equals(read, value);
      return (r) => !eq(r);
    }
    case 'in':
      return oneOf(read, value as unknown[]);
    case 'nin': {
      const inList = oneOf(read, value as unknown[]);
      return (r) => !inList(r);
    }
    case 'exists':
      return value ? (r) => read(r) !== undefined : (r) => read(r) === undefined;
    case 'regex': {
      const regex = value as TextPattern;
      return (r) => {
        const v = read(r);
        return typeof v === 'string' && regex.test(v);
      };
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
      return (r) => {
        const v = read(r);
        return rankOf(v) === rank && v === v && accept(compareValues(v, value));
      };
    }
  }
}

function equals(read: (r: object) => unknown, value: unknown): Predicate {
  if (value === null) return (r) => read(r) == null;
  if (typeof value !== 'object' && value === value) return (r) => read(r) === value;
  return (r) => valuesEqual(read(r), value);
}

function oneOf(read: (r: object) => unknown, values: unknown[]): Predicate {
  const primitives = new Set<unknown>();
  const objects: unknown[] = [];
  let nulls = false;
  for (const v of values) {
    if (v === null) nulls = true;
    else if (typeof v === 'object') objects.push(v);
    else primitives.add(v);
  }
  return (r) => {
    const v = read(r);
    if (v === null || v === undefined) return nulls;
    if (typeof v !== 'object') return primitives.has(v);
    return objects.some((o) => valuesEqual(v, o));
  };
}

/** A function reading the value at `path` of a record (undefined when a step is missing). */
export function reader(path: readonly string[]): (record: object) => unknown {
  if (path.length === 1) {
    const [field] = path;
    if (INHERITED_NAMES.has(field)) {
      return (r) =>
        Object.prototype.hasOwnProperty.call(r, field)
          ? (r as Record<string, unknown>)[field]
          : undefined;
    }
    return (r) => (r as Record<string, unknown>)[field];
  }
  return (r) => {
    let v: unknown = r;
    for (const segment of path) {
      if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
        return undefined;
      v = (v as Record<string, unknown>)[segment];
    }
    return v;
  };
}

/** The operands of nested ANDs, flattened: `a and (b and c)` tests as `a && b && c`. */
function leaves(node: FilterNode, out: FilterNode[] = []): FilterNode[] {
  if (node.kind !== 'and') out.push(node);
  else for (const n of node.nodes) leaves(n, out);
  return out;
}
