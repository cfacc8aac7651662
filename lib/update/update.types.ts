import type { DataKeys, FieldOperators, Filter } from '../query/query.types.js';

/** Counts down the levels a path may go below a record's top fields. */
type Below = [never, 0, 1, 2, 3];

/** Values a path does not go into. */
type Leaf =
  | string
  | number
  | boolean
  | bigint
  | symbol
  | null
  | undefined
  | Date
  | ((...args: never[]) => unknown);

/** `[path, value]` of every field of `T` and of what it holds, `D` levels deep. */
type Entries<T, D extends number> = {
  [K in DataKeys<T>]-?: [K, T[K]] | Deeper<K, NonNullable<T[K]>, D>;
}[DataKeys<T>];

type Deeper<P extends string, V, D extends number> = D extends 0
  ? never
  : V extends Leaf
    ? never
    : V extends readonly (infer E)[]
      ? [`${P}.${number}`, E] | Deeper<`${P}.${number}`, NonNullable<E>, Below[D]>
      : Prefixed<P, Entries<V, Below[D]>>;

type Prefixed<P extends string, E> = E extends [infer K extends string, infer V]
  ? [`${P}.${K}`, V]
  : never;

/** The paths and value types an update may name: up to four segments (`'lines.0.sku'`). */
type UpdateEntry<T> = Entries<T, 3>;

/**
 * A dotted path into a record of type `T`, as update operators take it: a field, a field of
 * a nested object (`'profile.lang'`), or an array position (`'lines.0.qty'`), up to four
 * segments.
 */
export type UpdatePath<T> = UpdateEntry<T>[0];

/** What `$set` may write at a path of type `V`: a value of it, or `null` where it is optional. */
type Settable<V> = undefined extends V ? Exclude<V, undefined> | null : V;

type Comparable = number | string | bigint | boolean | Date;

type ElementOf<V> = NonNullable<V> extends readonly (infer E)[] ? E : never;

/** `$pull`'s test of an element: a value it equals, operators, or a query of an object. */
export type PullCondition<E> =
  | E
  | (NonNullable<E> extends Date | Leaf
      ? FieldOperators<E>
      : NonNullable<E> extends object
        ? Filter<NonNullable<E>>
        : never);

/** `$push`'s operand: one element, or several with modifiers. */
export type PushOperand<E> =
  | E
  | {
      /** The elements to add, in order. */
      $each: readonly E[];
      /** Keep only this many: the first ones, or the last ones when negative. */
      $slice?: number;
      /** Insert at this position (from the end when negative) instead of appending. */
      $position?: number;
      /** Sort the array after adding: `1`, `-1`, or by fields of its objects. */
      $sort?: 1 | -1 | Readonly<Record<string, 1 | -1>>;
    };

/**
 * Update operators, typed from the table class `T`: every path is checked, `$inc` and `$mul`
 * take only numeric paths, `$push`, `$addToSet` and `$pull` only array paths with the
 * element's type, `$set` the value type at its path. Operators follow MongoDB's semantics;
 * the README lists the differences.
 *
 * @example
 * ```ts
 * await people.update('u-1', { $inc: { visits: 1 }, $set: { 'profile.lang': 'fr' } });
 * await people.update({ active: false }, { $push: { tags: { $each: ['old'], $slice: -5 } } });
 * ```
 */
export interface UpdateOperators<T> {
  /** Sets the value at each path, creating missing objects on the way. */
  $set?: { [E in UpdateEntry<T> as E[0]]?: Settable<E[1]> };
  /** Removes each path (an array element becomes `null`; a top-level field its default). */
  $unset?: { [P in UpdatePath<T>]?: true | 1 | '' };
  /** Adds to each number (a missing path is set to the operand). */
  $inc?: { [E in UpdateEntry<T> as NonNullable<E[1]> extends number ? E[0] : never]?: number };
  /** Multiplies each number (a missing path is set to 0). */
  $mul?: { [E in UpdateEntry<T> as NonNullable<E[1]> extends number ? E[0] : never]?: number };
  /** Sets each path to the operand when it is smaller (dates by time), or missing. */
  $min?: {
    [E in UpdateEntry<T> as NonNullable<E[1]> extends Comparable ? E[0] : never]?: NonNullable<
      E[1]
    >;
  };
  /** Sets each path to the operand when it is greater (dates by time), or missing. */
  $max?: {
    [E in UpdateEntry<T> as NonNullable<E[1]> extends Comparable ? E[0] : never]?: NonNullable<
      E[1]
    >;
  };
  /** Appends to each array (created when missing); `$each`, `$position`, `$sort`, `$slice`. */
  $push?: {
    [
      E in UpdateEntry<T> as NonNullable<E[1]> extends readonly unknown[] ? E[0] : never
    ]?: PushOperand<ElementOf<E[1]>>;
  };
  /** Appends each value not already in the array (compared by content). */
  $addToSet?: {
    [E in UpdateEntry<T> as NonNullable<E[1]> extends readonly unknown[] ? E[0] : never]?:
      ElementOf<E[1]> | { $each: readonly ElementOf<E[1]>[] };
  };
  /** Removes the elements equal to a value, meeting operators, or matching a query. */
  $pull?: {
    [
      E in UpdateEntry<T> as NonNullable<E[1]> extends readonly unknown[] ? E[0] : never
    ]?: PullCondition<ElementOf<E[1]>>;
  };
  /** Moves each path's value to another path. */
  $rename?: { [P in UpdatePath<T>]?: UpdatePath<T> };
}

/** An update operator document mixes no plain field in (MongoDB refuses that too). */
export type OperatorsOnly<T> = UpdateOperators<T> & { [K in DataKeys<T>]?: never };

/** A plain patch holds no update operator (a key starting with `$` reads as one). */
export type NoOperators = { [K in keyof UpdateOperators<unknown>]?: never };

/**
 * A patch merged deeply (`update(key, patch, { merge: 'deep' })`): nested plain objects are
 * merged field by field; any other value, arrays included, replaces what is there.
 */
export type DeepPatch<T> = {
  [K in DataKeys<T>]?: NonNullable<T[K]> extends Leaf | readonly unknown[]
    ? Settable<T[K]>
    : DeepPatch<NonNullable<T[K]>> | (undefined extends T[K] ? null : never);
};
