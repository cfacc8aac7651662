import { randomUUID } from 'node:crypto';

/**
 * The input with a generated key (`crypto.randomUUID()`) when it has none, for tables with
 * `keyGen: 'uuid'`. The key is made when the record is built, before the write is logged,
 * staged in a transaction or committed in Redis: every copy of the record holds this key.
 */
export function withGeneratedKey(
  input: unknown,
  keyField: string,
  factory: { assertStorable(input: object): void },
): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const given = (input as Record<string, unknown>)[keyField];
  if (given !== undefined && given !== null) return input;
  factory.assertStorable(input); // the spread below would make a Date or a Map a record
  return { ...input, [keyField]: randomUUID() };
}
