import type { IndexOptions, TableClass } from '../interfaces/table-options.interface.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';

const INDEX_OPTION_KEYS = new Set<string>(['unique']);

/**
 * Declares a secondary index on a field of a table class; `{ unique: true }` makes it a
 * unique index, enforced on every write with `DuplicateKeyError`. Its options are checked
 * when the class is declared: an unknown option (`{ uniq: true }`) or a `unique` that is not
 * a boolean throws a `MemoryStoreError` naming the class and field.
 *
 * @example
 * ```ts
 * @Index({ unique: true }) email!: string;
 * ```
 */
export function Index(options: IndexOptions = {}): PropertyDecorator {
  return (target, property) => {
    const table = target.constructor as TableClass;
    if (typeof property !== 'string')
      throw new MemoryStoreError(`@Index() on ${table.name} needs a string property name`, '');
    const where = `@Index() on ${table.name}.${property}`;
    if (typeof options !== 'object' || options === null || Array.isArray(options))
      throw new MemoryStoreError(`${where}: options must be an object`, '');
    for (const key of Object.keys(options)) {
      if (!INDEX_OPTION_KEYS.has(key))
        throw new MemoryStoreError(`${where}: unknown option '${key}' (known: unique)`, '');
    }
    if (options.unique !== undefined && typeof options.unique !== 'boolean')
      throw new MemoryStoreError(`${where}: 'unique' must be true or false`, '');
    TABLE_METADATA.addIndex(table, property, { unique: options.unique === true });
  };
}
