import { Inject, Injectable } from '@nestjs/common';
import { MEMORY_STORE_REGISTRY } from '../memory-store.constants.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { StoreRegistry } from '../store/store-registry.js';
import {
  checkThresholds,
  storeHealth,
  type HealthThresholds,
  type StoreHealth,
} from './store-health.js';

/**
 * What `isHealthy(key)` resolves to, in `@nestjs/terminus`' result shape: the indicator's
 * `status` (the worst of its stores') and every store's `StoreHealth` by table name.
 */
export type MemoryStoreHealthResult<K extends string = string> = Record<
  K,
  { status: StoreHealth['status']; stores: Record<string, StoreHealth> }
>;

/**
 * A health indicator for `@nestjs/terminus` (an optional peer: this class does not import
 * it). List it in the providers of the module whose controller runs the health check.
 * It is `down` when a store is not ready, its persistence failed or its Redis is
 * unreachable, and `degraded` (Terminus still answers 200) past the thresholds.
 *
 * @example
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(private health: HealthCheckService, private stores: MemoryStoreHealthIndicator) {}
 *   @Get() @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.stores.isHealthy('stores')]);
 *   }
 * }
 * ```
 */
@Injectable()
export class MemoryStoreHealthIndicator {
  /** @internal Nest creates the indicator: inject it. */
  constructor(@Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry) {}

  /**
   * Checks every store of the application (or those named in `options.stores`).
   * Rejects with a `MemoryStoreError` when a threshold is not a number in its range, or a
   * named store does not exist: a mistyped limit would otherwise never be passed.
   */
  async isHealthy<const K extends string>(
    key: K,
    thresholds: HealthThresholds & { stores?: readonly string[] } = {},
  ): Promise<MemoryStoreHealthResult<K>> {
    checkThresholds(thresholds);
    const stores = thresholds.stores
      ? thresholds.stores.map((name) => this.registry.get(name))
      : this.registry.list();
    const reports = await Promise.all(
      stores.map((store) => storeHealth(this.registry, store as MemoryStore<object>, thresholds)),
    );
    const byTable: Record<string, StoreHealth> = {};
    let status: StoreHealth['status'] = 'up';
    reports.forEach((report, i) => {
      byTable[stores[i].tableName] = report;
      if (report.status === 'down') status = 'down';
      else if (report.status === 'degraded' && status === 'up') status = 'degraded';
    });
    return { [key]: { status, stores: byTable } } as MemoryStoreHealthResult<K>;
  }
}
