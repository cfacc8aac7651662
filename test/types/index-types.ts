/**
 * Type tests for index declarations and `page()`. Never run: `tsc -p tsconfig.json`
 * type-checks it, so every line without a directive must compile and every line marked
 * `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import { Index, MemoryStore, Table, type Page, type PageOptions } from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

// Class-level @Index names fields and dotted paths of the class: a misspelt one fails.
@Index(['department', 'age'], { unique: true, kind: 'ordered' })
@Index('profile.lang', { kind: 'hash' })
@Table({ name: 'people', indexes: ['profile.lang', ['department', 'age']] })
export class Person {
  id!: string;
  @Index({ unique: true }) email!: string;
  department = 'sales';
  age = 0;
  startDate?: Date;
  profile = { lang: 'en', theme: 'dark' };
}

// @ts-expect-error 'departmnt' is not a field of Bad
@Index(['departmnt', 'age'])
@Table({ name: 'bad' })
export class Bad {
  id!: string;
  department = 'sales';
  age = 0;
}

// @ts-expect-error 'profile.language' is not a path of BadPath
@Index('profile.language')
@Table({ name: 'bad-path' })
export class BadPath {
  id!: string;
  profile = { lang: 'en' };
}

// @ts-expect-error an index kind is 'hash' or 'ordered'
@Index(['department', 'age'], { kind: 'btree' })
@Table({ name: 'bad-kind' })
export class BadKind {
  id!: string;
  department = 'sales';
  age = 0;
}

// @ts-expect-error a compound index names at least one field
@Index([])
@Table({ name: 'empty' })
export class Empty {
  id!: string;
}

class PeopleStore extends MemoryStore<Person> {}

export function pages(people: PeopleStore): void {
  const first = people.page({ department: 'sales' }, { orderBy: { age: 'asc' }, limit: 20 });
  const typed: Expect<Equal<typeof first, Page<Person>>> = true;
  const items: Person[] = first.items;
  const next: string | undefined = first.next;
  people.page(undefined, { limit: 20, after: next });
  people.page({ 'profile.lang': 'fr' }, { orderBy: { 'profile.lang': 'desc' }, limit: 5 });

  // @ts-expect-error 'agee' is not a field of Person
  people.page({}, { orderBy: { agee: 'asc' }, limit: 20 });
  // @ts-expect-error a page needs a limit
  people.page({}, { orderBy: { age: 'asc' } });
  // @ts-expect-error the cursor is the string `next` gave
  people.page({}, { limit: 20, after: 40 });
  // @ts-expect-error 'up' is not a direction
  people.page({}, { orderBy: { age: 'up' }, limit: 20 });
  // @ts-expect-error the query is typed from the table too
  people.page({ agee: 3 }, { limit: 20 });

  const options: PageOptions<Person> = { orderBy: { startDate: 'desc' }, limit: 10 };
  people.page({ age: { $gte: 18 } }, options);
  void typed;
  void items;
}
