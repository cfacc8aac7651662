import type { CompoundIndex } from '../indexes/compound.index.js';
import type { SecondaryIndex } from '../indexes/secondary-index.js';
import type { SortedIndex } from '../indexes/sorted.index.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { compoundCandidates, type CompoundPath, planCompound } from './compound-plan.js';
import type { CompiledQuery, RangeBound } from './query-compiler.js';

/** How a query reaches its candidate records. */
export type AccessPath =
  | { readonly kind: 'key'; readonly field: string; readonly values: readonly unknown[] }
  | {
      readonly kind: 'index';
      readonly field: string;
      readonly values: readonly unknown[];
      readonly unique: boolean;
    }
  | {
      readonly kind: 'range';
      readonly field: string;
      readonly lower?: RangeBound;
      readonly upper?: RangeBound;
      readonly direction: 'asc' | 'desc';
    }
  | { readonly kind: 'ordered'; readonly field: string; readonly direction: 'asc' | 'desc' }
  | CompoundPath
  | { readonly kind: 'union'; readonly paths: readonly AccessPath[] }
  | { readonly kind: 'scan' };

/** The planner's choice for a query. */
export interface QueryPlan {
  readonly path: AccessPath;
  /** How many records the path is expected to yield. */
  readonly estimatedRows: number;
  /** True when the path yields records already in the requested order. */
  readonly ordered: boolean;
  /**
   * True when the path yields exactly the matches (an index lookup of the query's sole
   * equality, the multikey ones included; a compound seek or a range that is the whole
   * query), so that they need no re-check.
   */
  readonly exact?: boolean;
}

/** A single-field order with a limit, which an ordered path can serve without sorting. */
export interface OrderHint {
  readonly field: string;
  readonly direction: 'asc' | 'desc';
  /** True when only the first few records are needed (a finite limit). */
  readonly limited: boolean;
}

/** What the planner needs to know of a table. */
export interface PlanSource<T extends object> {
  readonly keyField: string;
  readonly rows: ReadonlyMap<RecordKey, T>;
  readonly indexes: ReadonlyMap<string, SecondaryIndex<T>>;
  /** Indexes over several fields. */
  readonly compoundIndexes: readonly CompoundIndex<T>[];
  /** The sorted index of the key field or of an indexed field (built on first use). */
  sortedIndex(field: string): SortedIndex<T> | undefined;
  /** Records in key order for scans (ordered_set tables), or undefined for insertion order. */
  readonly keyOrder: SortedIndex<T> | undefined;
  /**
   * Every record for a scan (key order for an ordered_set table); an array when the caller
   * reads them all (`whole`).
   */
  scanRecords(whole?: boolean): Iterable<T>;
}

const SCAN: AccessPath = { kind: 'scan' };

/** The plan of a query no index can serve, as `select` runs it (its row estimate unset). */
export const SCAN_PLAN: QueryPlan = Object.freeze({
  path: SCAN,
  estimatedRows: NaN,
  ordered: false,
  exact: false,
});

/**
 * Picks the cheapest access path: the primary key when the query fixes it (or a list of
 * them), else the most selective index equality or `$in`, else an index range, else a union
 * of index paths for an `or`, else (given a single-field order with a limit on an indexed
 * field) a walk of that index in order, else a scan. Candidates are re-checked against the
 * whole query, so a plan changes speed, never results; only an index lookup or range that is
 * the whole query yields exactly the matches and needs none (`exact`).
 */
export function planQuery<T extends object>(
  source: PlanSource<T>,
  query: CompiledQuery,
  order?: OrderHint,
): QueryPlan {
  const size = source.rows.size;
  // The best path so far (no closure: planning runs on every query, small tables' included).
  let path: AccessPath | undefined;
  let estimatedRows = Infinity;

  for (const [field, c] of query.fields) {
    const isKey = field === source.keyField;
    const index = isKey ? undefined : source.indexes.get(field);
    if ((isKey || index) && (c.equal || c.anyOf)) {
      const values = c.equal ? [c.equal.value] : distinct(c.anyOf!);
      const rows = index ? countValues(index, values) : values.length;
      if (rows < estimatedRows) {
        path = index
          ? { kind: 'index', field, values, unique: index.unique }
          : { kind: 'key', field, values };
        estimatedRows = rows;
      }
    } else if (!c.equal && !c.anyOf && (c.lower || c.upper) && estimatedRows > 1) {
      const sorted = source.sortedIndex(field);
      if (sorted && !sorted.holdsArrays) {
        const rows = sorted.countRange(c.lower, c.upper);
        if (rows < estimatedRows) {
          const direction = order?.field === field ? order.direction : 'asc';
          path = { kind: 'range', field, lower: c.lower, upper: c.upper, direction };
          estimatedRows = rows;
        }
      }
    }
  }

  let compoundOrdered = false;
  if (source.compoundIndexes.length > 0) {
    const choice = planCompound(source.compoundIndexes, query, order);
    if (
      choice &&
      (choice.rows < estimatedRows || (choice.rows === estimatedRows && choice.ordered))
    ) {
      path = choice.path;
      estimatedRows = choice.rows;
      compoundOrdered = choice.ordered;
    }
  }

  if (estimatedRows > 1) {
    for (const branches of query.alternatives) {
      const plans = branches.map((branch) => planQuery(source, branch));
      if (plans.some((p) => p.path.kind === 'scan' || p.path.kind === 'ordered')) continue;
      const rows = plans.reduce((n, p) => n + p.estimatedRows, 0);
      if (rows < estimatedRows) {
        path = { kind: 'union', paths: plans.map((p) => p.path) };
        estimatedRows = rows;
        compoundOrdered = false;
      }
    }
  }

  if (
    order?.limited &&
    !compoundOrdered &&
    (path === undefined || estimatedRows >= size / 4) &&
    source.sortedIndex(order.field)
  ) {
    if (path === undefined || path.kind !== 'range' || path.field !== order.field) {
      path = { kind: 'ordered', field: order.field, direction: order.direction };
      estimatedRows = size;
    }
  }

  if (path === undefined || estimatedRows > size) {
    path = SCAN;
    estimatedRows = size;
  }
  const exact =
    path.kind === 'index'
      ? query.sole?.field === path.field
      : path.kind === 'compound'
        ? compoundExact(query, path)
        : path.kind === 'range' && rangeExact(query, path);
  return { path, estimatedRows, ordered: compoundOrdered || yieldsOrder(path, order), exact };
}

/**
 * Whether a compound path yields exactly the matches of a plain query (see
 * `CompiledQuery.plain`): the query constrains the prefix by equality and, at most, the next
 * field by the path's own bounds, and nothing else. The index is used only while no record
 * holds an array or object in its fields, and its seeks keep a bound's type (a number bound
 * finds numbers), as queries compare.
 */
function compoundExact(query: CompiledQuery, path: CompoundPath): boolean {
  if (!query.plain) return false;
  const ranged = path.rangeField !== undefined && query.fields.has(path.rangeField);
  if (query.fields.size !== path.prefix.length + (ranged ? 1 : 0)) return false;
  for (const field of path.prefix) if (!query.fields.get(field)?.equal) return false;
  if (!ranged) return true;
  const c = query.fields.get(path.rangeField)!;
  return c.lower === path.lower && c.upper === path.upper;
}

/**
 * Whether a range path yields exactly the matches of a plain query (see
 * `CompiledQuery.plain`): the query is the path's own bounds on its field and nothing else.
 * The sorted index is used only while no record holds an array in the field, and its range
 * keeps the bound's type rank (numbers and bigints, or strings; never NaN), as queries compare.
 */
function rangeExact(query: CompiledQuery, path: Extract<AccessPath, { kind: 'range' }>): boolean {
  if (!query.plain || query.fields.size !== 1) return false;
  const c = query.fields.get(path.field);
  return c !== undefined && c.lower === path.lower && c.upper === path.upper;
}

function yieldsOrder(path: AccessPath, order: OrderHint | undefined): boolean {
  if (!order) return false;
  return (
    (path.kind === 'range' || path.kind === 'ordered') &&
    path.field === order.field &&
    path.direction === order.direction
  );
}

function countValues<T extends object>(
  index: SecondaryIndex<T>,
  values: readonly unknown[],
): number {
  let n = 0;
  for (const v of values)
    n += v === null ? index.count(null) + index.count(undefined) : index.count(v);
  return n;
}

function distinct(values: readonly unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of values) {
    if (typeof v !== 'object' || v === null) {
      if (seen.has(v)) continue;
      seen.add(v);
    }
    out.push(v);
  }
  return out;
}

/**
 * The candidate records of a path; each still has to pass the query's test. When the caller
 * reads them all (`whole`), a scan and an index lookup of one value come as an array, which a
 * query's generated filter walks faster than any iterator.
 */
export function candidates<T extends object>(
  source: PlanSource<T>,
  path: AccessPath,
  whole = false,
): Iterable<T> {
  if (path.kind === 'scan') return source.scanRecords(whole);
  if (whole && path.kind === 'index' && path.values.length === 1 && path.values[0] !== null) {
    return [...source.indexes.get(path.field)!.lookup(path.values[0])];
  }
  if (path.kind === 'compound') {
    const index = source.compoundIndexes.find((c) => c.field === path.field)!;
    const records = compoundCandidates(index, path, whole);
    return whole && !Array.isArray(records) ? [...records] : records;
  }
  return pathCandidates(source, path);
}

/**
 * A page of an index walk in order (a `range` or `ordered` path): the candidates that pass
 * `test`, past the first `offset` of them and at most `limit`, read straight from the index.
 */
export function orderedPage<T extends object>(
  source: PlanSource<T>,
  path: Extract<AccessPath, { kind: 'range' | 'ordered' }>,
  test: (record: T) => boolean,
  offset: number,
  limit: number,
): T[] {
  const index = source.sortedIndex(path.field)!;
  return path.kind === 'range'
    ? index.page(path.lower, path.upper, path.direction, test, offset, limit)
    : index.page(undefined, undefined, path.direction, test, offset, limit);
}

function* pathCandidates<T extends object>(source: PlanSource<T>, path: AccessPath): Generator<T> {
  switch (path.kind) {
    case 'key':
      for (const value of path.values) {
        const record = source.rows.get(value as RecordKey);
        if (record) yield record;
      }
      return;
    case 'index': {
      const index = source.indexes.get(path.field)!;
      const many = path.values.length > 1;
      const seen = many ? new Set<T>() : undefined;
      for (const value of path.values) {
        for (const record of index.lookup(value)) {
          if (seen) {
            if (seen.has(record)) continue;
            seen.add(record);
          }
          yield record;
        }
        if (value === null) yield* index.lookup(undefined);
      }
      return;
    }
    case 'range':
      yield* source.sortedIndex(path.field)!.range(path.lower, path.upper, path.direction);
      return;
    case 'ordered':
      yield* source.sortedIndex(path.field)!.all(path.direction);
      return;
    case 'union': {
      const seen = new Set<T>();
      for (const sub of path.paths) {
        for (const record of candidates(source, sub)) {
          if (seen.has(record)) continue;
          seen.add(record);
          yield record;
        }
      }
      return;
    }
    case 'scan':
    case 'compound':
      yield* candidates(source, path);
  }
}
