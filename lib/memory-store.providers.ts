import type { Provider, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Store } from './decorators/store.decorator.js';
import { MemoryStoreError } from './errors/memory-store.error.js';
import type { StoreEntry } from './interfaces/memory-store-module-options.interface.js';
import type { TableClass } from './interfaces/table-options.interface.js';
import { STORE_METADATA } from './metadata/store-metadata.storage.js';
import { TABLE_METADATA } from './metadata/table-metadata.storage.js';
import { getTableName } from './metadata/table-schema.js';
import { MEMORY_STORE_REGISTRY } from './memory-store.constants.js';
import { getStoreToken } from './memory-store.utils.js';
import type { StoreRegistry } from './store/store-registry.js';
import { MemoryStore } from './store/memory-store.js';
import { BagStore } from './store/bag-store.js';
import { injectedStore } from './store/store-access.js';

/** The providers of a list of stores and bare tables, and the tokens to export. */
export interface StoreProviders {
  providers: Provider[];
  exports: (string | StoreEntry)[];
}

const TABLE_STORES = new WeakMap<TableClass, StoreEntry>();

/**
 * A store class provides itself and its table's token; a bare table provides a plain
 * `MemoryStore<T>` under its table's token.
 */
export function createStoreProviders(entries: readonly StoreEntry[] = []): StoreProviders {
  const providers: Provider[] = [];
  const exports: (string | StoreEntry)[] = [];
  for (const entry of entries) {
    const token = getStoreToken(entry);
    if (STORE_METADATA.isStore(entry)) {
      providers.push(sharedInstance(entry, entry), { provide: token, useExisting: entry });
      exports.push(entry, token);
    } else if (TABLE_METADATA.isTable(entry)) {
      providers.push(sharedInstance(token, tableStore(entry)));
      exports.push(token);
    } else {
      throw new MemoryStoreError(
        `${String((entry as { name?: string })?.name ?? entry)} is neither a @Store() nor a @Table() class`,
        '',
      );
    }
  }
  return { providers, exports };
}

/**
 * A store class has one instance per application however many modules list it: the first
 * module to need it creates it (with Nest's injector, so its constructor and properties are
 * injected), the others get the same instance from the registry.
 */
function sharedInstance(token: string | StoreEntry, storeClass: StoreEntry): Provider {
  return {
    provide: token,
    useFactory: (registry: StoreRegistry | undefined, moduleRef: ModuleRef) => {
      if (!registry) {
        throw new MemoryStoreError(
          `${storeClass.name} needs MemoryStoreModule.forRoot() or forRootAsync() imported once in the application`,
          '',
        );
      }
      return registry
        .instance(storeClass, () => moduleRef.create(storeClass as Type<MemoryStore>))
        .then(injectedStore); // a protected store's read-only view
    },
    inject: [{ token: MEMORY_STORE_REGISTRY, optional: true }, ModuleRef],
  };
}

/** The store class that a bare table gets: one per table class, shared by every module. */
function tableStore(table: TableClass): StoreEntry {
  let storeClass = TABLE_STORES.get(table);
  if (!storeClass) {
    const type = TABLE_METADATA.getTable(table)?.type;
    const bag = type === 'bag' || type === 'duplicate_bag';
    storeClass = bag ? class extends BagStore {} : class extends MemoryStore {};
    Object.defineProperty(storeClass, 'name', {
      value: `${bag ? 'BagStore' : 'MemoryStore'}<${getTableName(table)}>`,
    });
    Store({ table })(storeClass);
    TABLE_STORES.set(table, storeClass);
  }
  return storeClass;
}
