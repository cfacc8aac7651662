import type { RecordKey } from '../interfaces/table-options.interface.js';

/** A secondary index over one field of a table's records. */
export interface SecondaryIndex<T extends object> {
  /** The indexed field or dotted path; for a compound index, its fields joined by ', '. */
  readonly field: string;
  readonly unique: boolean;
  /** The value a record holds for this index (`undefined` when a compound's field is missing). */
  valueOf(record: T): unknown;
  /** How many records hold `value`. */
  count(value: unknown): number;
  /** The records that hold `value`. */
  lookup(value: unknown): Iterable<T>;
  /** The key of another record than `key` that already holds `record`'s value, if any. */
  conflict(record: T, key: RecordKey): RecordKey | undefined;
  add(key: RecordKey, record: T): void;
  /** Puts `record` in place of `previous` when both hold the same value (`valueOf`). */
  replace(key: RecordKey, record: T, previous: T): void;
  remove(key: RecordKey, record: T): void;
  clear(): void;
}

/** What every object inherits from Object.prototype (`toString`, `valueOf`, …). */
const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * The value of `field` in a record: a field named like a method of every object is the
 * record's own or missing, never the inherited method (records hold no functions, so only
 * a function read costs the check). A dotted field is a path into nested objects, read as
 * queries read it: each step an own field, `undefined` past a missing one.
 */
export function fieldValue(record: object, field: string): unknown {
  if (field.includes('.')) return pathValue(record, field);
  const value = (record as Record<string, unknown>)[field];
  if (typeof value !== 'function' || !INHERITED_NAMES.has(field)) return value;
  return Object.prototype.hasOwnProperty.call(record, field) ? value : undefined;
}

const PATHS = new Map<string, readonly string[]>();

function pathValue(record: object, field: string): unknown {
  let path = PATHS.get(field);
  if (!path) PATHS.set(field, (path = field.split('.')));
  let v: unknown = record;
  for (const segment of path) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
      return undefined;
    v = (v as Record<string, unknown>)[segment];
  }
  return v;
}
