import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { AuditController } from './audit/audit.controller.js';
import { AuditLog } from './audit/audit.log.js';
import { DepartmentsController } from './departments/departments.controller.js';
import { DepartmentsStore } from './departments/departments.store.js';
import { PeopleController } from './people/people.controller.js';
import { PeopleService } from './people/people.service.js';
import { PeopleStore } from './people/people.store.js';
import { StatsController } from './stats/stats.controller.js';
import { TokensModule } from './tokens/tokens.module.js';

@Module({
  imports: [
    // The app's own scheduler: the stores register their TTL sweeps in its SchedulerRegistry.
    ScheduleModule.forRoot(),
    MemoryStoreModule.forRoot({
      stores: [PeopleStore, DepartmentsStore],
      // Expired tokens are never returned; this sweep frees their memory every 30 seconds.
      ttl: { sweep: '*/30 * * * * *' },
    }),
    TokensModule,
  ],
  controllers: [PeopleController, DepartmentsController, AuditController, StatsController],
  providers: [PeopleService, AuditLog],
})
export class AppModule {}
