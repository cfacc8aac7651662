import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The application's OpenTelemetry metrics SDK: a meter provider whose one reader is the
 * Prometheus exporter, serving through our own HTTP server (`GET /metrics`) rather than the
 * exporter's port 9464. One per application, so that tests can run several in one process;
 * a production app would usually register its SDK globally in main.ts instead.
 */
export class PrometheusMetrics {
  readonly exporter = new PrometheusExporter({ preventServerStart: true });
  readonly meterProvider = new MeterProvider({ readers: [this.exporter] });
}
