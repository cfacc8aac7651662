import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { MemoryStore, Store } from 'nestjs-memory-store';
import { Person } from './person.table.js';

/**
 * The seed file stays next to this source file and is not copied by `tsc`. The URL is
 * resolved from this module's own location and climbs out of its build folder into `src/`:
 * from `sample-app/src/people/` (jest runs the sources) and from `sample-app/dist/people/`
 * (node runs the build) it names the same `sample-app/src/people/people.seed.json`, because
 * `src/` and `dist/` are siblings with the same layout.
 */
export const PEOPLE_SEED_FILE = new URL('../../src/people/people.seed.json', import.meta.url);

/** What `PeopleStore.state` holds once the store has started. */
export interface PeopleState {
  tag: string;
  startedAt: Date;
  tableName: string;
  /** Records present when the `beforeInit` hooks ran: seeds load after them. */
  sizeBeforeSeeds: number;
  /** Records present once the seeds had loaded. */
  seeded: number;
}

@Store<PeopleStore>({
  table: Person,
  seedFile: PEOPLE_SEED_FILE,
  beforeInit: [['announce', [fileURLToPath(PEOPLE_SEED_FILE)]]],
  initialState: ['buildState', ['people-v1']],
})
export class PeopleStore extends MemoryStore<Person> {
  readonly #logger = new Logger(PeopleStore.name);
  #sizeBeforeSeeds = 0;

  announce(seedPath: string): void {
    this.#sizeBeforeSeeds = this.size;
    this.#logger.log(`Loading people from ${seedPath}`);
  }

  buildState(tag: string): PeopleState {
    return {
      tag,
      startedAt: new Date(),
      tableName: this.tableName,
      sizeBeforeSeeds: this.#sizeBeforeSeeds,
      seeded: this.size,
    };
  }

  /** Active administrators. */
  admins(): Person[] {
    return this.select({ admin: true, active: true });
  }
}
