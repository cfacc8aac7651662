import type { Duration } from 'nestjs-memory-store';

/** Injection token of how long an issued token stays redeemable. */
export const TOKEN_TTL = Symbol('TOKEN_TTL');

/** Tokens live 15 minutes unless `TOKEN_TTL` says otherwise. */
export const DEFAULT_TOKEN_TTL: Duration = '15m';

/**
 * The time to live of tokens from the environment (`TOKEN_TTL=900000` or `'30s'`, `'15m'`,
 * `'1h'`, `'2d'`), checked at start-up so that a typo stops the application rather than
 * every `POST /tokens`.
 */
export function tokenTtlFromEnv(value = process.env.TOKEN_TTL): Duration {
  if (value === undefined || value === '') return DEFAULT_TOKEN_TTL;
  if (/^[1-9]\d*$/.test(value)) return Number(value);
  if (/^[1-9]\d*(ms|s|m|h|d)$/.test(value)) return value as Duration;
  throw new Error(`TOKEN_TTL must be milliseconds or a duration such as '15m'; got '${value}'`);
}
