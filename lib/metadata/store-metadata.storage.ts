import type { StoreOptions } from '../interfaces/store-options.interface.js';

/** What `@Store()` declared, by store class. */
class StoreMetadataStorage {
  readonly #stores = new WeakMap<object, StoreOptions>();

  set(target: object, options: StoreOptions): void {
    this.#stores.set(target, options);
  }

  /** The options of the nearest `@Store()` class in `target`'s inheritance chain. */
  get(target: object): StoreOptions | undefined {
    for (let c: unknown = target; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
      const options = this.#stores.get(c);
      if (options) return options;
    }
    return undefined;
  }

  isStore(target: unknown): boolean {
    return typeof target === 'function' && this.#stores.has(target);
  }
}

export const STORE_METADATA = new StoreMetadataStorage();
