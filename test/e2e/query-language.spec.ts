import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  DuplicateKeyError,
  Index,
  match,
  type MatchQuery,
  MAX_REGEX_LENGTH,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  QueryError,
  Store,
  Table,
  type Query,
} from 'nestjs-memory-store';

// ---- the fixture: ~200 generated people, and an ordered_set table ---------------------------

@Table({ name: 'ql_people', key: 'uuid', indexes: ['department'] })
class Person {
  uuid!: string;
  @Index({ unique: true }) email!: string;
  firstName?: string;
  department = 'engineering';
  active = true;
  admin = false;
  @Index() age = 0;
  visits = 0;
  score?: number;
  startDate?: Date;
  profile = { theme: 'dark', lang: 'en' };

  displayName(): string {
    return this.firstName ?? this.email;
  }
}

@Store({ table: Person })
class PeopleStore extends MemoryStore<Person> {}

@Table({ name: 'ql_ledger', type: 'ordered_set' })
class Entry {
  id!: number;
  label = '';
}

@Store({ table: Entry })
class LedgerStore extends MemoryStore<Entry> {}

const SIZE = 200;
const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);
const DEPARTMENTS = ['engineering', 'sales', 'marketing', 'support'];
const NAMES = ['Ada', 'Bob', 'Cleo', 'Dan', 'Eve', 'Finn'];
const LANGS = ['en', 'fr', 'de'];

/** Person number `i`: every field derived from `i`, so expectations can be recomputed. */
function person(i: number) {
  const department = i % 50 === 0 ? 'legal' : DEPARTMENTS[i % 4];
  return {
    uuid: `p-${String(i).padStart(3, '0')}`,
    email: `person${i}@example.com`,
    firstName: i % 5 === 4 ? undefined : NAMES[i % 6],
    department,
    active: i % 3 !== 0,
    admin: i % 10 === 3,
    age: 20 + ((i * 7) % 40), // 40 ages, 5 people each
    visits: (i * 13) % 17,
    score: department === 'legal' ? undefined : (i * 31) % 101,
    startDate: i % 7 === 0 ? undefined : new Date(START + i * DAY),
    profile: { theme: i % 5 === 1 ? 'light' : 'dark', lang: LANGS[i % 3] },
  };
}

/** Written in a shuffled order, so insertion order is not key order. */
const PEOPLE = Array.from({ length: SIZE }, (_, k) => person((k * 73) % SIZE));

// ---- helpers written independently of the library -----------------------------------------

const uuidsOf = (records: readonly { uuid: string }[]) => records.map((p) => p.uuid).sort();

const time = (d: Date | undefined) => d?.getTime();

/** Ascending order of numbers, strings and dates (by time). */
function ascending(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : (a as number | string);
  const y = b instanceof Date ? b.getTime() : (b as number | string);
  return x < y ? -1 : x > y ? 1 : 0;
}

function queryError(fn: () => unknown): QueryError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(QueryError);
  expect(error).toBeInstanceOf(MemoryStoreError);
  return error as QueryError;
}

const PREFIX = "Invalid query on table 'ql_people': ";

/** A query the types rightly refuse, passed anyway to check the runtime refuses it too. */
const malformed = (query: unknown) => query as Query<Person>;

describe('the query language, end to end', () => {
  let app: TestingModule;
  let people: PeopleStore;
  let ledger: LedgerStore;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore, LedgerStore] })],
    }).compile();
    await app.init();
    people = app.get(PeopleStore);
    ledger = app.get(LedgerStore);
    await people.writeMany(PEOPLE);
  });

  afterEach(async () => {
    await app.close();
  });

  /**
   * Checks `select`, `count` and `one` of a query against a hand-written predicate over
   * `all()`. The predicate must pick some records but not all, so the check can fail.
   */
  function expectMatches(query: Query<Person>, predicate: (p: Person) => boolean): void {
    const expected = uuidsOf(people.all().filter(predicate));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(SIZE);
    expect(uuidsOf(people.select(query))).toEqual(expected);
    expect(people.count(query)).toBe(expected.length);
    const first = people.one(query);
    expect(first && predicate(first)).toBe(true);
  }

  it('starts with the generated records', () => {
    expect(people.size).toBe(SIZE);
    expect(people.get('p-043')).toBeInstanceOf(Person);
    expect(people.get('p-043')?.startDate).toEqual(new Date(START + 43 * DAY));
    expect(people.get('p-042')?.startDate).toBeUndefined();
  });

  describe('attribute maps', () => {
    it('requires every field to equal', () => {
      expectMatches(
        { department: 'sales', admin: false },
        (p) => p.department === 'sales' && !p.admin,
      );
      expectMatches({ active: false, age: 33 }, (p) => !p.active && p.age === 33);
      expectMatches({ uuid: 'p-007' }, (p) => p.uuid === 'p-007');
      expect(people.select({ uuid: 'p-007', active: false })).toEqual([]);
    });

    it('matches null against missing values', () => {
      expectMatches({ startDate: null }, (p) => p.startDate === undefined);
      expectMatches(
        { firstName: null, department: 'sales' },
        (p) => !p.firstName && p.department === 'sales',
      );
    });

    it('compares nested objects by content', () => {
      expectMatches(
        { profile: { theme: 'light', lang: 'fr' } },
        (p) => p.profile.theme === 'light' && p.profile.lang === 'fr',
      );
    });

    it('compares dates by time, not identity', () => {
      const at = new Date(START + 8 * DAY);
      expectMatches(
        { startDate: new Date(at.getTime()) },
        (p) => time(p.startDate) === at.getTime(),
      );
      expect(people.select({ startDate: at }).map((p) => p.uuid)).toEqual(['p-008']);
    });
  });

  describe('field operators', () => {
    it('$eq and $ne', () => {
      expectMatches({ department: { $eq: 'support' } }, (p) => p.department === 'support');
      expectMatches({ department: { $ne: 'support' } }, (p) => p.department !== 'support');
      expectMatches({ firstName: { $ne: 'Ada' } }, (p) => p.firstName !== 'Ada');
      expectMatches({ firstName: { $ne: null } }, (p) => p.firstName !== undefined);
    });

    it('$gt, $gte, $lt, $lte on indexed and unindexed numbers', () => {
      expectMatches({ age: { $gt: 50 } }, (p) => p.age > 50);
      expectMatches({ age: { $gte: 50 } }, (p) => p.age >= 50);
      expectMatches({ age: { $lt: 25 } }, (p) => p.age < 25);
      expectMatches({ age: { $lte: 25 } }, (p) => p.age <= 25);
      expectMatches({ age: { $gt: 30, $lte: 40 } }, (p) => p.age > 30 && p.age <= 40);
      expectMatches({ visits: { $gte: 4, $lt: 9 } }, (p) => p.visits >= 4 && p.visits < 9);
      expectMatches({ score: { $lt: 10 } }, (p) => p.score !== undefined && p.score < 10);
    });

    it('range operators on strings and on dates (by time)', () => {
      expectMatches(
        { email: { $gte: 'person1', $lt: 'person2' } },
        (p) => p.email >= 'person1' && p.email < 'person2',
      );
      const from = new Date(START + 50 * DAY);
      const to = new Date(START + 80 * DAY);
      expectMatches(
        { startDate: { $gt: from, $lte: to } },
        (p) => p.startDate !== undefined && p.startDate > from && p.startDate <= to,
      );
      expectMatches(
        { startDate: { $gte: new Date(from.getTime()) } },
        (p) => p.startDate !== undefined && p.startDate.getTime() >= from.getTime(),
      );
    });

    it('$in and $nin, with null standing for missing', () => {
      expectMatches(
        { department: { $in: ['sales', 'legal'] } },
        (p) => p.department === 'sales' || p.department === 'legal',
      );
      expectMatches({ age: { $in: [21, 22, 99] } }, (p) => p.age === 21 || p.age === 22);
      expectMatches(
        { department: { $nin: ['sales', 'engineering'] } },
        (p) => p.department !== 'sales' && p.department !== 'engineering',
      );
      expectMatches(
        { firstName: { $in: [null, 'Ada'] } },
        (p) => p.firstName === undefined || p.firstName === 'Ada',
      );
      expectMatches(
        { firstName: { $nin: ['Ada', 'Bob'] } },
        (p) => !['Ada', 'Bob'].includes(p.firstName!),
      );
      const dates = [new Date(START + 3 * DAY), new Date(START + 4 * DAY)];
      expectMatches({ startDate: { $in: dates } }, (p) =>
        [3, 4].some((i) => time(p.startDate) === START + i * DAY),
      );
      expect(people.select({ department: { $in: [] } })).toEqual([]);
    });

    it('$exists', () => {
      expectMatches({ startDate: { $exists: true } }, (p) => p.startDate !== undefined);
      expectMatches({ startDate: { $exists: false } }, (p) => p.startDate === undefined);
      expectMatches({ score: { $exists: false } }, (p) => p.score === undefined);
    });

    it('$regex with a string, $options, or a RegExp', () => {
      expectMatches({ email: { $regex: '^person1[0-9]@' } }, (p) => /^person1[0-9]@/.test(p.email));
      expectMatches({ firstName: { $regex: /^[AE]/ } }, (p) => /^[AE]/.test(p.firstName ?? ''));
      expect(people.select({ firstName: { $regex: '^c' } })).toEqual([]);
      expectMatches({ firstName: { $regex: '^c', $options: 'i' } }, (p) => p.firstName === 'Cleo');
      expectMatches({ firstName: { $regex: /^c/i } }, (p) => p.firstName === 'Cleo');
    });

    it('$not on a field: operators or a RegExp', () => {
      expectMatches({ age: { $not: { $gt: 30 } } }, (p) => !(p.age > 30));
      expectMatches({ firstName: { $not: /^[AB]/ } }, (p) => !/^[AB]/.test(p.firstName ?? ''));
      expectMatches(
        { department: { $not: { $in: ['sales', 'support'] } } },
        (p) => p.department !== 'sales' && p.department !== 'support',
      );
    });
  });

  describe('dotted paths', () => {
    it('reach nested fields with values and operators', () => {
      expectMatches({ 'profile.theme': 'light' }, (p) => p.profile.theme === 'light');
      expectMatches(
        { 'profile.lang': { $in: ['fr', 'de'] }, 'profile.theme': { $ne: 'light' } },
        (p) => p.profile.lang !== 'en' && p.profile.theme !== 'light',
      );
      expectMatches({ 'profile.theme': { $regex: '^li' } }, (p) => p.profile.theme === 'light');
    });
  });

  describe('logical operators', () => {
    it('$and, $or, $nor and $not, nested', () => {
      expectMatches(
        { $and: [{ age: { $gt: 30 } }, { age: { $lt: 40 } }] },
        (p) => p.age > 30 && p.age < 40,
      );
      expectMatches(
        { $or: [{ admin: true }, { 'profile.theme': 'light' }] },
        (p) => p.admin || p.profile.theme === 'light',
      );
      expectMatches(
        { $nor: [{ department: 'sales' }, { admin: true }] },
        (p) => p.department !== 'sales' && !p.admin,
      );
      expectMatches(
        { $not: { department: 'sales', active: true } },
        (p) => !(p.department === 'sales' && p.active),
      );
      expectMatches(
        {
          active: true,
          $or: [
            { $and: [{ department: 'legal' }, { age: { $gte: 20 } }] },
            { $not: { visits: { $lt: 15 } } },
          ],
        },
        (p) => p.active && (p.department === 'legal' || p.visits >= 15),
      );
    });
  });

  describe('match templates', () => {
    const cutoff = new Date(Date.UTC(2024, 3, 1));
    const after = (p: Person) => p.startDate !== undefined && p.startDate > cutoff;

    it('binds `and` tighter than `or`', () => {
      const tight = (p: Person) =>
        p.department === 'sales' || (p.department === 'marketing' && after(p));
      const loose = (p: Person) =>
        (p.department === 'sales' || p.department === 'marketing') && after(p);
      expect(uuidsOf(people.all().filter(tight))).not.toEqual(uuidsOf(people.all().filter(loose)));
      expectMatches(
        match`department == ${'sales'} or department == ${'marketing'} and startDate > ${cutoff}`,
        tight,
      );
    });

    it('groups with parentheses', () => {
      expectMatches(
        match`(department == ${'sales'} or department == ${'marketing'}) and startDate > ${cutoff}`,
        (p) => (p.department === 'sales' || p.department === 'marketing') && after(p),
      );
    });

    it('negates with not, binding tighter than and', () => {
      expectMatches(
        match`not department == ${'sales'} and active == ${true}`,
        (p) => p.department !== 'sales' && p.active,
      );
      expectMatches(
        match`not (department == ${'sales'} or admin == ${true})`,
        (p) => !(p.department === 'sales' || p.admin),
      );
    });

    it('compares with every operator, dates by time, through dotted paths', () => {
      expectMatches(match`age >= ${30} and age <= ${35}`, (p) => p.age >= 30 && p.age <= 35);
      expectMatches(match`age > ${55} or visits < ${1}`, (p) => p.age > 55 || p.visits < 1);
      expectMatches(match`department != ${'engineering'}`, (p) => p.department !== 'engineering');
      expectMatches(
        match`startDate == ${new Date(START + 9 * DAY)}`,
        (p) => time(p.startDate) === START + 9 * DAY,
      );
      expectMatches(
        match`startDate >= ${new Date(cutoff.getTime())} and startDate < ${new Date(START + 120 * DAY)}`,
        (p) =>
          p.startDate !== undefined &&
          p.startDate >= cutoff &&
          time(p.startDate)! < START + 120 * DAY,
      );
      expectMatches(
        match`profile.theme == ${'light'} and profile.lang != ${'en'}`,
        (p) => p.profile.theme === 'light' && p.profile.lang !== 'en',
      );
      expectMatches(match`startDate == ${null}`, (p) => p.startDate === undefined);
    });

    it('binds fresh values each time the same template runs', () => {
      const ofDepartment = (d: string) => people.count(match`department == ${d}`);
      expect(ofDepartment('legal')).toBe(4);
      expect(ofDepartment('sales')).toBe(
        people.all().filter((p) => p.department === 'sales').length,
      );
    });
  });

  describe('condition tuples', () => {
    it('are ANDed, with every operator', () => {
      expectMatches(
        [
          ['age', '>=', 40],
          ['active', '==', true],
        ],
        (p) => p.age >= 40 && p.active,
      );
      expectMatches(
        [
          ['department', 'in', ['sales', 'legal']],
          ['visits', '<', 5],
        ],
        (p) => (p.department === 'sales' || p.department === 'legal') && p.visits < 5,
      );
      expectMatches(
        [
          ['firstName', 'not in', ['Ada', 'Bob']],
          ['startDate', '>', new Date(START + 100 * DAY)],
        ],
        (p) => !['Ada', 'Bob'].includes(p.firstName!) && time(p.startDate)! > START + 100 * DAY,
      );
      expectMatches(
        [
          ['email', '!==', 'person3@example.com'],
          ['age', '<=', 21],
          ['admin', '===', false],
        ],
        (p) => p.email !== 'person3@example.com' && p.age <= 21 && !p.admin,
      );
      expectMatches([['age', '>', 58]], (p) => p.age > 58);
    });
  });

  describe('select() options', () => {
    const byKey = (a: Person, b: Person) => ascending(a.uuid, b.uuid);

    it('orders by several fields, ties broken by the primary key', () => {
      const ordered = people.select(undefined, { orderBy: { department: 'asc', age: 'desc' } });
      const expected = [...people.all()].sort(
        (a, b) => ascending(a.department, b.department) || ascending(b.age, a.age) || byKey(a, b),
      );
      expect(ordered.map((p) => p.uuid)).toEqual(expected.map((p) => p.uuid));
    });

    it('orders descending, ties in primary key order', () => {
      const ordered = people.select({ active: true }, { orderBy: { visits: 'desc' } });
      const visits = ordered.map((p) => p.visits);
      expect(visits).toEqual([...visits].sort((a, b) => b - a));
      expect(uuidsOf(ordered)).toEqual(uuidsOf(people.all().filter((p) => p.active)));
      const ties = new Map<number, string[]>();
      for (const p of ordered) ties.set(p.visits, [...(ties.get(p.visits) ?? []), p.uuid]);
      const directions = new Set<string>();
      for (const keys of ties.values()) {
        if (keys.length < 2) continue;
        if (keys.join() === [...keys].sort().join()) directions.add('asc');
        else if (keys.join() === [...keys].sort().reverse().join()) directions.add('desc');
        else directions.add('none');
      }
      expect(directions.size).toBe(1);
      expect(directions.has('none')).toBe(false);
    });

    it('orders dates by time and nested fields by path', () => {
      const dated = people.select(
        { startDate: { $exists: true } },
        { orderBy: { startDate: 'desc' } },
      );
      const times = dated.map((p) => time(p.startDate)!);
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(dated).toHaveLength(people.all().filter((p) => p.startDate).length);
      const themed = people.select(undefined, {
        orderBy: { 'profile.theme': 'desc', uuid: 'asc' },
      });
      const expected = [...people.all()].sort(
        (a, b) => ascending(b.profile.theme, a.profile.theme) || byKey(a, b),
      );
      expect(themed.map((p) => p.uuid)).toEqual(expected.map((p) => p.uuid));
    });

    it('pages with offset and limit after ordering', () => {
      const sorted = [...people.all()].sort((a, b) => ascending(a.email, b.email));
      const page = people.select(undefined, { orderBy: { email: 'asc' }, offset: 40, limit: 20 });
      expect(page.map((p) => p.uuid)).toEqual(sorted.slice(40, 60).map((p) => p.uuid));
      const tail = people.select(undefined, { orderBy: { email: 'asc' }, offset: 195, limit: 20 });
      expect(tail.map((p) => p.uuid)).toEqual(sorted.slice(195).map((p) => p.uuid));
      expect(people.select({ department: 'legal' }, { limit: 2 })).toHaveLength(2);
      expect(people.select({ department: 'legal' }, { offset: 3 })).toHaveLength(1);
      expect(people.select(undefined, { limit: 0 })).toEqual([]);
    });

    it('walks an index in order with a limit, giving what a full sort gives', () => {
      for (const direction of ['asc', 'desc'] as const) {
        const sorted = people.select(undefined, { orderBy: { age: direction } });
        for (const [offset, limit] of [
          [0, 20],
          [13, 7],
          [190, 20],
        ]) {
          const page = people.select(undefined, { orderBy: { age: direction }, offset, limit });
          expect(page.map((p) => p.uuid)).toEqual(
            sorted.slice(offset, offset + limit).map((p) => p.uuid),
          );
        }
      }
      const asc = people.select(undefined, { orderBy: { age: 'asc' }, limit: 12 });
      const expected = [...people.all()].sort((a, b) => ascending(a.age, b.age) || byKey(a, b));
      expect(asc.map((p) => p.uuid)).toEqual(expected.slice(0, 12).map((p) => p.uuid));
    });

    it('projects the selected fields into frozen plain objects', () => {
      const rows = people.select(
        { department: 'legal' },
        { fields: ['uuid', 'email', 'age'], orderBy: { uuid: 'asc' } },
      );
      expect(rows).toEqual(
        [0, 50, 100, 150].map((i) => ({
          uuid: person(i).uuid,
          email: person(i).email,
          age: person(i).age,
        })),
      );
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual(['age', 'email', 'uuid']);
        expect(Object.isFrozen(row)).toBe(true);
        expect(row).not.toBeInstanceOf(Person);
      }
    });
  });

  describe('one(), count()', () => {
    it('finds one record, or none', () => {
      expect(people.one({ email: 'person17@example.com' })?.uuid).toBe('p-017');
      expect(people.one({ department: 'nobody' })).toBeUndefined();
      expect(people.one({ age: { $gt: 58 } })?.age).toBe(59);
    });

    it('counts matches, or every record', () => {
      expect(people.count()).toBe(SIZE);
      expect(people.count({})).toBe(SIZE);
      expect(people.count({ department: 'legal' })).toBe(4);
      expect(people.count({ active: true })).toBe(people.all().filter((p) => p.active).length);
    });
  });

  describe('writes by query', () => {
    it('deleteMany() deletes the matches and resolves to how many', async () => {
      const doomed = uuidsOf(people.all().filter((p) => p.admin && !p.active));
      expect(doomed.length).toBeGreaterThan(0);
      await expect(people.deleteMany({ admin: true, active: false })).resolves.toBe(doomed.length);
      expect(people.size).toBe(SIZE - doomed.length);
      for (const uuid of doomed) expect(people.exists(uuid)).toBe(false);
      expect(people.count({ admin: true, active: false })).toBe(0);
      await expect(people.deleteMany({ visits: { $gt: 100 } })).resolves.toBe(0);
      expect(people.size).toBe(SIZE - doomed.length);
    });

    it('delete(query) resolves to the deleted records', async () => {
      const expected = uuidsOf(people.all().filter((p) => p.age > 56));
      const deleted = await people.delete({ age: { $gt: 56 } });
      expect(uuidsOf(deleted)).toEqual(expected);
      expect(people.size).toBe(SIZE - expected.length);
      expect(people.select({ age: { $gt: 56 } })).toEqual([]);
      expect(people.count({ age: 56 })).toBe(5);
    });

    it('delete(key) resolves to the record or undefined', async () => {
      const record = people.get('p-011');
      await expect(people.delete('p-011')).resolves.toBe(record);
      await expect(people.delete('p-011')).resolves.toBeUndefined();
      expect(people.size).toBe(SIZE - 1);
    });

    it('withdraw() removes and returns the first match, in one step', async () => {
      const taken = await people.withdraw({ department: 'legal', active: true });
      expect(taken?.department).toBe('legal');
      expect(taken?.active).toBe(true);
      expect(people.exists(taken!.uuid)).toBe(false);
      expect(people.count({ department: 'legal' })).toBe(3);
      expect(people.one({ email: taken!.email })).toBeUndefined();
      await expect(people.withdraw({ department: 'nobody' })).resolves.toBeUndefined();
      expect(people.size).toBe(SIZE - 1);
    });

    it('update(query, patch) changes every match and resolves to the new records', async () => {
      const matched = uuidsOf(people.all().filter((p) => p.department === 'legal'));
      const updated = await people.update({ department: 'legal' }, { active: false, visits: 99 });
      expect(uuidsOf(updated)).toEqual(matched);
      for (const p of updated) expect(p).toBe(people.get(p.uuid));
      expect(uuidsOf(people.select({ visits: 99 }))).toEqual(matched);
      expect(people.count({ department: 'legal', active: true })).toBe(0);
      expect(people.count({ visits: 99 })).toBe(4);
    });

    it('update(query, fn) applies the function to each match', async () => {
      const before = new Map(people.all().map((p) => [p.uuid, p.visits]));
      await people.update({ 'profile.theme': 'light' }, (p) => ({ visits: p.visits + 1 }));
      for (const p of people.all()) {
        const bump = p.profile.theme === 'light' ? 1 : 0;
        expect(p.visits).toBe(before.get(p.uuid)! + bump);
      }
    });

    it('update(query, …) is all or none: one unique clash changes nothing', async () => {
      const snapshot = people.all();
      const error = await people
        .update({ department: 'legal' }, (p) => ({
          email: p.uuid === 'p-100' ? 'person1@example.com' : `moved-${p.email}`,
          visits: 1000,
        }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect((error as DuplicateKeyError).field).toBe('email');
      expect(people.all()).toEqual(snapshot);
      expect(people.count({ visits: 1000 })).toBe(0);
      expect(people.one({ email: 'moved-person0@example.com' })).toBeUndefined();
      expect(people.one({ email: 'person0@example.com' })?.uuid).toBe('p-000');
    });

    it('update(query, …) is all or none: matches clashing among themselves change nothing', async () => {
      const error = await people
        .update({ department: 'legal' }, { email: 'same@example.com' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(people.count({ email: 'same@example.com' })).toBe(0);
      expect(people.get('p-050')?.email).toBe('person50@example.com');
    });
  });

  describe('explain()', () => {
    /** The plan, after checking that the select still returns what a filter over all() does. */
    function plan(
      query: Query<Person> | undefined,
      predicate: (p: Person) => boolean,
      options?: Parameters<PeopleStore['explain']>[1],
    ) {
      const explanation = people.explain(query, options);
      const matches = people.all().filter(predicate).length;
      expect(explanation.returnedRows).toBe(
        Math.max(0, Math.min(matches - (options?.offset ?? 0), options?.limit ?? Infinity)),
      );
      return explanation;
    }

    it("says 'key lookup' for the primary key, alone or in $in", () => {
      const one = plan({ uuid: 'p-010' }, (p) => p.uuid === 'p-010');
      expect(one).toMatchObject({ strategy: 'key lookup', field: 'uuid', examinedRows: 1 });
      const some = plan(
        { uuid: { $in: ['p-001', 'p-002', 'p-999'] }, active: true },
        (p) => ['p-001', 'p-002'].includes(p.uuid) && p.active,
      );
      expect(some).toMatchObject({ strategy: 'key lookup', field: 'uuid' });
      expect(some.examinedRows).toBeLessThanOrEqual(3);
    });

    it("says 'index lookup' for equality and $in on an indexed field", () => {
      const legal = plan({ department: 'legal' }, (p) => p.department === 'legal');
      expect(legal).toMatchObject({
        strategy: 'index lookup',
        field: 'department',
        estimatedRows: 4,
        examinedRows: 4,
      });
      const sales = people.count({ department: 'sales' });
      const two = plan(
        { department: { $in: ['legal', 'sales'] } },
        (p) => p.department === 'legal' || p.department === 'sales',
      );
      expect(two).toMatchObject({ strategy: 'index lookup', field: 'department' });
      expect(two.examinedRows).toBe(4 + sales);
      const unique = plan({ email: 'person5@example.com' }, (p) => p.uuid === 'p-005');
      expect(unique).toMatchObject({ strategy: 'index lookup', field: 'email', examinedRows: 1 });
      const aged = plan({ age: 33 }, (p) => p.age === 33);
      expect(aged).toMatchObject({ strategy: 'index lookup', field: 'age', examinedRows: 5 });
      const viaMatch = plan(match`department == ${'legal'}`, (p) => p.department === 'legal');
      expect(viaMatch).toMatchObject({ strategy: 'index lookup', field: 'department' });
    });

    it('picks the more selective of two indexed equalities', () => {
      const byAge = plan(
        { department: 'sales', age: 27 },
        (p) => p.department === 'sales' && p.age === 27,
      );
      expect(byAge).toMatchObject({ strategy: 'index lookup', field: 'age', estimatedRows: 5 });
      expect(byAge.examinedRows).toBe(5);
      expect(byAge.returnedRows).toBe(5);
      const byDepartment = plan(
        { age: 40, department: 'legal' },
        (p) => p.department === 'legal' && p.age === 40,
      );
      expect(byDepartment.returnedRows).toBe(1);
      expect(byDepartment).toMatchObject({ strategy: 'index lookup', field: 'department' });
      expect(byDepartment.examinedRows).toBe(4);
    });

    it("says 'index range' for $gt/$lt on an indexed field, examining about the range", () => {
      // [query, its matches, the range of ages it covers]
      const cases: [Query<Person>, (p: Person) => boolean, (age: number) => boolean][] = [
        [{ age: { $gt: 55 } }, (p) => p.age > 55, (a) => a > 55],
        [{ age: { $lt: 23 } }, (p) => p.age < 23, (a) => a < 23],
        [
          { age: { $gte: 25, $lt: 28 } },
          (p) => p.age >= 25 && p.age < 28,
          (a) => a >= 25 && a < 28,
        ],
        [[['age', '<=', 21]], (p) => p.age <= 21, (a) => a <= 21],
        [match`age > ${57} and active == ${true}`, (p) => p.age > 57 && p.active, (a) => a > 57],
      ];
      for (const [query, predicate, inRange] of cases) {
        const rangeSize = people.all().filter((p) => inRange(p.age)).length;
        const explanation = plan(query, predicate);
        expect(explanation).toMatchObject({ strategy: 'index range', field: 'age' });
        expect(explanation.estimatedRows).toBeGreaterThanOrEqual(rangeSize);
        expect(explanation.estimatedRows).toBeLessThanOrEqual(rangeSize + 5);
        expect(explanation.examinedRows).toBeGreaterThanOrEqual(rangeSize);
        expect(explanation.examinedRows).toBeLessThanOrEqual(rangeSize + 5);
        expect(explanation.examinedRows).toBeLessThan(SIZE / 4);
      }
      const exact = plan({ age: { $gt: 55 } }, (p) => p.age > 55);
      expect(exact.estimatedRows).toBe(20);
      expect(exact.examinedRows).toBe(20);
    });

    it("says 'index order' for orderBy with a limit on an indexed field and no filter", () => {
      const explanation = plan(undefined, () => true, { orderBy: { age: 'asc' }, limit: 20 });
      expect(explanation).toMatchObject({
        strategy: 'index order',
        field: 'age',
        returnedRows: 20,
      });
      expect(explanation.examinedRows).toBeGreaterThanOrEqual(20);
      expect(explanation.examinedRows).toBeLessThanOrEqual(25);
      const desc = plan(undefined, () => true, { orderBy: { age: 'desc' }, limit: 20, offset: 10 });
      expect(desc).toMatchObject({ strategy: 'index order', field: 'age', returnedRows: 20 });
      expect(desc.examinedRows).toBeLessThanOrEqual(35);
    });

    it("says 'index union' for an $or of indexed equalities", () => {
      const explanation = plan(
        { $or: [{ department: 'legal' }, { age: 30 }] },
        (p) => p.department === 'legal' || p.age === 30,
      );
      expect(explanation.strategy).toBe('index union');
      expect(explanation.estimatedRows).toBeLessThanOrEqual(9);
      expect(explanation.examinedRows).toBeLessThanOrEqual(9);
      const viaMatch = plan(
        match`department == ${'legal'} or email == ${'person3@example.com'}`,
        (p) => p.department === 'legal' || p.uuid === 'p-003',
      );
      expect(viaMatch.strategy).toBe('index union');
      expect(viaMatch.examinedRows).toBe(5);
    });

    it("says 'full scan' for an unindexed field", () => {
      const explanation = plan({ visits: 3 }, (p) => p.visits === 3);
      expect(explanation.strategy).toBe('full scan');
      expect(explanation.field).toBeUndefined();
      expect(explanation.examinedRows).toBe(SIZE);
      const mixed = plan(
        { $or: [{ department: 'legal' }, { visits: 3 }] },
        (p) => p.department === 'legal' || p.visits === 3,
      );
      expect(mixed.strategy).toBe('full scan');
      const nested = plan({ 'profile.theme': 'light' }, (p) => p.profile.theme === 'light');
      expect(nested.strategy).toBe('full scan');
    });
  });

  describe('aggregate()', () => {
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

    it('computes count, sum, avg, min and max over every match without groupBy', () => {
      const sales = people.all().filter((p) => p.department === 'sales');
      const result = people.aggregate(
        { department: 'sales' },
        {
          count: true,
          sum: ['visits', 'age'],
          avg: 'score',
          min: ['startDate', 'age'],
          max: 'email',
        },
      );
      const scores = sales.map((p) => p.score!);
      const dates = sales.flatMap((p) => (p.startDate ? [p.startDate] : [])).sort(ascending);
      expect(result).toEqual({
        count: sales.length,
        sum: { visits: sum(sales.map((p) => p.visits)), age: sum(sales.map((p) => p.age)) },
        avg: { score: sum(scores) / scores.length },
        min: { startDate: dates[0], age: Math.min(...sales.map((p) => p.age)) },
        max: {
          email: sales
            .map((p) => p.email)
            .sort(ascending)
            .at(-1),
        },
      });
    });

    it('gives one result per group, avg null for a group with no numbers', () => {
      const results = people.aggregate(
        { active: true },
        { groupBy: 'department', count: true, sum: 'visits', avg: 'score', min: 'age', max: 'age' },
      );
      const active = people.all().filter((p) => p.active);
      const expected = [...new Set(active.map((p) => p.department))].map((department) => {
        const group = active.filter((p) => p.department === department);
        const scores = group.flatMap((p) => (p.score === undefined ? [] : [p.score]));
        return {
          group: { department },
          count: group.length,
          sum: { visits: sum(group.map((p) => p.visits)) },
          avg: { score: scores.length ? sum(scores) / scores.length : null },
          min: { age: Math.min(...group.map((p) => p.age)) },
          max: { age: Math.max(...group.map((p) => p.age)) },
        };
      });
      const byGroup = (a: { group?: object }, b: { group?: object }) =>
        ascending(JSON.stringify(a.group), JSON.stringify(b.group));
      expect(results).toHaveLength(5);
      expect([...results].sort(byGroup)).toEqual(expected.sort(byGroup));
      expect(results.find((r) => r.group?.department === 'legal')).toMatchObject({
        count: 2,
        avg: { score: null },
      });
    });

    it('groups by several fields, nested ones included', () => {
      const results = people.aggregate(undefined, {
        groupBy: ['department', 'profile.theme'],
        count: true,
      });
      const counts = new Map<string, number>();
      for (const p of people.all()) {
        const k = `${p.department}/${p.profile.theme}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      expect(results).toHaveLength(counts.size);
      for (const r of results) {
        const g = r.group as { department: string; 'profile.theme': string };
        expect(r.count).toBe(counts.get(`${g.department}/${g['profile.theme']}`));
      }
      expect(sum(results.map((r) => r.count!))).toBe(SIZE);
    });

    it('over no matches: one empty result without groupBy, no groups with it', () => {
      expect(
        people.aggregate({ department: 'nobody' }, { count: true, sum: 'visits', avg: 'age' }),
      ).toEqual({ count: 0, sum: { visits: 0 }, avg: { age: null } });
      expect(people.aggregate({ department: 'nobody' }, { groupBy: 'age', count: true })).toEqual(
        [],
      );
    });
  });

  describe('an ordered_set table', () => {
    it('returns all() and keys() in key order, whatever the write order', async () => {
      await ledger.writeMany([5, 1, 42, 3, 10, 2].map((id) => ({ id, label: `#${id}` })));
      expect(ledger.keys()).toEqual([1, 2, 3, 5, 10, 42]);
      expect(ledger.all().map((e) => e.id)).toEqual([1, 2, 3, 5, 10, 42]);
      await ledger.write({ id: 7 });
      await ledger.delete(42);
      await ledger.write({ id: 0 });
      expect(ledger.keys()).toEqual([0, 1, 2, 3, 5, 7, 10]);
      expect(ledger.all().map((e) => e.id)).toEqual([0, 1, 2, 3, 5, 7, 10]);
      expect(ledger.select().map((e) => e.id)).toEqual([0, 1, 2, 3, 5, 7, 10]);
    });

    it('serves key ranges in key order', async () => {
      await ledger.writeMany([50, 4, 17, 8, 30, 1].map((id) => ({ id })));
      expect(ledger.select({ id: { $gte: 4, $lt: 30 } }).map((e) => e.id)).toEqual([4, 8, 17]);
      expect(ledger.explain({ id: { $gt: 10 } })).toMatchObject({
        strategy: 'index range',
        field: 'id',
        returnedRows: 3,
        examinedRows: 3,
      });
    });
  });

  describe('malformed queries throw QueryError', () => {
    it('a match syntax error, with its position', () => {
      const unknownOp = queryError(() => people.select(match`department = ${'sales'}`));
      expect(unknownOp.message).toBe(
        `${PREFIX}unknown operator '=' at position 11 in match\`department = \${0}\``,
      );
      expect(unknownOp.position).toBe(11);
      expect(unknownOp.table).toBe('ql_people');

      const dangling = queryError(() => people.select(match`department == ${'sales'} and`));
      expect(dangling.message).toBe(
        `${PREFIX}expected a field name or '(', found the end of the query at position 22 in match\`department == \${0} and\``,
      );
      expect(dangling.position).toBe(22);

      const literal = queryError(() => people.count(match`age > 5`));
      expect(literal.message).toBe(
        `${PREFIX}values go in \${} placeholders, not in the query text at position 6 in match\`age > 5\``,
      );
      expect(literal.position).toBe(6);

      const unclosed = queryError(() => people.count(match`(age > ${5} or admin == ${true}`));
      expect(unclosed.position).toBe(28);
      expect(unclosed.message).toContain("expected ')', found the end of the query at position 28");
    });

    it('match called as a plain function, not as a template tag', () => {
      const asFunction = match as unknown as (...args: unknown[]) => MatchQuery;
      for (const [args, shown] of [
        [['department == x'], 'the string "department == x"'],
        [[null], 'null'],
        [[undefined], 'undefined'],
        [[['department == ', ''], 'sales', 'extra'], 'an array'], // one value too many
        [[[1, 2], 'x'], 'an array'], // not strings
      ] as const) {
        const error = queryError(() => people.select(asFunction(...args)));
        expect(error.message).toBe(
          `Invalid query: match is a template tag (match\`field == \${value}\`), but was called with ${shown}`,
        );
      }
      // a strings array built as the language builds one is fine
      const strings = Object.assign(['department == ', ''], { raw: ['department == ', ''] });
      expect(people.count(asFunction(strings, 'sales'))).toBe(
        people.count({ department: 'sales' }),
      );
    });

    it('an unknown operator', () => {
      const op = queryError(() => people.select(malformed({ age: { $between: [1, 2] } })));
      expect(op.message).toBe(`${PREFIX}unknown operator '$between' on 'age'`);
      expect(op.position).toBeUndefined();
      const top = queryError(() => people.select(malformed({ $where: 'true' })));
      expect(top.message).toBe(`${PREFIX}unknown operator '$where'`);
      const tuple = queryError(() => people.select(malformed([['age', '=>', 3]])));
      expect(tuple.message).toBe(
        `${PREFIX}condition #0: unknown operator '=>' (use == === != !== > >= < <= in nin not in size all elemMatch)`,
      );
    });

    it('a $regex longer than MAX_REGEX_LENGTH', () => {
      const long = 'a'.repeat(MAX_REGEX_LENGTH + 1);
      const error = queryError(() => people.select({ email: { $regex: long } }));
      expect(error.message).toBe(
        `${PREFIX}'email': the $regex pattern is ${MAX_REGEX_LENGTH + 1} characters; the limit is ${MAX_REGEX_LENGTH}`,
      );
      const asRegExp = queryError(() => people.select({ email: { $regex: new RegExp(long) } }));
      expect(asRegExp.message).toBe(error.message);
      expect(people.select({ email: { $regex: 'a'.repeat(MAX_REGEX_LENGTH) } })).toEqual([]);
    });

    it('a $regex RE2 cannot run: backreferences, lookaround', () => {
      const suffix = "; $regex matches in linear time, with RE2's features (see the README)";
      expect(queryError(() => people.select({ email: { $regex: '(a)\\1' } })).message).toBe(
        `${PREFIX}'email': unsupported $regex: backreferences are not supported${suffix}`,
      );
      expect(queryError(() => people.select({ email: { $not: /x(?=y)/ } })).message).toBe(
        `${PREFIX}'email': unsupported $regex: lookahead ((?= or (?!) is not supported${suffix}`,
      );
      // what the former guard refused now runs, in linear time
      expect(people.count({ email: { $regex: '(a+)+$' } })).toBe(0);
      expect(people.count({ email: { $regex: '^(\\w|a)+@' } })).toBe(SIZE);
    });

    it('__proto__, constructor or prototype in a path', () => {
      const own = malformed(JSON.parse('{"__proto__": {"polluted": true}}'));
      expect(queryError(() => people.select(own)).message).toBe(
        `${PREFIX}'__proto__' cannot be used as a field name`,
      );
      expect(queryError(() => people.select(malformed({ 'profile.__proto__.x': 1 }))).message).toBe(
        `${PREFIX}'__proto__' cannot be used as a field name`,
      );
      expect(queryError(() => people.select(malformed({ 'profile.constructor': 1 }))).message).toBe(
        `${PREFIX}'constructor' cannot be used as a field name`,
      );
      expect(queryError(() => people.count(match`__proto__ == ${1}`)).message).toBe(
        `${PREFIX}'__proto__' cannot be used as a field name`,
      );
      expect(queryError(() => people.select(malformed([['prototype', '==', 1]]))).message).toBe(
        `${PREFIX}'prototype' cannot be used as a field name`,
      );
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('undefined values', () => {
      const message = `${PREFIX}the value for 'age' is undefined; use null to match a missing value`;
      expect(queryError(() => people.select({ age: undefined })).message).toBe(message);
      expect(queryError(() => people.select({ age: { $eq: undefined } })).message).toBe(message);
      expect(queryError(() => people.count(match`age == ${undefined}`)).message).toBe(message);
      expect(queryError(() => people.select(malformed([['age', '==', undefined]]))).message).toBe(
        message,
      );
      expect(
        queryError(() => people.select(malformed({ age: { $in: [1, undefined] } }))).message,
      ).toBe(message);
    });

    it('operands of the wrong shape, and things that are not queries', () => {
      expect(
        queryError(() => people.select(malformed({ department: { $in: 'sales' } }))).message,
      ).toBe(`${PREFIX}'department': $in takes an array, got the string "sales"`);
      // MongoDB reads $exists for its truthiness: 'yes' is true
      expect(people.count(malformed({ startDate: { $exists: 'yes' } }))).toBe(
        people.count({ startDate: { $exists: true } }),
      );
      expect(queryError(() => people.select(malformed({ age: { $gt: null } }))).message).toBe(
        `${PREFIX}'age': a range comparison takes a number, string, bigint or valid Date, got null`,
      );
      expect(queryError(() => people.select(malformed({ $or: [] }))).message).toBe(
        `${PREFIX}$or takes a non-empty array of filters, got an array`,
      );
      expect(queryError(() => people.select(malformed('sales'))).message).toContain(
        'a query is an attribute map or filter object',
      );
      expect(() =>
        people.select({ age: { $gt: 30 } }, { orderBy: { age: 'up' } } as never),
      ).toThrow(QueryError);
      expect(people.size).toBe(SIZE);
    });

    it('refuses malformed writes by query without changing anything', async () => {
      await expect(
        people.deleteMany(malformed({ age: { $between: [1, 2] } })),
      ).rejects.toBeInstanceOf(QueryError);
      await expect(people.update({ age: undefined }, { visits: 0 })).rejects.toBeInstanceOf(
        QueryError,
      );
      await expect(people.withdraw(match`age >`)).rejects.toBeInstanceOf(QueryError);
      expect(people.size).toBe(SIZE);
    });
  });
});
