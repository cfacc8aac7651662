import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { TableClass, TableOptions } from '../interfaces/table-options.interface.js';
import { checkIndexFields, showFields } from '../metadata/index-declaration.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { parseTtl } from '../cache/sliding-ttl.js';
import { checkTableFieldOptions } from '../metadata/declared-fields.js';

const TABLE_TYPES = new Set<unknown>(['set', 'ordered_set', 'bag', 'duplicate_bag']);

const TABLE_OPTION_KEYS = new Set<string>([
  'name',
  'key',
  'indexes',
  'type',
  'autoIncrement',
  'keyGen',
  'strict',
  'fields',
  'ttl',
  'version',
  'migrations',
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
    if (options.indexes !== undefined && !Array.isArray(options.indexes))
      throw new MemoryStoreError(`${where}: 'indexes' must be an array of field names`, '');
    for (const fields of options.indexes ?? [])
      checkIndexFields(
        Array.isArray(fields) ? `${where}: index ${showFields(fields)}` : where,
        fields,
      );
    const key = options.key;
    if (key !== undefined && (FORBIDDEN_KEYS.has(key) || key.includes('.'))) {
      throw new MemoryStoreError(
        `${where}: '${key}' cannot be a key or index field (a top-level field, not __proto__, constructor or prototype)`,
        '',
      );
    }
    if (options.type !== undefined && !TABLE_TYPES.has(options.type)) {
      throw new MemoryStoreError(
        `${where}: 'type' must be 'set', 'ordered_set', 'bag' or 'duplicate_bag'`,
        '',
      );
    }
    if (options.type === 'bag' || options.type === 'duplicate_bag') {
      // a bag's key names a group of records: a key made per record would make groups of one
      const maker = options.autoIncrement === true ? 'autoIncrement' : options.keyGen && 'keyGen';
      if (maker)
        throw new MemoryStoreError(
          `${where}: '${maker}' makes a key per record, which a '${options.type}' table (many records per key) cannot use`,
          '',
        );
    }
    if (options.autoIncrement !== undefined && typeof options.autoIncrement !== 'boolean') {
      throw new MemoryStoreError(`${where}: 'autoIncrement' must be true or false`, '');
    }
    checkTableFieldOptions(options, where);
    if (options.ttl !== undefined) parseTtl(options.ttl, `${where}: 'ttl'`);
    const version = options.version ?? 1;
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new MemoryStoreError(`${where}: 'version' must be a positive integer`, '');
    }
    if (options.migrations !== undefined) {
      if (typeof options.migrations !== 'object' || options.migrations === null) {
        throw new MemoryStoreError(
          `${where}: 'migrations' must be an object of version: function`,
          '',
        );
      }
      for (const [to, migrate] of Object.entries(options.migrations)) {
        const n = Number(to);
        if (!Number.isSafeInteger(n) || n < 2 || n > version || typeof migrate !== 'function') {
          throw new MemoryStoreError(
            `${where}: migration '${to}' must be a function for a version from 2 to ${version}`,
            '',
          );
        }
      }
    }
    for (let v = 2; v <= version; v++) {
      if (typeof options.migrations?.[v] !== 'function') {
        throw new MemoryStoreError(
          `${where}: version ${version} needs a migration to version ${v}`,
          '',
        );
      }
    }
    TABLE_METADATA.setTable(target as unknown as TableClass, { ...options });
  };
}
