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

/**
 * Dotted paths through a field holding an array of objects to a field of its elements:
 * `'items.sku'` (a query matches when one element's field does).
 */
export type ArrayPaths<T> = {
  [K in DataKeys<T>]: NonNullable<T[K]> extends readonly (infer E)[]
    ? Plain<E> extends object
      ? `${K}.${DataKeys<Plain<E>>}`
      : never
    : never;
}[DataKeys<T>];

/** The element type of an array type (never for other types). */
export type ElementOf<V> = NonNullable<V> extends readonly (infer E)[] ? E : never;

/** `X` where `V` is an array type, never elsewhere. */
export type IfArray<V, X> = NonNullable<V> extends readonly unknown[] ? X : never;

/** A step of a path: into a field's value, or into the elements of an array. */
export type Step<V> = V extends readonly (infer E)[] ? NonNullable<E> : V;

/** The value type at a dotted path (through an array, the type of its elements' field). */
export type PathValue<T, P extends string> = P extends `${infer K}.${infer R}`
  ? K extends keyof T
    ? PathValue<Step<NonNullable<T[K]>>, R>
    : never
  : P extends keyof T
    ? T[P]
    : never;

/** Values that range operators compare: numbers, strings, bigints and dates. */
type Comparable<V> =
  NonNullable<V> extends number | string | bigint | Date ? NonNullable<V> : never;

/** Strings a regex can test: a string field, or an array of strings (one element matches). */
export type Texts<V> = NonNullable<V> extends string | readonly string[] ? true : false;

/**
 * Operators on one field whose values have type `V`. On an array field, a value may be an
 * element: `$eq`, `$ne`, `$in`, `$nin` and ranges test each element (MongoDB's reading).
 */
export interface FieldOperators<V> {
  /** Equal (dates by time, objects and arrays by content; `null` matches missing too); an array also when one element is. */
  $eq?: V | ElementOf<V> | null;
  /** Not equal (an array: no element equal either). */
  $ne?: V | ElementOf<V> | null;
  /** Greater than (same type only: a number never matches a string bound); an array when one element is. */
  $gt?: Comparable<V> | Comparable<ElementOf<V>>;
  $gte?: Comparable<V> | Comparable<ElementOf<V>>;
  $lt?: Comparable<V> | Comparable<ElementOf<V>>;
  $lte?: Comparable<V> | Comparable<ElementOf<V>>;
  /** Equal to one of the values (a RegExp among them matches the strings it matches). */
  $in?: readonly (V | ElementOf<V> | null | (true extends Texts<V> ? RegExp : never))[];
  /** Equal to none of the values. */
  $nin?: readonly (V | ElementOf<V> | null | (true extends Texts<V> ? RegExp : never))[];
  /** The field is present (not undefined), or absent; 1 and 0 read as true and false. */
  $exists?: boolean | 0 | 1;
  /** A string matching the pattern (at most `MAX_REGEX_LENGTH` characters, no nested repetition). */
  $regex?: true extends Texts<V> ? string | RegExp : never;
  /** Flags for `$regex`: any of `imsux` (x: whitespace and `#` comments in the pattern are ignored). */
  $options?: true extends Texts<V> ? string : never;
  /** None of these operators holds (or, given a RegExp, the pattern does not match). */
  $not?: FieldOperators<V> | (true extends Texts<V> ? RegExp : never);
  /** An array holding every one of the values (an `{ $elemMatch }` entry: an element matching it). */
  $all?: IfArray<V, readonly (ElementOf<V> | { $elemMatch: ElementMatch<ElementOf<V>> })[]>;
  /** An array of exactly this many elements. */
  $size?: IfArray<V, number>;
  /** An array with one element satisfying every condition: a filter on object elements, operators on others. */
  $elemMatch?: IfArray<V, ElementMatch<ElementOf<V>>>;
}

/** What `$elemMatch` says of one element: a filter for objects, operators for other values. */
export type ElementMatch<E> =
  NonNullable<E> extends Date | readonly unknown[]
    ? FieldOperators<NonNullable<E>>
    : NonNullable<E> extends object
      ? Filter<NonNullable<E>>
      : FieldOperators<NonNullable<E>>;

/** What a filter may say of one field: a value it must equal (or hold), or operators. */
export type FieldCondition<V> =
  | Exclude<V, undefined>
  | ElementOf<Exclude<V, undefined>>
  | null
  | (true extends Texts<V> ? RegExp : never)
  | FieldOperators<Exclude<V, undefined>>;

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
  [P in NestedPaths<T> | ArrayPaths<T>]?: FieldCondition<PathValue<T, P>>;
} & {
  $and?: NonEmpty<Filter<T>>;
  $or?: NonEmpty<Filter<T>>;
  $nor?: NonEmpty<Filter<T>>;
  $not?: Filter<T>;
};

/** An array with at least one element. */
export type NonEmpty<E> = readonly [E, ...E[]];

/** Operators of condition tuples. */
export type TupleOperator =
  | '=='
  | '==='
  | '!='
  | '!=='
  | '>'
  | '>='
  | '<'
  | '<='
  | 'in'
  | 'nin'
  | 'not in'
  | 'all'
  | 'size'
  | 'elemMatch';

/**
 * A MnesiaEx-style condition `[field, operator, value]`; a list of them is ANDed. On an
 * array field, `==`, `!=`, ranges and `in` read elements as filters do; `all`, `size` and
 * `elemMatch` are `$all`, `$size` and `$elemMatch`.
 */
export type ConditionTuple<T> = {
  [K in DataKeys<T> | NestedPaths<T> | ArrayPaths<T>]:
    | readonly [
        K,
        '==' | '===' | '!=' | '!==',
        Exclude<PathValue<T, K>, undefined> | ElementOf<PathValue<T, K>> | null,
      ]
    | readonly [
        K,
        '>' | '>=' | '<' | '<=',
        Comparable<PathValue<T, K>> | Comparable<ElementOf<PathValue<T, K>>>,
      ]
    | readonly [
        K,
        'in' | 'nin' | 'not in',
        readonly (Exclude<PathValue<T, K>, undefined> | ElementOf<PathValue<T, K>> | null)[],
      ]
    | readonly [K, 'all', IfArray<PathValue<T, K>, readonly ElementOf<PathValue<T, K>>[]>]
    | readonly [K, 'size', IfArray<PathValue<T, K>, number>]
    | readonly [K, 'elemMatch', IfArray<PathValue<T, K>, ElementMatch<ElementOf<PathValue<T, K>>>>];
}[DataKeys<T> | NestedPaths<T> | ArrayPaths<T>];

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
