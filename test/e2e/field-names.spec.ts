import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  match,
  MemoryStore,
  MemoryStoreModule,
  QueryError,
  Store,
  Table,
} from 'nestjs-memory-store';

/**
 * Records with fields named like what every object inherits from Object.prototype: such
 * fields come from JSON and imports rather than from a class (a class field `toString = ''`
 * would shadow the method in TypeScript's eyes too), so the table declares only its key and
 * an index (its field listed in `fields`, as the class does not declare it), and the test
 * talks to the store through a loosely typed view.
 */
@Table({ name: 'fn_words', key: 'id', indexes: ['valueOf'] as never, fields: ['valueOf'] })
class Word {
  id!: string;
}

@Store({ table: Word })
class WordsStore extends MemoryStore<Word> {}

type Loose = Record<string, unknown>;
interface LooseStore {
  insert(record: Loose): Promise<unknown>;
  select(query: unknown, options?: Loose): Loose[];
  count(query: unknown): number;
  explain(query: unknown): { path: { kind: string } };
  aggregate(query: unknown, options: Loose): { group: unknown; count?: number }[];
}

describe('fields named like Object.prototype methods', () => {
  let app: TestingModule;
  let words: LooseStore;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [WordsStore] })],
    }).compile();
    await app.init();
    words = app.get<WordsStore, LooseStore>(WordsStore);
    await words.insert({ id: 'a', valueOf: 1, toString: 'x', hasOwnProperty: true });
    await words.insert({ id: 'b', valueOf: 2, toString: 'y', nested: { toString: 'n' } });
    await words.insert({
      id: 'c',
      valueOf: 2,
      isPrototypeOf: 'p',
      nested: { propertyIsEnumerable: 3 },
    });
  });

  afterEach(async () => {
    await app.close();
  });

  const ids = (query: unknown) =>
    words
      .select(query)
      .map((w) => w.id as string)
      .sort();

  it('are found by attribute maps, operators, match templates and condition tuples', () => {
    expect(ids({ toString: 'x' })).toEqual(['a']);
    expect(ids({ toString: { $in: ['x', 'y'] } })).toEqual(['a', 'b']);
    expect(ids({ toString: { $regex: '^[xy]+$' } })).toEqual(['a', 'b']);
    expect(ids({ hasOwnProperty: true })).toEqual(['a']);
    expect(ids({ hasOwnProperty: { $exists: true } })).toEqual(['a']);
    expect(ids({ isPrototypeOf: { $exists: false } })).toEqual(['a', 'b']);
    expect(ids({ isPrototypeOf: null })).toEqual(['a', 'b']);
    expect(ids({ 'nested.toString': 'n' })).toEqual(['b']);
    expect(ids({ 'nested.propertyIsEnumerable': { $gt: 2 } })).toEqual(['c']);
    expect(ids(match`toString == ${'y'} or isPrototypeOf == ${'p'}`)).toEqual(['b', 'c']);
    expect(ids([['toString', '!=', 'x']])).toEqual(['b', 'c']);
    expect(ids({ toString: { $gte: 'y' } })).toEqual(['b']);
  });

  it('are found through an index, giving what a scan gives', async () => {
    expect(words.explain({ valueOf: 2 }).path.kind).toBe('index');
    expect(ids({ valueOf: 2 })).toEqual(['b', 'c']);
    expect(ids({ valueOf: { $gte: 1, $lt: 2 } })).toEqual(['a']);
    expect(words.count({ valueOf: { $in: [1, 2] } })).toBe(3);
    // a record without the field is indexed as missing, not under the inherited method
    await words.insert({ id: 'd', toString: 'z' });
    expect(ids({ valueOf: null })).toEqual(['d']);
    expect(words.explain({ valueOf: null }).path.kind).toBe('index');
    expect(ids({ valueOf: { $exists: false } })).toEqual(['d']);
    expect(words.select({}, { orderBy: { valueOf: 'desc' } }).map((w) => w.id)).toEqual([
      'c', // ties in key order, in the direction of the first order field
      'b',
      'a',
      'd',
    ]);
  });

  it('order, project and group', () => {
    expect(words.select({}, { orderBy: { toString: 'desc' } }).map((w) => w.id)).toEqual([
      'b',
      'a',
      'c',
    ]);
    expect(
      words.select({ id: 'c' }, { fields: ['id', 'hasOwnProperty', 'isPrototypeOf'] }),
    ).toEqual([{ id: 'c', isPrototypeOf: 'p' }]);
    expect(
      words
        .aggregate({}, { groupBy: 'hasOwnProperty', count: true })
        .map((g) => [g.group, g.count]),
    ).toEqual([
      [{ hasOwnProperty: null }, 2],
      [{ hasOwnProperty: true }, 1],
    ]);
  });

  it('a record without the field does not match the inherited method', () => {
    expect(ids({ isPrototypeOf: { $exists: true } })).toEqual(['c']);
    expect(words.count({ 'nested.toString': { $exists: true } })).toBe(1);
  });

  it('still refuses the keys no record can hold', () => {
    expect(() => words.select({ constructor: 1 })).toThrow(QueryError);
    expect(() => words.select({ 'nested.__proto__': 1 })).toThrow(QueryError);
  });
});
