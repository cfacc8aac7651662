/**
 * Type tests for a store's write and state types. Never run: `tsc -p tsconfig.json`
 * type-checks it, so every line without a directive must compile and every line marked
 * `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import { MemoryStore, type ReadonlyStore, type RecordInput } from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

class Person {
  uuid!: string;
  email!: string;
  firstName?: string;
  age = 0;
  startDate?: Date;
}

class PeopleStore extends MemoryStore<Person, { tag: string; startedAt: Date }> {}
class Untyped extends MemoryStore<Person> {}

export async function writes(people: PeopleStore): Promise<void> {
  // `null` clears an optional field; a required one does not take it.
  await people.update('u1', { firstName: null, startDate: null });
  await people.write({ uuid: 'u2', email: 'b@x', firstName: null });
  // @ts-expect-error email is not optional
  await people.update('u1', { email: null });

  // A misspelt field in a patch is named (the error is on `bogus`, not on the key argument).
  // @ts-expect-error bogus is not a field of Person
  await people.update('u1', { bogus: 1 });
  // @ts-expect-error bogus is not a field of Person
  await people.update({ age: 3 }, { bogus: 1 });
  // @ts-expect-error bogus is not a field of Person
  people.dirtyUpdate('u1', { bogus: 1 });
  // @ts-expect-error a patch function's result is checked too
  await people.update('u1', () => ({ agee: 1 }));
  // @ts-expect-error bogus is not a field of Person
  await people.insert({ uuid: 'u3', email: 'c@x', bogus: 1 });
}

// update by key resolves to one record, by query to an array.
export type UpdateResults = [
  Expect<Equal<Awaited<ReturnType<typeof updateByKey>>, Person>>,
  Expect<Equal<Awaited<ReturnType<typeof updateByQuery>>, Person[]>>,
  Expect<Equal<ReturnType<typeof dirtyByKey>, Person>>,
  Expect<Equal<RecordInput<Person>['firstName'], string | null | undefined>>,
  Expect<Equal<RecordInput<Person>['email'], string | undefined>>,
];
export const updateByKey = (people: PeopleStore) => people.update('u1', { age: 2 });
export const updateByQuery = (people: PeopleStore) => people.update({ age: 2 }, { age: 3 });
export const dirtyByKey = (people: PeopleStore) => people.dirtyUpdate(7, { age: 4 });

export type States = [
  Expect<Equal<PeopleStore['state'], { tag: string; startedAt: Date }>>,
  Expect<Equal<Untyped['state'], unknown>>,
];

export function state(people: PeopleStore): string {
  return people.state.tag;
}

// ---- required fields on insert/write: a store names the fields it fills in ----------------

class Account {
  id!: string;
  email!: string;
  nickname?: string;
  plan = 'free';
  credits = 0;
}

/** `plan` and `credits` have initialisers: the store fills them in. */
class AccountsStore extends MemoryStore<Account, unknown, 'plan' | 'credits'> {}
/** An autoIncrement or keyGen table names its key too. */
class GeneratedAccounts extends MemoryStore<Account, unknown, 'id' | 'plan' | 'credits'> {}

export async function requiredFields(
  accounts: AccountsStore,
  generated: GeneratedAccounts,
  untyped: Untyped,
): Promise<void> {
  await accounts.insert({ id: 'a', email: 'a@x' });
  await accounts.write({ id: 'a', email: 'a@x', nickname: null, plan: 'pro' });
  await accounts.writeMany([{ id: 'b', email: 'b@x' }]);
  accounts.dirtyInsert({ id: 'c', email: 'c@x', credits: 3 });
  // @ts-expect-error email is required: it is neither optional nor filled in by the store
  await accounts.insert({ id: 'a' });
  // @ts-expect-error email is required
  await accounts.write({ id: 'a' });
  // @ts-expect-error email is required
  await accounts.writeMany([{ id: 'b' }]);
  // @ts-expect-error email is required
  accounts.dirtyWrite({ id: 'c' });
  // @ts-expect-error email is required
  accounts.dirtyWriteMany([{ id: 'c' }]);
  // @ts-expect-error a misspelt field is still named
  await accounts.insert({ id: 'a', email: 'a@x', credit: 1 });
  // patches stay partial
  await accounts.update('a', { credits: 5 });
  // the key may be left out where the store makes it
  await generated.insert({ email: 'g@x' });
  // @ts-expect-error email is required
  await generated.insert({});
  // without the third type argument nothing is required (existing code compiles as it did)
  await untyped.insert({ uuid: 'u3' });
  await untyped.write({});
  // @ts-expect-error an object with none of the table's fields is no record
  await untyped.write(new Date());
  // @ts-expect-error an object with none of the table's fields is no record
  await accounts.writeMany([new Map<string, string>()]);
}

// @ts-expect-error the fields a store fills in must be fields of the table
export class WrongDefaults extends MemoryStore<Account, unknown, 'nosuch'> {}

// ---- reads with a fallback ---------------------------------------------------------------

export type Reads = [
  Expect<Equal<ReturnType<typeof orThrow>, Person>>,
  Expect<Equal<ReturnType<typeof withFallback>, Person>>,
  Expect<Equal<ReturnType<typeof withNull>, Person | null>>,
  Expect<Equal<ReturnType<typeof plainGet>, Person | undefined>>,
];
export const orThrow = (people: PeopleStore) => people.getOrThrow('u1');
export const withFallback = (people: PeopleStore, fallback: Person) => people.get('u1', fallback);
export const withNull = (people: PeopleStore) => people.get('u1', null);
export const plainGet = (people: PeopleStore) => people.get('u1');

// ---- a protected store's read-only view ----------------------------------------------------

class PricesStore extends MemoryStore<Account> {
  setPlan(id: string, plan: string) {
    return this.update(id, { plan });
  }
}

export async function readonlyViews(
  prices: ReadonlyStore<PricesStore>,
  accounts: ReadonlyStore<Account>,
): Promise<void> {
  prices.get('a');
  prices.select({ plan: 'pro' });
  await prices.setPlan('a', 'pro'); // the class's own methods stay
  accounts.getOrThrow('a');
  accounts.touch('a'); // a read, as get() is
  accounts.count({ credits: { $gt: 0 } });
  // @ts-expect-error no writes through the view
  await prices.write({ id: 'a', email: 'a@x' });
  // @ts-expect-error no writes through the view
  await prices.update('a', { plan: 'pro' });
  // @ts-expect-error no writes through the view
  accounts.dirtyDelete('a');
  // @ts-expect-error no writes through the view
  await accounts.deleteAll();
}

// `ReturnType` reads the last overload: the plain `get(key)`.
export type GetReturn = Expect<Equal<ReturnType<PeopleStore['get']>, Person | undefined>>;
