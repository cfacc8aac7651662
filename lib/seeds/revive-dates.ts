import type { TableSchema } from '../metadata/table-schema.js';

/**
 * JSON has no dates: a copy of `value` with strings and numbers turned into Dates in the
 * fields the table declares as Date (by decorator metadata or a Date default).
 */
export function reviveJsonDates(schema: TableSchema, value: unknown): unknown {
  const { dateFields } = schema;
  if (dateFields.size === 0 || typeof value !== 'object' || value === null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const field of dateFields) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[field] = new Date(v);
  }
  return copy ?? value;
}
