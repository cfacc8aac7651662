import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { MemoryStore, StoreChange } from 'nestjs-memory-store';
import {
  DuplicateKeyError,
  MemoryStoreError,
  MemoryStoreService,
  QueryError,
  RecordNotFoundError,
  StoreValidationError,
} from 'nestjs-memory-store';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
import { createApp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import { DirectoryService } from './fixtures/root-app.module.js';
import { PeopleStore, type Person, type Tag } from './fixtures/people.table.js';
import { RootAppModule } from './fixtures/root-app.module.js';

describe('writing', () => {
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

  const ada = { uuid: 'u-1', email: 'ada@example.com', firstName: 'Ada' };
  const grace = { uuid: 'u-2', email: 'grace@example.com', firstName: 'Grace' };

  describe('write()', () => {
    it('inserts a record and resolves to the stored record', async () => {
      const promise = people.write(ada);
      expect(promise).toBeInstanceOf(Promise);
      const stored = await promise;
      expect(people.get('u-1')).toBe(stored);
      expect(people.size).toBe(1);
    });

    it('replaces a record with the same key, fields not given going back to defaults', async () => {
      await people.write({ ...ada, admin: true, department: 'sales' });
      const replaced = await people.write({ uuid: 'u-1', email: 'ada@new.example.com' });
      expect(people.size).toBe(1);
      expect(people.get('u-1')).toBe(replaced);
      expect(replaced).toMatchObject({ email: 'ada@new.example.com', admin: false });
      expect(replaced.firstName).toBeUndefined();
      expect(people.select({ department: 'sales' })).toEqual([]);
      expect(people.one({ email: 'ada@example.com' })).toBeUndefined();
    });

    it('reports a failure as a rejected promise, not a synchronous throw', async () => {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = people.write({ uuid: 'u-1', email: 'nope' }))).not.toThrow();
      expect(await rejectionOf(promise!)).toBeInstanceOf(StoreValidationError);
    });
  });

  describe('insert()', () => {
    it('inserts a new record', async () => {
      const stored = await people.insert(ada);
      expect(people.get('u-1')).toBe(stored);
    });

    it('rejects with DuplicateKeyError when the key exists, leaving the record as it was', async () => {
      const original = await people.insert(ada);
      const error = await rejectionOf(people.insert({ ...grace, uuid: 'u-1' }));
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ table: 'people', field: 'uuid', value: 'u-1' });
      expect(people.get('u-1')).toBe(original);
      expect(people.one({ email: 'grace@example.com' })).toBeUndefined();
      expect(people.size).toBe(1);
    });
  });

  describe('update()', () => {
    beforeEach(async () => {
      await people.writeMany([ada, grace]);
    });

    it('applies a patch, keeping the other fields', async () => {
      const updated = await people.update('u-1', { admin: true, department: 'sales' });
      expect(updated).toMatchObject({ ...ada, admin: true, department: 'sales', active: true });
      expect(people.get('u-1')).toBe(updated);
      expect(people.select({ department: 'sales' })).toEqual([updated]);
      expect(people.select({ department: 'engineering' }).map((p) => p.uuid)).toEqual(['u-2']);
    });

    it('applies a function of the current record', async () => {
      await people.update('u-1', (p) => ({ visits: p.visits + 1 }));
      const updated = await people.update('u-1', (p) => ({ visits: p.visits + 1 }));
      expect(updated.visits).toBe(2);
      expect(people.get('u-1')?.firstName).toBe('Ada');
    });

    it('rejects with RecordNotFoundError for a missing key', async () => {
      const error = await rejectionOf(people.update('u-9', { admin: true }));
      expect(error).toBeInstanceOf(RecordNotFoundError);
      expect(error).toMatchObject({ table: 'people', key: 'u-9' });
      expect(people.exists('u-9')).toBe(false);
    });

    it('refuses to change the primary key', async () => {
      const before = people.get('u-1');
      const error = await rejectionOf(people.update('u-1', { uuid: 'u-3' }));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('uuid');
      expect(people.get('u-1')).toBe(before);
      expect(people.exists('u-3')).toBe(false);
      expect(people.size).toBe(2);
    });

    it('accepts a patch that repeats the same primary key', async () => {
      const updated = await people.update('u-1', { uuid: 'u-1', visits: 5 });
      expect(updated.visits).toBe(5);
    });
  });

  describe('delete()', () => {
    beforeEach(async () => {
      await people.writeMany([ada, grace]);
    });

    it('deletes by key and resolves to the deleted record', async () => {
      const stored = people.get('u-1');
      const deleted = await people.delete('u-1');
      expect(deleted).toBe(stored);
      expect(people.exists('u-1')).toBe(false);
      expect(people.one({ email: 'ada@example.com' })).toBeUndefined();
      expect(people.size).toBe(1);
    });

    it('deletes by record', async () => {
      const stored = people.get('u-2')!;
      expect(await people.delete(stored)).toBe(stored);
      expect(people.keys()).toEqual(['u-1']);
    });

    it('resolves to undefined when there is no such record', async () => {
      expect(await people.delete('u-9')).toBeUndefined();
      expect(people.size).toBe(2);
    });

    it("frees the deleted record's unique values", async () => {
      await people.delete('u-1');
      await people.insert({ uuid: 'u-3', email: 'ada@example.com' });
      expect(people.one({ email: 'ada@example.com' })?.uuid).toBe('u-3');
    });
  });

  describe('deleteAll()', () => {
    it('empties the store and its indexes', async () => {
      await people.writeMany([ada, grace]);
      await people.deleteAll();
      expect(people.size).toBe(0);
      expect(people.all()).toEqual([]);
      expect(people.select({ department: 'engineering' })).toEqual([]);
      await people.insert(ada);
      expect(people.keys()).toEqual(['u-1']);
    });
  });

  describe('"every record" takes deleteAll(), never an empty or missing target', () => {
    const PREFIX = "Invalid query on table 'people': ";
    const deleteHint = 'use deleteAll() to delete every record';
    const updateHint =
      'to change every record, say so with a condition they all meet, such as { uuid: { $exists: true } }';

    it('refuses {}, [] and a missing target in every write by query, changing nothing', async () => {
      await people.writeMany([ada, grace]);
      const before = people.all();
      const cases: [string, () => unknown, string][] = [
        ['delete', () => people.delete({}), deleteHint],
        ['delete', () => people.delete([]), deleteHint],
        ['delete', () => people.delete(undefined as never), deleteHint],
        ['deleteMany', () => people.deleteMany({}), deleteHint],
        ['deleteMany', () => people.deleteMany(null as never), deleteHint],
        ['update', () => people.update({}, { visits: 9 }), updateHint],
        ['update', () => people.update([], () => ({ visits: 9 })), updateHint],
        ['withdraw', () => people.withdraw({}), 'give a query that names the records'],
        ['dirtyDelete', () => people.dirtyDelete({}), deleteHint],
        ['dirtyDeleteMany', () => people.dirtyDeleteMany([]), deleteHint],
        ['dirtyUpdate', () => people.dirtyUpdate({}, { visits: 9 }), updateHint],
        ['dirtyWithdraw', () => people.dirtyWithdraw({}), 'give a query that names the records'],
      ];
      for (const [operation, call, hint] of cases) {
        let error: unknown;
        try {
          await call();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(QueryError);
        expect((error as Error).message).toMatch(
          new RegExp(
            `^${escape(PREFIX)}${operation}\\(\\) got (an empty query \\((\\{\\}|\\[\\])\\), which matches every record|(undefined|null) instead of a key or a query) \\(${escape(hint)}\\)$`,
          ),
        );
      }
      expect(people.all()).toEqual(before);
      // in a transaction too
      const inTransaction = await rejectionOf(
        app.get(MemoryStoreService).transaction(() => people.delete({})),
      );
      expect(inTransaction).toBeInstanceOf(QueryError);
      expect(people.size).toBe(2);
    });

    it('still acts on every record when a query says so, or through deleteAll()', async () => {
      await people.writeMany([ada, grace]);
      const everyone = { uuid: { $exists: true } } as const;
      expect(await people.update(everyone, { visits: 3 })).toHaveLength(2);
      expect(people.count({ visits: 3 })).toBe(2);
      expect(await people.deleteMany(everyone)).toBe(2);
      await people.writeMany([ada, grace]);
      expect(await people.deleteAll()).toBe(2);
    });
  });

  describe('update patches', () => {
    it('reads a patch with $ keys as update operators, never as a field named $inc', async () => {
      await people.write(ada);
      expect(await people.update('u-1', { $inc: { visits: 1 } })).toMatchObject({ visits: 1 });
      expect(await people.update('u-1', () => ({ $inc: { visits: 1 } }))).toMatchObject({
        visits: 2,
      });
      expect(await people.update({ uuid: 'u-1' }, { $inc: { visits: 1 } })).toHaveLength(1);
      expect(people.get('u-1')).toMatchObject({ visits: 3 });
      expect(Object.keys(people.get('u-1')!).some((k) => k.startsWith('$'))).toBe(false);
    });

    it('refuses fields mixed with operators, and malformed operands, changing nothing', async () => {
      await people.write(ada);
      const mixed = await rejectionOf(
        people.update('u-1', { visits: 2, $set: { visits: 3 } } as never),
      );
      expect(mixed).toBeInstanceOf(QueryError);
      expect((mixed as Error).message).toContain("mixes the field 'visits' with update operators");
      expect(thrownBy(() => people.dirtyUpdate('u-1', { $unset: 'x' } as never))).toBeInstanceOf(
        QueryError,
      );
      expect(people.get('u-1')).toMatchObject({ visits: 0 });
    });
  });

  describe('withdraw()', () => {
    it('removes and resolves to the first matching record', async () => {
      await people.writeMany([ada, grace]);
      const stored = people.get('u-2');
      const withdrawn = await people.withdraw({ email: 'grace@example.com' });
      expect(withdrawn).toBe(stored);
      expect(people.exists('u-2')).toBe(false);
      expect(await people.withdraw({ email: 'grace@example.com' })).toBeUndefined();
      expect(people.size).toBe(1);
    });
  });

  describe('writeMany()', () => {
    it('writes every record and resolves to them', async () => {
      const written = await people.writeMany([ada, grace]);
      expect(written).toHaveLength(2);
      expect(people.get('u-1')).toBe(written[0]);
      expect(people.get('u-2')).toBe(written[1]);
    });

    it('writes nothing when one record is invalid, and names its index', async () => {
      await people.write({ uuid: 'u-0', email: 'zero@example.com' });
      const error = await rejectionOf(
        people.writeMany([ada, grace, { uuid: 'u-3', email: 'not-an-email' }]),
      );
      expect(error).toBeInstanceOf(StoreValidationError);
      expect((error as StoreValidationError).entry).toBe(2);
      expect(people.keys()).toEqual(['u-0']);
      expect(people.one({ email: 'ada@example.com' })).toBeUndefined();
    });

    it('writes nothing when two records of the batch share a unique value', async () => {
      const error = await rejectionOf(
        people.writeMany([ada, grace, { uuid: 'u-3', email: 'ada@example.com' }]),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ field: 'email', value: 'ada@example.com' });
      expect(people.size).toBe(0);
      expect(people.select({ department: 'engineering' })).toEqual([]);
    });

    it('writes nothing when a record clashes with a stored one', async () => {
      const stored = await people.write(ada);
      const error = await rejectionOf(
        people.writeMany([grace, { uuid: 'u-3', email: 'ada@example.com' }]),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(people.keys()).toEqual(['u-1']);
      expect(people.one({ email: 'ada@example.com' })).toBe(stored);
    });

    it('names the index of the batch entry whose unique value clashes', async () => {
      await people.write(ada);
      const error = await rejectionOf(
        people.writeMany([grace, { uuid: 'u-3', email: 'ada@example.com' }]),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ entry: 1 });
    });

    it('may swap unique values between records in one batch', async () => {
      await people.writeMany([ada, grace]);
      await people.writeMany([
        { uuid: 'u-1', email: 'grace@example.com' },
        { uuid: 'u-2', email: 'ada@example.com' },
      ]);
      expect(people.one({ email: 'grace@example.com' })?.uuid).toBe('u-1');
      expect(people.one({ email: 'ada@example.com' })?.uuid).toBe('u-2');
    });
  });

  describe('deleteMany()', () => {
    it('deletes every matching record and nothing else', async () => {
      await people.writeMany([
        { ...ada, active: false },
        grace,
        { uuid: 'u-3', email: 'linus@example.com', active: false, department: 'kernel' },
      ]);
      await people.deleteMany({ active: false });
      expect(people.keys()).toEqual(['u-2']);
      expect(people.select({ department: 'kernel' })).toEqual([]);
      await people.deleteMany({ active: false });
      expect(people.keys()).toEqual(['u-2']);
    });
  });

  describe('acknowledged single-record writes', () => {
    const failing: [string, (store: PeopleStore) => Promise<unknown>, unknown][] = [
      ['write', (store) => store.write({ uuid: 'u-1', email: 'nope' }), StoreValidationError],
      ['insert', (store) => store.insert({ ...ada, uuid: 'u-1' }), DuplicateKeyError],
      ['update', (store) => store.update('u-9', { admin: true }), RecordNotFoundError],
      ['delete', (store) => store.delete(undefined as unknown as string), MemoryStoreError],
    ];

    it.each(failing)('%s() reports a failure as a rejected promise', async (_, call, type) => {
      await people.write(ada);
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call(people))).not.toThrow();
      expect(await rejectionOf(promise!)).toBeInstanceOf(type);
      expect(people.size).toBe(1);
    });

    it('each resolve to their result, in call order', async () => {
      const order: string[] = [];
      const track = <R>(name: string, promise: Promise<R>) =>
        promise.then((r) => (order.push(name), r));
      const [written, inserted, updated, deleted] = await Promise.all([
        track('write', people.write(ada)),
        track('insert', people.insert(grace)),
        track('update', people.update('u-1', { visits: 3 })),
        track('delete', people.delete('u-2')),
      ]);
      expect(order).toEqual(['write', 'insert', 'update', 'delete']);
      expect(updated).toBe(people.get('u-1'));
      expect(updated).toMatchObject({ ...ada, visits: 3 });
      expect(written.visits).toBe(0);
      expect(deleted).toBe(inserted);
      expect(people.size).toBe(1);
    });
  });

  describe('dirty* variants', () => {
    it('dirtyWrite() writes synchronously and returns the record', () => {
      const stored = people.dirtyWrite(ada);
      expect(stored).not.toBeInstanceOf(Promise);
      expect(people.get('u-1')).toBe(stored);
    });

    it('dirtyInsert() inserts synchronously and throws DuplicateKeyError synchronously', () => {
      const stored = people.dirtyInsert(ada);
      expect(people.get('u-1')).toBe(stored);
      expect(thrownBy(() => people.dirtyInsert(ada))).toBeInstanceOf(DuplicateKeyError);
    });

    it('dirtyUpdate() patches synchronously, with a patch or a function', () => {
      people.dirtyWrite(ada);
      expect(people.dirtyUpdate('u-1', { admin: true }).admin).toBe(true);
      expect(people.dirtyUpdate('u-1', (p) => ({ visits: p.visits + 2 })).visits).toBe(2);
      expect(people.get('u-1')).toMatchObject({ admin: true, visits: 2 });
      expect(thrownBy(() => people.dirtyUpdate('u-9', { admin: true }))).toBeInstanceOf(
        RecordNotFoundError,
      );
    });

    it('dirtyDelete() deletes synchronously and returns the deleted record', () => {
      const stored = people.dirtyWrite(ada);
      expect(people.dirtyDelete('u-1')).toBe(stored);
      expect(people.exists('u-1')).toBe(false);
    });

    it('dirtyDeleteAll(), dirtyWriteMany(), dirtyDeleteMany() and dirtyWithdraw() act at once', () => {
      const written = people.dirtyWriteMany([ada, grace, { uuid: 'u-3', email: 'l@example.com' }]);
      expect(written).toHaveLength(3);
      expect(people.size).toBe(3);
      people.dirtyDeleteMany({ firstName: 'Ada' });
      expect(people.keys()).toEqual(['u-2', 'u-3']);
      expect(people.dirtyWithdraw({ firstName: 'Grace' })?.uuid).toBe('u-2');
      expect(people.keys()).toEqual(['u-3']);
      people.dirtyDeleteAll();
      expect(people.size).toBe(0);
    });

    it('dirtyWrite() throws validation errors synchronously and changes nothing', () => {
      expect(thrownBy(() => people.dirtyWrite({ uuid: 'u-1', email: 'nope' }))).toBeInstanceOf(
        StoreValidationError,
      );
      expect(people.size).toBe(0);
    });
  });

  describe('values that cannot be stored', () => {
    let tags: MemoryStore<Tag>;
    beforeEach(async () => {
      tags = app.get(DirectoryService).tags;
      await tags.write({ id: 1, label: 'kept' });
    });

    /** The field a StoreValidationError names and its message. */
    const refusal = (error: unknown) => {
      expect(error).toBeInstanceOf(StoreValidationError);
      const [field] = (error as StoreValidationError).errors;
      return `${field.property}: ${Object.values(field.constraints ?? {}).join()}`;
    };

    it('refuses an invalid Date, at the top and nested, and keeps the store as it was', async () => {
      const before = tags.get(1);
      expect(
        refusal(await rejectionOf(tags.write({ id: 1, label: 'x', at: new Date(NaN) } as Tag))),
      ).toBe('at: at is an invalid Date');
      expect(
        refusal(
          thrownBy(() =>
            tags.dirtyWrite({ id: 2, label: 'x', when: { from: new Date('soon') } } as Tag),
          ),
        ),
      ).toBe('when.from: when.from is an invalid Date');
      expect(
        refusal(await rejectionOf(tags.update(1, { at: new Date(NaN) } as Partial<Tag>))),
      ).toBe('at: at is an invalid Date');
      expect(tags.get(1)).toBe(before);
      expect(tags.size).toBe(1);
      expect(tags.select({ label: 'x' })).toEqual([]);
    });

    it('refuses boxed primitives and WeakRefs, whose value a copy would lose', async () => {
      const values: [unknown, string][] = [
        [new Number(3), 'a Number object'],
        [new String('hi'), 'a String object'],
        [new Boolean(false), 'a Boolean object'],
        [Object(3n), 'a BigInt object'],
        [new WeakRef({}), 'a WeakRef'],
      ];
      for (const [value, label] of values) {
        const error = await rejectionOf(tags.write({ id: 2, label: 'x', value } as Tag));
        expect(refusal(error)).toContain(`value must be plain data, not ${label}`);
        const nested = thrownBy(() => tags.dirtyWrite({ id: 2, label: 'x', list: [value] } as Tag));
        expect(refusal(nested)).toContain(`list[0] must be plain data, not ${label}`);
      }
      expect(tags.keys()).toEqual([1]);
    });

    it('refuses a Date, a Map or a promise as a whole record', async () => {
      for (const [record, label] of [
        [new Date(), 'a Date'],
        [new Map([['id', 2]]), 'a Map'],
        [Promise.resolve({ id: 2 }), 'a promise'],
      ] as const) {
        const error = await rejectionOf(tags.write(record as unknown as Tag));
        expect(refusal(error)).toContain(`not ${label}`);
      }
      expect(tags.keys()).toEqual([1]);
    });

    it('refuses an update function that returns a promise, and a Date as a patch, changing nothing', async () => {
      const seen: StoreChange<Person>[] = [];
      const subscription = people.changes().subscribe((c) => seen.push(c));
      await people.write(ada);
      const before = people.get('u-1');
      const asyncPatch = (p: Person) => Promise.resolve({ visits: p.visits + 1 });
      const error = await rejectionOf(people.update('u-1', asyncPatch as never));
      expect(refusal(error)).toContain('not a promise (an update function must return its patch');
      expect(refusal(thrownBy(() => people.dirtyUpdate('u-1', new Date() as never)))).toContain(
        'not a Date',
      );
      expect(
        refusal(await rejectionOf(people.update({ uuid: 'u-1' }, asyncPatch as never))),
      ).toContain('not a promise');
      expect(people.get('u-1')).toBe(before);
      await new Promise((resolve) => setImmediate(resolve));
      subscription.unsubscribe();
      expect(seen.map((c) => c.op)).toEqual(['insert']);
    });

    it('refuses a hole in writeMany as it refuses undefined: the entry is named, nothing written', async () => {
      // eslint-disable-next-line no-sparse-arrays -- the hole is the point
      const withHole = [{ id: 2 }, , { id: 3 }] as Tag[];
      const error = await rejectionOf(tags.writeMany(withHole));
      expect(error).toBeInstanceOf(StoreValidationError);
      expect((error as StoreValidationError).entry).toBe(1);
      expect(() => tags.dirtyWriteMany(withHole)).toThrow(StoreValidationError);
      expect(tags.keys()).toEqual([1]);
    });

    it('refuses a misspelt write option instead of ignoring it', async () => {
      const misspelt = { tll: '15m' } as never;
      const error = await rejectionOf(tags.write({ id: 2 }, misspelt));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain("unknown write option 'tll'");
      expect(() => tags.dirtyUpdate(1, { label: 'y' }, { TTL: 5 } as never)).toThrow(
        "unknown write option 'TTL'",
      );
      expect(tags.keys()).toEqual([1]);
      expect(tags.get(1)?.label).toBe('kept');
    });
  });
});
