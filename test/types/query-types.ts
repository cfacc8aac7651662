import { MemoryStore as MemoryStoreClass } from 'nestjs-memory-store';
/**
 * Type tests for the public query types. This file is never run: `tsc -p tsconfig.json`
 * type-checks it, so every line without a directive must compile and every line marked
 * `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import {
  match,
  type AggregateResult,
  type AggregateSpec,
  type ConditionTuple,
  type DataKeys,
  type FieldOperators,
  type Filter,
  type MemoryStore,
  type NestedPaths,
  type NumericKeys,
  type Query,
  type QueryExplanation,
  type SelectOptions,
} from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

class Person {
  uuid!: string;
  email!: string;
  firstName?: string;
  department = 'engineering';
  active = true;
  admin = false;
  age = 0;
  visits = 0;
  startDate?: Date;
  profile = { theme: 'dark', lang: 'en' };

  displayName(): string {
    return this.firstName ?? this.email;
  }
}

declare const people: MemoryStore<Person>;
declare const lastMonth: Date;

// ---- the helper types --------------------------------------------------------------------

export type DataKeysOmitMethods = Expect<
  Equal<
    DataKeys<Person>,
    | 'uuid'
    | 'email'
    | 'firstName'
    | 'department'
    | 'active'
    | 'admin'
    | 'age'
    | 'visits'
    | 'startDate'
    | 'profile'
  >
>;
export type NestedPathsOfPerson = Expect<
  Equal<NestedPaths<Person>, 'profile.theme' | 'profile.lang'>
>;
export type NumericKeysOfPerson = Expect<Equal<NumericKeys<Person>, 'age' | 'visits'>>;

// ---- queries that compile ------------------------------------------------------------------

export function queriesThatCompile(): void {
  // attribute maps
  const sales: Person[] = people.select({ department: 'sales', admin: false });
  const byKey: Person | undefined = people.one({ uuid: 'u-1' });
  people.select({ startDate: lastMonth, firstName: 'Ada' });
  people.select({ startDate: null, firstName: null });
  people.select({ profile: { theme: 'light', lang: 'fr' } });
  people.select({});
  people.select();

  // every operator with the operand type it takes
  people.select({ age: { $eq: 30 }, email: { $ne: 'ada@example.com' } });
  people.select({ age: { $gt: 18, $lt: 65 }, visits: { $gte: 1, $lte: 10 } });
  people.select({ email: { $gt: 'a', $lte: 'm' } });
  people.select({ startDate: { $gt: lastMonth, $lte: new Date() } });
  people.select({ department: { $in: ['sales', 'marketing'] }, age: { $nin: [1, 2, null] } });
  people.select({ startDate: { $exists: true }, firstName: { $exists: false } });
  people.select({ email: { $regex: '^ada@', $options: 'i' } });
  people.select({ email: { $regex: /example\.com$/ } });
  people.select({ email: { $not: /^bob/ }, age: { $not: { $gt: 60 } } });
  people.select({ active: { $eq: true }, admin: { $ne: null } });
  people.select({ startDate: { $eq: null }, firstName: { $in: [null, 'Ada'] } });
  const readonlyList: readonly string[] = ['sales'];
  people.select({ department: { $in: readonlyList } });

  // dotted paths
  people.select({ 'profile.theme': 'dark' });
  people.select({ 'profile.lang': { $in: ['en', 'fr'] }, 'profile.theme': { $regex: '^d' } });

  // logical operators, nested
  people.select({ $and: [{ active: true }, { age: { $gte: 18 } }] });
  people.select({ $or: [{ admin: true }, { 'profile.theme': 'light' }] });
  people.select({ $nor: [{ department: 'sales' }, { visits: 0 }] });
  people.select({ $not: { department: 'sales' } });
  people.select({ $or: [{ $and: [{ admin: true }, { active: false }] }, { $not: { age: 0 } }] });

  // condition tuples, ANDed
  people.select([
    ['age', '>=', 18],
    ['active', '==', true],
  ]);
  people.select([
    ['department', '!=', 'sales'],
    ['startDate', '<', lastMonth],
    ['department', 'in', ['sales', 'marketing']],
    ['email', '===', 'ada@example.com'],
    ['firstName', '!==', null],
    ['visits', 'not in', [0]],
  ]);
  const tuple: ConditionTuple<Person> = ['age', '>', 3];
  people.count([tuple]);

  // match queries
  people.select(
    match`department == ${'sales'} or department == ${'marketing'} and startDate > ${lastMonth}`,
  );
  people.count(match`not (admin == ${true} or profile.theme != ${'dark'})`);

  // the query types by name
  const filter: Filter<Person> = { age: { $gte: 18 } };
  const operators: FieldOperators<number> = { $gt: 1, $lt: 3 };
  const queries: Query<Person>[] = [filter, { age: operators }, match`age > ${3}`, [tuple]];
  for (const q of queries) people.count(q);

  // select options
  const page: Person[] = people.select(
    { age: { $gte: 18 }, department: { $in: ['sales', 'marketing'] } },
    { orderBy: { startDate: 'desc' }, limit: 20, offset: 40 },
  );
  people.select(undefined, { orderBy: { department: 'asc', age: 'desc', 'profile.theme': 'asc' } });
  const options: SelectOptions<Person> = { orderBy: { email: 'asc' }, limit: 5 };
  people.select({}, options);

  // `fields` narrows the result to a Pick of those fields
  const projected = people.select({ active: true }, { fields: ['email', 'age'] });
  type Projected = (typeof projected)[number];
  const narrowed: Expect<Equal<Projected, Pick<Person, 'email' | 'age'>>> = true;
  const emails: string[] = projected.map((p) => p.email);
  // @ts-expect-error: 'department' was not among the selected fields
  const notSelected: unknown = projected[0]?.department;
  const full = people.select({ active: true }, { orderBy: { age: 'asc' } });
  const whole: Expect<Equal<(typeof full)[number], Person>> = true;

  // count, explain
  const n: number = people.count({ active: true });
  const plan: QueryExplanation = people.explain({ department: 'sales' }, { limit: 3 });
  const strategy:
    | 'key lookup'
    | 'index lookup'
    | 'index range'
    | 'index order'
    | 'compound index'
    | 'index union'
    | 'full scan' = plan.strategy;
  const rows: number = plan.estimatedRows + plan.examinedRows + plan.returnedRows;
  const field: string | undefined = plan.field;

  // aggregate: an array with groupBy, a single result without
  const grouped = people.aggregate(
    { active: true },
    { groupBy: 'department', count: true, avg: 'age' },
  );
  const isArray: Expect<Equal<typeof grouped, AggregateResult[]>> = true;
  const byTwo: AggregateResult[] = people.aggregate(undefined, {
    groupBy: ['department', 'profile.theme'],
    sum: ['age', 'visits'],
    min: 'startDate',
    max: ['email'],
  });
  const total = people.aggregate({ admin: false }, { count: true, sum: 'visits', max: 'age' });
  const isSingle: Expect<Equal<typeof total, AggregateResult>> = true;
  const count: number | undefined = total.count;
  const avg: number | null | undefined = grouped[0]?.avg?.age;

  void [sales, byKey, page, emails, narrowed, notSelected, full, whole, n, strategy, rows, field];
  void [isArray, byTwo, isSingle, count, avg];
}

export async function writesThatCompile(): Promise<void> {
  const written: Person = await people.write({ uuid: 'u-1', email: 'ada@example.com' });
  const patched: Person = await people.update('u-1', { admin: true, startDate: new Date() });
  const bumped: Person = await people.update('u-1', (p) => ({ visits: p.visits + 1 }));
  const many: Person[] = await people.update({ department: 'sales' }, { active: false });
  const viaMatch: Person[] = await people.update(match`age < ${18}`, (p) => ({ age: p.age + 1 }));
  const viaTuples: Person[] = await people.update([['visits', '==', 0]], { active: false });
  const deleted: Person | undefined = await people.delete('u-1');
  const deletedRecord: Person | undefined = await people.delete(written);
  const deletedMany: Person[] = await people.delete({ active: false });
  const deletedMatched: Person[] = await people.delete(match`age > ${99}`);
  const removed: number = await people.deleteMany({ admin: false });
  const withdrawn: Person | undefined = await people.withdraw({ email: 'ada@example.com' });

  const exactDelete: Expect<Equal<typeof deleted, Person | undefined>> = true;
  const exactDeleteMany: Expect<Equal<typeof deletedMany, Person[]>> = true;
  const exactUpdateMany: Expect<Equal<typeof many, Person[]>> = true;

  void [patched, bumped, viaMatch, viaTuples, deletedRecord, deletedMatched, removed, withdrawn];
  void [many, deleted, deletedMany, exactDelete, exactDeleteMany, exactUpdateMany];
}

// ---- misuse that must not compile ----------------------------------------------------------

export async function misuseThatFails(): Promise<void> {
  // @ts-expect-error: misspelt field in an attribute map
  people.select({ departmnet: 'sales' });

  // @ts-expect-error: misspelt field in a filter with operators
  people.select({ agee: { $gte: 18 } });

  // @ts-expect-error: misspelt field inside $or
  people.select({ $or: [{ admin: true }, { activ: true }] });

  // @ts-expect-error: misspelt field in orderBy
  people.select({}, { orderBy: { strtDate: 'desc' } });

  // @ts-expect-error: orderBy takes 'asc' or 'desc'
  people.select({}, { orderBy: { age: 'up' } });

  // @ts-expect-error: misspelt field in fields
  people.select({}, { fields: ['emial'] });

  // @ts-expect-error: misspelt field in a condition tuple
  people.select([['agee', '>=', 18]]);

  // @ts-expect-error: $regex works on strings, and age is a number
  people.select({ age: { $regex: '^1' } });

  // @ts-expect-error: $gt on a number field takes a number, not a string
  people.select({ age: { $gt: '18' } });

  // @ts-expect-error: booleans have no order, so $gt does not apply to them
  people.select({ active: { $gt: false } });

  // @ts-expect-error: $in takes an array
  people.select({ department: { $in: 'sales' } });

  // @ts-expect-error: $exists takes a boolean
  people.select({ startDate: { $exists: 'yes' } });

  // @ts-expect-error: age holds numbers, not strings
  people.select({ age: '18' });

  // @ts-expect-error: active holds booleans
  people.count({ active: 'true' });

  // @ts-expect-error: a date field is compared with a Date, not a number
  people.select({ startDate: { $gt: 1_700_000_000_000 } });

  // @ts-expect-error: $in on a number field takes numbers
  people.select({ age: { $in: ['18'] } });

  // @ts-expect-error: misspelt nested path
  people.select({ 'profile.them': 'dark' });

  // @ts-expect-error: profile.theme holds strings
  people.select({ 'profile.theme': 1 });

  // @ts-expect-error: a condition tuple's value must have the field's type
  people.select([['age', '>', 'eighteen']]);

  // @ts-expect-error: booleans have no order, in tuples either
  people.select([['admin', '<', true]]);

  // @ts-expect-error: unknown operator in a filter
  people.select({ age: { $between: [1, 2] } });

  // @ts-expect-error: a misspelt field in an explain
  people.explain({ deparment: 'sales' });

  // @ts-expect-error: writing an unknown field
  await people.write({ uuid: 'u-2', email: 'bob@example.com', nickname: 'bob' });

  // @ts-expect-error: updating a field with a value of the wrong type
  await people.update('u-1', { age: 'forty' });

  // @ts-expect-error: an update function returning a value of the wrong type
  await people.update('u-1', (p) => ({ visits: String(p.visits) }));

  // @ts-expect-error: updating by query with a wrong field type
  await people.update({ active: true }, { admin: 'yes' });

  // @ts-expect-error: an update by query resolves to an array, not one record
  const one: Person = await people.update({ active: true }, { admin: true });

  // @ts-expect-error: deleting by key resolves to one record, not an array
  const list: Person[] = await people.delete('u-1');

  // @ts-expect-error: sum is for numeric fields, and email is a string
  people.aggregate(undefined, { sum: 'email' });

  // @ts-expect-error: avg is for numeric fields
  people.aggregate(undefined, { groupBy: 'department', avg: 'department' });

  // @ts-expect-error: misspelt groupBy field
  people.aggregate(undefined, { groupBy: 'departmnt', count: true });

  // @ts-expect-error: aggregate without groupBy gives one result, not an array
  const results: AggregateResult[] = people.aggregate(undefined, { count: true });

  void [one, list, results];
}

export type SpecOfPerson = AggregateSpec<
  DataKeys<Person> | NestedPaths<Person>,
  NumericKeys<Person>
>;

export function looserShapes(spec: SpecOfPerson): void {
  // a spec whose groupBy is not known statically may give either shape
  const either: AggregateResult | AggregateResult[] = people.aggregate(undefined, spec);
  // @ts-expect-error: it is not known to be one result
  const single: AggregateResult = people.aggregate(undefined, spec);

  // condition tuples reach nested fields too
  people.select([['profile.theme', '==', 'dark']]);
  // @ts-expect-error: a nested field compared with a value of the wrong type
  people.select([['profile.theme', '==', 3]]);

  // @ts-expect-error: $or needs at least one filter
  people.select({ $or: [] });

  void [either, single];
}

/** A store class with methods of its own is still a `MemoryStore` of its records. */
declare class PeopleStore extends MemoryStoreClass<Person> {
  admins(): Person[];
}
declare const peopleStore: PeopleStore;
export const assignable: MemoryStore<Person> = peopleStore;

// ---- arrays and MongoDB's idioms ---------------------------------------------------------

class Order {
  id!: string;
  customer = '';
  tags: string[] = [];
  scores: number[] = [];
  items: { sku: string; qty: number }[] = [];
  notes?: string;
}

declare const orders: MemoryStore<Order>;

export function arrayQueriesThatCompile(): void {
  // an element, or the whole array
  orders.select({ tags: 'x' });
  orders.select({ tags: ['x', 'y'] });
  orders.select({ tags: { $ne: 'x' } });
  orders.select({ tags: { $in: ['x', /^y/] }, scores: { $gt: 3, $lt: 5 } });
  orders.select({ tags: { $nin: [['x', 'y']] } });
  orders.select({ tags: { $all: ['x', 'y'] }, scores: { $size: 3 } });
  orders.select({ scores: { $elemMatch: { $gte: 80, $lt: 85 } } });
  orders.select({ items: { $elemMatch: { sku: 'p1', qty: { $gt: 1 } } } });
  orders.select({ tags: { $all: [{ $elemMatch: { $regex: /^x/ } }] } });
  // dotted paths through arrays of objects
  orders.select({ 'items.sku': 'p1', 'items.qty': { $gte: 2 } });
  // MongoDB's idioms
  orders.select({ customer: /^ad/i, tags: /^x/ });
  orders.select({ $or: [{ customer: /^a/ }, { notes: { $exists: 0 } }] });
  orders.select({ customer: { $regex: /^a/, $options: 'ix' } });
  // tuples and match
  orders.select([['tags', '==', 'x']]);
  orders.select([['tags', 'all', ['x', 'y']]]);
  orders.select([['scores', 'size', 2]]);
  orders.select([['items', 'elemMatch', { sku: 'p1' }]]);
  orders.select([['items.qty', '>', 1]]);
  orders.select(match`tags == ${'x'}`);
}

export function arrayMisuseThatFails(): void {
  // @ts-expect-error: tags hold strings
  orders.select({ tags: 3 });
  // @ts-expect-error: an element of the wrong type in $in
  orders.select({ tags: { $in: [3] } });
  // @ts-expect-error: $all takes an array of elements
  orders.select({ tags: { $all: 'x' } });
  // @ts-expect-error: $all of the wrong element type
  orders.select({ tags: { $all: [1] } });
  // @ts-expect-error: $size takes a number
  orders.select({ tags: { $size: '2' } });
  // @ts-expect-error: $size is for arrays
  orders.select({ customer: { $size: 2 } });
  // @ts-expect-error: $elemMatch is for arrays
  orders.select({ customer: { $elemMatch: { $gt: 'a' } } });
  // @ts-expect-error: a misspelt field of the elements
  orders.select({ items: { $elemMatch: { skuu: 'p1' } } });
  // @ts-expect-error: an element field of the wrong type
  orders.select({ items: { $elemMatch: { qty: 'many' } } });
  // @ts-expect-error: a misspelt path through an array
  orders.select({ 'items.skuu': 'p1' });
  // @ts-expect-error: a path through an array with a value of the wrong type
  orders.select({ 'items.qty': 'many' });
  // @ts-expect-error: scores hold numbers: no regex
  orders.select({ scores: /^1/ });
  // @ts-expect-error: a range bound of the elements' type only
  orders.select({ scores: { $gt: 'a' } });
  // @ts-expect-error: $exists takes true, false, 1 or 0
  orders.select({ notes: { $exists: 'yes' } });
  // @ts-expect-error: a tuple's element of the wrong type
  orders.select([['tags', '==', 3]]);
  // @ts-expect-error: size is for arrays, in tuples too
  orders.select([['customer', 'size', 2]]);
  // @ts-expect-error: a misspelt path through an array, in tuples too
  orders.select([['items.skuu', '==', 'p1']]);
}
