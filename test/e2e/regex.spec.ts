import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  match,
  MemoryStore,
  MemoryStoreModule,
  QueryError,
  Store,
  Table,
  type Query,
} from 'nestjs-memory-store';

@Table({ name: 'rx_docs', key: 'id' })
class Doc {
  id!: string;
  body = '';
  nested = { body: '' };
}

@Store({ table: Doc })
class DocsStore extends MemoryStore<Doc> {}

const N = 20_000;
/** Long subjects on which a backtracking engine takes seconds to minutes per pattern. */
const DOCS: Record<string, string> = {
  as: 'a'.repeat(N),
  spaces: `${' '.repeat(N)}!`,
  abs: 'ab'.repeat(N / 2),
  ones: `${'1'.repeat(N)}x`,
  commas: `${'a'.repeat(30)},`.repeat(N / 31),
  short: 'ab c',
};

describe('$regex: linear-time matching on long strings', () => {
  let app: TestingModule;
  let docs: DocsStore;

  beforeAll(async () => {
    app = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [DocsStore] })],
    }).compile();
    await app.init();
    docs = app.get(DocsStore);
    for (const [id, body] of Object.entries(DOCS))
      await docs.insert({ id, body, nested: { body } });
  });

  afterAll(async () => {
    await app.close();
  });

  const ids = (query: Query<Doc>) =>
    docs
      .select(query)
      .map((d) => d.id)
      .sort();

  // Expected ids worked out by hand from the subjects' shapes, not with a RegExp (which
  // would take seconds to minutes on some of these).
  it.each([
    ['(?:a|b)*a(?:a|b){20}$', ['as']],
    ['\\s+$', []],
    ['(ab|a)*c', ['short']],
    ['(a+)+$', ['as']],
    ['(a|aa)+$', ['as']],
    ['^(\\s*)*$', []],
    ['(\\w+\\s?)*$', ['abs', 'as', 'commas', 'ones', 'short', 'spaces']],
    ['^(.*?,){11}P', []],
    ['a*a*b', ['abs', 'short']],
    ['\\d*\\d*x$', ['ones']],
    ['(a|ab)*c', ['short']],
    ['^([a-z]+\\s?)+$', ['abs', 'as', 'short']],
  ])('%s gives the right records', (pattern, expected) => {
    expect(ids({ body: { $regex: pattern } })).toEqual(expected);
    expect(ids({ 'nested.body': { $regex: new RegExp(pattern) } })).toEqual(expected);
    expect(docs.count({ body: { $not: new RegExp(pattern) } })).toBe(6 - expected.length);
  });

  it('gives the same records for each flag as a RegExp does on short strings', async () => {
    const lines = {
      l1: 'First line\nsecond LINE',
      l2: 'éclair\u00a0tab\there',
      l3: 'tail\n',
      l4: 'Über\r\nend',
    };
    for (const [id, body] of Object.entries(lines)) await docs.insert({ id, body });
    // Each repeats or alternates: it runs on RE2, or on V8's RegExp once rewritten (the last
    // ones: ends of branches trimmed, single characters joined into a class, or RE2 on the tail).
    const cases: [string, string][] = [
      ['^sec(o|0)nd', 'm'],
      ['lines?$', 'i'],
      ['lines?$', 'im'],
      ['first.+line', 's'],
      ['first.+line', 'is'],
      ['[\\s]+here', ''],
      ['\\S+\\s+tab', ''],
      ['^\\p{Lu}+', 'u'],
      ['^[^]*end$', ''],
      ['[]|x', ''],
      ['\\u00e9c(l|L)air', 'u'],
      ['\\bSECONDS?\\b', 'i'],
      ['tail?$', ''],
      ['^tai.$', 'm'],
      ['^\\w+ \\w+$', 'm'],
      ['[\\d-z]+$', ''],
      ['(?:L|l)+ine', 'i'],
      ['(?:\\s|x)+tab', ''],
      ['(é|e)*clair$', 'u'],
      ['\\w+$', 'm'],
      ['(ab|a)*\\r\\n', ''],
      ['(ine|INE)$', ''],
      ['(?:ail|er)\\n$', ''],
    ];
    for (const [pattern, flags] of cases) {
      const expected = Object.entries(lines)
        .filter(([, body]) => new RegExp(pattern, flags).test(body))
        .map(([id]) => id)
        .sort();
      const found = ids({ body: { $regex: pattern, $options: flags } }).filter((id) => id in lines);
      expect([pattern, flags, found]).toEqual([pattern, flags, expected]);
      const asRegExp = ids({ body: { $regex: new RegExp(pattern, `${flags}g`) } });
      expect(asRegExp.filter((id) => id in lines)).toEqual(expected);
    }
    for (const id of Object.keys(lines)) await docs.delete(id);
  });

  it('combines with other conditions', () => {
    expect(docs.count(match`id == ${'short'}`)).toBe(1);
    expect(ids({ $or: [{ body: { $regex: '(ab|a)*c' } }, { id: 'as' }] })).toEqual(['as', 'short']);
  });

  it('refuses what cannot run in linear time with a QueryError naming it', () => {
    const refused = (pattern: string | RegExp) => {
      try {
        docs.count({ body: { $regex: pattern } });
      } catch (error) {
        expect(error).toBeInstanceOf(QueryError);
        return (error as QueryError).message;
      }
      throw new Error(`${String(pattern)} was accepted`);
    };
    const prefix = "Invalid query on table 'rx_docs': 'body': unsupported $regex: ";
    const suffix = "; $regex matches in linear time, with RE2's features (see the README)";
    expect(refused('(a)\\1')).toBe(`${prefix}backreferences are not supported${suffix}`);
    expect(refused(/(?<x>a)\k<x>/)).toBe(`${prefix}backreferences are not supported${suffix}`);
    expect(refused('a(?=b)')).toBe(`${prefix}lookahead ((?= or (?!) is not supported${suffix}`);
    expect(refused('(?<!a)b')).toBe(`${prefix}lookbehind ((?<= or (?<!) is not supported${suffix}`);
    expect(refused('a{1,30000}b')).toMatch(/^.*RE2 refuses it \(.*invalid repeat count.*\)/);
    expect(refused(new RegExp('[\\w--\\d]+', 'v'))).toBe(
      `${prefix}the v flag (class set syntax) is not supported; use u`,
    );
  });
});
