import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createApp, thrownBy } from './fixtures/app.factory.js';
import { PeopleStore, Person } from './fixtures/people.table.js';
import { RootAppModule } from './fixtures/root-app.module.js';

describe('stored records', () => {
  let app: INestApplication;
  let people: PeopleStore;

  beforeEach(async () => {
    app = await createApp(RootAppModule.register());
    await app.init();
    people = app.get(PeopleStore);
  });

  afterEach(async () => {
    await app.close();
  });

  describe('shape', () => {
    it('is a frozen instance of the table class with the class defaults applied', async () => {
      const ada = await people.write({ uuid: 'u-1', email: 'ada@example.com', firstName: 'Ada' });
      expect(ada).toBeInstanceOf(Person);
      expect(Object.isFrozen(ada)).toBe(true);
      expect(ada).toMatchObject({
        uuid: 'u-1',
        email: 'ada@example.com',
        firstName: 'Ada',
        department: 'engineering',
        active: true,
        admin: false,
        age: 0,
        visits: 0,
      });
      expect(ada.displayName()).toBe('Ada');
    });

    it('applies nested defaults, frozen', async () => {
      const ada = await people.write({ uuid: 'u-1', email: 'ada@example.com' });
      expect(ada.profile).toEqual({ theme: 'dark', lang: 'en' });
      expect(Object.isFrozen(ada.profile)).toBe(true);
      expect(ada.tags).toEqual([]);
      expect(Object.isFrozen(ada.tags)).toBe(true);
    });

    it('lets given fields override the defaults', async () => {
      const ada = await people.write({
        uuid: 'u-1',
        email: 'ada@example.com',
        department: 'sales',
        active: false,
        profile: { theme: 'light', lang: 'fr' },
      });
      expect(ada).toMatchObject({
        department: 'sales',
        active: false,
        profile: { theme: 'light', lang: 'fr' },
      });
    });

    it('does not let the defaults of one record leak into another', async () => {
      const a = await people.write({ uuid: 'u-1', email: 'a@example.com' });
      const b = await people.write({ uuid: 'u-2', email: 'b@example.com', tags: ['x'] });
      expect(a.tags).toEqual([]);
      expect(b.tags).toEqual(['x']);
      expect(new Person().tags).toEqual([]);
    });
  });

  describe('immutability', () => {
    it('refuses assignment to a field of a record', async () => {
      const ada = await people.write({ uuid: 'u-1', email: 'ada@example.com' });
      expect(thrownBy(() => ((ada as { admin: boolean }).admin = true))).toBeInstanceOf(TypeError);
      expect(thrownBy(() => delete (ada as { email?: string }).email)).toBeInstanceOf(TypeError);
      expect(people.get('u-1')).toMatchObject({ admin: false, email: 'ada@example.com' });
    });

    it('freezes nested objects and arrays, deeply', async () => {
      const ada = await people.write({
        uuid: 'u-1',
        email: 'ada@example.com',
        profile: { theme: 'light', lang: 'fr' },
        tags: ['a', 'b'],
      });
      expect(Object.isFrozen(ada.profile)).toBe(true);
      expect(Object.isFrozen(ada.tags)).toBe(true);
      expect(thrownBy(() => ((ada.profile as { theme: string }).theme = 'x'))).toBeInstanceOf(
        TypeError,
      );
      expect(thrownBy(() => ada.tags.push('c'))).toBeInstanceOf(TypeError);
      expect(people.get('u-1')?.profile.theme).toBe('light');
      expect(people.get('u-1')?.tags).toEqual(['a', 'b']);
    });

    it('freezes objects nested several levels deep', async () => {
      const ada = await people.write({
        uuid: 'u-1',
        email: 'ada@example.com',
        profile: { theme: 'light', lang: 'fr', extra: { deep: { list: [{ n: 1 }] } } } as never,
      });
      const extra = (ada.profile as unknown as { extra: { deep: { list: { n: number }[] } } })
        .extra;
      expect(Object.isFrozen(extra)).toBe(true);
      expect(Object.isFrozen(extra.deep)).toBe(true);
      expect(Object.isFrozen(extra.deep.list)).toBe(true);
      expect(Object.isFrozen(extra.deep.list[0])).toBe(true);
    });

    it('keeps stored dates from being changed with their setters', async () => {
      const start = new Date('2024-03-01T09:00:00.000Z');
      const ada = await people.write({ uuid: 'u-1', email: 'ada@example.com', startDate: start });
      const stored = ada.startDate!;
      expect(stored).toBeInstanceOf(Date);
      expect(stored.getTime()).toBe(start.getTime());
      for (const mutate of [
        () => stored.setTime(0),
        () => stored.setFullYear(1999),
        () => stored.setUTCHours(0),
        () => stored.setDate(2),
        () => stored.setMilliseconds(5),
      ]) {
        expect(thrownBy(mutate)).toBeInstanceOf(Error);
      }
      expect(people.get('u-1')?.startDate?.toISOString()).toBe('2024-03-01T09:00:00.000Z');
    });
  });

  describe('values', () => {
    it('accepts an instance of the table class as input, copying it', async () => {
      const input = Object.assign(new Person(), { uuid: 'u-1', email: 'ada@example.com' });
      const stored = await people.write(input);
      expect(stored).not.toBe(input);
      expect(stored).toBeInstanceOf(Person);
      expect(stored).toMatchObject({ uuid: 'u-1', email: 'ada@example.com', active: true });
      expect(Object.isFrozen(input)).toBe(false);
      input.visits = 9;
      expect(people.get('u-1')?.visits).toBe(0);
    });

    it('keeps nested dates read-only too', async () => {
      const since = new Date('2020-01-01T00:00:00.000Z');
      const ada = await people.write({
        uuid: 'u-1',
        email: 'ada@example.com',
        profile: { theme: 'dark', lang: 'en', since } as never,
      });
      const stored = (ada.profile as unknown as { since: Date }).since;
      expect(stored).toBeInstanceOf(Date);
      expect(stored).not.toBe(since);
      expect(thrownBy(() => stored.setFullYear(1999))).toBeInstanceOf(Error);
      since.setFullYear(1999);
      expect(stored.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    });

    it('serialise to JSON as plain data', async () => {
      const ada = await people.write({
        uuid: 'u-1',
        email: 'ada@example.com',
        startDate: new Date('2024-03-01T09:00:00.000Z'),
      });
      expect(JSON.parse(JSON.stringify(ada))).toEqual({
        uuid: 'u-1',
        email: 'ada@example.com',
        department: 'engineering',
        active: true,
        admin: false,
        age: 0,
        visits: 0,
        startDate: '2024-03-01T09:00:00.000Z',
        profile: { theme: 'dark', lang: 'en' },
        tags: [],
      });
    });
  });

  describe("the caller's input", () => {
    it('is neither frozen nor captured', async () => {
      const start = new Date('2024-03-01T09:00:00.000Z');
      const input = {
        uuid: 'u-1',
        email: 'ada@example.com',
        profile: { theme: 'light', lang: 'fr' },
        tags: ['a'],
        startDate: start,
      };
      const ada = await people.write(input);
      expect(Object.isFrozen(input)).toBe(false);
      expect(Object.isFrozen(input.profile)).toBe(false);
      expect(Object.isFrozen(input.tags)).toBe(false);
      expect(ada).not.toBe(input);
      expect(ada.profile).not.toBe(input.profile);
      expect(ada.tags).not.toBe(input.tags);

      input.email = 'changed@example.com';
      input.profile.theme = 'changed';
      input.tags.push('changed');
      start.setFullYear(1999);

      const stored = people.get('u-1')!;
      expect(stored.email).toBe('ada@example.com');
      expect(stored.profile.theme).toBe('light');
      expect(stored.tags).toEqual(['a']);
      expect(stored.startDate?.toISOString()).toBe('2024-03-01T09:00:00.000Z');
      expect(people.one({ email: 'ada@example.com' })).toBe(stored);
    });

    it('is not captured by update patches either', async () => {
      await people.write({ uuid: 'u-1', email: 'ada@example.com' });
      const patch = { profile: { theme: 'light', lang: 'fr' } };
      await people.update('u-1', patch);
      patch.profile.theme = 'changed';
      expect(people.get('u-1')?.profile.theme).toBe('light');
      expect(Object.isFrozen(patch.profile)).toBe(false);
    });
  });

  describe('reads', () => {
    it('return the stored record itself, never a copy', async () => {
      const written = await people.write({ uuid: 'u-1', email: 'ada@example.com' });
      expect(people.get('u-1')).toBe(written);
      expect(people.get('u-1')).toBe(people.get('u-1'));
      expect(people.one({ email: 'ada@example.com' })).toBe(written);
      expect(people.select({ department: 'engineering' })[0]).toBe(written);
      expect(people.all()[0]).toBe(written);
    });

    it('leave a record read before an update as it was', async () => {
      const before = await people.write({ uuid: 'u-1', email: 'ada@example.com' });
      const after = await people.update('u-1', { visits: 1 });
      expect(before.visits).toBe(0);
      expect(after.visits).toBe(1);
      expect(people.get('u-1')).toBe(after);
    });

    it('all() returns a frozen array', async () => {
      await people.writeMany([
        { uuid: 'u-1', email: 'a@example.com' },
        { uuid: 'u-2', email: 'b@example.com' },
      ]);
      const all = people.all();
      expect(all).toHaveLength(2);
      expect(Object.isFrozen(all)).toBe(true);
      expect(thrownBy(() => (all as Person[]).push(new Person()))).toBeInstanceOf(TypeError);
      expect(people.size).toBe(2);
    });

    it('all() reflects later writes', async () => {
      await people.write({ uuid: 'u-1', email: 'a@example.com' });
      const first = people.all();
      await people.write({ uuid: 'u-2', email: 'b@example.com' });
      expect(first).toHaveLength(1);
      expect(people.all()).toHaveLength(2);
    });
  });
});
