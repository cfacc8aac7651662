import { ConfigurableModuleBuilder } from '@nestjs/common';
import type {
  MemoryStoreModuleExtras,
  MemoryStoreModuleOptions,
} from './interfaces/memory-store-module-options.interface.js';
import { MEMORY_STORE_MODULE_OPTIONS } from './memory-store.constants.js';
import { MemoryStoreCoreModule } from './memory-store-core.module.js';
import { createStoreProviders } from './memory-store.providers.js';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<MemoryStoreModuleOptions>({
    moduleName: 'MemoryStore',
    optionsInjectionToken: MEMORY_STORE_MODULE_OPTIONS,
  })
    .setClassMethodName('forRoot')
    .setExtras<MemoryStoreModuleExtras>({ stores: [] }, (definition, extras) => {
      const { providers, exports } = createStoreProviders(extras.stores);
      return {
        module: definition.module,
        imports: [MemoryStoreCoreModule.register(definition)],
        providers,
        exports,
      };
    })
    .build();
