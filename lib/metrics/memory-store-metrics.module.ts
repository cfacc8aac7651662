import {
  ConfigurableModuleBuilder,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Meter } from '@opentelemetry/api';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { MEMORY_STORE_REGISTRY } from '../memory-store.constants.js';
import type { StoreRegistry } from '../store/store-registry.js';
import { registerStoreInstruments } from './store-instruments.js';

/**
 * An OpenTelemetry `MeterProvider` (the SDK's, or any implementation of `@opentelemetry/api`'s
 * interface), described here so that this package's types need no OpenTelemetry package.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: object): object;
}

/** Options of `MemoryStoreMetricsModule.forRoot()`. */
export interface MemoryStoreMetricsOptions {
  /**
   * The meter provider to record to.
   * @default the global one (`metrics.getMeterProvider()` of `@opentelemetry/api`), as the
   * application's OpenTelemetry SDK registered it before the application started
   */
  meterProvider?: MeterProviderLike;
  /**
   * The name of the meter (the instrumentation scope).
   * @default 'nestjs-memory-store'
   */
  meterName?: string;
  /**
   * Time every `select()` into the `memory_store.query.duration` histogram. Recording one
   * value costs the SDK a few microseconds (it hashes the attributes), which doubles the
   * time of a fast indexed select: turn it off where queries are hot. Queries are still
   * counted by access path.
   * @default true
   */
  queryDurations?: boolean;
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: METRICS_OPTIONS } =
  new ConfigurableModuleBuilder<MemoryStoreMetricsOptions>({ moduleName: 'MemoryStoreMetrics' })
    .setClassMethodName('forRoot')
    .build();

/**
 * The applications' registries something records: a second module would take over the
 * timing recorders of the tables, and the first one's histograms would silently stay empty.
 */
const metered = new WeakSet<StoreRegistry>();

/** Creates the instruments once the stores have started, and removes them at shutdown. */
@Injectable()
export class MemoryStoreMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  #stop: (() => void) | undefined;

  /** @internal Nest creates it when the module is imported. */
  constructor(
    @Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry,
    @Inject(METRICS_OPTIONS) private readonly options: MemoryStoreMetricsOptions | undefined,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (metered.has(this.registry))
      throw new MemoryStoreError(
        'MemoryStoreMetricsModule is imported more than once with different options: import it ' +
          'once (a meter provider with several readers exports to several places)',
        '',
      );
    metered.add(this.registry);
    const name = this.options?.meterName ?? 'nestjs-memory-store';
    let provider: MeterProviderLike | undefined = this.options?.meterProvider;
    let timed = true;
    if (!provider) {
      const api = await loadApi();
      provider = api.metrics.getMeterProvider();
      // No SDK registered: the instruments would be no-ops; time nothing.
      timed = provider.getMeter(name).constructor !== api.createNoopMeter().constructor;
    }
    const meter = provider.getMeter(name) as Meter;
    const queryDurations = this.options?.queryDurations ?? true;
    this.#stop = registerStoreInstruments(meter, this.registry, timed, queryDurations);
  }

  onApplicationShutdown(): void {
    if (!this.#stop) return;
    this.#stop();
    this.#stop = undefined;
    metered.delete(this.registry);
  }
}

async function loadApi(): Promise<typeof import('@opentelemetry/api')> {
  try {
    return await import('@opentelemetry/api');
  } catch (cause) {
    throw new MemoryStoreError(
      "MemoryStoreMetricsModule needs the '@opentelemetry/api' package: npm install @opentelemetry/api",
      '',
      { cause },
    );
  }
}

/**
 * Records the stores' metrics through the OpenTelemetry metrics API (`@opentelemetry/api`, an
 * optional peer; no SDK is bundled: the application's SDK exports them). Without this module,
 * the engine only bumps a few integers. Import it once, beside `MemoryStoreModule.forRoot()`;
 * `forRootAsync({ imports, inject, useFactory })` builds the options from other providers.
 *
 * @example
 * ```ts
 * @Module({ imports: [MemoryStoreModule.forRoot({ stores }), MemoryStoreMetricsModule.forRoot()] })
 * export class AppModule {}
 * ```
 */
@Module({ providers: [MemoryStoreMetrics] })
export class MemoryStoreMetricsModule extends ConfigurableModuleClass {}
