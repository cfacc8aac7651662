import type { DataKeys } from '../query/query.types.js';
import type { RecordInput } from './memory-store.js';

/**
 * The fields of `T` a new record must bring: those that are not optional (`?`) and not
 * named in `D`, the fields the store fills in.
 */
export type RequiredFields<T, D> = Exclude<
  { [K in DataKeys<T>]-?: undefined extends T[K] ? never : K }[DataKeys<T>],
  D
>;

/**
 * A record as `write`, `insert` and `writeMany` take it. TypeScript cannot see which fields
 * have initialisers, so a store names them in its third type argument, `D`: the fields the
 * store fills in (initialised fields, and the key of an `autoIncrement` or `keyGen` table).
 * Every other field that is not optional is then required, and leaving one out fails to
 * compile. Without `D` (its default is every field) every field may be left out.
 *
 * @example
 * ```ts
 * class PeopleStore extends MemoryStore<Person, unknown, 'department' | 'active'> {}
 * await people.insert({ uuid: 'u-1' }); // error: property 'email' is missing
 * ```
 */
export type NewRecord<T, D extends DataKeys<T> = DataKeys<T>> = Flattened<
  RecordInput<T> & { [K in RequiredFields<T, D>]: T[K] }
>;

/**
 * One object type of an intersection's properties, each optional only where it is optional in
 * every part: without required fields, `NewRecord` is then `RecordInput` itself, a type whose
 * fields are all optional, which TypeScript refuses to take an unrelated object (a `Date`).
 */
type Flattened<X> = { [K in keyof X]: X[K] };
