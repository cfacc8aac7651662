import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { bulkWrite } from '../../../lib/engine/bulk-write.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { thrown } from '../test-helpers.js';

@Index(['team', 'badge'], { unique: true })
@Index('profile.email', { unique: true })
@Index('score', { kind: 'ordered' })
@Table({ name: 'members', indexes: [['team', 'score']] })
class Member {
  id!: string;
  team = 'core';
  badge?: number;
  score = 0;
  profile?: { email?: string };
}

const members = () => new MemoryTable(getTableSchema(Member));

describe('MemoryTable with compound and nested indexes', () => {
  it('compiles compound and nested declarations into the schema', () => {
    const schema = getTableSchema(Member);
    expect(schema.compoundIndexes).toEqual([
      { fields: ['team', 'score'], unique: false, ordered: true },
      { fields: ['team', 'badge'], unique: true, ordered: true },
    ]);
    expect(schema.indexes).toEqual([
      { field: 'score', unique: false, ordered: true },
      { field: 'profile.email', unique: true },
    ]);
    expect(schema.fields).toContain('profile');
    expect(schema.fields).not.toContain('profile.email');
  });

  it('refuses a batch whose records share a unique tuple, naming the entry', () => {
    const table = members();
    const error = thrown(DuplicateKeyError, () =>
      table.writeMany([
        { id: 'a', team: 'x', badge: 1 },
        { id: 'b', team: 'x', badge: 1 },
      ]),
    );
    expect(error.field).toBe('team, badge');
    expect(error.value).toEqual(['x', 1]);
    expect(error.entry).toBe(1);
    expect(error.holder).toBe('a');
    expect(table.size).toBe(0);
  });

  it('checks unique tuples in a bulk write too', async () => {
    const table = members();
    table.write({ id: 'a', team: 'x', badge: 1 });
    let error: unknown;
    try {
      await bulkWrite(
        table,
        [
          { id: 'b', team: 'y', badge: 1 },
          { id: 'c', team: 'x', badge: 1 },
        ],
        undefined,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect((error as DuplicateKeyError).field).toBe('team, badge');
    expect(table.has('b')).toBe(false);
  });

  it('frees a tuple when its holder moves to another, and keeps the move in the index', () => {
    const table = members();
    table.write({ id: 'a', team: 'x', badge: 1 });
    table.update('a', { badge: 2 });
    table.write({ id: 'b', team: 'x', badge: 1 });
    expect(
      thrown(DuplicateKeyError, () => table.write({ id: 'c', team: 'x', badge: 2 })).holder,
    ).toBe('a');
    expect(table.select({ team: 'x', badge: 2 }).map((r) => r.id)).toEqual(['a']);
    table.delete('a');
    table.write({ id: 'c', team: 'x', badge: 2 });
    expect(table.select({ team: 'x', badge: 2 }).map((r) => r.id)).toEqual(['c']);
  });

  it('keeps a unique dotted path unique, leaving records without it free', () => {
    const table = members();
    table.write({ id: 'a', profile: { email: 'a@x' } });
    table.write({ id: 'b' });
    table.write({ id: 'c', profile: {} });
    const error = thrown(DuplicateKeyError, () =>
      table.write({ id: 'd', profile: { email: 'a@x' } }),
    );
    expect(error.field).toBe('profile.email');
    expect(error.holder).toBe('a');
    expect(table.plan({ 'profile.email': 'a@x' }).path).toMatchObject({
      kind: 'index',
      field: 'profile.email',
      unique: true,
    });
    expect(
      table
        .select({ 'profile.email': null })
        .map((r) => r.id)
        .sort(),
    ).toEqual(['b', 'c']);
  });

  it('walks an ordered index for an order with a limit, and a compound prefix in order', () => {
    const table = members();
    table.writeMany(
      Array.from({ length: 40 }, (_, i) => ({
        id: `m${i}`,
        team: i % 2 ? 'x' : 'y',
        score: i % 7,
      })),
    );
    expect(table.plan(undefined, { orderBy: { score: 'desc' }, limit: 3 })).toMatchObject({
      path: { kind: 'ordered', field: 'score', direction: 'desc' },
      ordered: true,
    });
    const plan = table.plan({ team: 'x' }, { orderBy: { score: 'asc' }, limit: 3 });
    expect(plan).toMatchObject({ path: { kind: 'compound', prefix: ['team'] }, ordered: true });
    expect(
      table.select({ team: 'x' }, { orderBy: { score: 'asc' }, limit: 3 }).map((r) => r.id),
    ).toEqual(['m21', 'm35', 'm7']); // ties by key
  });

  it('leaves a compound index alone while a record holds an array in its fields', () => {
    const table = members();
    table.writeMany([
      { id: 'a', team: 'x', score: 1 },
      { id: 'y1', team: 'y', score: 1 },
      { id: 'y2', team: 'y', score: 1 },
    ]);
    expect(table.plan({ team: 'x', score: 1 }).path.kind).toBe('compound');
    table.write({ id: 'b', team: ['x'] as never, score: 1 });
    expect(table.plan({ team: 'x', score: 1 }).path.kind).toBe('index');
    table.delete('b');
    expect(table.plan({ team: 'x', score: 1 }).path.kind).toBe('compound');
  });

  it('reads a plain equality prefix plus range from the compound index without re-checking, keeping types apart', () => {
    const table = members();
    table.writeMany([
      { id: 'n1', team: 'x', score: 31 },
      { id: 'n2', team: 'x', score: 29 },
      { id: 's1', team: 'x', score: '31' as never },
      { id: 'n3', team: 'y', score: 31 },
      { id: 'n4', team: 'x', score: 40 },
    ]);
    const plain = table.plan({ team: 'x', score: { $gte: 30, $lt: 40 } });
    expect(plain).toMatchObject({ path: { kind: 'compound', rangeField: 'score' }, exact: true });
    expect(table.select({ team: 'x', score: { $gte: 30, $lt: 40 } }).map((r) => r.id)).toEqual([
      'n1',
    ]);
    expect(table.select({ team: 'x', score: { $gte: '30' } }).map((r) => r.id)).toEqual(['s1']);
    // anything else in the query, or two bounds of different types, is re-checked
    for (const query of [
      { team: 'x', score: { $gte: 30 }, id: { $ne: 'n1' } },
      { team: 'x', score: { $gte: 30, $lt: '4' } },
      { team: 'x', score: { $gt: 29, $gte: 31 } },
      { team: 'x', score: { $in: [31, 40] } },
    ])
      expect(table.plan(query).exact).toBeFalsy();
    expect(
      table.select({ team: 'x', score: { $gte: 30 }, id: { $ne: 'n1' } }).map((r) => r.id),
    ).toEqual(['n4']);
    expect(
      table
        .select({ team: 'x', score: { $gt: 29, $gte: 31 } })
        .map((r) => r.id)
        .sort(),
    ).toEqual(['n1', 'n4']);
  });
});
