import { Injectable } from '@nestjs/common';
import { OnStoreEvent, type StoreChange } from 'nestjs-memory-store';
import { PeopleStore } from '../people/people.store.js';
import type { Person } from '../people/person.table.js';

/** One change of a person, as the audit log keeps it. */
export interface AuditEntry {
  at: Date;
  uuid: string;
  /** The fields that changed, with their new values. */
  changes: Partial<Person>;
}

/**
 * Keeps the latest changes made to people, in memory. It hears of a change only once it is
 * committed: a write that failed, or a transaction that rolled back, never shows up here.
 */
@Injectable()
export class AuditLog {
  /** The most entries kept: the oldest go first. */
  static readonly LIMIT = 100;
  readonly #entries: AuditEntry[] = [];

  @OnStoreEvent(PeopleStore, 'update')
  record(change: StoreChange<Person>): void {
    this.#entries.push({ at: change.at, uuid: String(change.key), changes: change.diff ?? {} });
    if (this.#entries.length > AuditLog.LIMIT) this.#entries.shift();
  }

  /** The entries, oldest first. */
  entries(): readonly AuditEntry[] {
    return this.#entries;
  }
}
