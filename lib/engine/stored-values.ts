/**
 * Values inside stored records are owned by the store: copied from what the caller passed,
 * deeply frozen, and (for dates) made read-only, so that a record can only change through
 * the store. Values that are already owned are shared, never copied again.
 */

import { CopyScope, MAX_REPEATED_VALUES } from './copy-scope.js';
import { Adopt } from './adopt.js';

/** Keys that could reach or replace a prototype; refused anywhere in a record or a query. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** How deep a record's values may nest; deeper is almost always a cycle. */
export const MAX_VALUE_DEPTH = 64;

/** A record or a value in it has a shape the store does not keep. */
export class RecordShapeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || 'record'} ${reason}`);
  }
}

/**
 * Marks the values the store built inside records (nested objects, arrays, dates), which are
 * then shared, never copied again, with a private field. Nothing outside this module can add
 * it (so no caller's object can pass for ours: a spread, `Object.assign` or
 * `structuredClone` copies no private field), nor see it (it is no property: JSON, keys and
 * symbols are unchanged). A WeakSet did this before at 10-20 times the cost per value (its
 * table grows with every value ever written and every full garbage collection walks it).
 */
class Owned extends Adopt {
  #owned = true;

  /** Marks a fresh copy (before it is frozen) as the store's own. */
  static mark(value: object): void {
    new Owned(value);
  }

  static has(value: object): boolean {
    return #owned in value;
  }
}

const intrinsicGetTime = Date.prototype.getTime;

/**
 * A date's time read from its internal slot, not through a `getTime` a subclass or the object
 * may override; undefined for an object that only has Date's prototype (no date in it).
 */
export function timeOfDate(value: Date): number | undefined {
  try {
    return intrinsicGetTime.call(value);
  } catch {
    return undefined;
  }
}

const DATE_SETTERS = Object.getOwnPropertyNames(Date.prototype).filter((name) =>
  name.startsWith('set'),
);

/** A `Date` whose setters throw: dates in stored records cannot be changed in place. */
export class StoredDate extends Date {}
for (const name of DATE_SETTERS) {
  Object.defineProperty(StoredDate.prototype, name, {
    value: function readOnlyDate(): never {
      throw new TypeError(
        `Cannot call ${name}() on a date of a stored record: records change only through their store`,
      );
    },
  });
}

const REFUSED: readonly [abstract new (...args: never[]) => unknown, string][] = [
  // boxed primitives: their value lives in an internal slot, which a copy does not carry
  [Number, 'a Number object (use the number itself)'],
  [String, 'a String object (use the string itself)'],
  [Boolean, 'a Boolean object (use the boolean itself)'],
  [BigInt as unknown as abstract new () => unknown, 'a BigInt object (use the bigint itself)'],
  [Symbol as unknown as abstract new () => unknown, 'a Symbol object'],
  [WeakRef, 'a WeakRef'],
  [FinalizationRegistry, 'a FinalizationRegistry'],
  [Map, 'a Map'],
  [Set, 'a Set'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [Promise, 'a Promise'],
  [RegExp, 'a RegExp'],
  [Error, 'an Error'],
  [ArrayBuffer, 'an ArrayBuffer'],
];

/**
 * Why a value could not be stored (not plain data, or nested deeper than `maxDepth`), or
 * undefined. Queries use it to refuse operands that no record can equal.
 */
export function plainDataProblem(
  value: unknown,
  maxDepth: number,
  depth = 0,
  seen = new CopyScope(),
): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return `is a ${typeof value}`;
  if (typeof value !== 'object' || value === null) return undefined;
  if (value instanceof Date) {
    const time = timeOfDate(value);
    return time === undefined ? NOT_A_DATE : time !== time ? 'is an invalid Date' : undefined;
  }
  if (depth >= maxDepth) return `nests deeper than ${maxDepth} levels`;
  if (!seen.visit(value)) return REPEATED;
  const refused = refusedKind(value);
  if (refused) return `is ${refused}`;
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) return `has a hole at index ${i} (a sparse array)`;
        const problem = plainDataProblem(value[i], maxDepth, depth + 1, seen);
        if (problem) return problem;
      }
    } else {
      for (const item of Object.values(value)) {
        const problem = plainDataProblem(item, maxDepth, depth + 1, seen);
        if (problem) return problem;
      }
    }
  } catch (error) {
    return `could not be read (${describeError(error)})`;
  }
  return undefined;
}

const NOT_A_DATE = "is not a Date (it has Date's prototype but holds no date)";
const REPEATED = `holds objects met earlier in it (shared sub-objects) so often that copying each place would copy over ${MAX_REPEATED_VALUES} values again (a graph reusing its sub-objects level after level?)`;

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * What a non-plain object is, when it is one a record cannot be made of or hold (a Date
 * as a whole record, a Map, a promise…), for an error message; else undefined. Only for
 * objects whose prototype is neither Object.prototype nor null: those are plain.
 */
export function unstorableKind(value: object): string | undefined {
  if (typeof (value as { then?: unknown }).then === 'function') return 'a promise';
  if (value instanceof Date) return 'a Date';
  return refusedKind(value);
}

/** What kind of object a record cannot hold `value` is (a typed array, a Map…), if it is one. */
function refusedKind(value: object): string | undefined {
  if (ArrayBuffer.isView(value)) return 'a typed array';
  for (const [type, label] of REFUSED) if (value instanceof type) return label;
  return undefined;
}

/**
 * Copies `value` into a frozen value the store owns. Primitives pass as they are; plain
 * objects, arrays, class instances and dates are copied. Functions, symbols, Maps, Sets, boxed
 * primitives and other objects whose contents a copy would lose or freezing cannot protect
 * are refused, and so are invalid Dates (no query, index or file could order or keep them).
 */
export function ownValue(value: unknown, path: string, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new RecordShapeError(path, `must be plain data, not a ${typeof value}`);
    }
    return value;
  }
  if (Owned.has(value)) return value;
  if (depth >= MAX_VALUE_DEPTH)
    throw new RecordShapeError(path, `nests deeper than ${MAX_VALUE_DEPTH} levels (a cycle?)`);
  let copy: object;
  if (value instanceof Date) {
    const time = timeOfDate(value);
    if (time === undefined) throw new RecordShapeError(path, NOT_A_DATE);
    if (time !== time) throw new RecordShapeError(path, 'is an invalid Date');
    copy = new StoredDate(time);
  } else {
    const scope = CopyScope.current;
    if (scope !== null && !scope.visit(value)) throw new RecordShapeError(path, REPEATED);
    if (Array.isArray(value)) {
      copy = ownArray(value as unknown[], path, depth);
    } else {
      const proto = Object.getPrototypeOf(value) as object | null;
      // (a plain object is none of the refused kinds: the common case skips the tests)
      const refused = proto !== Object.prototype && proto !== null ? refusedKind(value) : undefined;
      if (refused) throw new RecordShapeError(path, `must be plain data, not ${refused}`);
      copy = Object.create(proto) as object;
      copyFields(copy, value, path, depth + 1);
    }
  }
  Owned.mark(copy);
  return Object.freeze(copy);
}

/**
 * An owned copy of an array's items. A hole (a sparse array: `[1, , 3]`, or a `length` set
 * past the items) is refused: copying it would cost its length, not its items.
 */
function ownArray(value: unknown[], path: string, depth: number): unknown[] {
  const items: unknown[] = []; // grown item by item: a huge length with holes is refused first
  for (let i = 0; i < value.length; i++) {
    let item: unknown;
    try {
      item = value[i];
    } catch (error) {
      throw unreadable(`${path}[${i}]`, error);
    }
    if (item === undefined && !(i in value)) {
      throw new RecordShapeError(
        path,
        `has a hole at index ${i} (a sparse array): store null or a shorter array`,
      );
    }
    items.push(ownValue(item, `${path}[${i}]`, depth + 1));
  }
  return items;
}

/** The error for a field whose getter (or proxy trap) threw when read. */
export function unreadable(path: string, error: unknown): RecordShapeError {
  return new RecordShapeError(path, `could not be read: ${describeError(error)}`);
}

/**
 * Copies `input`'s fields into `out`: nested objects become owned copies (or are shared when
 * already owned). An `undefined` field counts as absent, so what `out` holds stays (a
 * default, or the current value in an update); `null` clears a field. Refuses forbidden keys
 * and values that are not plain data.
 */
export function copyFields(out: object, input: object, path: string, depth: number): void {
  const src = input as Record<string, unknown>;
  for (const key in src) {
    if (Object.prototype.hasOwnProperty.call(src, key)) copyField(out, src, key, path, depth);
  }
}

/** Copies one own field of `input` into `out`, as `copyFields` does for each. */
export function copyField(
  out: object,
  input: object,
  key: string,
  path: string,
  depth: number,
): void {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    throw new RecordShapeError(path ? `${path}.${key}` : key, 'is a forbidden key');
  }
  let v: unknown;
  try {
    v = (input as Record<string, unknown>)[key];
  } catch (error) {
    throw unreadable(path ? `${path}.${key}` : key, error);
  }
  if (v === undefined) return; // absent, as in JSON: a default or the current value stays
  const value =
    typeof v === 'object' && v !== null
      ? ownValue(v, path ? `${path}.${key}` : key, depth)
      : checkPrimitive(v, path, key);
  try {
    (out as Record<string, unknown>)[key] = value;
  } catch {
    throw readOnlyField(path ? `${path}.${key}` : key);
  }
}

/** The error for a field the prototype defines as a getter without a setter, or read-only. */
export function readOnlyField(path: string): RecordShapeError {
  return new RecordShapeError(path, 'is read-only in the class (a getter?)');
}

function checkPrimitive(v: unknown, path: string, key: string): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') {
    throw new RecordShapeError(
      path ? `${path}.${key}` : key,
      `must be plain data, not a ${typeof v}`,
    );
  }
  return v;
}

/**
 * Equality of record values as queries see it: strict equality for primitives (and NaN
 * equals NaN), dates by time, arrays and plain objects by their contents.
 */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return a !== a && b !== b; // both NaN
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && timeOfDate(a) === timeOfDate(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka)
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !valuesEqual(ra[k], rb[k])) return false;
  return true;
}

/**
 * A 32-bit hash of a value such that values `valuesEqual` holds equal hash equal (the
 * converse need not hold): equal records can be looked for among those of one hash rather
 * than compared with every record (a bag's write). Fields count in any order.
 */
export function valueHash(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringHash(value, 0x811c9dc5);
    case 'number':
      // 0 and -0 are equal, and NaN equals NaN
      if (value === 0) return 1;
      if (value !== value) return 2;
      return stringHash(String(value), 3);
    case 'bigint':
      return stringHash(String(value), 5);
    case 'boolean':
      return value ? 7 : 11;
    case 'object': {
      if (value === null) return 13;
      if (value instanceof Date) return stringHash(String(timeOfDate(value)), 17);
      if (Array.isArray(value)) {
        let hash = 19;
        for (const item of value) hash = Math.imul(hash ^ valueHash(item), 0x01000193);
        return hash >>> 0;
      }
      const fields = value as Record<string, unknown>;
      let hash = 23; // a sum over the fields: their order does not count
      for (const key of Object.keys(fields))
        hash = (hash + Math.imul(stringHash(key, 29) ^ valueHash(fields[key]), 0x9e3779b1)) | 0;
      return hash >>> 0;
    }
    default:
      return 31;
  }
}

function stringHash(text: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
