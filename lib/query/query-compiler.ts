import { QueryError } from '../errors/query.error.js';
import { FORBIDDEN_KEYS, valuesEqual } from '../engine/stored-values.js';

/** A query compiled to a predicate, plus what the planner can use of it. */
export interface CompiledQuery {
  /** The full condition; every candidate a plan yields is checked against it. */
  readonly test: (record: object) => boolean;
  /** `field == value` conditions on top-level fields that the whole query requires. */
  readonly equalities: ReadonlyMap<string, unknown>;
  /** True for the empty query, which matches every record. */
  readonly matchesAll: boolean;
}

type Predicate = (record: object) => boolean;

const MATCH_ALL: CompiledQuery = { test: () => true, equalities: new Map(), matchesAll: true };

/**
 * Compiles a query to a predicate. Refuses (with `QueryError`) anything that is not a
 * well-formed query rather than guessing what it meant.
 */
export function compileQuery(table: string, query: unknown): CompiledQuery {
  if (query === undefined) return MATCH_ALL;
  if (!isPlainObject(query)) {
    throw new QueryError(
      table,
      `a query must be an attribute map (a plain object), got ${describe(query)}`,
    );
  }
  const fields = Object.keys(query);
  if (fields.length === 0) return MATCH_ALL;
  const predicates: Predicate[] = [];
  const equalities = new Map<string, unknown>();
  for (const field of fields) {
    const value = (query)[field];
    const path = parsePath(table, field);
    checkValue(table, field, value);
    predicates.push(equalsAt(path, value));
    if (path.length === 1) equalities.set(field, value);
  }
  return { test: all(predicates), equalities, matchesAll: false };
}

/** Splits a dotted field path, refusing empty and forbidden segments. */
export function parsePath(table: string, field: string): string[] {
  if (field.startsWith('$')) {
    throw new QueryError(table, `unknown operator '${field}' (attribute maps take field names)`);
  }
  const segments = field.split('.');
  for (const segment of segments) {
    if (segment === '') throw new QueryError(table, `'${field}' is not a valid field path`);
    if (FORBIDDEN_KEYS.has(segment))
      throw new QueryError(table, `'${segment}' cannot be used as a field name`);
  }
  return segments;
}

function checkValue(table: string, field: string, value: unknown): void {
  if (value === undefined) {
    throw new QueryError(
      table,
      `the value for '${field}' is undefined; use null to match a missing value`,
    );
  }
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new QueryError(
      table,
      `the value for '${field}' is a ${typeof value}, which no record can hold`,
    );
  }
  if (value instanceof RegExp) {
    throw new QueryError(
      table,
      `the value for '${field}' is a RegExp; attribute maps compare by equality`,
    );
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (key.startsWith('$'))
        throw new QueryError(table, `unknown operator '${key}' on '${field}'`);
    }
  }
}

function equalsAt(path: string[], value: unknown): Predicate {
  const read = reader(path);
  if (value === null) return (r) => read(r) == null;
  if (typeof value !== 'object' && value === value) return (r) => read(r) === value;
  return (r) => valuesEqual(read(r), value);
}

/** A function reading the value at `path` of a record (undefined when a step is missing). */
export function reader(path: readonly string[]): (record: object) => unknown {
  if (path.length === 1) {
    const [field] = path;
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

function all(predicates: Predicate[]): Predicate {
  if (predicates.length === 1) return predicates[0];
  if (predicates.length === 2) {
    const [a, b] = predicates;
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (const p of predicates) if (!p(r)) return false;
    return true;
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object')
    return `an instance of ${value.constructor?.name ?? 'an unknown class'}`;
  return `a ${typeof value}`;
}
