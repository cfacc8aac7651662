import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { BAG_ROW, rowOf } from '../../../lib/engine/bag-rows.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { BagRules } from '../../../lib/store/bag-rules.js';
import { Transaction } from '../../../lib/transactions/transaction.js';
import { thrown } from '../test-helpers.js';

@Table({ name: 'unit_bag', key: 'owner', type: 'bag', indexes: ['color'] })
class Pen {
  owner!: string;
  color = 'blue';
}

/** Runs bag rules over one transaction and commits it, as a store does outside one. */
function now<R>(table: MemoryTable<Pen>, op: (rules: BagRules<Pen>, tx: Transaction) => R): R {
  const tx = new Transaction();
  const result = op(new BagRules(table), tx);
  expect(tx.commit()).toEqual([]);
  return result;
}

describe('bag rows (engine)', () => {
  it("compiles a bag's schema: rows keyed by the hidden row, the key field indexed", () => {
    const schema = getTableSchema(Pen);
    expect(schema.key).toBe(BAG_ROW);
    expect(schema.bagKey).toBe('owner');
    expect(schema.indexes.map((i) => [i.field, i.unique])).toEqual(
      expect.arrayContaining([
        ['owner', false],
        ['color', false],
      ]),
    );
  });

  it('gives each built record a hidden row of its own; an update keeps it', () => {
    const table = new MemoryTable(getTableSchema(Pen));
    const a = table.build({ owner: 'ann' });
    const b = table.build({ owner: 'ann' });
    expect(rowOf(a)).toBe(1);
    expect(rowOf(b)).toBe(2);
    expect(Object.keys(a)).not.toContain(BAG_ROW);
    expect(Object.isFrozen(a)).toBe(true);
    expect(rowOf(table.rebuild(1, a, { color: 'red' }))).toBe(1);
    // a copy is a new record: no row travels with it
    expect(rowOf(table.build({ ...a }))).toBe(3);
  });

  it('refuses a record that sets the row field, and a key that is not one', () => {
    const table = new MemoryTable(getTableSchema(Pen));
    thrown(StoreValidationError, () => table.build({ owner: 'ann', [BAG_ROW]: 9 }));
    thrown(StoreValidationError, () => table.build({ color: 'red' }));
  });

  it('restores rows from persisted keys and hands out rows past them', () => {
    const table = new MemoryTable(getTableSchema(Pen));
    table.restore(
      [
        [7, { owner: 'ann', color: 'red' }, null, 1],
        [3, { owner: 'ann', color: 'red' }, null, 1],
      ],
      [],
    );
    expect(table.select({ owner: 'ann' }).map(rowOf)).toEqual([7, 3]);
    expect(rowOf(table.build({ owner: 'bob' }))).toBe(8);
    expect(rowOf(table.revive({ owner: 'x' }, 'r.5'))).toBe('r.5');
  });

  it('makes rows with a prefix once told to (replicated bags)', () => {
    const table = new MemoryTable(getTableSchema(Pen));
    table.distinctRows('xy.');
    expect(rowOf(table.build({ owner: 'ann' }))).toBe('xy.1');
  });

  it("keeps a bag's records distinct per key, equal ones under other keys", () => {
    const table = new MemoryTable(getTableSchema(Pen));
    const first = now(table, (bag, tx) => bag.write(tx.on(table), { owner: 'ann' }, null, false));
    const again = now(table, (bag, tx) => bag.write(tx.on(table), { owner: 'ann' }, null, false));
    expect(again).toBe(first);
    now(table, (bag, tx) =>
      bag.writeMany(
        tx.on(table),
        [{ owner: 'bob' }, { owner: 'bob' }, { owner: 'ann', color: 'red' }],
        null,
        false,
      ),
    );
    expect(table.select({ owner: 'ann' }).map((p) => p.color)).toEqual(['blue', 'red']);
    expect(table.select({ owner: 'bob' })).toHaveLength(1);
    const removed = now(table, (bag, tx) => bag.deleteKey(tx.on(table), 'ann', false));
    expect(removed).toHaveLength(2);
    expect(table.size).toBe(1);
    thrown(MemoryStoreError, () => new BagRules(table).checkKey({}, 'get'));
  });

  it('refuses a unique index on the key of a bag, and a key-making option', () => {
    @Table({ name: 'unit_bag_unique', key: 'owner', type: 'duplicate_bag' })
    class Unique {
      @Index({ unique: true }) owner!: string;
    }
    thrown(MemoryStoreError, () => getTableSchema(Unique));
    thrown(MemoryStoreError, () => Table({ type: 'duplicate_bag', keyGen: 'uuid' })(class Bag {}));
  });
});
