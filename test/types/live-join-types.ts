/**
 * Type tests for live queries, joins and aggregates over joins. Never run: `tsc -p
 * tsconfig.json` type-checks it, so every line without a directive must compile and every
 * line marked `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import { MemoryStore, type Joined } from 'nestjs-memory-store';
import type { Observable } from 'rxjs';

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** `is<Want>()(value)` compiles only when the value's type is exactly `Want`. */
const is =
  <Want>() =>
  <Got>(value: Got & (Equal<Got, Want> extends true ? unknown : 'the types differ')) =>
    value;

class Person {
  uuid!: string;
  name = '';
  department = '';
  age = 0;
  profile = { lang: 'en' };
}

class Department {
  code!: string;
  title = '';
  floor = 0;
}

class PeopleStore extends MemoryStore<Person> {}
class DepartmentsStore extends MemoryStore<Department> {}

export function watching(people: PeopleStore): void {
  const live = people.watch({ age: { $gte: 18 } }, { orderBy: { age: 'desc' }, limit: 20 });
  is<Observable<Person[]>>()(live);
  people.watch(undefined, { orderBy: { 'profile.lang': 'asc' } });
  // @ts-expect-error agee is not a field of Person
  people.watch({ agee: 1 });
  // @ts-expect-error orderBy names fields of Person
  people.watch({}, { orderBy: { salary: 'asc' } });
  // @ts-expect-error watch takes orderBy and limit, not offset
  people.watch({}, { offset: 10 });
  // @ts-expect-error nor fields
  people.watch({}, { fields: ['name'] });
}

export function joining(people: PeopleStore, departments: DepartmentsStore): void {
  // by class: a left join gives the related record or undefined
  const left = people.select({}, { join: { dept: { store: DepartmentsStore, on: 'department' } } });
  is<(Department | undefined)[]>()(left.map((r) => r.dept));
  is<string[]>()(left.map((r) => r.name));

  // by instance, inner: always there
  const inner = people.select(
    {},
    { join: { dept: { store: departments, on: 'department', type: 'inner' } }, limit: 5 },
  );
  is<Department[]>()(inner.map((r) => r.dept));

  // one-to-many by the other side's field
  const staffed = departments.select(
    {},
    { join: { staff: { store: PeopleStore, on: 'code', by: 'department', many: true } } },
  );
  is<Person[][]>()(staffed.map((d) => d.staff));
  is<{ d: Department }>()(
    {} as Joined<{ d: { store: typeof departments; on: 'x'; type: 'inner' } }>,
  );

  // with fields, the projection and the join
  const projected = people.select(
    {},
    { fields: ['name'], join: { dept: { store: DepartmentsStore, on: 'department' } } },
  );
  is<(Pick<Person, 'name'> & { dept: Department | undefined })[]>()(projected);

  // an order may name joined fields, checked against the joined store
  people.select(
    {},
    {
      join: { dept: { store: DepartmentsStore, on: 'department' } },
      orderBy: { 'dept.floor': 'asc' },
    },
  );
  people.select(
    {},
    {
      join: { dept: { store: DepartmentsStore, on: 'department' } },
      // @ts-expect-error budget is not a field of Department
      orderBy: { 'dept.budget': 'asc' },
    },
  );

  // @ts-expect-error on names a field of this store
  people.select({}, { join: { dept: { store: DepartmentsStore, on: 'dept' } } });
  // @ts-expect-error by names a field of the other store
  people.select({}, { join: { dept: { store: DepartmentsStore, on: 'department', by: 'name' } } });
  // @ts-expect-error type is 'left' or 'inner'
  people.select(
    {},
    { join: { dept: { store: DepartmentsStore, on: 'department', type: 'outer' } } },
  );

  // @ts-expect-error an alias cannot be a field of Person
  people.select({}, { join: { department: { store: DepartmentsStore, on: 'department' } } });

  people.explain({}, { join: { dept: { store: DepartmentsStore, on: 'department' } } });
}

export function aggregating(people: PeopleStore): void {
  people.aggregate(
    {},
    { groupBy: 'dept.floor', count: true, countDistinct: 'department' },
    { join: { dept: { store: DepartmentsStore, on: 'department' } } },
  );
  people.aggregate({}, { countDistinct: ['department', 'profile.lang'] });
  // @ts-expect-error countDistinct names fields of Person
  people.aggregate({}, { countDistinct: 'salary' });
  people.aggregate(
    {},
    // @ts-expect-error a joined path names fields of the joined store
    { groupBy: 'dept.budget' },
    { join: { dept: { store: DepartmentsStore, on: 'department' } } },
  );
}
