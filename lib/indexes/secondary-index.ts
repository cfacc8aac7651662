import type { RecordKey } from '../interfaces/table-options.interface.js';
import { isPosition } from '../query/array-paths.js';

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
  /**
   * Puts `record` in place of `previous`, the record stored under `key` until now: filed
   * again only if its value changed, else swapped in where `previous` was. Each value is
   * read once.
   */
  update(key: RecordKey, record: T, previous: T): void;
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

/**
 * `fieldValue` for one field, made once per index: a dotted path split once, and for a plain
 * field a reader generated for its name where the runtime allows it, so that each index reads
 * its field with a load of its own (`record["age"]`) rather than through the load in
 * `fieldValue` that every index and table shares, which sees every record shape and field
 * name and so falls back to a slow generic lookup.
 */
export function fieldReader(field: string): (record: object) => unknown {
  if (field.includes('.')) {
    const path = field.split('.');
    return (record) => valueAt(record, path, 0);
  }
  if (INHERITED_NAMES.has(field)) return (record) => fieldValue(record, field);
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the name is a string literal (JSON.stringify); the record comes in as an argument
    return new Function('record', `return record[${JSON.stringify(field)}];`) as (
      record: object,
    ) => unknown;
  } catch (error) {
    // --disallow-code-generation-from-strings, or a content security policy
    if (!(error instanceof EvalError)) throw error;
    return (record) => (record as Record<string, unknown>)[field];
  }
}

const PATHS = new Map<string, readonly string[]>();

function pathValue(record: object, field: string): unknown {
  let path = PATHS.get(field);
  if (!path) PATHS.set(field, (path = field.split('.')));
  return valueAt(record, path, 0);
}

/** The value `path` reaches from `value`, starting at step `from`. */
function valueAt(value: unknown, path: readonly string[], from: number): unknown {
  let v = value;
  for (let i = from; i < path.length; i++) {
    const segment = path[i];
    if (Array.isArray(v)) {
      if (isPosition(segment)) {
        v = (v as unknown[])[Number(segment)];
        continue;
      }
      // Through an array of documents, as queries read it (see `anyReached`): the values the
      // path reaches in each object element, arrays among them spread, for a multikey index.
      const reached: unknown[] = [];
      for (const element of v as unknown[]) {
        if (typeof element !== 'object' || element === null || Array.isArray(element)) continue;
        const found = valueAt(element, path, i);
        if (Array.isArray(found)) reached.push(...(found as unknown[]));
        else if (found !== undefined) reached.push(found);
      }
      return reached.length > 0 ? reached : undefined;
    }
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
      return undefined;
    v = (v as Record<string, unknown>)[segment];
  }
  return v;
}
