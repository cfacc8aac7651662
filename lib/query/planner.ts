import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { SecondaryIndex } from '../indexes/secondary-index.js';
import type { CompiledQuery } from './query-compiler.js';

/** How a query reaches its candidate records. */
export type AccessPath =
  | { readonly kind: 'key'; readonly field: string; readonly value: unknown }
  | {
      readonly kind: 'index';
      readonly field: string;
      readonly value: unknown;
      readonly unique: boolean;
    }
  | { readonly kind: 'scan' };

/** The planner's choice for a query, with the rows it expects to examine. */
export interface QueryPlan {
  readonly path: AccessPath;
  readonly estimatedRows: number;
}

/** What the planner needs to know of a table. */
export interface PlanSource<T extends object> {
  readonly keyField: string;
  readonly size: number;
  readonly indexes: ReadonlyMap<string, SecondaryIndex<T>>;
  readonly rows: ReadonlyMap<RecordKey, T>;
}

/**
 * Picks the cheapest access path: the primary key when the query fixes it, else the most
 * selective index the query fixes, else a scan.
 */
export function planQuery<T extends object>(
  source: PlanSource<T>,
  query: CompiledQuery,
): QueryPlan {
  const key = source.keyField;
  if (query.equalities.has(key)) {
    const value = query.equalities.get(key);
    return {
      path: { kind: 'key', field: key, value },
      estimatedRows: source.rows.has(value as RecordKey) ? 1 : 0,
    };
  }
  let best: QueryPlan | undefined;
  for (const [field, value] of query.equalities) {
    const index = source.indexes.get(field);
    if (!index) continue;
    const rows = value === null ? index.count(null) + index.count(undefined) : index.count(value);
    if (!best || rows < best.estimatedRows) {
      best = { path: { kind: 'index', field, value, unique: index.unique }, estimatedRows: rows };
    }
  }
  return best ?? { path: { kind: 'scan' }, estimatedRows: source.size };
}

/** The candidate records of a plan; each still has to pass the query's test. */
export function* candidates<T extends object>(
  source: PlanSource<T>,
  path: AccessPath,
): Iterable<T> {
  switch (path.kind) {
    case 'key': {
      const record = source.rows.get(path.value as RecordKey);
      if (record) yield record;
      return;
    }
    case 'index': {
      const index = source.indexes.get(path.field)!;
      yield* index.lookup(path.value);
      if (path.value === null) yield* index.lookup(undefined);
      return;
    }
    case 'scan':
      yield* source.rows.values();
  }
}
