/** Injection token of the store registry shared by all stores of an application. */
export const MEMORY_STORE_REGISTRY = Symbol('MEMORY_STORE_REGISTRY');

/** Injection token of the options given to `MemoryStoreModule.forRoot()`/`forRootAsync()`. */
export const MEMORY_STORE_MODULE_OPTIONS = Symbol('MEMORY_STORE_MODULE_OPTIONS');
