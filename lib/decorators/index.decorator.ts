import type { IndexOptions, TableClass } from '../interfaces/table-options.interface.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { checkIndexFields, checkIndexOptions, showFields } from '../metadata/index-declaration.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import type { DataKeys, NestedPaths } from '../query/query.types.js';

/** The field names and dotted paths of a table class's records that an index may name. */
export type IndexPath<C> = C extends abstract new (...args: never[]) => infer T
  ? DataKeys<T> | NestedPaths<T>
  : never;

/** A class decorator that only accepts a class whose records have every named path. */
export type ClassIndexDecorator<F extends string> = <C extends TableClass>(
  target: C &
    ([Exclude<F, IndexPath<C>>] extends [never]
      ? unknown
      : { unknownIndexField: Exclude<F, IndexPath<C>> }),
) => void;

/**
 * Declares a secondary index.
 *
 * On a property, `@Index()` indexes that field; `{ unique: true }` makes it a unique index,
 * enforced on every write with `DuplicateKeyError`.
 *
 * On the class, `@Index(fields, options?)` indexes a dotted path into a nested field
 * (`'profile.lang'`) or, given a list, several fields at once (a compound index:
 * `['department', 'age']`). A unique compound index holds each tuple of values once. The
 * paths are checked against the class at compile time.
 *
 * `kind: 'ordered'` keeps the records sorted by the index for ranges and orders from the
 * start; a `'hash'` index answers equality and builds its sorted companion on first use.
 * A compound index is `'ordered'` unless told otherwise: it serves an equality on a prefix of
 * its fields with a range or an order on the next one; a `'hash'` one only the whole tuple.
 *
 * Options are checked when the class is declared: an unknown option, a `unique` that is not
 * a boolean, an empty or repeated field list throw a `MemoryStoreError` naming the class and
 * the fields.
 *
 * @example
 * ```ts
 * @Index(['department', 'age'])
 * @Index('profile.lang')
 * @Table({ name: 'people' })
 * class Person {
 *   @Index({ unique: true }) email!: string;
 *   department = 'sales';
 *   age = 0;
 *   profile = { lang: 'en' };
 * }
 * ```
 */
export function Index(options?: IndexOptions): PropertyDecorator;
export function Index<const F extends string>(
  fields: F | readonly [F, ...F[]],
  options?: IndexOptions,
): ClassIndexDecorator<F>;
export function Index(
  first: IndexOptions | string | readonly string[] = {},
  second: IndexOptions = {},
): PropertyDecorator & ClassDecorator {
  const onClass = typeof first === 'string' || Array.isArray(first);
  return (target: object, property?: string | symbol) => {
    if (onClass && property !== undefined) {
      const where = `@Index() on ${target.constructor.name}.${String(property)}`;
      throw new MemoryStoreError(
        `${where}: options must be an object (@Index(fields) goes on the class)`,
        '',
      );
    }
    if (onClass) {
      const table = target as TableClass;
      const where = `@Index(${showFields(first)}) on ${table.name}`;
      const fields = checkIndexFields(where, first);
      TABLE_METADATA.addIndex(table, fields, checkIndexOptions(where, second));
      return;
    }
    const table = target.constructor as TableClass;
    if (typeof property !== 'string')
      throw new MemoryStoreError(`@Index() on ${table.name} needs a string property name`, '');
    const where = `@Index() on ${table.name}.${property}`;
    TABLE_METADATA.addIndex(table, [property], checkIndexOptions(where, first), true);
  };
}
