import { Controller, Get, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusMetrics } from './prometheus.exporter.js';

/** `GET /metrics`: every metric of the application in Prometheus' text format. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PrometheusMetrics) {}

  @Get()
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.metrics.exporter.getMetricsRequestHandler(request, response);
  }
}
