import { Module, type DynamicModule } from '@nestjs/common';
import type { StoreEntry } from './interfaces/memory-store-module-options.interface.js';
import { ConfigurableModuleClass } from './memory-store.module-definition.js';
import { createStoreProviders } from './memory-store.providers.js';

/**
 * The Nest module. Import `forRoot()` (or `forRootAsync()`) once, in the root module, and
 * `forFeature()` in each module that provides stores of its own.
 *
 * @example
 * ```ts
 * @Module({ imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore] })] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class MemoryStoreModule extends ConfigurableModuleClass {
  /**
   * Provides and exports stores for one module: `@Store()` classes (injected by class) and
   * bare `@Table()` classes (a plain `MemoryStore<T>` injected with `@InjectStore(Table)`).
   * A store listed in several modules is one store: they share its records.
   */
  static forFeature(stores: readonly StoreEntry[]): DynamicModule {
    const { providers, exports } = createStoreProviders(stores);
    return { module: MemoryStoreModule, providers, exports };
  }
}
