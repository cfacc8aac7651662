import { Inject, Injectable, type Type } from '@nestjs/common';
import type { TableClass } from './interfaces/table-options.interface.js';
import { MEMORY_STORE_REGISTRY } from './memory-store.constants.js';
import type { MemoryStore } from './store/memory-store.js';
import type { StoreRegistry } from './store/store-registry.js';

/** A store's figures, as `MemoryStoreService.stats()` reports them. */
export interface StoreStats {
  table: string;
  store: string;
  size: number;
  indexes: { field: string; unique: boolean }[];
  ready: boolean;
}

/**
 * The module-wide handle on every store of the application. Wherever it asks for a table,
 * the table class, the store class and the table's name all work.
 */
@Injectable()
export class MemoryStoreService {
  constructor(@Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry) {}

  /** The store of a table. */
  store<S extends MemoryStore<object>>(store: Type<S>): S;
  store<T extends object>(table: TableClass<T>): MemoryStore<T>;
  store(name: string): MemoryStore<object>;
  store(reference: string | TableClass): MemoryStore<object> {
    return this.registry.get(reference);
  }

  /** Every store of the application. */
  stores(): MemoryStore<object>[] {
    return this.registry.list() as MemoryStore<object>[];
  }

  /** Size and indexes of every store. */
  stats(): StoreStats[] {
    return this.registry.list().map((store) => ({
      table: store.tableName,
      store: store.constructor.name,
      size: store.size,
      indexes: store.indexes(),
      ready: store.isReady,
    }));
  }
}
