/**
 * Type tests for a store's write and state types. Never run: `tsc -p tsconfig.json`
 * type-checks it, so every line without a directive must compile and every line marked
 * `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import { MemoryStore, type RecordInput } from 'nestjs-memory-store';

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
