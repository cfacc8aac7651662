import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { IsInt, Min } from 'class-validator';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { bulkUpdate } from '../../../lib/engine/bulk-write.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { thrown } from '../test-helpers.js';

interface Line {
  sku: string;
  qty: number;
}

@Table({ name: 'carts' })
class Cart {
  id!: string;
  @IsInt() @Min(0) visits = 0;
  owner?: string;
  total?: number;
  tags: string[] = [];
  lines: Line[] = [];
  profile: { lang: string; theme: string; bio?: string } = { lang: 'en', theme: 'dark' };
  seen?: Date;
  note = 'none';
}

function cart(fields: Partial<Cart> = {}): MemoryTable<Cart> {
  const table = new MemoryTable(getTableSchema(Cart));
  table.write({ id: 'c1', ...fields });
  return table;
}

/** Applies an update document to a fresh cart and returns the new record. */
function updated(doc: object, fields: Partial<Cart> = {}): Cart {
  return cart(fields).update('c1', doc);
}

describe('update operators', () => {
  describe('$set and $unset', () => {
    it('$set changes a nested field and leaves its siblings, the record stays frozen', () => {
      const table = cart();
      const before = table.get('c1')!;
      const after = table.update('c1', { $set: { 'profile.lang': 'fr' } } as never);
      expect(after.profile).toEqual({ lang: 'fr', theme: 'dark' });
      expect(before.profile).toEqual({ lang: 'en', theme: 'dark' });
      expect(Object.isFrozen(after.profile)).toBe(true);
      expect(after).toBeInstanceOf(Cart);
      expect(table.get('c1')).toBe(after);
    });

    it('$set creates missing objects on the way, and copies what it is given', () => {
      const given = { city: 'Lyon' };
      const after = updated({ $set: { 'address.home': given } });
      given.city = 'Paris';
      expect((after as unknown as { address: unknown }).address).toEqual({
        home: { city: 'Lyon' },
      });
      expect(
        Object.isFrozen((after as unknown as { address: { home: object } }).address.home),
      ).toBe(true);
    });

    it('a digit segment is an array position: set in place, past the end pads with null', () => {
      const lines = [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2 },
      ];
      expect(updated({ $set: { 'lines.1.qty': 5 } }, { lines }).lines).toEqual([
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 5 },
      ]);
      expect(updated({ $set: { 'tags.3': 'x' } }, { tags: ['a'] }).tags).toEqual([
        'a',
        null,
        null,
        'x',
      ]);
    });

    it('$unset removes a nested field; an array element becomes null; a top-level field returns to its default', () => {
      const after = updated(
        { $unset: { 'profile.theme': true, 'tags.0': 1, note: '', owner: true } },
        { tags: ['a', 'b'], note: 'n', owner: 'ada' },
      );
      expect(after.profile).toEqual({ lang: 'en' });
      expect(after.tags).toEqual([null, 'b']);
      expect(after.note).toBe('none');
      expect('owner' in after).toBe(false);
    });

    it('$unset of a missing path changes nothing', () => {
      expect(updated({ $unset: { 'profile.nothing.deeper': 1, 'owner.x': 1 } }).profile).toEqual({
        lang: 'en',
        theme: 'dark',
      });
    });
  });

  describe('arithmetic and comparison', () => {
    it('$inc adds, and creates a missing field with the operand; $mul multiplies, creating zero', () => {
      const after = updated(
        { $inc: { visits: 2, total: 5 }, $mul: { 'profile.score': 3 } },
        { visits: 1 },
      );
      expect(after.visits).toBe(3);
      expect(after.total).toBe(5);
      expect((after.profile as Record<string, unknown>).score).toBe(0);
      expect(updated({ $mul: { total: 1.5 } }, { total: 4 }).total).toBe(6);
    });

    it('$inc on a value that is not a number is a StoreValidationError naming the path', () => {
      const table = cart({ owner: 'ada' });
      const before = table.get('c1');
      const error = thrown(StoreValidationError, () =>
        table.update('c1', { $inc: { owner: 1 } } as never),
      );
      expect(error.message).toContain("$inc needs a number at 'owner', which holds a string");
      expect(error.key).toBe('c1');
      expect(error.errors[0].property).toBe('owner');
      expect(table.get('c1')).toBe(before);
    });

    it('$min and $max compare numbers, strings and dates (by time); a missing field is set', () => {
      const early = new Date('2024-01-01');
      const late = new Date('2025-01-01');
      expect(updated({ $min: { visits: 3 } }, { visits: 5 }).visits).toBe(3);
      expect(updated({ $min: { visits: 7 } }, { visits: 5 }).visits).toBe(5);
      expect(updated({ $max: { note: 'zzz' } }).note).toBe('zzz');
      expect(updated({ $max: { seen: late } }, { seen: early }).seen?.getTime()).toBe(
        late.getTime(),
      );
      expect(updated({ $min: { seen: late } }, { seen: early }).seen?.getTime()).toBe(
        early.getTime(),
      );
      expect(updated({ $max: { total: 4 } }).total).toBe(4);
    });

    it('$min/$max across types is refused; null sorts below every value', () => {
      thrown(StoreValidationError, () => updated({ $max: { note: 3 } }));
      expect(updated({ $max: { owner: 'b' } }, { owner: null as never }).owner).toBe('b');
      expect(updated({ $min: { owner: 'b' } }, { owner: null as never }).owner).toBeNull();
    });
  });

  describe('arrays', () => {
    it('$push appends, creates a missing array, and takes $each, $position, $sort and $slice', () => {
      expect(updated({ $push: { tags: 'c' } }, { tags: ['a'] }).tags).toEqual(['a', 'c']);
      expect(updated({ $push: { 'profile.list': 1 } }).profile).toEqual({
        lang: 'en',
        theme: 'dark',
        list: [1],
      });
      expect(
        updated({ $push: { tags: { $each: ['x', 'y'], $position: 0 } } }, { tags: ['a'] }).tags,
      ).toEqual(['x', 'y', 'a']);
      expect(
        updated({ $push: { tags: { $each: ['d', 'e'], $slice: -3 } } }, { tags: ['a', 'b', 'c'] })
          .tags,
      ).toEqual(['c', 'd', 'e']);
      expect(
        updated(
          { $push: { lines: { $each: [{ sku: 'z', qty: 0 }], $sort: { qty: -1 }, $slice: 2 } } },
          {
            lines: [
              { sku: 'a', qty: 1 },
              { sku: 'b', qty: 2 },
            ],
          },
        ).lines.map((l) => l.sku),
      ).toEqual(['b', 'a']);
    });

    it('$push on a value that is not an array is a StoreValidationError', () => {
      const error = thrown(StoreValidationError, () => updated({ $push: { note: 'x' } }));
      expect(error.message).toContain("$push needs an array at 'note', which holds a string");
    });

    it('$addToSet adds only values not yet there (objects by content)', () => {
      expect(
        updated({ $addToSet: { tags: { $each: ['a', 'b', 'b'] } } }, { tags: ['a'] }).tags,
      ).toEqual(['a', 'b']);
      const lines = [{ sku: 'a', qty: 1 }];
      expect(updated({ $addToSet: { lines: { qty: 1, sku: 'a' } } }, { lines }).lines).toEqual(
        lines,
      );
    });

    it('$pull removes equal values, values meeting a condition, and objects matching a query', () => {
      expect(updated({ $pull: { tags: 'b' } }, { tags: ['a', 'b', 'b'] }).tags).toEqual(['a']);
      const scores = updated(
        { $pull: { 'profile.scores': { $gte: 6 } } },
        {
          profile: { lang: 'en', theme: 'dark', scores: [3, 6, 9, 1] } as never,
        },
      );
      expect((scores.profile as Record<string, unknown>).scores).toEqual([3, 1]);
      const lines = [
        { sku: 'a', qty: 0 },
        { sku: 'b', qty: 2 },
      ];
      expect(updated({ $pull: { lines: { qty: 0 } } }, { lines }).lines).toEqual([
        { sku: 'b', qty: 2 },
      ]);
      expect(updated({ $pull: { 'profile.none': 1 } }).profile).toEqual({
        lang: 'en',
        theme: 'dark',
      });
    });
  });

  describe('$rename', () => {
    it('moves a value to another path, creating objects on the way; a missing source is no change', () => {
      const after = updated({ $rename: { owner: 'profile.owner' } }, { owner: 'ada' });
      expect(after.profile).toEqual({ lang: 'en', theme: 'dark', owner: 'ada' });
      expect('owner' in after).toBe(false);
      expect(updated({ $rename: { owner: 'profile.owner' } }).profile).toEqual({
        lang: 'en',
        theme: 'dark',
      });
    });

    it('refuses a move into or out of an array element', () => {
      thrown(StoreValidationError, () =>
        updated({ $rename: { 'lines.0.sku': 'code' } }, { lines: [{ sku: 'a', qty: 1 }] }),
      );
      // even to a position past the array's end
      thrown(StoreValidationError, () => updated({ $rename: { owner: 'tags.2' } }, { owner: 'x' }));
    });
  });

  describe('malformed documents are QueryErrors, whatever the record', () => {
    it.each([
      [{ $inc: { visits: 1 }, note: 'x' }, "mixes the field 'note' with update operators"],
      [{ $increment: { visits: 1 } }, "unknown update operator '$increment'"],
      [{ $inc: { visits: '1' } }, "$inc takes numbers: 'visits' is given a string"],
      [{ $set: 5 }, '$set takes an object of paths and values'],
      [{ $set: { 'profile.lang': 'fr' }, $unset: { profile: 1 } }, "the update names 'profile'"],
      [{ $inc: { visits: 1 }, $max: { visits: 3 } }, "the update names 'visits'"],
      [{ $set: { 'lines.$.qty': 1 } }, 'positional operators'],
      [{ $set: { 'profile..lang': 1 } }, 'is not a valid path'],
      [{ $set: { '__proto__.x': 1 } }, "'__proto__' cannot be used as a field name"],
      [{ $rename: { owner: 3 } }, '$rename takes the new path as a string'],
      [{ $rename: { owner: 'owner' } }, "the update names 'owner'"],
      [{ $push: { tags: { $slice: 2 } } }, 'its modifiers need $each'],
      [{ $push: { tags: { $each: [], $slice: 1.5 } } }, '$slice takes an integer'],
      [{ $addToSet: { tags: { $each: ['a'], $slice: 1 } } }, '{ $each: [ … ] } alone'],
    ])('%j', (doc, message) => {
      const table = cart();
      const before = table.get('c1');
      const error = thrown(QueryError, () => table.update('c1', doc as never));
      expect(error.message).toContain(message);
      expect(table.get('c1')).toBe(before);
    });
  });

  it('validates the result with class-validator, changing nothing when it fails', () => {
    const table = cart({ visits: 1 });
    const before = table.get('c1');
    const error = thrown(StoreValidationError, () =>
      table.update('c1', { $inc: { visits: -2 } } as never),
    );
    expect(error.errors[0].property).toBe('visits');
    expect(table.get('c1')).toBe(before);
  });

  it('cannot change the primary key', () => {
    thrown(StoreValidationError, () => updated({ $set: { id: 'c2' } }));
    thrown(StoreValidationError, () => updated({ $rename: { id: 'code' } }));
  });

  it('applies to every match of updateWhere, all or none', () => {
    const table = new MemoryTable(getTableSchema(Cart));
    table.writeMany([
      { id: 'a', visits: 1 },
      { id: 'b', visits: 2 },
      { id: 'c', owner: 'x' },
    ]);
    const result = table.updateWhere({ owner: { $exists: false } }, {
      $inc: { visits: 10 },
    } as never);
    expect(result.map((r) => r.visits).sort()).toEqual([11, 12]);
    table.write({ id: 'd', owner: 'y' });
    thrown(StoreValidationError, () =>
      table.updateWhere({ id: { $in: ['a', 'c'] } }, { $inc: { owner: 1 } } as never),
    );
    expect(table.get('a')!.visits).toBe(11);
  });

  it('applies to a bulk update in slices, all or none', async () => {
    const table = new MemoryTable(getTableSchema(Cart));
    table.writeMany(Array.from({ length: 6_000 }, (_, i) => ({ id: `c${i}`, visits: i % 3 })));
    const everyCart = { id: { $exists: true } };
    const updated = await bulkUpdate(
      table,
      everyCart,
      { $inc: { visits: 1 } } as never,
      undefined,
      {},
    );
    expect(updated).toHaveLength(6_000);
    expect(table.get('c4')!.visits).toBe(2);
    await expect(
      bulkUpdate(table, everyCart, { $inc: { visits: -2 } } as never, undefined, {}),
    ).rejects.toBeInstanceOf(StoreValidationError); // visits 1 would go below @Min(0)
    expect(table.get('c4')!.visits).toBe(2);
  });

  it('keeps every untouched value shared with the previous record', () => {
    const table = cart({ lines: [{ sku: 'a', qty: 1 }], tags: ['t'] });
    const before = table.get('c1')!;
    const after = table.update('c1', { $set: { 'lines.0.qty': 2 } } as never);
    expect(after.tags).toBe(before.tags);
    expect(after.profile).toBe(before.profile);
    expect(after.lines).not.toBe(before.lines);
  });
});
