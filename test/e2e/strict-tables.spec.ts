import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IsInt, IsString, Min } from 'class-validator';
import {
  Index,
  MemoryStore,
  MemoryStoreModule,
  Store,
  StoreInitializationError,
  StoreValidationError,
  Table,
  type StoreEntry,
} from 'nestjs-memory-store';
import { createApp, failedStartUp, rejectionOf } from './fixtures/app.factory.js';

@Table({ name: 'people', key: 'uuid', strict: true })
class Person {
  @IsString() uuid!: string;
  email!: string;
  firstName?: string;
  age = 0;
  @IsInt() @Min(0) visits = 0;
  active = true;
  joined = new Date(0);
  tags: string[] = [];
  profile = { theme: 'dark' };
  manager: string | null = null;
}

@Store({ table: Person })
class PeopleStore extends MemoryStore<Person> {}

/** No strictness of its own: the module's `strict` decides. */
@Table({ name: 'cities' })
class City {
  id!: string;
  population = 0;
}

@Store({ table: City })
class CitiesStore extends MemoryStore<City> {}

/** Opts out of the module's `strict`. */
@Table({ name: 'notes', strict: false })
class Note {
  id!: string;
  text = '';
}

@Store({ table: Note })
class NotesStore extends MemoryStore<Note> {}

describe('strict tables', () => {
  let app: INestApplication | undefined;

  async function start(stores: StoreEntry[], strict?: boolean) {
    app = await createApp(MemoryStoreModule.forRoot({ stores, strict }));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('@Table({ strict: true })', () => {
    it('refuses a field the class does not declare, naming the field and the class', async () => {
      const people = (await start([PeopleStore])).get(PeopleStore);
      const error = (await rejectionOf(
        people.write({ uuid: 'u1', email: 'a@x', bogus: 1 } as never),
      )) as StoreValidationError;
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(error.errors[0].property).toBe('bogus');
      expect(error.key).toBe('u1');
      expect(error.message).toBe(
        "Invalid record 'u1' for table 'people': 'bogus' is not a field of Person, and the table is strict " +
          '(declare it in the class, or list it in @Table({ fields }))',
      );
      expect(people.size).toBe(0);
      // declared fields pass, with or without initialisers
      await people.write({ uuid: 'u1', email: 'a@x', firstName: 'Ada', manager: 'u0' });
      expect(people.get('u1')?.firstName).toBe('Ada');
    });

    it("checks an undecorated field against its initialiser's type", async () => {
      const people = (await start([PeopleStore])).get(PeopleStore);
      const wrong: [string, unknown, string][] = [
        ['age', 'x', 'a number'],
        ['active', 'yes', 'a boolean'],
        ['joined', '2020-01-01', 'a Date'],
        ['tags', 'a,b', 'an array'],
        ['profile', ['dark'], 'an object'],
        ['age', null, 'a number'],
      ];
      for (const [field, value, kind] of wrong) {
        const error = (await rejectionOf(
          people.write({ uuid: 'u1', email: 'a@x', [field]: value }),
        )) as StoreValidationError;
        expect(error).toBeInstanceOf(StoreValidationError);
        expect(error.errors[0].property).toBe(field);
        expect(error.message).toBe(
          `Invalid record 'u1' for table 'people': ${field} must be ${kind}, as its initialiser in Person is`,
        );
      }
      expect(people.size).toBe(0);
      const ada = await people.write({
        uuid: 'u1',
        email: 'a@x',
        age: 36,
        active: false,
        joined: new Date(1),
        tags: ['x'],
        profile: { theme: 'light' },
      });
      expect(ada.age).toBe(36);
      // an update is checked too, and names the record
      const update = (await rejectionOf(
        people.update('u1', { age: '37' as unknown as number }),
      )) as StoreValidationError;
      expect(update.key).toBe('u1');
      expect(update.errors[0].property).toBe('age');
      expect(people.get('u1')).toBe(ada);
      // a field initialised to null takes any value; a decorated one is class-validator's
      await people.update('u1', { manager: 'u0' });
      const visits = (await rejectionOf(
        people.update('u1', { visits: -1 }),
      )) as StoreValidationError;
      expect(Object.keys(visits.errors[0].constraints ?? {})).toEqual(['min']);
    });
  });

  describe("forRoot({ strict }) is every table's default", () => {
    it('applies to a table without its own option; @Table({ strict: false }) opts out', async () => {
      const booted = await start([CitiesStore, NotesStore], true);
      const cities = booted.get(CitiesStore);
      const notes = booted.get(NotesStore);
      const error = (await rejectionOf(
        cities.write({ id: 'c', population: 1, mayor: 'x' } as never),
      )) as StoreValidationError;
      expect(error.errors[0].property).toBe('mayor');
      expect(error.message).toMatch(/'mayor' is not a field of City/);
      await notes.write({ id: 'n', text: 'free', extra: 1 } as never);
      expect(notes.get('n')).toMatchObject({ extra: 1 });
    });

    it('without it, tables keep what they are given (as before)', async () => {
      const cities = (await start([CitiesStore])).get(CitiesStore);
      await cities.write({ id: 'c', population: 'many', mayor: 'x' } as never);
      expect(cities.get('c')).toMatchObject({ population: 'many', mayor: 'x' });
    });

    it("refuses a 'strict' that is not a boolean", async () => {
      const { error, app: failed } = await failedStartUp(
        MemoryStoreModule.forRoot({ stores: [CitiesStore], strict: 'yes' as never }),
      );
      app = failed;
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toMatch(
        /the module's 'strict' option must be true or false/,
      );
    });
  });

  describe('key and index fields, checked at start-up', () => {
    it('a key the class does not declare fails start-up, naming the class and the field', async () => {
      @Table({ name: 'misspelt-key', key: 'uuidd' })
      class MisspeltKey {
        uuid!: string;
        name = '';
      }
      @Store({ table: MisspeltKey })
      class MisspeltKeyStore extends MemoryStore<MisspeltKey> {}
      const { error, app: failed } = await failedStartUp(
        MemoryStoreModule.forRoot({ stores: [MisspeltKeyStore] }),
      );
      app = failed;
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as StoreInitializationError).store).toBe('MisspeltKeyStore');
      expect((error as Error).message).toBe(
        "Store MisspeltKeyStore (table 'misspelt-key') failed to start: the key field 'uuidd' is not a field of MisspeltKey " +
          '(a misspelling? a field the class does not declare is listed in @Table({ fields }))',
      );
    });

    it('so does an index field the class does not declare', async () => {
      @Table({ name: 'misspelt-index', indexes: ['departmnet'] })
      class MisspeltIndex {
        id!: string;
        department?: string;
      }
      @Store({ table: MisspeltIndex })
      class MisspeltIndexStore extends MemoryStore<MisspeltIndex> {}
      const { error, app: failed } = await failedStartUp(
        MemoryStoreModule.forRoot({ stores: [MisspeltIndexStore] }),
      );
      app = failed;
      expect((error as Error).message).toBe(
        "Store MisspeltIndexStore (table 'misspelt-index') failed to start: the index field 'departmnet' is not a field of MisspeltIndex " +
          '(a misspelling? a field the class does not declare is listed in @Table({ fields }))',
      );
    });

    it('a dotted or compound index is checked by the fields it starts from', async () => {
      @Table({ name: 'nested-index', indexes: ['profile.lang', ['team', 'age']], strict: true })
      class Member {
        id!: string;
        team = '';
        age = 0;
        profile = { lang: 'en' };
      }
      @Store({ table: Member })
      class MembersStore extends MemoryStore<Member> {}
      const members = (await start([MembersStore])).get(MembersStore);
      await members.write({ id: 'm', team: 'a', age: 30, profile: { lang: 'fr' } });
      expect(members.select({ 'profile.lang': 'fr' }).map((m) => m.id)).toEqual(['m']);
      expect(members.explain({ team: 'a', age: { $gte: 20 } }).strategy).toBe('compound index');
      await app!.close();
      app = undefined;

      @Table({ name: 'nested-misspelt', indexes: [['team', 'agee']] })
      class Misspelt {
        id!: string;
        team = '';
        age = 0;
      }
      @Store({ table: Misspelt })
      class MisspeltStore extends MemoryStore<Misspelt> {}
      const { error, app: failed } = await failedStartUp(
        MemoryStoreModule.forRoot({ stores: [MisspeltStore] }),
      );
      app = failed;
      expect((error as Error).message).toContain(
        "the index field 'agee' is not a field of Misspelt",
      );
    });

    // `declare` fields are never emitted: the class reads as one compiled with
    // useDefineForClassFields: false, where `uuid!: string` leaves no trace on an instance.
    @Table({ name: 'legacy', key: 'uuid' })
    class Legacy {
      declare uuid: string;
      name = '';
    }
    @Store({ table: Legacy })
    class LegacyStore extends MemoryStore<Legacy> {}

    it('a class whose undecorated fields cannot be seen starts unless strict', async () => {
      const legacy = (await start([LegacyStore])).get(LegacyStore);
      await legacy.write({ uuid: 'l', name: 'old' });
      expect(legacy.get('l')?.name).toBe('old');
      await app!.close();
      app = undefined;
      const { error, app: failed } = await failedStartUp(
        MemoryStoreModule.forRoot({ stores: [LegacyStore], strict: true }),
      );
      app = failed;
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toBe(
        "Store LegacyStore (table 'legacy') failed to start: the key field 'uuid' is not a field of Legacy " +
          '(the table is strict: give the field an initialiser or a decorator, or list it in @Table({ fields }))',
      );
    });

    it('@Table({ fields }) lists what an instance does not show; a decorated field is declared', async () => {
      @Table({ name: 'listed', key: 'uuid', fields: ['uuid', 'nickname'], strict: true })
      class Listed {
        declare uuid: string;
        declare nickname?: string;
        @Index() declare city?: string;
        @IsString() declare code?: string;
      }
      @Store({ table: Listed })
      class ListedStore extends MemoryStore<Listed> {}
      const listed = (await start([ListedStore])).get(ListedStore);
      await listed.write({ uuid: 'a', nickname: 'n', city: 'Paris', code: 'x' });
      expect(listed.select({ city: 'Paris' })).toHaveLength(1);
      const error = (await rejectionOf(
        listed.write({ uuid: 'b', nick: 'n' } as never),
      )) as StoreValidationError;
      expect(error.errors[0].property).toBe('nick');
    });
  });
});
