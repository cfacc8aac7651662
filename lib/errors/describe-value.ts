import { types } from 'node:util';

const getTime = Date.prototype.getTime;

/**
 * True for an error of any realm: `instanceof Error` misses one made in another (a test's VM
 * context, a `vm` script), which `types.isNativeError` recognises.
 */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** An error's message, or a short description of a thrown value that is not an error. */
export function errorMessage(value: unknown): string {
  return isError(value) ? value.message : describeValue(value);
}

/** A short, safe description of any value for an error message (never throws). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) {
    let time: number;
    try {
      time = getTime.call(value); // the date's own slot: a subclass's getTime may throw
    } catch {
      return "an object with Date's prototype but no date";
    }
    return Number.isNaN(time) ? 'an invalid Date' : 'a Date';
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
    return proto === Object.prototype || proto === null
      ? 'an object'
      : `an instance of ${proto.constructor?.name ?? 'a class'}`;
  }
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return `${typeof value} ${(value as number | boolean | bigint).toString()}`;
}

/** A key or value written out for an error message: strings quoted, dates as ISO, objects as JSON. */
export function showValue(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return 'an object';
    }
  }
  return String(value);
}
