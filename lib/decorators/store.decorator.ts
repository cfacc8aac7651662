import { Injectable } from '@nestjs/common';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { StoreOptions } from '../interfaces/store-options.interface.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { STORE_METADATA } from '../metadata/store-metadata.storage.js';
import { checkRuntimeOptions } from '../store/runtime-options.js';
import { checkAccess } from '../store/store-access.js';
import { checkDependsOn } from '../store/store-dependencies.js';

const STORE_OPTION_KEYS = new Set<string>([
  'table',
  'seedFile',
  'beforeInit',
  'initialState',
  'ttl',
  'maxRecords',
  'maxSize',
  'sizeOf',
  'eviction',
  'persistence',
  'replication',
  'seedMode',
  'access',
  'dependsOn',
]);

/**
 * Declares a store: a provider holding one table's records, with a managed lifecycle. The
 * class must extend `MemoryStore<T>`.
 *
 * @example
 * ```ts
 * @Store({ table: Person, seedFile: new URL('./people.seed.json', import.meta.url) })
 * export class PeopleStore extends MemoryStore<Person> {
 *   admins() { return this.select({ admin: true }); }
 * }
 * ```
 */
export function Store<S = unknown>(options: StoreOptions<S>): ClassDecorator {
  return (target) => {
    const where = `@Store() on ${target.name}`;
    if (typeof options !== 'object' || options === null)
      throw new MemoryStoreError(`${where}: options must be an object`, '');
    for (const key of Object.keys(options)) {
      if (!STORE_OPTION_KEYS.has(key))
        throw new MemoryStoreError(`${where}: unknown option '${key}'`, '');
    }
    if (!TABLE_METADATA.isTable(options.table)) {
      throw new MemoryStoreError(
        `${where}: 'table' must be a class decorated with @Table()` +
          (options.table === undefined ? ' (got undefined: a circular import?)' : ''),
        '',
      );
    }
    if (options.beforeInit !== undefined && !Array.isArray(options.beforeInit)) {
      throw new MemoryStoreError(`${where}: 'beforeInit' must be an array of hooks`, '');
    }
    checkRuntimeOptions(options, where);
    if (
      options.seedMode !== undefined &&
      options.seedMode !== 'always' &&
      options.seedMode !== 'if-empty'
    ) {
      throw new MemoryStoreError(`${where}: 'seedMode' must be 'always' or 'if-empty'`, '');
    }
    checkAccess(options.access, where);
    checkDependsOn(options.dependsOn, where);
    // a copy, frozen: changing `storeOptions.access` later must not lift a store's access
    STORE_METADATA.set(target, Object.freeze({ ...options }) as StoreOptions);
    Injectable()(target);
  };
}
