import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { MemoryStoreHealthIndicator } from 'nestjs-memory-store';

/** `GET /health`: 200 while every store is up (or only degraded), 503 when one is down. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly stores: MemoryStoreHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.stores.isHealthy('stores')]);
  }
}
