import type { MatchQuery } from './match.js';

/** Fields of a record that hold data (not methods). */
export type DataKeys<T> = {
  [K in keyof T & string]: T[K] extends (...args: never[]) => unknown ? never : K;
}[keyof T & string];

type Plain<V> =
  NonNullable<V> extends Date | readonly unknown[] | ((...args: never[]) => unknown)
    ? never
    : NonNullable<V>;

/** Dotted paths into nested fields of a record, two levels deep: `'profile.theme'`. */
export type NestedPaths<T> = {
  [K in DataKeys<T>]: Plain<T[K]> extends object
    ? `${K}.${DataKeys<Plain<T[K]>>}` | `${K}.${NestedPaths1<Plain<T[K]>>}`
    : never;
}[DataKeys<T>];

type NestedPaths1<T> = {
  [K in DataKeys<T>]: Plain<T[K]> extends object ? `${K}.${DataKeys<Plain<T[K]>>}` : never;
}[DataKeys<T>];

/** The value type at a dotted path. */
export type PathValue<T, P extends string> = P extends `${infer K}.${infer R}`
  ? K extends keyof T
    ? PathValue<NonNullable<T[K]>, R>
    : never
  : P extends keyof T
    ? T[P]
    : never;

/** Values that range operators compare: numbers, strings, bigints and dates. */
type Comparable<V> =
  NonNullable<V> extends number | string | bigint | Date ? NonNullable<V> : never;

/** Operators on one field whose values have type `V`. */
export interface FieldOperators<V> {
  /** Equal (dates by time, objects and arrays by content; `null` matches missing too). */
  $eq?: V | null;
  /** Not equal. */
  $ne?: V | null;
  /** Greater than (same type only: a number never matches a string bound). */
  $gt?: Comparable<V>;
  $gte?: Comparable<V>;
  $lt?: Comparable<V>;
  $lte?: Comparable<V>;
  /** Equal to one of the values. */
  $in?: readonly (V | null)[];
  /** Equal to none of the values. */
  $nin?: readonly (V | null)[];
  /** The field is present (not undefined), or absent. */
  $exists?: boolean;
  /** A string matching the pattern (at most `MAX_REGEX_LENGTH` characters, no nested repetition). */
  $regex?: NonNullable<V> extends string ? string | RegExp : never;
  /** Flags for a string `$regex`: any of `imsu`. */
  $options?: NonNullable<V> extends string ? string : never;
  /** None of these operators holds (or, given a RegExp, the pattern does not match). */
  $not?: FieldOperators<V> | (NonNullable<V> extends string ? RegExp : never);
}

/** What a filter may say of one field: a value it must equal, or operators. */
export type FieldCondition<V> =
  Exclude<V, undefined> | null | FieldOperators<Exclude<V, undefined>>;

/**
 * A filter: fields (and dotted paths) with values they must equal or operators, combined
 * with `$and`, `$or`, `$nor`, `$not`. An attribute map is the simplest filter.
 *
 * @example
 * ```ts
 * people.select({ age: { $gte: 18 }, department: { $in: ['sales', 'marketing'] } });
 * people.select({ $or: [{ admin: true }, { 'profile.theme': 'light' }] });
 * ```
 */
export type Filter<T> = { [K in DataKeys<T>]?: FieldCondition<T[K]> } & {
  [P in NestedPaths<T>]?: FieldCondition<PathValue<T, P>>;
} & {
  $and?: NonEmpty<Filter<T>>;
  $or?: NonEmpty<Filter<T>>;
  $nor?: NonEmpty<Filter<T>>;
  $not?: Filter<T>;
};

/** An array with at least one element. */
export type NonEmpty<E> = readonly [E, ...E[]];

/** Operators of condition tuples. */
export type TupleOperator = '==' | '===' | '!=' | '!==' | '>' | '>=' | '<' | '<=';

/** A MnesiaEx-style condition `[field, operator, value]`; a list of them is ANDed. */
export type ConditionTuple<T> = {
  [K in DataKeys<T> | NestedPaths<T>]:
    | readonly [K, '==' | '===' | '!=' | '!==', Exclude<PathValue<T, K>, undefined> | null]
    | readonly [K, '>' | '>=' | '<' | '<=', Comparable<PathValue<T, K>>]
    | readonly [
        K,
        'in' | 'nin' | 'not in',
        readonly (Exclude<PathValue<T, K>, undefined> | null)[],
      ];
}[DataKeys<T> | NestedPaths<T>];

/** A query on records of type `T`: a filter, a `match` template, or condition tuples. */
export type Query<T> = Filter<T> | MatchQuery | readonly ConditionTuple<T>[];

/** Sort direction. */
export type SortDirection = 'asc' | 'desc';

/** Options of `select()`. */
export interface SelectOptions<T, F extends DataKeys<T> = DataKeys<T>> {
  /**
   * Sort by these fields, in the order given; ties are broken by the primary key, in the
   * direction of the first field. With a limit, an order on one indexed field walks the
   * index instead of sorting. Without `orderBy` the order of the matches is unspecified.
   * @example { orderBy: { startDate: 'desc' } }
   */
  orderBy?: { [K in DataKeys<T> | NestedPaths<T>]?: SortDirection };
  /** Return at most this many records. */
  limit?: number;
  /** Skip this many records first. @default 0 */
  offset?: number;
  /** Return frozen plain objects holding only these fields instead of the records. */
  fields?: readonly F[];
}

/** Options of `page()`. */
export interface PageOptions<T> {
  /**
   * The order of the pages; ties are broken by the primary key, in the direction of the first
   * field. An ordered index on the one order field (or a compound index whose other fields
   * the query fixes) lets every page start with a seek.
   * @default { [primary key]: 'asc' }
   */
  orderBy?: { [K in DataKeys<T> | NestedPaths<T>]?: SortDirection };
  /** The most records a page holds. */
  limit: number;
  /** The `next` cursor of the previous page; without it, the first page. */
  after?: string;
}

/** A page of records and the cursor of the next one. */
export interface Page<T> {
  readonly items: T[];
  /** Pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

/** Fields of `T` holding numbers. */
export type NumericKeys<T> = {
  [K in DataKeys<T>]: NonNullable<T[K]> extends number ? K : never;
}[DataKeys<T>];

/** What `explain()` reports. */
export interface QueryExplanation {
  /** How the planner reaches the candidates. */
  strategy:
    | 'key lookup'
    | 'index lookup'
    | 'index range'
    | 'index order'
    | 'compound index'
    | 'index union'
    | 'full scan';
  /** The key or indexed field used, if any. */
  field?: string;
  /** True when the path yields the records in the requested order (no sort needed). */
  ordered: boolean;
  /** The rows the planner expected the path to yield. */
  estimatedRows: number;
  /** The rows actually checked against the query. */
  examinedRows: number;
  /** The rows the select returned. */
  returnedRows: number;
  /** The planner's access path in full. */
  path: import('./planner.js').AccessPath;
  /** With `join`: how each join reached the other store, by alias. */
  joins?: Record<string, import('./join.types.js').JoinExplanation>;
}
