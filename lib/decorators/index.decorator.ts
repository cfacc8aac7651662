import type { IndexOptions, TableClass } from '../interfaces/table-options.interface.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';

/**
 * Declares a secondary index on a field of a table class; `{ unique: true }` makes it a
 * unique index, enforced on every write with `DuplicateKeyError`.
 *
 * @example
 * ```ts
 * @Index({ unique: true }) email!: string;
 * ```
 */
export function Index(options: IndexOptions = {}): PropertyDecorator {
  return (target, property) => {
    if (typeof property !== 'string')
      throw new MemoryStoreError('@Index() needs a string property name', '');
    TABLE_METADATA.addIndex(target.constructor as TableClass, property, {
      unique: options.unique === true,
    });
  };
}
