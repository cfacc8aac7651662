import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';

/** A time span: milliseconds, or a number with a unit: `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The longest time to live: about 285,000 years, the range of a Date. */
const MAX_DURATION = 8.64e15;

/**
 * Milliseconds of a duration; throws `MemoryStoreError` (naming `what`) for anything that is
 * not a positive, finite duration.
 */
export function parseDuration(value: unknown, what: string, table = ''): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
    if (match) ms = Number(match[1]) * UNITS[match[2]];
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION) {
    throw new MemoryStoreError(
      `${what} must be a positive number of milliseconds or a string such as '30s', '15m', '1h' or '2d'; got ${describeValue(
        value,
      )}`,
      table,
    );
  }
  return ms;
}
