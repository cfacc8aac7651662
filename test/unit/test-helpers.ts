import { expect } from '@jest/globals';

/** Runs `fn`, expects it to throw an instance of `type`, and returns what it threw. */
export function thrown<E>(type: abstract new (...args: never[]) => E, fn: () => unknown): E {
  let threw = false;
  let error: unknown;
  try {
    fn();
  } catch (e) {
    threw = true;
    error = e;
  }
  if (!threw) throw new Error(`expected ${type.name} to be thrown, but nothing was thrown`);
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/** The values of `field` in `records`, sorted: result sets compared regardless of order. */
export function keysOf(records: Iterable<object>, field = 'id'): unknown[] {
  return Array.from(records, (r) => (r as Record<string, unknown>)[field]).sort(compareKeys);
}

/** The values of `field` in `records`, in the order given. */
export function orderOf(records: Iterable<object>, field = 'id'): unknown[] {
  return Array.from(records, (r) => (r as Record<string, unknown>)[field]);
}

function compareKeys(a: unknown, b: unknown): number {
  const x = `${typeof a}:${String(a)}`;
  const y = `${typeof b}:${String(b)}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Equality as API.md documents it for attribute maps, written independently of the library:
 * `null` matches null and missing, strict equality for primitives with NaN equal to NaN,
 * dates by time, arrays by content in order, objects by content whatever the key order; an
 * array also matches when one of its elements does.
 */
export function documentedMatch(actual: unknown, wanted: unknown): boolean {
  const one = (v: unknown) =>
    wanted === null ? v === null || v === undefined : sameData(v, wanted);
  // an array matches when it equals the value or one of its elements does (MongoDB's reading)
  return one(actual) || (Array.isArray(actual) && actual.some(one));
}

function sameData(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (a !== a && b !== b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((v, i) => sameData(v, b[i]))
    );
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i]) &&
    ka.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
