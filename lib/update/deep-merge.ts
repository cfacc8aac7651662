import { MemoryStoreError } from '../errors/memory-store.error.js';
import { QueryError } from '../errors/query.error.js';
import { FORBIDDEN_KEYS, MAX_VALUE_DEPTH } from '../engine/stored-values.js';
import { invalidField } from '../engine/record-factory.js';
import { isPlainObject } from '../query/query-values.js';
import { isUpdateDocument } from './update-document.js';
import { isContainer } from './update-draft.js';

/** How `update()` combines a plain patch with the record. */
export type MergeMode = 'shallow' | 'deep';

type Update = object | ((current: object) => unknown);

const DEEP = new WeakSet<object>();

/**
 * The change an update applies under `merge`: the patch itself for `'shallow'` (each
 * top-level field replaced), or, for `'deep'`, a function of the current record that merges
 * the patch's nested plain objects into the record's, field by field. Arrays, dates and
 * other values replace what is there; `undefined` leaves a field as it is; `null` sets it.
 */
export function mergedChange<C>(table: string, change: C, merge: MergeMode | undefined): C {
  if (merge === undefined || merge === 'shallow') return change;
  if (merge !== 'deep') {
    throw new MemoryStoreError(
      `update(): merge is 'shallow' or 'deep', not ${JSON.stringify(merge)}`,
      table,
    );
  }
  if (typeof change === 'function' && DEEP.has(change)) return change;
  const update = change as Update;
  const deep = (current: object): unknown => {
    const patch: unknown =
      typeof update === 'function' ? (update as (current: object) => unknown)(current) : update;
    if (!isPlainObject(patch)) return patch; // refused by the write, with its reason
    if (isUpdateDocument(patch)) {
      throw new QueryError(
        table,
        "merge: 'deep' merges a plain patch; update operators name their own paths ($set: { 'a.b': … })",
      );
    }
    return mergeInto(table, current as Record<string, unknown>, patch, '', 0);
  };
  DEEP.add(deep);
  return deep as C;
}

function mergeInto(
  table: string,
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
  path: string,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> =
    depth === 0
      ? {}
      : (Object.assign(
          Object.create(Object.getPrototypeOf(target) as object | null),
          target,
        ) as Record<string, unknown>);
  for (const key of Object.keys(patch)) {
    const field = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) {
      throw invalidField(table, field, undefined, 'plainData', `${field} is a forbidden key`);
    }
    const value = patch[key];
    if (value === undefined) continue;
    const current = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
    out[key] =
      isPlainObject(value) &&
      isContainer(current) &&
      !Array.isArray(current) &&
      depth < MAX_VALUE_DEPTH
        ? mergeInto(table, current as Record<string, unknown>, value, field, depth + 1)
        : value;
  }
  return out;
}
