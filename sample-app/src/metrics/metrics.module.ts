import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { MemoryStoreMetricsModule } from 'nestjs-memory-store';
import { MetricsController } from './metrics.controller.js';
import { PrometheusMetrics } from './prometheus.exporter.js';

/** Holds the SDK, and shuts it down with the application. */
@Module({ providers: [PrometheusMetrics], exports: [PrometheusMetrics] })
class TelemetryModule implements OnApplicationShutdown {
  constructor(private readonly metrics: PrometheusMetrics) {}

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.meterProvider.shutdown();
  }
}

/** The stores' metrics, recorded through OpenTelemetry and exported for Prometheus. */
@Module({
  imports: [
    TelemetryModule,
    MemoryStoreMetricsModule.forRootAsync({
      imports: [TelemetryModule],
      inject: [PrometheusMetrics],
      useFactory: (metrics: PrometheusMetrics) => ({ meterProvider: metrics.meterProvider }),
    }),
  ],
  controllers: [MetricsController],
})
export class MetricsModule {}
