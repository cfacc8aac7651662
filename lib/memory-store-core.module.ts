import { Module, type DynamicModule } from '@nestjs/common';
import { MEMORY_STORE_MODULE_OPTIONS, MEMORY_STORE_REGISTRY } from './memory-store.constants.js';
import { MemoryStoreService } from './memory-store.service.js';
import { DiscoveryModule } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { StoreEventsExplorer } from './events/store-events.explorer.js';
import type { MemoryStoreModuleOptions } from './interfaces/memory-store-module-options.interface.js';
import { checkRuntimeOptions } from './store/runtime-options.js';
import { StoreRegistry } from './store/store-registry.js';

/**
 * The global half of the module, created once by `forRoot()`/`forRootAsync()`: the options,
 * the registry of stores and `MemoryStoreService`, visible to every feature module.
 */
@Module({})
export class MemoryStoreCoreModule {
  static register(definition: DynamicModule): DynamicModule {
    return {
      module: MemoryStoreCoreModule,
      global: true,
      imports: [DiscoveryModule, ...(definition.imports ?? [])],
      providers: [
        ...(definition.providers ?? []),
        {
          provide: MEMORY_STORE_REGISTRY,
          useFactory: (
            options: MemoryStoreModuleOptions,
            scheduler: SchedulerRegistry | undefined,
          ) => {
            checkRuntimeOptions(options, 'MemoryStoreModule options');
            // The app's SchedulerRegistry when it imports ScheduleModule.forRoot(), else one of
            // our own: importing ScheduleModule here would start a second one beside the app's.
            return new StoreRegistry(options, scheduler ?? new SchedulerRegistry());
          },
          inject: [MEMORY_STORE_MODULE_OPTIONS, { token: SchedulerRegistry, optional: true }],
        },
        MemoryStoreService,
        StoreEventsExplorer,
      ],
      exports: [MEMORY_STORE_MODULE_OPTIONS, MEMORY_STORE_REGISTRY, MemoryStoreService],
    };
  }
}
