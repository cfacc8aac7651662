import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { TableClass, TableOptions } from '../interfaces/table-options.interface.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { parseDuration } from '../ttl/duration.js';

const TABLE_OPTION_KEYS = new Set<string>([
  'name',
  'key',
  'indexes',
  'type',
  'autoIncrement',
  'ttl',
]);

/**
 * Declares a class as a table: its instances are the records, its property initialisers
 * the defaults.
 *
 * @example
 * ```ts
 * @Table({ name: 'people', key: 'uuid', indexes: ['department'] })
 * export class Person {
 *   uuid!: string;
 *   department = 'engineering';
 * }
 * ```
 */
export function Table(options: TableOptions = {}): ClassDecorator {
  return (target) => {
    const where = `@Table() on ${target.name}`;
    if (typeof options !== 'object' || options === null) {
      throw new MemoryStoreError(`${where}: options must be an object`, '');
    }
    for (const key of Object.keys(options)) {
      if (!TABLE_OPTION_KEYS.has(key))
        throw new MemoryStoreError(`${where}: unknown option '${key}'`, '');
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new MemoryStoreError(`${where}: 'name' must be a non-empty string`, '');
    }
    if (options.key !== undefined && (typeof options.key !== 'string' || options.key === '')) {
      throw new MemoryStoreError(`${where}: 'key' must be a non-empty string`, '');
    }
    if (
      options.indexes !== undefined &&
      (!Array.isArray(options.indexes) ||
        options.indexes.some((f) => typeof f !== 'string' || f === ''))
    ) {
      throw new MemoryStoreError(`${where}: 'indexes' must be an array of field names`, '');
    }
    if (options.type !== undefined && options.type !== 'set' && options.type !== 'ordered_set') {
      throw new MemoryStoreError(`${where}: 'type' must be 'set' or 'ordered_set'`, '');
    }
    if (options.autoIncrement !== undefined && typeof options.autoIncrement !== 'boolean') {
      throw new MemoryStoreError(`${where}: 'autoIncrement' must be true or false`, '');
    }
    if (options.ttl !== undefined) parseDuration(options.ttl, `${where}: 'ttl'`);
    TABLE_METADATA.setTable(target as unknown as TableClass, { ...options });
  };
}
