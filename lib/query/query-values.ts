import { checkSync } from 'recheck';
import { describeValue } from '../errors/describe-value.js';
import { QueryError } from '../errors/query.error.js';
import { FORBIDDEN_KEYS, MAX_VALUE_DEPTH, plainDataProblem } from '../engine/stored-values.js';
import type { CompareOp, FilterNode } from './filter-node.js';

/** The longest `$regex` pattern a query may carry, in characters. */
export const MAX_REGEX_LENGTH = 256;

/**
 * Names no query may use as a field: the forbidden keys, and what every object inherits
 * from `Object.prototype` (`toString`, `hasOwnProperty`, …), which would otherwise read as a
 * method of every record.
 */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set([
  ...FORBIDDEN_KEYS,
  ...Object.getOwnPropertyNames(Object.prototype),
]);

/** How many field paths `parsePath` remembers; past it, it starts over. */
const MAX_CACHED_PATHS = 1024;
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
      if (
        (typeof value === 'number' && value === value) ||
        typeof value === 'string' ||
        typeof value === 'bigint' ||
        (value instanceof Date && !Number.isNaN(value.getTime()))
      ) {
        return value;
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
      return Array.from(value as unknown[], (v) => checkEqualityValue(table, field, v));
    case 'exists':
      if (typeof value !== 'boolean')
        throw new QueryError(
          table,
          `'${field}': $exists takes true or false, got ${describeValue(value)}`,
        );
      return value;
    case 'regex':
      return checkRegex(table, field, value, undefined);
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
  if (value instanceof Date && Number.isNaN(value.getTime())) {
    throw new QueryError(table, `the value for '${field}' is an invalid Date`);
  }
  if (typeof value === 'object' && value !== null) {
    const problem = plainDataProblem(value, MAX_VALUE_DEPTH);
    if (problem)
      throw new QueryError(table, `the value for '${field}' ${problem}, which no record can hold`);
  }
  return value;
}

/** A safe, stateless RegExp from a `$regex` operand (and `$options` flags). */
export function checkRegex(
  table: string,
  field: string,
  pattern: unknown,
  options: unknown,
): RegExp {
  if (options !== undefined && (typeof options !== 'string' || !/^[imsu]*$/.test(options))) {
    throw new QueryError(
      table,
      `'${field}': $options takes flags among 'imsu', got ${describeValue(options)}`,
    );
  }
  let source: string;
  let flags: string;
  if (pattern instanceof RegExp) {
    if (options !== undefined)
      throw new QueryError(table, `'${field}': $options goes with a string $regex, not a RegExp`);
    source = pattern.source;
    flags = pattern.flags.replace(/[gyd]/g, '');
  } else if (typeof pattern === 'string') {
    source = pattern;
    flags = options ?? '';
  } else {
    throw new QueryError(
      table,
      `'${field}': $regex takes a string or a RegExp, got ${describeValue(pattern)}`,
    );
  }
  if (source.length > MAX_REGEX_LENGTH) {
    throw new QueryError(
      table,
      `'${field}': the $regex pattern is ${source.length} characters; the limit is ${MAX_REGEX_LENGTH}`,
    );
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (error) {
    throw new QueryError(table, `'${field}': invalid $regex: ${(error as Error).message}`);
  }
  const risk = nestedRepetition(source) ?? regexRisk(source, flags);
  if (risk) throw new QueryError(table, `'${field}': the $regex pattern ${risk}`);
  return regex;
}

/** How long recheck may analyse one pattern; a pattern it cannot settle by then is refused. */
export const REGEX_CHECK_TIMEOUT_MS = 100;

/**
 * Refuses a repeated group that itself repeats something (star height above one, as in
 * `(a+)+`, `(.*a){12}`, `(a?){25}`): the shape behind most catastrophic backtracking, and
 * one that analysers can underestimate when the outer repetition is counted.
 */
function nestedRepetition(source: string): string | undefined {
  const groups: boolean[] = []; // per open group: does it contain a quantifier?
  let closedHadQuantifier = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    const quantifier =
      c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)));
    if (quantifier && !(c === '?' && (source[i - 1] === '(' || isQuantifierEnd(source, i - 1)))) {
      if (closedHadQuantifier) return 'repeats a group that itself repeats (nested repetition)';
      if (groups.length > 0) groups[groups.length - 1] = true;
      if (c === '{') i = source.indexOf('}', i);
      closedHadQuantifier = false;
      continue;
    }
    closedHadQuantifier = false;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
    } else if (c === '(') {
      groups.push(false);
    } else if (c === ')') {
      const had = groups.pop() ?? false;
      if (had && groups.length > 0) groups[groups.length - 1] = true;
      closedHadQuantifier = had;
    }
  }
  return undefined;
}

/** Whether the character at `i` ends a quantifier (so a following `?` makes it lazy). */
function isQuantifierEnd(source: string, i: number): boolean {
  const c = source[i];
  return c === '*' || c === '+' || c === '}' || c === '?';
}

const RISKS = new Map<string, string | undefined>();
const MAX_REMEMBERED_PATTERNS = 1000;

/**
 * Why a pattern could make a match take too long, or undefined when it cannot. recheck
 * analyses the pattern: exponential backtracking and polynomial backtracking of degree 3 or
 * more are refused, and so is a pattern it cannot prove either way. Verdicts are remembered.
 */
function regexRisk(source: string, flags: string): string | undefined {
  const key = `${flags}/${source}`;
  if (RISKS.has(key)) return RISKS.get(key);
  let risk: string | undefined;
  const diagnostics = checkSync(source, flags, { timeout: REGEX_CHECK_TIMEOUT_MS });
  if (diagnostics.status === 'unknown') {
    risk = `could not be proven to run in reasonable time (analysis gave up after ${REGEX_CHECK_TIMEOUT_MS} ms)`;
  } else if (diagnostics.status === 'vulnerable') {
    const { complexity } = diagnostics;
    if (complexity.type === 'exponential')
      risk = 'could take exponential time (nested or overlapping repetition)';
    else if (complexity.degree >= 3)
      risk = `could take polynomial time of degree ${complexity.degree} (overlapping repetition)`;
  }
  if (RISKS.size >= MAX_REMEMBERED_PATTERNS) RISKS.delete(RISKS.keys().next().value as string);
  RISKS.set(key, risk);
  return risk;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export { describeValue };
