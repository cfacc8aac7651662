import type { CompoundIndex } from '../indexes/compound.index.js';
import type { CompiledQuery, RangeBound } from './query-compiler.js';

/** A path through a compound index: equality on a prefix of its fields, then a range. */
export interface CompoundPath {
  readonly kind: 'compound';
  /** The index's fields joined by ', ' (its name). */
  readonly field: string;
  /** The index's fields. */
  readonly fields: readonly string[];
  /** The fields the query fixes by equality, a prefix of `fields`. */
  readonly prefix: readonly string[];
  /** Their values. */
  readonly values: readonly unknown[];
  /** The field after the prefix that the range bounds or the walk orders by, if any. */
  readonly rangeField?: string;
  readonly lower?: RangeBound;
  readonly upper?: RangeBound;
  readonly direction: 'asc' | 'desc';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the planner tells of the order it wants. */
interface Order {
  readonly field: string;
  readonly direction: 'asc' | 'desc';
}

/** The best compound path for a query, with its expected rows and whether it yields the order. */
export interface CompoundChoice {
  readonly path: CompoundPath;
  readonly rows: number;
  readonly ordered: boolean;
}

/**
 * The cheapest use of a compound index: a lookup of the whole tuple when the query fixes
 * every field, else (ordered indexes) a seek to the fixed prefix with a range or an order on
 * the next field. An index holding arrays or objects in its fields is left out: those match
 * by element or content, which the tuple order cannot find.
 */
export function planCompound<T extends object>(
  indexes: readonly CompoundIndex<T>[],
  query: CompiledQuery,
  order: Order | undefined,
): CompoundChoice | undefined {
  let best: CompoundChoice | undefined;
  for (const index of indexes) {
    if (!index.usable) continue;
    const fields = index.fields;
    const values: unknown[] = [];
    while (values.length < fields.length) {
      const equal = query.fields.get(fields[values.length])?.equal;
      if (!equal || !seekable(equal.value)) break;
      values.push(equal.value);
    }
    const k = values.length;
    let choice: CompoundChoice;
    if (k === fields.length) {
      choice = {
        path: {
          kind: 'compound',
          field: index.field,
          fields,
          values,
          prefix: fields,
          direction: 'asc',
        },
        rows: index.count(values),
        ordered: false,
      };
    } else {
      if (!index.ordered) continue;
      const next = fields[k];
      const c = query.fields.get(next);
      const ranged = c !== undefined && !c.equal && !c.anyOf && (c.lower || c.upper);
      const ordered = k === fields.length - 1 && order?.field === next;
      if (!ranged && !ordered && k === 0) continue;
      const lower = ranged ? c.lower : undefined;
      const upper = ranged ? c.upper : undefined;
      const path: Mutable<CompoundPath> = {
        kind: 'compound',
        field: index.field,
        fields,
        values,
        prefix: fields.slice(0, k),
        rangeField: next,
        direction: ordered ? order.direction : 'asc',
      };
      // (no spread: planning runs on every query)
      if (lower) path.lower = lower;
      if (upper) path.upper = upper;
      choice = { path, rows: index.countRange(values, lower, upper), ordered };
    }
    if (
      !best ||
      choice.rows < best.rows ||
      (choice.rows === best.rows && choice.ordered && !best.ordered)
    )
      best = choice;
  }
  return best;
}

/** A value an index seek finds exactly as equality does: no null, array or object. */
function seekable(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  return typeof value !== 'object' || value instanceof Date;
}

/**
 * The candidate records of a compound path; in an array when the caller reads them all
 * (`whole`) and the order does not matter or is ascending.
 */
export function compoundCandidates<T extends object>(
  index: CompoundIndex<T>,
  path: CompoundPath,
  whole = false,
): Iterable<T> {
  if (path.rangeField === undefined)
    return whole ? [...index.lookup(path.values)] : index.lookup(path.values);
  if (whole && path.direction === 'asc')
    return index.rangeArray(path.values, path.lower, path.upper);
  return index.range(path.values, path.lower, path.upper, path.direction);
}
