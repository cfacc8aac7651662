import { INHERITED_NAMES } from './query-values.js';

type Predicate = (record: object) => boolean;
type ValueTest = (value: unknown) => boolean;

/**
 * A predicate true when `test` holds for one of the values `path` reaches in a record, the
 * way MongoDB reads a path through arrays: a step into an array of objects reaches the field
 * of each object element (`'items.sku'`), a numeric step the element at that position
 * (`'items.0'`), and a missing step reaches `undefined`. With `elements`, an array reached is
 * tested whole and then element by element, one level deep (so `{ tags: 'x' }` matches
 * `['x', 'y']`, and `{ tags: ['x', 'y'] }` matches it too). An empty path reaches the value
 * tested itself (an `$elemMatch` element).
 */
export function anyReached(path: readonly string[], test: ValueTest, elements: boolean): Predicate {
  const t: ValueTest = elements ? (v) => test(v) || (Array.isArray(v) && v.some(test)) : test;
  if (path.length === 0) return t;
  if (path.length === 1) {
    const read = reader(path);
    return (r) => t(read(r));
  }
  return (r) => reach(r, path, 0, t);
}

/** Whether `test` holds for a value `path` reaches from `value`, starting at step `i`. */
function reach(value: unknown, path: readonly string[], i: number, test: ValueTest): boolean {
  let v = value;
  for (; i < path.length; i++) {
    const segment = path[i];
    if (Array.isArray(v)) {
      if (isPosition(segment)) {
        v = Number(segment) < v.length ? (v as unknown[])[Number(segment)] : undefined;
        continue;
      }
      // each object element, as MongoDB: other elements reach nothing
      for (const element of v as unknown[]) {
        if (typeof element === 'object' && element !== null && !Array.isArray(element)) {
          if (reach(element, path, i, test)) return true;
        }
      }
      return false;
    }
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
      return test(undefined);
    v = (v as Record<string, unknown>)[segment];
  }
  return test(v);
}

/** Whether a path step is an array position (`'0'`, `'12'`), as MongoDB reads one. */
export function isPosition(segment: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(segment);
}

/** A function reading the value at `path` of a record (undefined when a step is missing). */
export function reader(path: readonly string[]): (record: object) => unknown {
  if (path.length === 1) {
    const [field] = path;
    if (INHERITED_NAMES.has(field)) {
      return (r) =>
        Object.prototype.hasOwnProperty.call(r, field)
          ? (r as Record<string, unknown>)[field]
          : undefined;
    }
    return (r) => (r as Record<string, unknown>)[field];
  }
  return (r) => {
    let v: unknown = r;
    for (const segment of path) {
      if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
        return undefined;
      v = (v as Record<string, unknown>)[segment];
    }
    return v;
  };
}
