import type { TableClass } from './table-options.interface.js';

/** A store class (decorated with `@Store()`) or a bare `@Table()` class. */
export type StoreEntry = abstract new (...args: never[]) => object;

/**
 * Options of `MemoryStoreModule.forRoot()` / `forRootAsync()` shared by every store of the
 * application. Later capabilities (time to live, events, persistence) add theirs here.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the options grow with the library
export interface MemoryStoreModuleOptions {}

/** Options given to `forRoot()` / `forRootAsync()` beside the module options. */
export interface MemoryStoreModuleExtras {
  /**
   * Stores (or bare tables) provided and exported by the root module. Feature modules list
   * theirs with `forFeature()`.
   * @default []
   */
  stores?: readonly StoreEntry[];
}

export type { TableClass };
