import { Controller, Get } from '@nestjs/common';
import { MemoryStoreService, type StoreStats } from 'nestjs-memory-store';

@Controller('stats')
export class StatsController {
  constructor(private readonly memory: MemoryStoreService) {}

  @Get()
  stats(): StoreStats[] {
    return this.memory.stats();
  }
}
