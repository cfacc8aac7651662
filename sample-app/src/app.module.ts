import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { AuditController } from './audit/audit.controller.js';
import { AuditLog } from './audit/audit.log.js';
import { DepartmentsController } from './departments/departments.controller.js';
import { DepartmentsStore } from './departments/departments.store.js';
import { HealthModule } from './health/health.module.js';
import { InspectorModule } from './inspector/inspector.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PeopleController } from './people/people.controller.js';
import { PeopleService } from './people/people.service.js';
import { PeopleStore } from './people/people.store.js';
import { StatsController } from './stats/stats.controller.js';
import { TokensModule } from './tokens/tokens.module.js';

/** Where the sample app keeps its data: `DATA_DIR`, else `sample-app/data` (beside src/ and dist/). */
export function dataDir(): string {
  return process.env.DATA_DIR ?? fileURLToPath(new URL('../data', import.meta.url));
}

@Module({
  imports: [
    // The app's own scheduler: the stores register their TTL sweeps in its SchedulerRegistry.
    ScheduleModule.forRoot(),
    MemoryStoreModule.forRootAsync({
      stores: [PeopleStore, DepartmentsStore],
      // Read when the application starts (not when this file loads), so tests can point it elsewhere.
      useFactory: () => ({
        // Expired tokens are never returned; this sweep frees their memory every 30 seconds.
        ttl: { sweep: '*/30 * * * * *' },
        // Every store is persisted: a write-ahead log and snapshots in DATA_DIR
        // (sample-app/data by default); DATA_DIR=memory keeps everything in memory only.
        // With REDIS_URL, every store is replicated instead: run several instances (PORT=3001,
        // 3002, …) against one Redis and they share the same records.
        ...(process.env.REDIS_URL
          ? {
              replication: {
                redis: process.env.REDIS_URL,
                prefix: process.env.REDIS_PREFIX ?? 'sample-app',
              },
            }
          : {
              persistence:
                dataDir() === 'memory' ? false : { dir: dataDir(), fsync: 'everysec' as const },
            }),
      }),
    }),
    TokensModule,
    HealthModule,
    MetricsModule,
    InspectorModule,
  ],
  controllers: [PeopleController, DepartmentsController, AuditController, StatsController],
  providers: [PeopleService, AuditLog],
})
export class AppModule {}
