import type { MemoryStore, StoreKind } from '../store/memory-store.js';
import type { DataKeys, NestedPaths, SelectOptions, SortDirection } from './query.types.js';

/** The other side of a join: a store, or its class (resolved in the same application). */
export type JoinStore<D extends object> =
  AnyKindStore<D> | (abstract new (...args: never[]) => AnyKindStore<D>);

/** A store of `D` records, of a set table or a bag. */
type AnyKindStore<D extends object> = MemoryStore<D, unknown, DataKeys<D>, StoreKind>;

/** The record type of a join's store. */
export type JoinRecord<S> =
  S extends AnyKindStore<infer D>
    ? D
    : S extends abstract new (...args: never[]) => AnyKindStore<infer D>
      ? D
      : never;

/**
 * One join of `select(query, { join: { alias: … } })`: attaches to each record, under
 * `alias`, the record (or, with `many`, the records) of another store whose key (or `by`
 * field) equals the record's `on` field.
 */
export interface Join<T, D extends object = object> {
  /** The other store, or its class. */
  store: JoinStore<D>;
  /** The field of this store's records holding the value to look up. */
  on: DataKeys<T> | NestedPaths<T>;
  /**
   * The other store's field that must equal it: its primary key by default (a key lookup),
   * else an indexed field (an index lookup); any other field is read once per select into a
   * temporary hash map (one scan of the other store, never one per record).
   * @default the other store's primary key
   */
  by?: DataKeys<D> | NestedPaths<D>;
  /**
   * `'left'` keeps records without a related record (with `undefined`, or `[]` with `many`);
   * `'inner'` drops them.
   * @default 'left'
   */
  type?: 'left' | 'inner';
  /** Attach every related record as an array (one-to-many), not the first one. @default false */
  many?: boolean;
}

/**
 * Joins by alias, each checked against this store's fields and the other store's; an alias
 * must not be a field of this store's records.
 */
export type JoinMap<T, J> = {
  [A in keyof J]: A extends DataKeys<T>
    ? never
    : Join<T, J[A] extends { store: infer S } ? JoinRecord<S> : object>;
};

/** What the joins of a select attach, by alias. */
export type Joined<J> = {
  -readonly [A in keyof J]: J[A] extends { store: infer S }
    ? J[A] extends { many: true }
      ? JoinRecord<S>[]
      : J[A] extends { type: 'inner' }
        ? JoinRecord<S>
        : JoinRecord<S> | undefined
    : never;
};

/** The dotted paths a join adds, for `orderBy` and `aggregate()` over it: `'dept.name'`. */
export type JoinedPaths<J> = {
  [A in keyof J & string]: J[A] extends { store: infer S }
    ? `${A}.${DataKeys<JoinRecord<S>>}`
    : never;
}[keyof J & string];

/** How `explain()` says a join reached the other side. */
export interface JoinExplanation {
  /** The other store's table. */
  table: string;
  /** Its primary key, one of its indexes, or a hash map built by one scan of it. */
  strategy: 'key lookup' | 'index lookup' | 'hash map';
  /** The other side's field matched. */
  field: string;
  /** Lookups made (one per record of this side). */
  lookups: number;
  /** Records of this side that found at least one related record. */
  matched: number;
}

/**
 * Options of `select()` with `join`: those of a select, the joins, and an order that may name
 * joined fields (`orderBy: { 'dept.floor': 'asc' }`).
 */
export type JoinSelectOptions<T, F extends DataKeys<T>, J> = Omit<
  SelectOptions<T, F>,
  'orderBy'
> & {
  join: J;
  orderBy?: { [K in DataKeys<T> | NestedPaths<T> | JoinedPaths<J>]?: SortDirection };
};
