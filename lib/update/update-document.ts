import { QueryError } from '../errors/query.error.js';
import { FORBIDDEN_KEYS, valuesEqual } from '../engine/stored-values.js';
import { compileQuery } from '../query/query-compiler.js';
import { isPlainObject } from '../query/query-values.js';

/** The update operators, as MongoDB names them. */
export const UPDATE_OPERATORS = [
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$pull',
  '$rename',
] as const;

export type UpdateOperator = (typeof UPDATE_OPERATORS)[number];

const KNOWN: ReadonlySet<string> = new Set(UPDATE_OPERATORS);

/** One operator on one path, checked. */
export type UpdateStep =
  | { readonly op: '$set' | '$min' | '$max'; readonly path: Path; readonly value: unknown }
  | { readonly op: '$unset'; readonly path: Path }
  | { readonly op: '$inc' | '$mul'; readonly path: Path; readonly value: number }
  | { readonly op: '$push'; readonly path: Path; readonly push: PushSpec }
  | { readonly op: '$addToSet'; readonly path: Path; readonly items: readonly unknown[] }
  | { readonly op: '$pull'; readonly path: Path; readonly matches: (item: unknown) => boolean }
  | { readonly op: '$rename'; readonly path: Path; readonly to: Path };

/** A path split into its segments, with its dotted text for messages. */
export interface Path {
  readonly segments: readonly string[];
  readonly text: string;
}

/** `$push`'s items and modifiers. */
export interface PushSpec {
  readonly items: readonly unknown[];
  readonly position?: number;
  readonly slice?: number;
  readonly sort?: 1 | -1 | Readonly<Record<string, 1 | -1>>;
}

/**
 * True when a patch is an update operator document: one of its own keys starts with `$`.
 * (Whether all of them do, and name known operators, is `parseUpdate`'s to check.)
 */
export function isUpdateDocument(patch: object): boolean {
  for (const key in patch) {
    if (key.charCodeAt(0) === 36 && Object.prototype.hasOwnProperty.call(patch, key)) return true;
  }
  return false;
}

/**
 * Checks an update operator document and splits it into steps. A malformed document (an
 * unknown operator, operators mixed with plain fields, an operand of the wrong shape, two
 * operators on one path or on a path and a path inside it) throws `QueryError`, whatever the
 * record. An operand that is `undefined` counts as absent, as in a plain patch.
 */
export function parseUpdate(table: string, doc: object): UpdateStep[] {
  const steps: UpdateStep[] = [];
  for (const op of Object.keys(doc)) {
    if (op.charCodeAt(0) !== 36) {
      throw new QueryError(
        table,
        `an update mixes the field '${op}' with update operators (${Object.keys(doc)
          .filter((k) => k.startsWith('$'))
          .join(', ')}): use { $set: { ${op}: … } } beside them, or a plain patch alone`,
      );
    }
    if (!KNOWN.has(op)) {
      throw new QueryError(
        table,
        `unknown update operator '${op}' (the operators are ${UPDATE_OPERATORS.join(' ')})`,
      );
    }
    const operand = (doc as Record<string, unknown>)[op];
    if (operand === undefined) continue;
    if (!isPlainObject(operand)) {
      throw new QueryError(
        table,
        `${op} takes an object of paths and values, as in { ${op}: { 'a.b': … } }`,
      );
    }
    for (const field of Object.keys(operand)) {
      const value = operand[field];
      if (value === undefined) continue;
      const path = claim(table, steps, op, field);
      steps.push(step(table, op as UpdateOperator, path, value, steps));
    }
  }
  return steps;
}

function step(
  table: string,
  op: UpdateOperator,
  path: Path,
  value: unknown,
  steps: readonly UpdateStep[],
): UpdateStep {
  switch (op) {
    case '$set':
    case '$min':
    case '$max':
      return { op, path, value };
    case '$unset':
      return { op, path };
    case '$inc':
    case '$mul':
      if (typeof value !== 'number')
        throw new QueryError(
          table,
          `${op} takes numbers: '${path.text}' is given ${typeName(value)}`,
        );
      return { op, path, value };
    case '$rename':
      if (typeof value !== 'string')
        throw new QueryError(
          table,
          `$rename takes the new path as a string: '${path.text}' is given ${typeName(value)}`,
        );
      return { op, path, to: claim(table, steps, op, value, path) };
    case '$push':
      return { op, path, push: pushSpec(table, path, value) };
    case '$addToSet':
      return { op, path, items: addToSetItems(table, path, value) };
    case '$pull':
      return { op, path, matches: pullMatcher(table, value) };
  }
}

function pushSpec(table: string, path: Path, value: unknown): PushSpec {
  if (!hasModifiers(value)) return { items: [value] };
  for (const key of Object.keys(value)) {
    if (!['$each', '$slice', '$position', '$sort'].includes(key))
      throw new QueryError(
        table,
        `$push on '${path.text}': unknown modifier '${key}' (the modifiers are $each $slice $position $sort)`,
      );
  }
  const { $each, $slice, $position, $sort } = value;
  if (!Array.isArray($each))
    throw new QueryError(
      table,
      `$push on '${path.text}': its modifiers need $each, an array of the items to add`,
    );
  for (const [name, n] of [
    ['$slice', $slice],
    ['$position', $position],
  ] as const) {
    if (n !== undefined && !Number.isInteger(n))
      throw new QueryError(
        table,
        `$push on '${path.text}': ${name} takes an integer, not ${typeName(n)}`,
      );
  }
  if ($sort !== undefined && $sort !== 1 && $sort !== -1) {
    const valid =
      isPlainObject($sort) &&
      Object.keys($sort).length > 0 &&
      Object.keys($sort).every(
        (k) => ($sort[k] === 1 || $sort[k] === -1) && !FORBIDDEN_KEYS.has(k),
      );
    if (!valid)
      throw new QueryError(
        table,
        `$push on '${path.text}': $sort takes 1, -1 or { field: 1 | -1, … }`,
      );
  }
  return {
    items: $each as unknown[],
    position: $position as number | undefined,
    slice: $slice as number | undefined,
    sort: $sort as PushSpec['sort'],
  };
}

function addToSetItems(table: string, path: Path, value: unknown): readonly unknown[] {
  if (!hasModifiers(value)) return [value];
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== '$each' || !Array.isArray(value.$each))
    throw new QueryError(
      table,
      `$addToSet on '${path.text}' takes a value or { $each: [ … ] } alone`,
    );
  return value.$each as unknown[];
}

/**
 * `$pull`'s test of an element: a condition of operators (`{ $gte: 6 }`) tests the element
 * itself; a condition of fields (`{ score: 8 }`) tests elements that are objects, as a query
 * of them; any other value removes the elements equal to it.
 */
function pullMatcher(table: string, value: unknown): (item: unknown) => boolean {
  if (!isPlainObject(value)) return (item) => valuesEqual(item, value);
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => k.startsWith('$') && !LOGICAL.has(k))) {
    const { test } = compileQuery(table, { v: value });
    return (item) => test({ v: item });
  }
  const { test } = compileQuery(table, value);
  return (item) =>
    typeof item === 'object' &&
    item !== null &&
    !Array.isArray(item) &&
    !(item instanceof Date) &&
    test(item);
}

const LOGICAL: ReadonlySet<string> = new Set(['$and', '$or', '$nor']);

function hasModifiers(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'));
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Checks a path an update names against those it named before (and `also`): a path may be
 * named once, and never beside a path inside it (`'a'` and `'a.b'`), as MongoDB refuses.
 */
function claim(
  table: string,
  steps: readonly UpdateStep[],
  op: string,
  field: string,
  also?: Path,
): Path {
  const path = parsedPath(table, op, field);
  for (const earlier of steps) {
    refuseOverlap(table, path, earlier.path, earlier.op);
    if (earlier.op === '$rename') refuseOverlap(table, path, earlier.to, earlier.op);
  }
  if (also) refuseOverlap(table, path, also, op);
  return path;
}

function refuseOverlap(table: string, path: Path, other: Path, by: string): void {
  const [a, b] = [path.text, other.text];
  if (a !== b && !nests(a, b) && !nests(b, a)) return;
  throw new QueryError(
    table,
    `the update names '${a}' where ${by} '${b}' already changes it or a path inside it: each path may be changed by one operator`,
  );
}

/** True when `inner` is a path inside `outer` (`'a.b'` inside `'a'`). */
function nests(outer: string, inner: string): boolean {
  return (
    inner.length > outer.length && inner.charCodeAt(outer.length) === 46 && inner.startsWith(outer)
  );
}

const MAX_CACHED_PATHS = 1024;
/** Paths already checked and split: updates name the same few paths again and again. */
const PATHS = new Map<string, Path>();

function parsedPath(table: string, op: string, field: string): Path {
  const cached = PATHS.get(field);
  if (cached !== undefined) return cached;
  const segments = field.split('.');
  for (const segment of segments) {
    if (segment === '') throw new QueryError(table, `${op}: '${field}' is not a valid path`);
    if (FORBIDDEN_KEYS.has(segment))
      throw new QueryError(table, `${op}: '${segment}' cannot be used as a field name`);
    if (segment.startsWith('$'))
      throw new QueryError(
        table,
        `${op}: '${field}' holds '${segment}': positional operators ($, $[], $[id]) are not supported; name the array position ('items.0.qty')`,
      );
  }
  const path: Path = Object.freeze({ segments: Object.freeze(segments), text: field });
  if (PATHS.size >= MAX_CACHED_PATHS) PATHS.clear();
  PATHS.set(field, path);
  return path;
}
