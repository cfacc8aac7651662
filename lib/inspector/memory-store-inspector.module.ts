import { Module, type DynamicModule } from '@nestjs/common';
import { describeValue } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { createInspectorController } from './inspector.controller.js';
import type { MemoryStoreInspectorOptions } from './inspector-options.interface.js';
import { InspectorService } from './inspector.service.js';

/**
 * A small web page, and its JSON API, to look at the stores of a running application: each
 * store with its figures and indexes, a table's records paged and sorted, a query box (a
 * JSON filter, its results and `explain()`), and a live feed of changes with their diffs
 * (Server-Sent Events). Read-only. Off unless `enabled`; give it a `guard`, and never expose
 * it publicly without one: it shows every record.
 *
 * @example
 * ```ts
 * MemoryStoreInspectorModule.forRoot({
 *   enabled: process.env.NODE_ENV !== 'production',
 *   guard: AdminGuard,
 * })
 * ```
 */
@Module({})
export class MemoryStoreInspectorModule {
  static forRoot(options: MemoryStoreInspectorOptions = {}): DynamicModule {
    const path = options.path ?? '/_stores';
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new MemoryStoreError(
        `MemoryStoreInspectorModule: 'path' must be a string starting with '/', got ${JSON.stringify(path)}`,
        '',
      );
    if (options.enabled !== undefined && typeof options.enabled !== 'boolean')
      throw new MemoryStoreError(
        `MemoryStoreInspectorModule: 'enabled' must be true or false, got ${describeValue(options.enabled)}` +
          ` (an environment variable is a string: compare it, e.g. process.env.INSPECTOR === 'true')`,
        '',
      );
    if (!options.enabled) return { module: MemoryStoreInspectorModule };
    return {
      module: MemoryStoreInspectorModule,
      imports: options.imports ?? [],
      controllers: [createInspectorController(path, options.guard)],
      providers: [InspectorService],
    };
  }
}
