/** Fields of a record that hold data (not methods). */
export type DataKeys<T> = {
  [K in keyof T & string]: T[K] extends (...args: never[]) => unknown ? never : K;
}[keyof T & string];

/** Dotted paths into nested fields of a record, two levels deep: `'profile.theme'`. */
export type NestedPaths<T> = {
  [K in DataKeys<T>]: NonNullable<T[K]> extends Date | readonly unknown[]
    ? never
    : NonNullable<T[K]> extends object
      ? `${K}.${DataKeys<NonNullable<T[K]>>}`
      : never;
}[DataKeys<T>];

/** The value type at a dotted path. */
export type PathValue<T, P extends string> = P extends `${infer K}.${infer R}`
  ? K extends keyof T
    ? PathValue<NonNullable<T[K]>, R>
    : never
  : P extends keyof T
    ? T[P]
    : never;

/**
 * An attribute map: every named field must equal the given value (dates by time, objects
 * and arrays by content; `null` matches `null` and missing fields).
 *
 * @example
 * ```ts
 * people.select({ department: 'sales', admin: false });
 * people.select({ 'profile.theme': 'dark' });
 * ```
 */
export type AttributeQuery<T> = { [K in DataKeys<T>]?: T[K] | null } & {
  [P in NestedPaths<T>]?: PathValue<T, P> | null;
};

/** A query on records of type `T`. */
export type Query<T> = AttributeQuery<T>;

/** Sort direction. */
export type SortDirection = 'asc' | 'desc';

/** Options of `select()`. */
export interface SelectOptions<T, F extends DataKeys<T> = DataKeys<T>> {
  /**
   * Sort the result by these fields, in the order given.
   * @example { orderBy: { startDate: 'desc', uuid: 'asc' } }
   */
  orderBy?: { [K in DataKeys<T>]?: SortDirection };
  /** Return at most this many records. */
  limit?: number;
  /** Skip this many records first. @default 0 */
  offset?: number;
  /** Return plain objects holding only these fields instead of the records. */
  fields?: readonly F[];
}
