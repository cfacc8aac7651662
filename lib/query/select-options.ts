import { QueryError } from '../errors/query.error.js';
import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import { isPlainObject, parsePath, reader } from './query-compiler.js';

/** Select options checked and compiled. */
export interface CompiledSelectOptions {
  readonly compare?: (a: object, b: object) => number;
  readonly offset: number;
  readonly limit: number;
  readonly fields?: readonly string[];
}

const NO_OPTIONS: CompiledSelectOptions = { offset: 0, limit: Infinity };
const OPTION_KEYS = new Set(['orderBy', 'limit', 'offset', 'fields']);

/** Checks `select()` options, refusing anything malformed with `QueryError`. */
export function compileSelectOptions(table: string, options: unknown): CompiledSelectOptions {
  if (options === undefined) return NO_OPTIONS;
  if (!isPlainObject(options)) throw new QueryError(table, 'select options must be a plain object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new QueryError(table, `unknown select option '${key}'`);
  }
  const { orderBy, limit, offset, fields } = options;
  return {
    compare: orderBy === undefined ? undefined : compileOrderBy(table, orderBy),
    offset: offset === undefined ? 0 : count(table, 'offset', offset),
    limit: limit === undefined ? Infinity : count(table, 'limit', limit),
    fields: fields === undefined ? undefined : compileFields(table, fields),
  };
}

function count(table: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new QueryError(table, `'${name}' must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function compileFields(table: string, fields: unknown): string[] {
  if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')) {
    throw new QueryError(table, "'fields' must be an array of field names");
  }
  for (const f of fields as string[]) {
    if (FORBIDDEN_KEYS.has(f) || f === '' || f.includes('.'))
      throw new QueryError(table, `'${f}' cannot be selected`);
  }
  return fields as string[];
}

function compileOrderBy(table: string, orderBy: unknown): (a: object, b: object) => number {
  if (!isPlainObject(orderBy))
    throw new QueryError(table, "'orderBy' must be an object of field: 'asc' | 'desc'");
  const keys = Object.entries(orderBy).map(([field, direction]) => {
    if (direction !== 'asc' && direction !== 'desc') {
      throw new QueryError(
        table,
        `'orderBy.${field}' must be 'asc' or 'desc', got ${String(direction)}`,
      );
    }
    return { read: reader(parsePath(table, field)), sign: direction === 'asc' ? 1 : -1 };
  });
  if (keys.length === 0) throw new QueryError(table, "'orderBy' names no field");
  return (a, b) => {
    for (const { read, sign } of keys) {
      const c = compareValues(read(a), read(b));
      if (c !== 0) return c * sign;
    }
    return 0;
  };
}

/**
 * The order of record values: missing and null first, then booleans, numbers, strings,
 * dates (by time), and anything else last (in arrival order).
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
    case 3:
      return a === b ? 0 : (a as number | string) < (b as number | string) ? -1 : 1;
    case 2: {
      const x = a as number;
      const y = b as number;
      if (x !== x || y !== y) return (x !== x ? 0 : 1) - (y !== y ? 0 : 1);
      return x === y ? 0 : x < y ? -1 : 1;
    }
    case 4:
      return (a as Date).getTime() - (b as Date).getTime() || 0;
    default:
      return 0;
  }
}

function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    default:
      return v instanceof Date ? 4 : 5;
  }
}

/** Applies order, offset, limit and projection to matching records. */
export function finishSelection<T extends object>(
  matches: Iterable<T>,
  test: (record: T) => boolean,
  options: CompiledSelectOptions,
): T[] {
  const { compare, offset, limit } = options;
  let out: T[] = [];
  if (compare) {
    for (const r of matches) if (test(r)) out.push(r);
    out.sort(compare);
    if (offset > 0 || limit < out.length) out = out.slice(offset, offset + limit);
  } else {
    let skip = offset;
    if (limit === 0) return out;
    for (const r of matches) {
      if (!test(r)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(r);
      if (out.length >= limit) break;
    }
  }
  return options.fields ? (out.map((r) => project(r, options.fields!)) as T[]) : out;
}

function project(record: object, fields: readonly string[]): object {
  const source = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in source) out[f] = source[f];
  return Object.freeze(out);
}
