import { Module } from '@nestjs/common';
import { MemoryStoreInspectorModule } from 'nestjs-memory-store';

/**
 * The store inspector at /_stores, outside production only (NODE_ENV=production turns it
 * off). A deployed app would also give it a guard: it shows every record.
 */
@Module({
  imports: [
    MemoryStoreInspectorModule.forRoot({
      path: '/_stores',
      enabled: process.env.NODE_ENV !== 'production',
    }),
  ],
})
export class InspectorModule {}
