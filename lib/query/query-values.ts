import { describeValue } from '../errors/describe-value.js';
import { QueryError } from '../errors/query.error.js';
import {
  FORBIDDEN_KEYS,
  MAX_VALUE_DEPTH,
  plainDataProblem,
  timeOfDate,
} from '../engine/stored-values.js';
import { InPattern, type CompareOp, type FilterNode } from './filter-node.js';
import { compileTextPattern, UnsupportedPatternError, type TextPattern } from './text-pattern.js';

/** The longest `$regex` pattern a query may carry, in characters. */
export const MAX_REGEX_LENGTH = 256;

/**
 * Names no query may use as a field: the forbidden keys, which no record can hold either.
 */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = FORBIDDEN_KEYS;

/**
 * Names every object inherits from `Object.prototype` (`toString`, `valueOf`,
 * `hasOwnProperty`, …): a record may hold a field so named, and a query reads it as the
 * record's own field only, never as the inherited method.
 */
export const INHERITED_NAMES: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(Object.prototype),
);

/** How many field paths `parsePath` remembers; past it, it starts over. */
const MAX_CACHED_PATHS = 1024;
/**
 * The longest field name (or path) a cache of query shapes, paths, orders or generated code
 * keeps: each keeps hundreds, so names a client makes up as long as it likes would keep
 * megabytes alive. A query naming a longer one answers the same, compiled each time.
 */
export const MAX_CACHED_NAME = 256;
/** Paths already checked and split: a query names the same few fields again and again. */
const parsedPaths = new Map<string, readonly string[]>();

/** Splits a dotted field path, refusing empty and reserved segments. Do not change the result. */
export function parsePath(table: string, field: string): readonly string[] {
  const cached = parsedPaths.get(field);
  if (cached !== undefined) return cached;
  if (field.startsWith('$')) throw new QueryError(table, `unknown operator '${field}'`);
  const segments = field.split('.');
  for (const segment of segments) {
    if (segment === '') throw new QueryError(table, `'${field}' is not a valid field path`);
    if (RESERVED_FIELD_NAMES.has(segment)) {
      throw new QueryError(table, `'${segment}' cannot be used as a field name`);
    }
  }
  if (field.length > MAX_CACHED_NAME) return Object.freeze(segments);
  if (parsedPaths.size >= MAX_CACHED_PATHS) parsedPaths.clear();
  parsedPaths.set(field, Object.freeze(segments));
  return segments;
}

/** A comparison node, its value checked against what the operator takes. */
export function comparison(
  table: string,
  field: string,
  op: CompareOp,
  value: unknown,
): FilterNode {
  return {
    kind: 'cmp',
    path: parsePath(table, field),
    op,
    value: checkOperand(table, field, op, value),
  };
}

function checkOperand(table: string, field: string, op: CompareOp, value: unknown): unknown {
  switch (op) {
    case 'eq':
    case 'ne':
      return checkEqualityValue(table, field, value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      // NaN is refused like an invalid Date: every comparison with it is false in
      // JavaScript, so a bound of NaN could only match nothing, or everything by accident.
      if ((typeof value === 'number' && value === value) || typeof value === 'string') return value;
      if (typeof value === 'bigint') return value;
      if (value instanceof Date) {
        const time = timeOfDate(value);
        if (time !== undefined && time === time) return new Date(time);
      }
      throw new QueryError(
        table,
        `'${field}': a range comparison takes a number, string, bigint or valid Date, got ${describeValue(value)}`,
      );
    case 'in':
    case 'nin':
      if (!Array.isArray(value))
        throw new QueryError(
          table,
          `'${field}': $${op} takes an array, got ${describeValue(value)}`,
        );
      // as in MongoDB, a RegExp in the list matches the strings it matches
      return Array.from(value as unknown[], (v) =>
        v instanceof RegExp
          ? new InPattern(checkRegex(table, field, v, undefined))
          : checkEqualityValue(table, field, v),
      );
    case 'exists':
      // MongoDB reads the operand's truthiness: `$exists: 1` is `$exists: true`
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
        throw new QueryError(
          table,
          `'${field}': $exists takes true or false, got ${describeValue(value)}`,
        );
      return Boolean(value);
    case 'regex':
      return checkRegex(table, field, value, undefined);
    case 'size':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
        throw new QueryError(
          table,
          `'${field}': $size takes a non-negative integer, got ${describeValue(value)}`,
        );
      return value;
    case 'elemMatch':
      throw new QueryError(table, `'${field}': $elemMatch takes a filter object`);
  }
}

function checkEqualityValue(table: string, field: string, value: unknown): unknown {
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
      `the value for '${field}' is a RegExp; use $regex to match a pattern`,
    );
  }
  if (value instanceof Date) {
    // a copy from the internal slot: the query never calls the caller's getTime
    const time = timeOfDate(value);
    if (time === undefined)
      throw new QueryError(table, `the value for '${field}' is not a Date (it holds no date)`);
    if (time !== time) throw new QueryError(table, `the value for '${field}' is an invalid Date`);
    return new Date(time);
  }
  if (typeof value === 'object' && value !== null) {
    const problem = plainDataProblem(value, MAX_VALUE_DEPTH);
    if (problem)
      throw new QueryError(table, `the value for '${field}' ${problem}, which no record can hold`);
  }
  return value;
}

/**
 * A `$regex` operand (and `$options` flags) as a stateless pattern that tests a string in time
 * linear in its length.
 */
export function checkRegex(
  table: string,
  field: string,
  pattern: unknown,
  options: unknown,
): TextPattern {
  if (options !== undefined && (typeof options !== 'string' || !/^[imsux]*$/.test(options))) {
    throw new QueryError(
      table,
      `'${field}': $options takes flags among 'imsux', got ${describeValue(options)}`,
    );
  }
  let source: string;
  let flags: string;
  if (pattern instanceof RegExp) {
    source = pattern.source;
    flags = pattern.flags.replace(/[gyd]/g, '');
    // as MongoDB: $options gives a RegExp without flags its flags, and refuses to merge two sets
    if (options !== undefined && flags !== '')
      throw new QueryError(
        table,
        `'${field}': flags on both the $regex RegExp and $options; give them in one place`,
      );
    if (options !== undefined) flags = options;
    if (flags.includes('v')) {
      throw new QueryError(
        table,
        `'${field}': unsupported $regex: the v flag (class set syntax) is not supported; use u`,
      );
    }
  } else if (typeof pattern === 'string') {
    source = pattern;
    flags = options ?? '';
  } else {
    throw new QueryError(
      table,
      `'${field}': $regex takes a string or a RegExp, got ${describeValue(pattern)}`,
    );
  }
  if (flags.includes('x')) {
    source = withoutExtendedSpace(source);
    flags = flags.replace(/x/g, '');
  }
  if (source.length > MAX_REGEX_LENGTH) {
    throw new QueryError(
      table,
      `'${field}': the $regex pattern is ${source.length} characters; the limit is ${MAX_REGEX_LENGTH}`,
    );
  }
  try {
    new RegExp(source, flags); // JavaScript's syntax is the contract; RE2's is narrower
  } catch (error) {
    throw new QueryError(table, `'${field}': invalid $regex: ${(error as Error).message}`);
  }
  return cachedPattern(table, field, source, flags);
}

/**
 * The pattern of the `x` (extended) flag, written plainly: unescaped whitespace outside a
 * character class is dropped, and `#` starts a comment up to the end of the line, as in PCRE
 * (MongoDB's engine).
 */
export function withoutExtendedSpace(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

const PATTERNS = new Map<string, TextPattern>();
const MAX_REMEMBERED_PATTERNS = 1000;

/** A compiled pattern, remembered: a query names the same few patterns again and again. */
function cachedPattern(table: string, field: string, source: string, flags: string): TextPattern {
  const key = `${flags}/${source}`;
  let pattern = PATTERNS.get(key);
  if (pattern !== undefined) return pattern;
  try {
    pattern = compileTextPattern(source, flags);
  } catch (error) {
    if (!(error instanceof UnsupportedPatternError)) throw error;
    throw new QueryError(
      table,
      `'${field}': unsupported $regex: ${error.message}; $regex matches in linear time, with RE2's features (see the README)`,
    );
  }
  if (PATTERNS.size >= MAX_REMEMBERED_PATTERNS) PATTERNS.delete(PATTERNS.keys().next().value!);
  PATTERNS.set(key, pattern);
  return pattern;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export { describeValue };
