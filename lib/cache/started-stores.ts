import type { MemoryStore } from '../store/memory-store.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
type AnyStore = MemoryStore<any, any, any, any>;

/** A store class, as `memoryStoreKeyv()` takes it. */
export type StoreClass<S extends AnyStore = AnyStore> = abstract new (...args: never[]) => S;

/** The store of each class that started last (weakly held: a closed app's may be collected). */
const STARTED = new WeakMap<object, WeakRef<object>>();

/** Notes a store that has started, as the one its class now stands for. */
export function noteStarted(store: object): void {
  STARTED.set(store.constructor, new WeakRef(store));
}

/** The store of this class that started last, if any. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
export function startedStore<S extends MemoryStore<any, any, any, any>>(
  storeClass: StoreClass<S>,
): S | undefined {
  return STARTED.get(storeClass)?.deref() as S | undefined;
}
