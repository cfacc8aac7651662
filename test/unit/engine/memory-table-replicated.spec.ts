import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import type { Clock } from '../../../lib/ttl/clock.js';
import { keysOf } from '../test-helpers.js';

@Table({ name: 'members', indexes: ['team'] })
class Member {
  id!: string;
  @Index({ unique: true }) email?: string;
  team = 'core';
}

/** A table that applies changes decided elsewhere, as a replica does. */
function replica(now = { value: 1_000 }) {
  const changes: TableChange<Member>[] = [];
  let due = 0;
  const clock: Clock = { now: () => now.value };
  const table = new MemoryTable(getTableSchema(Member), {
    clock,
    onChange: (change) => changes.push(change),
    onDue: () => due++,
  });
  const record = (fields: Partial<Member>) => table.revive(fields);
  return { table, changes, record, now, due: () => due };
}

describe('MemoryTable: changes applied from a replication log', () => {
  it('puts and removes records, reporting insert, update, delete and expire', () => {
    const { table, changes, record } = replica();
    const ada = record({ id: 'a', email: 'ada@x' });
    table.applyReplicated([{ key: 'a', record: ada, deadline: null, op: 'update' }]);
    const moved = record({ id: 'a', email: 'ada@x', team: 'red' });
    table.applyReplicated([{ key: 'a', record: moved, deadline: 5_000, op: 'update' }]);
    expect(table.get('a')).toBe(moved);
    expect(table.deadlineOf('a')).toBe(5_000);
    expect(keysOf(table.indexes.get('team')!.lookup('red'))).toEqual(['a']);
    table.applyReplicated([{ key: 'a', op: 'expire' }]);
    table.applyReplicated([{ key: 'missing', op: 'delete' }]); // nothing to remove: no change
    expect(table.size).toBe(0);
    expect(table.deadlineCount).toBe(0);
    expect(changes.map((c) => [c.op, c.key])).toEqual([
      ['insert', 'a'],
      ['update', 'a'],
      ['expire', 'a'],
    ]);
    expect(changes[1].previous).toBe(ada);
  });

  it('moves a unique value between records within one batch, in either order', () => {
    const { table, record } = replica();
    table.applyReplicated([
      { key: 'a', record: record({ id: 'a', email: 'x@x' }), deadline: null, op: 'update' },
      { key: 'b', record: record({ id: 'b', email: 'y@x' }), deadline: null, op: 'update' },
    ]);
    // b takes x before a gives it up, then a takes y
    table.applyReplicated([
      { key: 'b', record: record({ id: 'b', email: 'x@x' }), deadline: null, op: 'update' },
      { key: 'a', record: record({ id: 'a', email: 'y@x' }), deadline: null, op: 'update' },
    ]);
    const email = table.indexes.get('email')!;
    expect(keysOf(email.lookup('x@x'))).toEqual(['b']);
    expect(keysOf(email.lookup('y@x'))).toEqual(['a']);
    expect(table.select({ email: 'x@x' }).map((m) => m.id)).toEqual(['b']);
  });

  it('never removes a record for its deadline itself: it reports it due instead', () => {
    const { table, record, now, due } = replica();
    table.applyReplicated([
      { key: 'a', record: record({ id: 'a' }), deadline: 2_000, op: 'update' },
    ]);
    expect(table.expire()).toBe(0);
    expect(due()).toBe(0);
    now.value = 2_500;
    expect(table.get('a')?.id).toBe('a'); // still there until the log says it expired
    expect(table.expire()).toBe(0);
    expect(due()).toBeGreaterThan(0);
    expect(table.ttl('a')).toBe(0);
    table.applyReplicated([{ key: 'a', op: 'expire' }]);
    const calls = due();
    table.get('a');
    expect(due()).toBe(calls); // nothing is due any more
  });

  it('revives records as frozen instances of the table class with its defaults', () => {
    const { record } = replica();
    const member = record({ id: 'z' });
    expect(member).toBeInstanceOf(Member);
    expect(member.team).toBe('core');
    expect(Object.isFrozen(member)).toBe(true);
  });
});
