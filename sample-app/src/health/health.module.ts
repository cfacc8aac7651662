import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MemoryStoreHealthIndicator } from 'nestjs-memory-store';
import { HealthController } from './health.controller.js';

/** Kubernetes-style health checks over Terminus. */
@Module({
  imports: [TerminusModule.forRoot()],
  controllers: [HealthController],
  providers: [MemoryStoreHealthIndicator],
})
export class HealthModule {}
