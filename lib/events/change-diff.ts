import { valuesEqual } from '../engine/stored-values.js';

/** The fields of `record` that differ from `previous` (all of them without `previous`). */
export function changeDiff(record: object, previous: object | undefined): Record<string, unknown> {
  const now = record as Record<string, unknown>;
  const diff: Record<string, unknown> = {};
  if (!previous) {
    for (const key of Object.keys(now)) diff[key] = now[key];
    return diff;
  }
  const before = previous as Record<string, unknown>;
  for (const key of Object.keys(now)) if (!valuesEqual(now[key], before[key])) diff[key] = now[key];
  for (const key of Object.keys(before)) {
    if (!Object.prototype.hasOwnProperty.call(now, key)) diff[key] = undefined;
  }
  return diff;
}
