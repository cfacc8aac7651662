import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type INestApplication, Module, type DynamicModule } from '@nestjs/common';
import {
  DuplicateKeyError,
  Index,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  QueryError,
  Store,
  Table,
  type Page,
} from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

@Index(['department', 'age'])
@Index(['team', 'badge'], { unique: true, kind: 'hash' })
@Index('profile.lang')
@Table({ name: 'staff', indexes: ['profile.city'] })
class Employee {
  id!: number;
  department = 'sales';
  age = 30;
  team?: string;
  badge?: number;
  joined?: Date;
  profile: { lang: string; city?: string } = { lang: 'en' };
}

@Store({ table: Employee })
class StaffStore extends MemoryStore<Employee> {}

@Module({})
class StaffAppModule {
  static register(options: { dir?: string; prefix?: string } = {}): DynamicModule {
    return {
      module: StaffAppModule,
      imports: [
        MemoryStoreModule.forRoot({
          stores: [StaffStore],
          ...(options.dir ? { persistence: { dir: options.dir, fsync: 'always' as const } } : {}),
          ...(options.prefix
            ? { replication: { redis: { url: REDIS_URL }, prefix: options.prefix } }
            : {}),
        }),
      ],
    };
  }
}

const DEPARTMENTS = ['sales', 'support', 'research'];
const LANGS = ['en', 'fr', 'de'];

/** 60 employees: department by id mod 3, age 20..39, language by id mod 3 (shifted). */
const staffRecords = () =>
  Array.from({ length: 60 }, (_, i) => ({
    id: i,
    department: DEPARTMENTS[i % 3],
    age: 20 + (i % 20),
    team: `t${i % 4}`,
    badge: i,
    joined: new Date(Date.UTC(2020, 0, 1 + i)),
    profile: { lang: LANGS[(i + 1) % 3], city: i % 2 ? 'paris' : 'berlin' },
  }));

const ids = (records: readonly { id: number }[]) => records.map((r) => r.id);
const sorted = (records: readonly { id: number }[]) => ids(records).sort((a, b) => a - b);

describe('nested and compound indexes, and pages, in a Nest application', () => {
  const apps: INestApplication[] = [];
  const dirs: string[] = [];
  const prefixes: string[] = [];

  async function start(options: { dir?: string; prefix?: string } = {}): Promise<StaffStore> {
    const app = await createApp(StaffAppModule.register(options));
    await app.init();
    apps.push(app);
    return app.get(StaffStore);
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const dir of dirs.splice(0)) await removeDir(dir);
    for (const prefix of prefixes.splice(0)) await dropPrefix(prefix);
  });

  it('answers a dotted path through its index, and explain says so', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords());
    const french = staff.select({ 'profile.lang': 'fr' });
    expect(sorted(french)).toEqual(
      staffRecords()
        .filter((r) => r.profile.lang === 'fr')
        .map((r) => r.id),
    );
    const plan = staff.explain({ 'profile.lang': 'fr' });
    expect(plan.strategy).toBe('index lookup');
    expect(plan.field).toBe('profile.lang');
    expect(plan.examinedRows).toBe(french.length);
    expect(staff.explain({ 'profile.city': { $in: ['paris'] } }).field).toBe('profile.city');
    // the index follows a nested change
    await staff.update(1, { profile: { lang: 'fr', city: 'rome' } });
    expect(sorted(staff.select({ 'profile.lang': 'fr' }))).toContain(1);
    expect(staff.select({ 'profile.city': 'rome' }).map((r) => r.id)).toEqual([1]);
  });

  it('seeks a compound index for an equality prefix plus a range, in order, and explain shows it', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords());
    const query = { department: 'support', age: { $gte: 25, $lt: 32 } };
    const expected = staffRecords()
      .filter((r) => r.department === 'support' && r.age >= 25 && r.age < 32)
      .sort((a, b) => a.age - b.age || a.id - b.id);
    expect(ids(staff.select(query, { orderBy: { age: 'asc' } }))).toEqual(ids(expected));
    const plan = staff.explain(query, { orderBy: { age: 'asc' }, limit: 2 });
    expect(plan).toMatchObject({
      strategy: 'compound index',
      field: 'department, age',
      ordered: true,
      examinedRows: 2,
      returnedRows: 2,
      path: {
        kind: 'compound',
        fields: ['department', 'age'],
        prefix: ['department'],
        values: ['support'],
        rangeField: 'age',
        lower: { value: 25, inclusive: true },
        upper: { value: 32, inclusive: false },
        direction: 'asc',
      },
    });
    // an order on the next field without a range, descending
    const oldest = staff.select({ department: 'sales' }, { orderBy: { age: 'desc' }, limit: 3 });
    expect(ids(oldest)).toEqual(
      staffRecords()
        .filter((r) => r.department === 'sales')
        .sort((a, b) => b.age - a.age || b.id - a.id)
        .slice(0, 3)
        .map((r) => r.id),
    );
    expect(
      staff.explain({ department: 'sales' }, { orderBy: { age: 'desc' }, limit: 3 }),
    ).toMatchObject({
      strategy: 'compound index',
      ordered: true,
    });
    // the whole tuple is a lookup
    expect(staff.explain({ department: 'sales', age: 33 })).toMatchObject({
      strategy: 'compound index',
      path: { prefix: ['department', 'age'], values: ['sales', 33] },
    });
    expect(sorted(staff.select({ department: 'sales', age: 33 }))).toEqual([33]);
  });

  it('keeps a compound tuple unique, naming the fields and the holder', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords());
    const error = await rejectionOf(staff.insert({ id: 100, team: 't1', badge: 5 }));
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect((error as DuplicateKeyError).field).toBe('team, badge');
    expect((error as DuplicateKeyError).holder).toBe(5);
    expect((error as Error).message).toContain("'team, badge'");
    expect(staff.indexes()).toEqual([
      { field: 'profile.city', unique: false },
      { field: 'profile.lang', unique: false },
      { field: 'team, badge', unique: true },
      { field: 'department, age', unique: false },
    ]);
    expect(staff.get(100)).toBeUndefined();
    // a tuple with a missing field is not constrained; another team may reuse the badge
    await staff.insert({ id: 101, team: 't1' });
    await staff.insert({ id: 102, team: 't1' });
    await staff.insert({ id: 103, team: 't2', badge: 5 });
    expect(staff.explain({ team: 't2', badge: 5 }).strategy).toBe('compound index');
    expect(ids(staff.select({ team: 't2', badge: 5 }))).toEqual([103]);
  });

  it('pages through a table by cursor, stable while records are inserted and deleted', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords());
    const seen: number[] = [];
    let page: Page<Employee> = staff.page(
      { department: 'research' },
      { orderBy: { age: 'asc' }, limit: 4 },
    );
    let round = 0;
    while (true) {
      seen.push(...ids(page.items));
      if (!page.next) break;
      // between pages: delete a record already seen and one not yet seen, insert one ahead
      await staff.delete(seen[0]);
      round++;
      await staff.insert({ id: 1000 + round, department: 'research', age: 39 });
      page = staff.page(
        { department: 'research' },
        { orderBy: { age: 'asc' }, limit: 4, after: page.next },
      );
    }
    expect(new Set(seen).size).toBe(seen.length);
    const untouched = staffRecords().filter((r) => r.department === 'research');
    for (const r of untouched) expect(seen).toContain(r.id);
    for (let i = 1; i <= round; i++) expect(seen).toContain(1000 + i);
    const ages = seen.map((id) => staffRecords().find((r) => r.id === id)?.age ?? 39);
    expect(ages).toEqual([...ages].sort((a, b) => a - b));
  });

  it('pages by the primary key by default, and refuses a foreign or malformed cursor', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords());
    const first = staff.page(undefined, { limit: 25 });
    expect(ids(first.items)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const second = staff.page(undefined, { limit: 25, after: first.next });
    expect(ids(second.items)[0]).toBe(25);
    const last = staff.page(undefined, { limit: 25, after: second.next });
    expect(ids(last.items)).toHaveLength(10);
    expect(last.next).toBeUndefined();
    expect(() => staff.page(undefined, { limit: 5, after: 'not a cursor' })).toThrow(QueryError);
    expect(() =>
      staff.page(undefined, { orderBy: { age: 'desc' }, limit: 5, after: first.next }),
    ).toThrow(/another table or order/);
    expect(() => staff.page(undefined, { limit: 0 })).toThrow(QueryError);
  });

  it('pages inside a transaction, seeing its own writes', async () => {
    const staff = await start();
    await staff.writeMany(staffRecords().slice(0, 6));
    const memory = apps[0].get(MemoryStoreService);
    await memory.transaction(async () => {
      await staff.insert({ id: 500, department: 'sales', age: 1 });
      await staff.delete(0);
      const page = staff.page({ department: 'sales' }, { orderBy: { age: 'asc' }, limit: 1 });
      expect(ids(page.items)).toEqual([500]);
      const next = staff.page(
        { department: 'sales' },
        { orderBy: { age: 'asc' }, limit: 5, after: page.next },
      );
      expect(ids(next.items)).toEqual([3]);
      expect(next.next).toBeUndefined();
    });
  });

  it('rebuilds nested and compound indexes when a persisted store starts again', async () => {
    const dir = await tempDir('qindex-');
    dirs.push(dir);
    const before = await start({ dir });
    await before.writeMany(staffRecords());
    await before.update(2, { department: 'research', age: 21 });
    await before.delete(5);
    await apps.splice(0)[0].close();
    const staff = await start({ dir });
    const query = { department: 'research', age: { $lte: 22 } };
    expect(staff.explain(query).strategy).toBe('compound index');
    const wanted = staff.all().filter((r) => r.department === 'research' && r.age <= 22);
    expect(sorted(staff.select(query))).toEqual(sorted(wanted));
    expect(sorted(staff.select(query))).toContain(2);
    expect(sorted(staff.select({ 'profile.lang': 'de' }))).toEqual(
      sorted(staff.all().filter((r) => r.profile.lang === 'de')),
    );
    await expect(staff.insert({ id: 900, team: 't0', badge: 4 })).rejects.toThrow(
      DuplicateKeyError,
    );
  });

  it('keeps the indexes of a replicated copy right', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const writer = await start({ prefix });
    const reader = await start({ prefix });
    await writer.writeMany(staffRecords());
    await writer.update(7, { profile: { lang: 'de' }, age: 22, department: 'research' });
    await writer.delete(8);
    const query = { department: 'research', age: { $lt: 23 } };
    await expectEventually(() => {
      expect(reader.size).toBe(59);
      expect(reader.get(7)?.age).toBe(22);
    });
    expect(reader.explain(query).strategy).toBe('compound index');
    expect(sorted(reader.select(query))).toEqual(
      sorted(reader.all().filter((r) => r.department === 'research' && r.age < 23)),
    );
    expect(sorted(reader.select({ 'profile.lang': 'de' }))).toEqual(
      sorted(reader.all().filter((r) => r.profile.lang === 'de')),
    );
    // a unique tuple holds across instances: of two racing inserts, one wins
    const race = await Promise.allSettled([
      writer.insert({ id: 950, team: 't9', badge: 1 }),
      reader.insert({ id: 951, team: 't9', badge: 1 }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(DuplicateKeyError);
  });

  it('refuses a malformed index declaration when the class is declared, naming class and fields', () => {
    @Table({ name: 'bad' })
    class Bad {
      id!: number;
    }
    expect(() => Index([] as unknown as ['id'])(Bad)).toThrow(
      new MemoryStoreError('@Index([]) on Bad: a compound index needs at least one field', ''),
    );
    expect(() => {
      @Table({ name: 'bad', indexes: [['a', 'a']] })
      class Twice {
        id!: number;
        a = 1;
      }
      return Twice;
    }).toThrow("@Table() on Twice: index ['a', 'a']: a compound index names a field twice");
    expect(() => {
      @Index(['a', 'b'], { kind: 'btree' as never })
      @Table({ name: 'bad' })
      class Kind {
        id!: number;
        a = 1;
        b = 2;
      }
      return Kind;
    }).toThrow("@Index(['a', 'b']) on Kind: 'kind' must be 'hash' or 'ordered'");
  });
});

async function expectEventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
