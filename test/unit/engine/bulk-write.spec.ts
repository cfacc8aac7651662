import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { bulkDelete, bulkUpdate, bulkWrite } from '../../../lib/engine/bulk-write.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { StoreCapacityError } from '../../../lib/errors/store-capacity.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';

@Table({ name: 'accounts', indexes: ['team'] })
class Account {
  id!: string;
  @Index({ unique: true }) email?: string | null;
  team = 'core';
}

const accounts = () => new MemoryTable(getTableSchema(Account));
const many = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `a${from + i}`, email: `a${from + i}@x` }));

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('bulk operations in slices', () => {
  it('writes like writeMany: a key given twice keeps its last record, one change per key', async () => {
    const bulk = accounts();
    const once = accounts();
    const changes: TableChange<Account>[] = [];
    bulk.configure({ onChange: (change) => changes.push(change) });
    const input = [...many(3), { id: 'a1', email: 'other@x', team: 'red' }];
    const written = await bulkWrite(bulk, input, undefined);
    once.writeMany(input);
    expect(written).toHaveLength(4);
    expect([...bulk.rows.entries()]).toEqual([...once.rows.entries()]);
    expect(bulk.indexes.get('email')!.lookup('a1@x')).toEqual([]);
    expect(changes.map((c) => [c.op, c.key])).toEqual([
      ['insert', 'a0'],
      ['insert', 'a1'],
      ['insert', 'a2'],
    ]);
  });

  it('writes every record of a batch that takes the table past where its rows grow (65,536), in order, indexed', async () => {
    const table = accounts();
    table.writeMany(many(3, 1_000_000)); // off the steps' alignment
    const input = many(70_000).map((a, i) => ({ ...a, team: `t${i % 9}` }));
    await bulkWrite(table, input, undefined);
    expect(table.rows.size).toBe(70_003);
    expect(table.keys()).toEqual([...many(3, 1_000_000), ...input].map((a) => a.id));
    expect(table.count({ team: 't4' })).toBe(input.filter((a) => a.team === 't4').length);
    expect(table.one({ email: 'a65533@x' })?.id).toBe('a65533');
    expect(table.one({ email: 'a69999@x' })?.id).toBe('a69999');
  });

  it('update(query) and deleteMany(query) in slices change exactly what the synchronous ones match, by a scan or by an index', async () => {
    const input = many(12_000).map((a, i) => ({ ...a, team: `t${i % 3}` }));
    const bulk = accounts();
    const once = accounts();
    bulk.writeMany(input);
    once.writeMany(input);
    const byIndex = { team: 't1' };
    const byScan = { id: { $regex: '7$' } };
    const updated = await bulkUpdate(bulk, byScan, { team: 'seven' }, undefined);
    expect(updated.map((a) => a.id)).toEqual(
      once.updateWhere(byScan, { team: 'seven' }).map((a) => a.id),
    );
    expect(updated).toHaveLength(1_200);
    const deleted = await bulkDelete(bulk, byIndex);
    expect(deleted.map((a) => a.id)).toEqual(once.deleteMany(byIndex).map((a) => a.id));
    expect([...bulk.rows.entries()]).toEqual([...once.rows.entries()]);
    expect(bulk.count({ team: 'seven' })).toBe(once.count({ team: 'seven' }));
    expect(bulk.count({ team: 't1' })).toBe(0);
  });

  it('marks the table busy while it runs, and not after, even when it fails', async () => {
    const table = accounts();
    const running = bulkWrite(table, many(10), undefined);
    expect(table.bulk).toBeInstanceOf(Promise);
    await running;
    expect(table.bulk).toBeUndefined();
    const failing = bulkWrite(table, [...many(5, 100), { id: 'x', email: 'a3@x' }], undefined);
    expect(await rejection(failing)).toBeInstanceOf(DuplicateKeyError);
    expect(table.bulk).toBeUndefined();
    expect(table.rows.size).toBe(10);
  });

  it('runs one bulk operation at a time on a table, in the order they came', async () => {
    const table = accounts();
    const first = bulkWrite(table, many(1000), undefined);
    const second = bulkUpdate(table, { email: { $exists: true } }, { team: 'red' }, undefined);
    const third = bulkDelete(table, { id: 'a5' });
    await Promise.all([first, second, third]);
    expect(table.rows.size).toBe(999);
    expect(table.count({ team: 'red' })).toBe(999);
  });

  it('a unique clash with a record outside the batch, or within it, changes nothing', async () => {
    const table = accounts();
    table.write({ id: 'held', email: 'taken@x' });
    const outside = await rejection(
      bulkWrite(table, [...many(50), { id: 'new', email: 'taken@x' }], undefined),
    );
    expect(outside).toMatchObject({ field: 'email', entry: 50 });
    const within = await rejection(
      bulkWrite(
        table,
        [{ id: 'p', email: 'same@x' }, ...many(50), { id: 'q', email: 'same@x' }],
        undefined,
      ),
    );
    expect(within).toMatchObject({ field: 'email', entry: 51 });
    // moving a value within the batch is no clash: the batch rewrites its holder
    await bulkWrite(
      table,
      [
        { id: 'held', email: 'moved@x' },
        { id: 'new', email: 'taken@x' },
      ],
      undefined,
    );
    expect(table.get('new')?.email).toBe('taken@x');
    expect(table.rows.size).toBe(2);
  });

  it('refuses a batch past the capacity under reject; under lru evicts none of the batch', async () => {
    const rejecting = accounts();
    rejecting.configure({ capacity: { maxRecords: 20, eviction: 'reject' } });
    rejecting.writeMany(many(10, 1000));
    expect(await rejection(bulkWrite(rejecting, many(11), undefined))).toBeInstanceOf(
      StoreCapacityError,
    );
    expect(rejecting.rows.size).toBe(10);
    const lru = accounts();
    lru.configure({ capacity: { maxRecords: 300, eviction: 'lru' } });
    lru.writeMany(many(100, 1000));
    const batch = many(300);
    await bulkWrite(lru, batch, undefined);
    expect([...lru.rows.keys()].sort()).toEqual(batch.map((a) => a.id).sort());
  });
});
