import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { RecordNotFoundError } from '../../../lib/errors/record-not-found.error.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

@Table({ name: 'accounts', indexes: ['team'] })
class Account {
  id!: string;
  @Index({ unique: true }) email?: string | null;
  team = 'core';
  balance = 0;
}

@Table({ name: 'bookings' })
class Booking {
  id!: number;
  @Index({ unique: true }) slot?: unknown;
}

const accounts = () => new MemoryTable(getTableSchema(Account));

/** Keys the index holds for `value`, read through the index itself (not a scan). */
function viaIndex(table: MemoryTable<Account>, field: 'email' | 'team', value: unknown) {
  return keysOf(table.indexes.get(field)!.lookup(value));
}

/** The planner's estimate for `field == value` (undefined cannot be queried). */
function planned(table: MemoryTable<Account>, field: string, value: unknown) {
  return value === undefined ? undefined : table.plan({ [field]: value }).estimatedRows;
}

/** Everything observable of a table: records by identity and what each index answers. */
function observe(table: MemoryTable<Account>, values: { email: unknown[]; team: unknown[] }) {
  return {
    rows: [...table.rows.entries()],
    email: values.email.map((v) => [v, viaIndex(table, 'email', v), planned(table, 'email', v)]),
    team: values.team.map((v) => [v, viaIndex(table, 'team', v), planned(table, 'team', v)]),
  };
}

const EMAILS = ['a@x', 'b@x', 'c@x', 'd@x', null, undefined];
const TEAMS = ['core', 'red', 'blue', 'green'];

function seeded() {
  const table = accounts();
  table.write({ id: 'a', email: 'a@x', team: 'red' });
  table.write({ id: 'b', email: 'b@x', team: 'red' });
  table.write({ id: 'c', email: 'c@x', team: 'blue' });
  return table;
}

/** Runs a write that must fail, and checks rows and indexes are exactly as before. */
function expectUnchanged<E>(
  table: MemoryTable<Account>,
  type: abstract new (...args: never[]) => E,
  write: () => unknown,
): E {
  const before = observe(table, { email: EMAILS, team: TEAMS });
  const all = table.all();
  const error = thrown(type, write);
  expect(observe(table, { email: EMAILS, team: TEAMS })).toEqual(before);
  const after = observe(table, { email: EMAILS, team: TEAMS });
  after.rows.forEach(([key, record], i) => {
    expect(key).toBe(before.rows[i][0]);
    expect(record).toBe(before.rows[i][1]);
  });
  expect(table.all()).toBe(all);
  return error;
}

describe('MemoryTable.write', () => {
  it('inserts a record and returns the stored record', () => {
    const table = accounts();
    const r = table.write({ id: 'a', email: 'a@x' });
    expect(table.get('a')).toBe(r);
    expect(table.has('a')).toBe(true);
    expect(table.size).toBe(1);
    expect(table.keys()).toEqual(['a']);
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['a']);
    expect(viaIndex(table, 'team', 'core')).toEqual(['a']);
  });

  it('replaces a record with the same key, moving its index entries', () => {
    const table = seeded();
    const r = table.write({ id: 'a', email: 'z@x', team: 'blue' });
    expect(table.get('a')).toBe(r);
    expect(r.balance).toBe(0);
    expect(table.size).toBe(3);
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    expect(viaIndex(table, 'email', 'z@x')).toEqual(['a']);
    expect(viaIndex(table, 'team', 'red')).toEqual(['b']);
    expect(viaIndex(table, 'team', 'blue')).toEqual(['a', 'c']);
    table.write({ id: 'd', email: 'a@x' });
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['d']);
  });

  it('replaces the whole record: fields not given fall back to the defaults', () => {
    const table = accounts();
    table.write({ id: 'a', team: 'red', balance: 5 });
    const r = table.write({ id: 'a' });
    expect(r.team).toBe('core');
    expect(r.balance).toBe(0);
  });

  it('keeps a record its own unique value when it is rewritten', () => {
    const table = seeded();
    expect(() => table.write({ id: 'a', email: 'a@x', balance: 9 })).not.toThrow();
    expect(table.get('a')?.balance).toBe(9);
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['a']);
  });

  it('refuses a unique value held by another record, changing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.write({ id: 'a', email: 'b@x', team: 'green' }),
    );
    expect(error.field).toBe('email');
    expect(error.value).toBe('b@x');
    expect(error.table).toBe('accounts');
    expect(error.holder).toBe('b');
    expect(error.message).toBe(
      "Duplicate value for 'email' in table 'accounts': 'b@x' already exists (held by record 'b')",
    );
    expectUnchanged(table, DuplicateKeyError, () => table.write({ id: 'new', email: 'c@x' }));
    expect(table.has('new')).toBe(false);
  });

  it('refuses an invalid record, changing nothing', () => {
    const table = seeded();
    expectUnchanged(table, StoreValidationError, () =>
      table.write({ id: 'a', email: 'q@x', team: () => 'red' }),
    );
  });
});

describe('MemoryTable: unique indexes', () => {
  it('leaves null and missing values unconstrained', () => {
    const table = accounts();
    table.write({ id: 'a', email: null });
    table.write({ id: 'b', email: null });
    table.write({ id: 'c' });
    table.write({ id: 'd', email: undefined });
    expect(table.size).toBe(4);
    expect(keysOf(table.select({ email: null }))).toEqual(['a', 'b', 'c', 'd']);
    expect(table.plan({ email: null }).path.kind).toBe('index');
    table.update('a', { email: 'a@x' });
    expect(keysOf(table.select({ email: null }))).toEqual(['b', 'c', 'd']);
    expect(keysOf(table.select({ email: 'a@x' }))).toEqual(['a']);
  });

  it('frees a value when its record takes null', () => {
    const table = seeded();
    table.update('a', { email: null });
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    table.write({ id: 'd', email: 'a@x' });
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['d']);
  });

  it('compares unique values with query equality: dates by time, objects by content', () => {
    const table = new MemoryTable(getTableSchema(Booking));
    table.write({ id: 1, slot: new Date(5) });
    expect(thrown(DuplicateKeyError, () => table.write({ id: 2, slot: new Date(5) })).field).toBe(
      'slot',
    );
    table.write({ id: 3, slot: 5 });
    table.write({ id: 4, slot: '5' });
    table.write({ id: 5, slot: { room: 1, day: 'mon' } });
    thrown(DuplicateKeyError, () => table.write({ id: 6, slot: { day: 'mon', room: 1 } }));
    table.write({ id: 7, slot: [1, 2] });
    table.write({ id: 8, slot: [2, 1] });
    thrown(DuplicateKeyError, () => table.write({ id: 9, slot: [1, 2] }));
    table.write({ id: 10, slot: NaN });
    thrown(DuplicateKeyError, () => table.write({ id: 11, slot: NaN }));
    table.write({ id: 12, slot: 0 });
    thrown(DuplicateKeyError, () => table.write({ id: 13, slot: -0 }));
    expect(table.keys().sort((a, b) => Number(a) - Number(b))).toEqual([1, 3, 4, 5, 7, 8, 10, 12]);
  });
});

describe('MemoryTable.insert', () => {
  it('inserts a new record', () => {
    const table = accounts();
    const r = table.insert({ id: 'a', email: 'a@x' });
    expect(table.get('a')).toBe(r);
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['a']);
  });

  it('refuses an existing key with DuplicateKeyError, changing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.insert({ id: 'a', email: 'other@x', team: 'green' }),
    );
    expect(error.field).toBe('id');
    expect(error.value).toBe('a');
    expect(error.message).toBe("Duplicate value for 'id' in table 'accounts': 'a' already exists");
  });

  it('refuses a unique value held by another record, changing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.insert({ id: 'd', email: 'a@x' }),
    );
    expect(error.field).toBe('email');
  });
});

describe('MemoryTable.update', () => {
  it('merges a patch into the current record', () => {
    const table = seeded();
    const before = table.get('a')!;
    const r = table.update('a', { balance: 10 });
    expect(r).not.toBe(before);
    expect(table.get('a')).toBe(r);
    expect(r).toMatchObject({ id: 'a', email: 'a@x', team: 'red', balance: 10 });
    expect(r).toBeInstanceOf(Account);
    expect(before.balance).toBe(0);
  });

  it('takes a function of the current record', () => {
    const table = seeded();
    table.update('a', { balance: 10 });
    const seen: Account[] = [];
    const r = table.update('a', (current) => {
      seen.push(current);
      return { balance: current.balance + 5 };
    });
    expect(r.balance).toBe(15);
    expect(seen).toHaveLength(1);
    expect(seen[0].balance).toBe(10);
  });

  it('moves index entries when indexed fields change', () => {
    const table = seeded();
    table.update('a', { team: 'blue', email: 'z@x' });
    expect(viaIndex(table, 'team', 'red')).toEqual(['b']);
    expect(viaIndex(table, 'team', 'blue')).toEqual(['a', 'c']);
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    expect(viaIndex(table, 'email', 'z@x')).toEqual(['a']);
  });

  it('throws RecordNotFoundError for a missing key', () => {
    const table = seeded();
    const error = expectUnchanged(table, RecordNotFoundError, () =>
      table.update('zz', { balance: 1 }),
    );
    expect(error.key).toBe('zz');
    expect(error.table).toBe('accounts');
    expect(error.message).toBe("No record with key 'zz' in table 'accounts'");
  });

  it('cannot change the primary key, by patch or by function', () => {
    const table = seeded();
    for (const change of [{ id: 'moved' }, () => ({ id: 'moved' })]) {
      const error = expectUnchanged(table, StoreValidationError, () => table.update('a', change));
      expect(error.errors[0].property).toBe('id');
      expect(error.errors[0].constraints).toHaveProperty('primaryKey');
      expect(table.has('moved')).toBe(false);
    }
  });

  it('accepts a patch that repeats the primary key', () => {
    const table = seeded();
    expect(table.update('a', { id: 'a', balance: 3 }).balance).toBe(3);
  });

  it('refuses a unique clash, changing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.update('a', { email: 'b@x', team: 'green' }),
    );
    expect(error.field).toBe('email');
    expect(error.value).toBe('b@x');
  });

  it('leaves the table unchanged when the update function throws', () => {
    const table = seeded();
    expectUnchanged(table, RangeError, () =>
      table.update('a', () => {
        throw new RangeError('no');
      }),
    );
  });
});

describe('MemoryTable.delete', () => {
  it('deletes by key and returns the deleted record', () => {
    const table = seeded();
    const a = table.get('a');
    expect(table.delete('a')).toBe(a);
    expect(table.has('a')).toBe(false);
    expect(table.size).toBe(2);
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    expect(viaIndex(table, 'team', 'red')).toEqual(['b']);
  });

  it('deletes by record', () => {
    const table = seeded();
    const b = table.get('b')!;
    expect(table.delete(b)).toBe(b);
    expect(table.has('b')).toBe(false);
  });

  it('returns undefined for a missing key and changes nothing', () => {
    const table = seeded();
    const all = table.all();
    expect(table.delete('zz')).toBeUndefined();
    expect(table.all()).toBe(all);
    expect(table.size).toBe(3);
  });

  it('frees the unique value of the deleted record', () => {
    const table = seeded();
    table.delete('a');
    expect(() => table.insert({ id: 'd', email: 'a@x' })).not.toThrow();
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['d']);
  });

  it('keys numbers and strings apart', () => {
    const table = accounts();
    table.write({ id: 1 });
    table.write({ id: '1' });
    expect(table.delete(1)?.id).toBe(1);
    expect(table.has('1')).toBe(true);
  });
});

describe('MemoryTable.deleteAll', () => {
  it('deletes every record and clears the indexes, returning how many there were', () => {
    const table = seeded();
    expect(table.deleteAll()).toBe(3);
    expect(table.size).toBe(0);
    expect(table.all()).toEqual([]);
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    expect(viaIndex(table, 'team', 'red')).toEqual([]);
    table.write({ id: 'x', email: 'a@x', team: 'red' });
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['x']);
    expect(viaIndex(table, 'team', 'red')).toEqual(['x']);
    expect(table.deleteAll()).toBe(1);
    expect(table.deleteAll()).toBe(0);
  });
});

describe('MemoryTable.writeMany', () => {
  it('writes every record, returning them in order', () => {
    const table = seeded();
    const written = table.writeMany([
      { id: 'd', email: 'd@x' },
      { id: 'a', email: 'a@x', team: 'green' },
    ]);
    expect(written.map((r) => r.id)).toEqual(['d', 'a']);
    expect(table.get('d')).toBe(written[0]);
    expect(table.get('a')).toBe(written[1]);
    expect(viaIndex(table, 'team', 'green')).toEqual(['a']);
    expect(viaIndex(table, 'team', 'red')).toEqual(['b']);
    expect(table.writeMany([])).toEqual([]);
  });

  it('writes nothing when one record is invalid, naming its index', () => {
    const table = seeded();
    const error = expectUnchanged(table, StoreValidationError, () =>
      table.writeMany([
        { id: 'd', email: 'd@x' },
        { id: 'a', team: 'green' },
        { id: NaN, email: 'e@x' },
      ]),
    );
    expect(error.entry).toBe(2);
    expect(error.errors[0].property).toBe('id');
    expect(error.message).toMatch(/^Invalid record at index 2 for table 'accounts': /);
    expect(table.has('d')).toBe(false);
  });

  it('swaps unique values between records of the batch', () => {
    const table = seeded();
    table.writeMany([
      { id: 'a', email: 'b@x' },
      { id: 'b', email: 'a@x' },
    ]);
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['b']);
    expect(viaIndex(table, 'email', 'b@x')).toEqual(['a']);
    expect(keysOf(table.select({ email: 'a@x' }))).toEqual(['b']);
    expect(() => table.write({ id: 'c', email: 'a@x' })).toThrow(DuplicateKeyError);
  });

  it('rotates unique values through three records', () => {
    const table = seeded();
    table.writeMany([
      { id: 'a', email: 'b@x' },
      { id: 'b', email: 'c@x' },
      { id: 'c', email: 'a@x' },
    ]);
    expect(viaIndex(table, 'email', 'a@x')).toEqual(['c']);
    expect(viaIndex(table, 'email', 'b@x')).toEqual(['a']);
    expect(viaIndex(table, 'email', 'c@x')).toEqual(['b']);
  });

  it('hands a unique value from a record of the batch to a new one, in either order', () => {
    for (const order of [0, 1]) {
      const table = seeded();
      const batch = [
        { id: 'a', email: 'z@x' },
        { id: 'd', email: 'a@x' },
      ];
      table.writeMany(order ? batch.reverse() : batch);
      expect(viaIndex(table, 'email', 'a@x')).toEqual(['d']);
      expect(viaIndex(table, 'email', 'z@x')).toEqual(['a']);
    }
  });

  it('refuses a unique clash inside the batch, writing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.writeMany([
        { id: 'd', email: 'q@x' },
        { id: 'e', email: 'q@x' },
      ]),
    );
    expect(error.field).toBe('email');
    expect(error.value).toBe('q@x');
    expect(error.holder).toBe('d');
    expect(error.message).toBe(
      "Duplicate value for 'email' in table 'accounts': 'q@x' already exists (held by record 'd') (batch entry 1)",
    );
    expectUnchanged(table, DuplicateKeyError, () =>
      table.writeMany([
        { id: 'a', email: 'b@x' },
        { id: 'b', email: 'b@x' },
      ]),
    );
  });

  it('refuses a clash with a record outside the batch, writing nothing', () => {
    const table = seeded();
    const error = expectUnchanged(table, DuplicateKeyError, () =>
      table.writeMany([
        { id: 'd', email: 'd@x', team: 'green' },
        { id: 'e', email: 'c@x' },
      ]),
    );
    expect(error.holder).toBe('c');
    expect(error.entry).toBe(1);
    expectUnchanged(table, DuplicateKeyError, () =>
      table.writeMany([
        { id: 'a', email: 'b@x' },
        { id: 'z', email: 'zz@x' },
      ]),
    );
  });

  it('lets the last of two records with the same key win, as writing them in turn would', () => {
    const table = seeded();
    table.writeMany([
      { id: 'd', email: 'first@x', team: 'green' },
      { id: 'd', email: 'second@x' },
    ]);
    expect(table.get('d')?.email).toBe('second@x');
    expect(viaIndex(table, 'email', 'first@x')).toEqual([]);
    expect(viaIndex(table, 'team', 'green')).toEqual([]);
    expect(() => table.write({ id: 'e', email: 'first@x' })).not.toThrow();
  });

  it('refuses something that is not an array', () => {
    const table = seeded();
    expectUnchanged(table, MemoryStoreError, () =>
      table.writeMany({ id: 'x' } as unknown as unknown[]),
    );
  });
});

describe('MemoryTable.deleteMany', () => {
  it('deletes the records matching a query and returns them', () => {
    const table = seeded();
    const b = table.get('b');
    const deleted = table.deleteMany({ team: 'red' });
    expect(keysOf(deleted)).toEqual(['a', 'b']);
    expect(deleted).toContain(b);
    expect(table.keys()).toEqual(['c']);
    expect(viaIndex(table, 'team', 'red')).toEqual([]);
    expect(viaIndex(table, 'email', 'a@x')).toEqual([]);
    expect(table.deleteMany({ team: 'red' })).toEqual([]);
  });

  it('deletes every record for the empty query', () => {
    const table = seeded();
    expect(keysOf(table.deleteMany({}))).toEqual(['a', 'b', 'c']);
    expect(table.size).toBe(0);
    expect(viaIndex(table, 'team', 'red')).toEqual([]);
  });

  it('refuses a malformed query, deleting nothing', () => {
    const table = seeded();
    expectUnchanged(table, QueryError, () => table.deleteMany({ team: { $foo: 1 } }));
    expectUnchanged(table, QueryError, () => table.deleteMany('red'));
  });
});

describe('MemoryTable.withdraw', () => {
  it('returns the first match and deletes it', () => {
    const table = seeded();
    const c = table.get('c');
    expect(table.withdraw({ email: 'c@x' })).toBe(c);
    expect(table.has('c')).toBe(false);
    expect(viaIndex(table, 'team', 'blue')).toEqual([]);
    const red = table.withdraw({ team: 'red' });
    expect(['a', 'b']).toContain(red?.id);
    expect(table.size).toBe(1);
  });

  it('returns undefined when nothing matches, changing nothing', () => {
    const table = seeded();
    const all = table.all();
    expect(table.withdraw({ team: 'green' })).toBeUndefined();
    expect(table.all()).toBe(all);
  });

  it('refuses a malformed query', () => {
    const table = seeded();
    expectUnchanged(table, QueryError, () => table.withdraw({ $foo: 1 }));
  });
});

describe('MemoryTable.all', () => {
  it('is frozen and the same array until the next write', () => {
    const table = seeded();
    const all = table.all();
    expect(Object.isFrozen(all)).toBe(true);
    expect(table.all()).toBe(all);
    expect(keysOf(all)).toEqual(['a', 'b', 'c']);
    expect(() => (all as Account[]).push(all[0])).toThrow(TypeError);
  });

  it('is a new array after each kind of write', () => {
    const table = seeded();
    const writes: (() => unknown)[] = [
      () => table.write({ id: 'd' }),
      () => table.insert({ id: 'e' }),
      () => table.update('a', { balance: 1 }),
      () => table.delete('e'),
      () => table.writeMany([{ id: 'f' }]),
      () => table.deleteMany({ id: 'f' }),
      () => table.withdraw({ id: 'd' }),
      () => table.deleteAll(),
    ];
    for (const write of writes) {
      const before = table.all();
      write();
      const after = table.all();
      expect(after).not.toBe(before);
      expect(keysOf(after)).toEqual(keysOf(table.rows.values()));
      expect(table.all()).toBe(after);
    }
  });

  it('never shows a later write in an array handed out earlier', () => {
    const table = seeded();
    const before = table.all();
    table.write({ id: 'd' });
    table.update('a', { balance: 5 });
    expect(keysOf(before)).toEqual(['a', 'b', 'c']);
    expect(before.find((r) => r.id === 'a')?.balance).toBe(0);
  });
});
