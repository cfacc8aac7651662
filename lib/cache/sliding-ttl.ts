import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { parseDuration, type Duration } from '../ttl/duration.js';

/**
 * A time to live that a read renews (a session's idle timeout): the record expires
 * `duration` after it was last written, read with `get()` (or `fetch()`), or `touch()`ed.
 * Queries (`select`, `one`, `count`) and `exists()` do not renew it.
 *
 * @example
 * ```ts
 * @Table({ ttl: { sliding: true, duration: '30m' } })
 * export class Session { id!: string; user!: string; }
 * ```
 */
export interface SlidingTtl {
  readonly sliding: true;
  /** How long the record lives after its last use: milliseconds or `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
  readonly duration: Duration;
}

/** A time to live as the engine takes it: milliseconds, or a sliding period in milliseconds. */
export type TtlMs = number | { readonly slidingMs: number };

/**
 * A time to live given as an option (a duration or `SlidingTtl`) in milliseconds; throws
 * `MemoryStoreError` (naming `what`) for anything else.
 */
export function parseTtl(value: unknown, what: string, table = ''): TtlMs {
  if (typeof value !== 'object' || value === null) return parseDuration(value, what, table);
  const { sliding, duration, ...rest } = value as Partial<SlidingTtl>;
  const unknown = Object.keys(rest);
  if (sliding !== true || unknown.length > 0) {
    throw new MemoryStoreError(
      `${what} must be a duration (milliseconds or a string such as '30s', '15m', '1h') or { sliding: true, duration }; got ${describeValue(value)}`,
      table,
    );
  }
  return { slidingMs: parseDuration(duration, `${what}.duration`, table) };
}
