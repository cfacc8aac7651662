import { QueryError } from '../errors/query.error.js';
import { compareValues } from './compare.js';
import type { OrderHint } from './planner.js';
import { reader } from './query-compiler.js';
import {
  describeValue,
  INHERITED_NAMES,
  isPlainObject,
  MAX_CACHED_NAME,
  parsePath,
  RESERVED_FIELD_NAMES,
} from './query-values.js';

/** Select options checked and compiled. */
export interface CompiledSelectOptions {
  readonly compare?: (a: object, b: object) => number;
  /** Set when the order is one field or path: an index on it can serve the order. */
  readonly order?: OrderHint;
  readonly offset: number;
  readonly limit: number;
  readonly fields?: readonly string[];
}

export const NO_SELECT_OPTIONS: CompiledSelectOptions = { offset: 0, limit: Infinity };
const OPTION_KEYS = new Set(['orderBy', 'limit', 'offset', 'fields']);

/**
 * Checks `select()` options, refusing anything malformed with `QueryError`. Ties in the
 * order are broken by the primary key, in the direction of the first order field.
 */
export function compileSelectOptions(
  table: string,
  keyField: string,
  options: unknown,
): CompiledSelectOptions {
  if (options === undefined) return NO_SELECT_OPTIONS;
  if (!isPlainObject(options)) throw new QueryError(table, 'select options must be a plain object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new QueryError(table, `unknown select option '${key}'`);
  }
  const { orderBy, limit, offset, fields } = options;
  const offsetCount = offset === undefined ? 0 : count(table, 'offset', offset);
  const limitCount = limit === undefined ? Infinity : count(table, 'limit', limit);
  const fieldList = fields === undefined ? undefined : compileFields(table, fields);
  if (orderBy === undefined) return { offset: offsetCount, limit: limitCount, fields: fieldList };
  const single = singleOrdering(table, keyField, orderBy);
  if (single !== undefined)
    return {
      offset: offsetCount,
      limit: limitCount,
      fields: fieldList,
      compare: single.compare,
      order: limitCount !== Infinity ? single.limited : single.unlimited,
    };
  const keys = compileOrderBy(table, orderBy);
  const compare = comparator(keys, keyField);
  const order: OrderHint | undefined =
    keys.length === 1
      ? {
          field: keys[0].path.join('.'),
          direction: keys[0].sign === 1 ? 'asc' : 'desc',
          limited: limitCount !== Infinity,
        }
      : undefined;
  return { offset: offsetCount, limit: limitCount, fields: fieldList, compare, order };
}

/** An order on one field, compiled once: its comparator and its hints with and without a limit. */
interface Ordering {
  readonly compare: (a: object, b: object) => number;
  readonly limited: OrderHint;
  readonly unlimited: OrderHint;
}

/** How many single-field orders are kept; past it, the cache starts over. */
const MAX_ORDERINGS = 1024;
/** Single-field orders by key field, then field, then direction. */
const orderings = new Map<string, Map<string, Directions>>();
/** A field's compiled orders. */
interface Directions {
  asc?: Ordering;
  desc?: Ordering;
}
let orderingCount = 0;

/**
 * The compiled order of an `orderBy` naming one field, from the cache when a query ordered
 * the same way before; undefined for any other `orderBy` (compiled, and checked, in full).
 */
function singleOrdering(table: string, keyField: string, orderBy: unknown): Ordering | undefined {
  if (!isPlainObject(orderBy)) return undefined;
  let field: string | undefined;
  for (const name in orderBy) {
    if (!Object.prototype.hasOwnProperty.call(orderBy, name)) continue;
    if (field !== undefined) return undefined;
    field = name;
  }
  if (field === undefined) return undefined;
  const direction = orderBy[field];
  if (direction !== 'asc' && direction !== 'desc') return undefined;
  if (field.length > MAX_CACHED_NAME) return undefined;
  let byField = orderings.get(keyField);
  const cached = byField?.get(field)?.[direction];
  if (cached !== undefined) return cached;
  const keys = compileOrderBy(table, orderBy);
  const hint: Omit<OrderHint, 'limited'> = { field: keys[0].path.join('.'), direction };
  const ordering: Ordering = {
    compare: comparator(keys, keyField),
    limited: { ...hint, limited: true },
    unlimited: { ...hint, limited: false },
  };
  if (orderingCount >= MAX_ORDERINGS) {
    orderings.clear();
    orderingCount = 0;
    byField = undefined;
  }
  if (byField === undefined) orderings.set(keyField, (byField = new Map<string, Directions>()));
  let directions = byField.get(field);
  if (directions === undefined) byField.set(field, (directions = {}));
  directions[direction] = ordering;
  orderingCount++;
  return ordering;
}

/** Compares records by the order's keys, ties broken by the key in the first key's direction. */
function comparator(
  keys: ReturnType<typeof compileOrderBy>,
  keyField: string,
): (a: object, b: object) => number {
  const readKey = reader([keyField]);
  const tieSign = keys[0].sign;
  return (a: object, b: object): number => {
    for (let i = 0; i < keys.length; i++) {
      const { read, sign } = keys[i];
      const c = compareValues(read(a), read(b));
      if (c !== 0) return c * sign;
    }
    return compareValues(readKey(a), readKey(b)) * tieSign;
  };
}

function count(table: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new QueryError(
      table,
      `'${name}' must be a non-negative integer, got ${describeValue(value)}`,
    );
  }
  return value;
}

function compileFields(table: string, fields: unknown): string[] {
  if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')) {
    throw new QueryError(table, "'fields' must be an array of field names");
  }
  for (const f of fields as string[]) {
    if (RESERVED_FIELD_NAMES.has(f) || f === '' || f.includes('.'))
      throw new QueryError(table, `'${f}' cannot be selected`);
  }
  return fields as string[];
}

function compileOrderBy(table: string, orderBy: unknown) {
  if (!isPlainObject(orderBy))
    throw new QueryError(table, "'orderBy' must be an object of field: 'asc' | 'desc'");
  const keys = Object.entries(orderBy).map(([field, direction]) => {
    if (direction !== 'asc' && direction !== 'desc') {
      throw new QueryError(
        table,
        `'orderBy.${field}' must be 'asc' or 'desc', got ${describeValue(direction)}`,
      );
    }
    const path = parsePath(table, field);
    return { path, read: reader(path), sign: direction === 'asc' ? 1 : -1 };
  });
  if (keys.length === 0) throw new QueryError(table, "'orderBy' names no field");
  return keys;
}

/** What selects the matches among candidates: a test, and a faster scan of an array. */
export interface Matcher<T> {
  readonly test: (record: T) => boolean;
  /** The records of an array that pass `test`, in order, in a new array. */
  readonly filter?: (records: readonly T[]) => T[];
}

/**
 * Applies order, offset, limit and projection to candidate records. When the candidates
 * already come in the requested order (`presorted`), stops as soon as the page is full.
 */
export function finishSelection<T extends object>(
  candidates: Iterable<T>,
  matcher: Matcher<T>,
  options: CompiledSelectOptions,
  presorted = false,
): T[] {
  const { compare, offset, limit } = options;
  const { test, filter } = matcher;
  let out: T[] = [];
  if (limit === 0) return out;
  const scan = filter !== undefined && Array.isArray(candidates);
  if (compare && !presorted) {
    if (scan) out = filter(candidates as T[]);
    else for (const r of candidates) if (test(r)) out.push(r);
    out.sort(compare);
    if (offset > 0 || limit < out.length) out = out.slice(offset, offset + limit);
  } else if (scan && offset === 0 && limit === Infinity) {
    out = filter(candidates as T[]); // the commonest scan
  } else {
    let skip = offset;
    for (const r of candidates) {
      if (!test(r)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(r);
      if (out.length >= limit) break;
    }
  }
  return projectSelection(out, options);
}

/** The records, or their projections when the options select fields. */
export function projectSelection<T extends object>(
  records: T[],
  options: CompiledSelectOptions,
): T[] {
  return options.fields ? (records.map((r) => project(r, options.fields!)) as T[]) : records;
}

function project(record: object, fields: readonly string[]): object {
  const source = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (INHERITED_NAMES.has(f) ? Object.prototype.hasOwnProperty.call(source, f) : f in source)
      out[f] = source[f];
  }
  return Object.freeze(out);
}
