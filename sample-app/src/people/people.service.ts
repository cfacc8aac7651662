import { BadRequestException, Injectable } from '@nestjs/common';
import { MemoryStoreService, type RecordInput } from 'nestjs-memory-store';
import { DepartmentsStore } from '../departments/departments.store.js';
import { PeopleStore } from './people.store.js';
import type { Person } from './person.table.js';

/**
 * The writes to people that keep the departments' headcounts right. Each runs in one
 * transaction across both stores: the person and the headcounts change together, or, if
 * anything throws (an unknown department, a taken email, an invalid record), not at all.
 */
@Injectable()
export class PeopleService {
  constructor(
    private readonly memory: MemoryStoreService,
    private readonly people: PeopleStore,
    private readonly departments: DepartmentsStore,
  ) {}

  /** Adds a person and counts them in their department. */
  hire(fields: RecordInput<Person>): Promise<Person> {
    return this.memory.transaction(async () => {
      const person = await this.people.insert(fields);
      await this.#count(person.department, +1);
      return person;
    });
  }

  /** Changes a person's fields; a new department takes the person's count along. */
  change(uuid: string, patch: (current: Person) => RecordInput<Person>): Promise<Person> {
    return this.memory.transaction(async () => {
      const before = this.people.get(uuid);
      // Rejects with RecordNotFoundError (a 404) when there is no such person.
      const after = await this.people.update(uuid, patch);
      if (before && before.department !== after.department) {
        await this.#count(before.department, -1);
        // An unknown department throws here, after the person was updated: the transaction
        // rolls that update back, so nothing of the move is ever seen.
        await this.#count(after.department, +1);
      }
      return after;
    });
  }

  /** Moves a person to another department. */
  move(uuid: string, department: string): Promise<Person> {
    return this.change(uuid, () => ({ department }));
  }

  /** Removes a person and their count; resolves to the person, or undefined if unknown. */
  remove(uuid: string): Promise<Person | undefined> {
    return this.memory.transaction(async () => {
      const deleted = await this.people.delete(uuid);
      if (deleted) await this.#count(deleted.department, -1);
      return deleted;
    });
  }

  async #count(department: string, delta: number): Promise<void> {
    if (!this.departments.exists(department)) {
      throw new BadRequestException(`No department '${department}'`);
    }
    await this.departments.update(department, (d) => ({ headcount: d.headcount + delta }));
  }
}
