import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  DuplicateKeyError,
  MemoryStore,
  MAX_REPEATED_VALUES,
  MemoryStoreError,
  QueryError,
  StoreValidationError,
} from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';
import { PeopleStore, Tag } from './fixtures/people.table.js';
import { DirectoryService, RootAppModule } from './fixtures/root-app.module.js';

/** True if anything has been planted on Object.prototype under these names. */
function prototypePolluted(): boolean {
  return ['polluted', 'admin', 'isAdmin'].some((name) =>
    Object.prototype.hasOwnProperty.call(Object.prototype, name),
  );
}

describe('validation', () => {
  let app: INestApplication;
  let people: PeopleStore;
  let tags: MemoryStore<InstanceType<typeof Tag>>;

  beforeEach(async () => {
    app = await createApp(RootAppModule.register());
    await app.init();
    people = app.get(PeopleStore);
    tags = app.get(DirectoryService).tags;
  });

  afterEach(async () => {
    await app.close();
    expect(prototypePolluted()).toBe(false);
  });

  const ada = { uuid: 'u-1', email: 'ada@example.com' };

  describe('class-validator decorators on the table', () => {
    it('reject an invalid record with StoreValidationError and its field errors', async () => {
      const error = await rejectionOf(people.write({ uuid: 'u-1', email: 'not-an-email' }));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(error).toBeInstanceOf(MemoryStoreError);
      const { errors, table } = error as StoreValidationError;
      expect(table).toBe('people');
      expect(errors).toHaveLength(1);
      expect(errors[0].property).toBe('email');
      expect(Object.keys(errors[0].constraints ?? {})).toEqual(['isEmail']);
      expect(people.size).toBe(0);
    });

    it("name the record's key: on an update, a write and in a batch", async () => {
      await people.write(ada);
      const update = (await rejectionOf(
        people.update('u-1', { email: 'not-an-email' }),
      )) as StoreValidationError;
      expect(update).toBeInstanceOf(StoreValidationError);
      expect(update.key).toBe('u-1');
      expect(update.message).toMatch(/^Invalid record 'u-1' for table 'people': /);
      const value = (await rejectionOf(
        people.update('u-1', { firstName: (() => 'x') as never }),
      )) as StoreValidationError;
      expect(value.key).toBe('u-1');
      expect(value.message).toMatch(/^Invalid record 'u-1' for table 'people': /);
      const batch = (await rejectionOf(
        people.writeMany([
          { uuid: 'u-2', email: 'b@example.com' },
          { uuid: 'u-3', email: 'x' },
        ]),
      )) as StoreValidationError;
      expect(batch.key).toBe('u-3');
      expect(batch.entry).toBe(1);
      expect(batch.message).toMatch(/^Invalid record 'u-3' at index 1 for table 'people': /);
      expect(people.get('u-1')?.email).toBe('ada@example.com');
      expect(people.keys()).toEqual(['u-1']);
    });

    it('report every invalid field', async () => {
      const error = await rejectionOf(people.write({ uuid: 'u-1', email: 'x', age: -1 }));
      const { errors } = error as StoreValidationError;
      expect(errors.map((e) => e.property).sort()).toEqual(['age', 'email']);
      expect(errors.find((e) => e.property === 'age')?.constraints).toHaveProperty('min');
    });

    it('leave an existing record unchanged when its replacement is invalid', async () => {
      const stored = await people.write(ada);
      expect(await rejectionOf(people.write({ ...ada, age: 1.5 }))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(people.get('u-1')).toBe(stored);
    });

    it('apply to insert(), update() and writeMany() too', async () => {
      const stored = await people.insert(ada);
      expect(await rejectionOf(people.insert({ uuid: 'u-2', email: 'x' }))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(await rejectionOf(people.update('u-1', { email: 'x' }))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(await rejectionOf(people.update('u-1', (p) => ({ age: p.age - 1 })))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(
        await rejectionOf(people.writeMany([{ uuid: 'u-3', email: 'ok@example.com', age: -3 }])),
      ).toBeInstanceOf(StoreValidationError);
      expect(people.keys()).toEqual(['u-1']);
      expect(people.get('u-1')).toBe(stored);
      expect(people.one({ email: 'x' })).toBeUndefined();
    });

    it('refuse a record missing a required field', async () => {
      expect(await rejectionOf(people.write({ uuid: 'u-1' }))).toBeInstanceOf(StoreValidationError);
    });
  });

  describe('keys that could reach a prototype', () => {
    it.each([
      [
        '__proto__ at the top level',
        '{"uuid":"u-1","email":"a@example.com","__proto__":{"polluted":true}}',
      ],
      [
        '__proto__ nested',
        '{"uuid":"u-1","email":"a@example.com","profile":{"__proto__":{"polluted":true}}}',
      ],
      [
        '__proto__ in an array item',
        '{"uuid":"u-1","email":"a@example.com","tags":[{"__proto__":{"polluted":true}}]}',
      ],
      [
        'constructor at the top level',
        '{"uuid":"u-1","email":"a@example.com","constructor":{"prototype":{"polluted":true}}}',
      ],
      [
        'constructor nested',
        '{"uuid":"u-1","email":"a@example.com","profile":{"constructor":{"prototype":{"polluted":true}}}}',
      ],
      [
        'prototype at the top level',
        '{"uuid":"u-1","email":"a@example.com","prototype":{"polluted":true}}',
      ],
      [
        'prototype nested',
        '{"uuid":"u-1","email":"a@example.com","profile":{"theme":"x","prototype":{"polluted":true}}}',
      ],
    ])('are refused: %s', async (_, json) => {
      const input = JSON.parse(json) as typeof ada;
      const error = await rejectionOf(people.write(input));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(people.size).toBe(0);
      expect(prototypePolluted()).toBe(false);
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });

    it('are refused in update patches and writeMany batches', async () => {
      await people.write(ada);
      const patch = JSON.parse('{"__proto__":{"admin":true},"visits":3}') as { visits: number };
      expect(await rejectionOf(people.update('u-1', patch))).toBeInstanceOf(StoreValidationError);
      expect(people.get('u-1')?.visits).toBe(0);
      const batch = [
        { uuid: 'u-2', email: 'b@example.com' },
        JSON.parse('{"uuid":"u-3","email":"c@example.com","__proto__":{"isAdmin":true}}'),
      ];
      const error = await rejectionOf(people.writeMany(batch));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect((error as StoreValidationError).entry).toBe(1);
      expect(people.keys()).toEqual(['u-1']);
      expect((people.get('u-1') as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    });
  });

  describe('values that are not plain data', () => {
    it.each([
      ['a function', () => 'x'],
      ['a Map', new Map([['a', 1]])],
      ['a Set', new Set([1])],
      ['a symbol', Symbol('s')],
    ])('are refused: %s', async (_, value) => {
      const error = await rejectionOf(people.write({ ...ada, firstName: value as never }));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(people.size).toBe(0);
    });

    it.each([
      ['a function', () => 'x'],
      ['a Map', new Map()],
      ['a Set', new Set()],
    ])('are refused nested: %s', async (_, value) => {
      const error = await rejectionOf(
        people.write({ ...ada, profile: { theme: 'x', lang: 'en', extra: value } as never }),
      );
      expect(error).toBeInstanceOf(StoreValidationError);
      expect(await rejectionOf(people.write({ ...ada, tags: [value] as never }))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(people.size).toBe(0);
    });
  });

  describe('values a copy cannot read, or would pay for more than their data', () => {
    /** The refusal of `record`: a StoreValidationError naming `path`, nothing stored. */
    async function refused(record: object, path: string | RegExp, reason: string | RegExp) {
      const before = people.size;
      const error = await rejectionOf(people.write(record));
      expect(error).toBeInstanceOf(StoreValidationError);
      const [field] = (error as StoreValidationError).errors;
      if (typeof path === 'string') expect(field.property).toBe(path);
      else expect(field.property).toMatch(path);
      expect(Object.values(field.constraints ?? {})[0]).toMatch(reason);
      expect(people.size).toBe(before);
    }

    it('a Date with no date in it, at any depth', async () => {
      const fake = Object.create(Date.prototype) as Date;
      const reason = "is not a Date (it has Date's prototype but holds no date)";
      await refused({ ...ada, startDate: fake }, 'startDate', reason);
      await refused(
        { ...ada, profile: { theme: 'x', lang: 'en', at: [fake] } },
        'profile.at[0]',
        reason,
      );
      await people.write(ada);
      const patch = await rejectionOf(people.update('u-1', { startDate: fake }));
      expect(patch).toBeInstanceOf(StoreValidationError);
      expect(people.get('u-1')?.startDate).toBeUndefined();
    });

    it('a Date whose getTime throws is stored by its time, never calling it', async () => {
      class Hostile extends Date {
        override getTime(): number {
          throw new Error('boom');
        }
      }
      const stored = await people.write({ ...ada, startDate: new Hostile(1234) });
      expect(stored.startDate).not.toBeInstanceOf(Hostile);
      expect(stored.startDate?.getTime()).toBe(1234);
      expect(people.count({ startDate: new Hostile(1234) })).toBe(1);
      expect(people.count({ startDate: { $gte: new Hostile(1000) } })).toBe(1);
    });

    it('a getter that throws, with its path, in a record and in an update patch', async () => {
      const boom = {
        ...ada,
        get firstName(): string {
          throw new Error('getter boom');
        },
      };
      await refused(boom, 'firstName', 'could not be read: Error: getter boom');
      const nested = {
        ...ada,
        profile: {
          theme: 'x',
          get lang(): string {
            throw new TypeError('nested boom');
          },
        },
      };
      await refused(nested, 'profile.lang', 'could not be read: TypeError: nested boom');
      const items = [1];
      Object.defineProperty(items, 0, {
        get() {
          throw new Error('item boom');
        },
      });
      await refused({ ...ada, tags: items }, 'tags[0]', 'could not be read: Error: item boom');
      await people.write(ada);
      const patch = await rejectionOf(people.update('u-1', boom));
      expect(patch).toBeInstanceOf(StoreValidationError);
      expect(people.get('u-1')?.firstName).toBeUndefined();
    });

    it('a sparse array, at its first hole, however long it is', async () => {
      const sparse: string[] = [];
      sparse.length = 2 ** 24;
      await refused(
        { ...ada, tags: sparse },
        'tags',
        /^tags has a hole at index 0 \(a sparse array\)/,
      );
      // eslint-disable-next-line no-sparse-arrays
      await refused({ ...ada, tags: ['a', , 'c'] }, 'tags', /has a hole at index 1/);
    });

    it('a graph that reuses its sub-objects level after level; shared values copied per place', async () => {
      let graph: object = { leaf: 1 };
      for (let i = 0; i < 24; i++) graph = { a: graph, b: graph }; // 2^24 paths, 25 objects
      const error = await rejectionOf(people.write({ ...ada, profile: graph as never }));
      expect(error).toBeInstanceOf(StoreValidationError);
      const [field] = (error as StoreValidationError).errors;
      expect(field.property).toMatch(/^profile(\.a)*\.b/);
      expect(Object.values(field.constraints ?? {})[0]).toMatch(
        `holds objects met earlier in it (shared sub-objects) so often that copying each place would copy over ${MAX_REPEATED_VALUES} values again`,
      );
      expect(people.size).toBe(0);
      // a value used in a few places is copied for each: a stored record is a tree
      const shared = ['x'];
      const at = new Date(5);
      const profile = { theme: 'x', lang: 'en', also: shared, at };
      const stored = await people.write({ ...ada, tags: shared, startDate: at, profile });
      expect(stored.profile).toEqual(profile);
      expect(stored.tags).not.toBe((stored.profile as typeof profile).also);
      // a cycle stays refused, at the depth limit
      const loop: Record<string, unknown> = { theme: 'x' };
      loop.self = loop;
      await refused(
        { ...ada, uuid: 'u-2', profile: loop },
        /^profile(\.self)+$/,
        /nests deeper than 64 levels \(a cycle\?\)/,
      );
    });

    it('a fake Date, a hole or a shared object in a query operand is a QueryError', async () => {
      await people.write(ada);
      let graph: object = { leaf: 1 };
      for (let i = 0; i < 24; i++) graph = { a: graph, b: graph };
      const sparse: string[] = [];
      sparse.length = 2 ** 24;
      for (const query of [
        { startDate: Object.create(Date.prototype) as Date },
        { startDate: { $lt: Object.create(Date.prototype) as Date } },
        { profile: graph },
        { tags: sparse },
        { tags: { $in: [sparse] } },
      ]) {
        expect(() => people.select(query as never)).toThrow(QueryError);
      }
    });
  });

  describe('the primary key', () => {
    it.each([
      ['missing', {}],
      ['undefined', { id: undefined }],
      ['null', { id: null }],
      ['NaN', { id: NaN }],
      ['Infinity', { id: Infinity }],
      ['a boolean', { id: true }],
      ['an object', { id: { a: 1 } }],
      ['an array', { id: ['a'] }],
      ['a Date', { id: new Date() }],
    ])('is refused when %s', async (_, input) => {
      const error = await rejectionOf(tags.write(input as never));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect((error as StoreValidationError).errors[0].property).toBe('id');
      expect(tags.size).toBe(0);
    });

    it('may be a string or a finite number', async () => {
      await tags.write({ id: 'a' });
      await tags.write({ id: 0 });
      await tags.write({ id: -2.5 });
      expect(tags.size).toBe(3);
      expect(tags.get(0)).toBeDefined();
      expect(tags.get(-2.5)).toBeDefined();
    });
  });

  describe('unique indexes', () => {
    beforeEach(async () => {
      await people.write(ada);
    });

    it('write() of a second record with a taken value rejects with DuplicateKeyError', async () => {
      const error = await rejectionOf(people.write({ uuid: 'u-2', email: ada.email }));
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ table: 'people', field: 'email', value: ada.email });
      expect(people.keys()).toEqual(['u-1']);
      expect(people.select({ email: ada.email }).map((p) => p.uuid)).toEqual(['u-1']);
    });

    it('insert() of a taken value rejects and changes nothing', async () => {
      expect(await rejectionOf(people.insert({ uuid: 'u-2', email: ada.email }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      expect(people.exists('u-2')).toBe(false);
    });

    it('update() to a taken value rejects and keeps the old value indexed', async () => {
      await people.write({ uuid: 'u-2', email: 'b@example.com' });
      const error = await rejectionOf(people.update('u-2', { email: ada.email }));
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(people.get('u-2')?.email).toBe('b@example.com');
      expect(people.one({ email: 'b@example.com' })?.uuid).toBe('u-2');
      expect(people.one({ email: ada.email })?.uuid).toBe('u-1');
      expect(
        await rejectionOf(people.write({ uuid: 'u-3', email: 'b@example.com' })),
      ).toBeInstanceOf(DuplicateKeyError);
    });

    it('writeMany() with a taken value rejects and writes none of the batch', async () => {
      const error = await rejectionOf(
        people.writeMany([
          { uuid: 'u-2', email: 'b@example.com' },
          { uuid: 'u-3', email: ada.email },
        ]),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(people.keys()).toEqual(['u-1']);
      expect(people.one({ email: 'b@example.com' })).toBeUndefined();
    });

    it('leaves the index able to take the value legitimately after a refused write', async () => {
      await rejectionOf(people.write({ uuid: 'u-2', email: ada.email }));
      await rejectionOf(
        people.writeMany([
          { uuid: 'u-3', email: 'c@example.com' },
          { uuid: 'u-4', email: 'c@example.com' },
        ]),
      );
      // the batch's refused value was not left claimed
      await people.write({ uuid: 'u-3', email: 'c@example.com' });
      // the original owner can be replaced with its own value, then give it up
      await people.write({ uuid: 'u-1', email: ada.email, firstName: 'Ada' });
      await people.update('u-1', { email: 'ada@new.example.com' });
      const taken = await people.write({ uuid: 'u-2', email: ada.email });
      expect(people.one({ email: ada.email })).toBe(taken);
      expect(people.one({ email: 'c@example.com' })?.uuid).toBe('u-3');
    });
  });
});
