import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MemoryStoreError, MemoryStoreMetricsModule } from 'nestjs-memory-store';
import { createApp, failedStartUp } from './fixtures/app.factory.js';
import { BooksStore, OperationsAppModule } from './fixtures/operations-app.module.js';

/** A meter provider and a way to read every sample it holds as Prometheus text lines. */
function recorder() {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const serializer = new PrometheusSerializer();
  const scrape = async () => {
    const { resourceMetrics } = await exporter.collect();
    return serializer
      .serialize(resourceMetrics)
      .split('\n')
      .filter((line) => line.startsWith('memory_store_'));
  };
  return { meterProvider, scrape };
}

/** Where the options come from in an application that builds them from other providers. */
@Injectable()
class MetricsConfig {
  readonly meter = recorder();
}

@Module({ providers: [MetricsConfig], exports: [MetricsConfig] })
class MetricsConfigModule {}

/** How MemoryStoreMetricsModule is set up: async options, twice, and the labels it uses. */
describe('metrics: setup and labels', () => {
  const apps: INestApplication[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('forRootAsync builds its options from an injected provider', async () => {
    const app = await createApp(
      OperationsAppModule.register(
        {},
        [BooksStore],
        [
          MemoryStoreMetricsModule.forRootAsync({
            imports: [MetricsConfigModule],
            inject: [MetricsConfig],
            useFactory: (config: MetricsConfig) => ({ meterProvider: config.meter.meterProvider }),
          }),
        ],
      ),
    );
    apps.push(app);
    await app.init();
    const books = app.get(BooksStore);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    books.select({ author: 'Herbert' });
    const lines = await app.get(MetricsConfig).meter.scrape();
    expect(lines.some((l) => /^memory_store_writes_total\{.*table="books".*\} 1$/.test(l))).toBe(
      true,
    );
    expect(lines.some((l) => l.startsWith('memory_store_query_duration_count{'))).toBe(true);
  });

  it('labels by table, access path and data directory only: never by key or query', async () => {
    const { meterProvider, scrape } = recorder();
    const app = await createApp(
      OperationsAppModule.register(
        {},
        [BooksStore],
        [MemoryStoreMetricsModule.forRoot({ meterProvider })],
      ),
    );
    apps.push(app);
    await app.init();
    const books = app.get(BooksStore);
    for (let i = 0; i < 50; i++) {
      await books.write({ isbn: `isbn-${i}`, title: `t${i}`, author: `author-${i}` });
      books.get(`isbn-${i}`);
      books.select({ author: `author-${i}` });
      books.select({ title: `t${i}` });
    }
    const labels = new Set<string>();
    for (const line of await scrape())
      for (const [, name] of line.matchAll(/([a-z_]+)="/g)) labels.add(name);
    labels.delete('otel_scope_name');
    labels.delete('otel_scope_version');
    labels.delete('le');
    expect([...labels].sort()).toEqual(['access_path', 'table']);
    const series = new Set((await scrape()).map((l) => l.slice(0, l.lastIndexOf(' '))));
    expect(series.size).toBeLessThan(60); // 50 keys and 100 queries made no series of their own
  });

  it('imported twice with different options: refused at start-up, naming the module', async () => {
    const first = recorder();
    const second = recorder();
    const { error, app } = await failedStartUp(
      OperationsAppModule.register(
        {},
        [BooksStore],
        [
          MemoryStoreMetricsModule.forRoot({ meterProvider: first.meterProvider }),
          MemoryStoreMetricsModule.forRoot({ meterProvider: second.meterProvider }),
        ],
      ),
    );
    if (app) apps.push(app);
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/MemoryStoreMetricsModule is imported more than once/);
  });
});
