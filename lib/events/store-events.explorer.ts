import { Inject, Injectable, Logger, type OnApplicationBootstrap, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { MemoryStoreModuleOptions } from '../interfaces/memory-store-module-options.interface.js';
import { MEMORY_STORE_MODULE_OPTIONS, MEMORY_STORE_REGISTRY } from '../memory-store.constants.js';
import type { StoreRegistry } from '../store/store-registry.js';
import type { StoreChange } from './store-change.interface.js';
import { ON_STORE_EVENT_METADATA, type OnStoreEventMetadata } from './on-store-event.decorator.js';

interface EventEmitterLike {
  emit(event: string, ...values: unknown[]): boolean;
}

/**
 * Finds `@OnStoreEvent()` methods on every provider and controller once the application has
 * started, and connects them (and, when the app imports `EventEmitterModule`, EventEmitter2)
 * to the stores' changes.
 */
@Injectable()
export class StoreEventsExplorer implements OnApplicationBootstrap {
  readonly #logger = new Logger('MemoryStore');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    @Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry,
    @Inject(MEMORY_STORE_MODULE_OPTIONS) private readonly options: MemoryStoreModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.events === false) return;
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = instance[name];
        if (typeof method !== 'function') continue;
        const declared = Reflect.getMetadata(ON_STORE_EVENT_METADATA, method) as
          OnStoreEventMetadata[] | undefined;
        for (const { store, ops } of declared ?? []) {
          const target = this.registry.find(store);
          const listener = `${instance.constructor.name}.${name}`;
          if (!target) {
            throw new MemoryStoreError(
              `@OnStoreEvent() on ${listener} names ${typeof store === 'string' ? `table '${store}'` : store.name}, ` +
                'which is no store of this application',
              typeof store === 'string' ? store : '',
            );
          }
          this.registry.hub.listen(
            target.tableName,
            ops,
            (change: StoreChange) => (method as (c: StoreChange) => unknown).call(instance, change),
            listener,
          );
        }
      }
    }
    await this.#bridgeEventEmitter();
  }

  /** EventEmitter2 is optional: bridged only when `@nestjs/event-emitter` is installed and imported. */
  async #bridgeEventEmitter(): Promise<void> {
    const token = await eventEmitterToken();
    if (!token) return;
    let emitter: EventEmitterLike;
    try {
      emitter = this.moduleRef.get<unknown, EventEmitterLike>(token, { strict: false });
    } catch {
      return;
    }
    this.registry.hub.bridge((event: string, change: StoreChange) => emitter.emit(event, change));
    this.#logger.debug?.(
      'Store changes are published on EventEmitter2 as memory-store.<table>.<op>',
    );
  }
}

/** EventEmitter2's class when `@nestjs/event-emitter` is installed, else undefined. */
async function eventEmitterToken(): Promise<Type<unknown> | undefined> {
  try {
    return ((await import('@nestjs/event-emitter')) as { EventEmitter2: Type<unknown> })
      .EventEmitter2;
  } catch {
    return undefined;
  }
}
