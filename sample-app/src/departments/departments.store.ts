import { MemoryStore, Store } from 'nestjs-memory-store';
import { Department } from './department.table.js';

/** Resolved from this module's location into `src/`, as for the people (see PEOPLE_SEED_FILE). */
export const DEPARTMENTS_SEED_FILE = new URL(
  '../../src/departments/departments.seed.json',
  import.meta.url,
);

@Store({ table: Department, seedFile: DEPARTMENTS_SEED_FILE })
export class DepartmentsStore extends MemoryStore<Department> {}
