import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { MemoryTable } from '../engine/memory-table.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { getTableName } from '../metadata/table-schema.js';
import type { MemoryStore } from './memory-store.js';

/** A reference to a store: its table class, its store class, or its table's name. */
export type StoreReference = string | (abstract new (...args: never[]) => object);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds stores of every record type
type AnyStore = MemoryStore<any>;

/** A table's one shared copy, and the store instance that loaded it. */
export interface RegisteredTable {
  readonly storeClass: object;
  readonly owner: AnyStore;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly table: MemoryTable<any>;
  /** Settles when the owner has finished starting (rejects if it failed). */
  readonly started: Promise<void>;
}

/**
 * The stores of one application. A table has one copy per application: a store class
 * provided by several modules shares it, and two different store classes may not claim
 * the same table.
 */
export class StoreRegistry {
  readonly #tables = new Map<string, RegisteredTable>();
  readonly #stores = new Map<object, AnyStore>();

  /** Registers `store` as its table's owner, or returns the entry of the earlier owner. */
  claim(entry: RegisteredTable): RegisteredTable {
    const name = entry.table.name;
    const existing = this.#tables.get(name);
    if (!existing) {
      this.#tables.set(name, entry);
      this.#stores.set(entry.storeClass, entry.owner);
      return entry;
    }
    if (existing.storeClass !== entry.storeClass) {
      throw new MemoryStoreError(
        `Table '${name}' is claimed by two stores, ${nameOf(existing.storeClass)} and ${nameOf(entry.storeClass)}: ` +
          'a table belongs to one store class (provide that class in every module that needs it)',
        name,
      );
    }
    return existing;
  }

  /** The store for a table class, a store class or a table name. */
  get(reference: StoreReference): AnyStore {
    const found = this.find(reference);
    if (!found) {
      throw new MemoryStoreError(
        `No store for ${typeof reference === 'string' ? `table '${reference}'` : nameOf(reference)}: ` +
          'is it listed in MemoryStoreModule.forRoot({ stores }) or forFeature()?',
        typeof reference === 'string' ? reference : '',
      );
    }
    return found;
  }

  find(reference: StoreReference): AnyStore | undefined {
    if (typeof reference === 'string') return this.#tables.get(reference)?.owner;
    if (TABLE_METADATA.isTable(reference)) return this.#tables.get(getTableName(reference))?.owner;
    return this.#stores.get(reference);
  }

  /** Every registered store, in registration order. */
  list(): AnyStore[] {
    return [...this.#tables.values()].map((t) => t.owner);
  }
}

function nameOf(target: object): string {
  return typeof target === 'function' ? target.name : Object.prototype.toString.call(target);
}
