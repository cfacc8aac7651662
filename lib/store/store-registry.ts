import { MemoryStoreError } from '../errors/memory-store.error.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import { getTableName } from '../metadata/table-schema.js';
import type { MemoryStore } from './memory-store.js';

/** A reference to a store: its table class, its store class, or its table's name. */
export type StoreReference = string | (abstract new (...args: never[]) => object);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds stores of every record type
type AnyStore = MemoryStore<any>;

const REGISTERED = new WeakSet<object>();

/** True for a store instance that the module created (listed in forRoot/forFeature). */
export function isRegisteredStore(store: object): boolean {
  return REGISTERED.has(store);
}

/**
 * The stores of one application. A store class has one instance per application, however
 * many modules list it, and a table belongs to one store class.
 */
export class StoreRegistry {
  readonly #instances = new Map<object, Promise<AnyStore>>();
  readonly #byTable = new Map<string, AnyStore>();
  readonly #byClass = new Map<object, AnyStore>();

  /** The application's instance of a store class, created by `create` the first time. */
  instance(storeClass: object, create: () => Promise<AnyStore>): Promise<AnyStore> {
    let instance = this.#instances.get(storeClass);
    if (!instance) {
      instance = create().then((store) => this.#register(storeClass, store));
      this.#instances.set(storeClass, instance);
    }
    return instance;
  }

  #register(storeClass: object, store: AnyStore): AnyStore {
    const name = store.tableName;
    const existing = this.#byTable.get(name);
    if (existing) {
      throw new MemoryStoreError(
        `Table '${name}' is claimed by two stores, ${existing.constructor.name} and ${nameOf(storeClass)}: ` +
          'a table belongs to one store class',
        name,
      );
    }
    this.#byTable.set(name, store);
    this.#byClass.set(storeClass, store);
    REGISTERED.add(store);
    return store;
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
    if (typeof reference === 'string') return this.#byTable.get(reference);
    if (TABLE_METADATA.isTable(reference)) return this.#byTable.get(getTableName(reference));
    return this.#byClass.get(reference);
  }

  /** Every registered store, in registration order. */
  list(): AnyStore[] {
    return [...this.#byTable.values()];
  }
}

function nameOf(target: object): string {
  return typeof target === 'function' ? target.name : Object.prototype.toString.call(target);
}
