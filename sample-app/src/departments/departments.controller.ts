import { Controller, Get } from '@nestjs/common';
import { DepartmentsStore } from './departments.store.js';
import type { Department } from './department.table.js';

@Controller('departments')
export class DepartmentsController {
  constructor(private readonly departments: DepartmentsStore) {}

  @Get()
  list(): Department[] {
    return this.departments.select({}, { orderBy: { name: 'asc' } });
  }
}
