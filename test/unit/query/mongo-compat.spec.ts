/**
 * MongoDB compatibility: the query cases of fixtures/mongo-cases.ts (ported from the query
 * tests of MongoDB-style libraries), each answered by the store and by mingo. Where the two
 * disagree, the case must be listed in DIFFERENCES with the reason, which the README's
 * operator table states too; a listed case that agrees fails the test, so the list stays true.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Query } from 'mingo';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { DOC_SETS, MONGO_CASES, type DocSet } from './fixtures/mongo-cases.js';

@Table({ name: 'mongo_docs' })
class MongoDoc {
  id!: number;
}

/** What a query gave: the positions of the documents matched, or a refusal. */
type Answer = number[] | 'refused';

function ours(set: DocSet, query: Record<string, unknown>): Answer {
  const table = new MemoryTable(getTableSchema(MongoDoc));
  table.writeMany(DOC_SETS[set].map((doc, id) => ({ ...doc, id })));
  try {
    return table
      .select(query as never)
      .map((r) => r.id)
      .sort((a, b) => a - b);
  } catch (error) {
    if (error instanceof QueryError) return 'refused';
    throw error;
  }
}

function mingos(set: DocSet, query: Record<string, unknown>): Answer {
  try {
    const q = new Query(query);
    return DOC_SETS[set].flatMap((doc, i) => (q.test(doc) ? [i] : []));
  } catch {
    return 'refused';
  }
}

const label = (set: DocSet, query: unknown): string =>
  `${set} ${JSON.stringify(query, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`;

/**
 * The cases where the store and mingo answer differently, by label, with why. `mongo` says
 * which of the two gives MongoDB's answer (MongoDB's manual, or mingo's own parity notes).
 */
const DIFFERENCES: Record<string, { mongo: 'store' | 'mingo'; why: string }> = {
  'INVENTORY {"tags":{"$all":[["red","blank"]]}}': {
    mongo: 'store',
    why: '$all of an array is the AND of equalities: it matches the array equal to it',
  },
  'INVENTORY {"qty":{"$type":"number"}}': { mongo: 'mingo', why: '$type is not supported' },
  'INVENTORY {"qty":{"$mod":[25,0]}}': { mongo: 'mingo', why: '$mod is not supported' },
  'INVENTORY {"$expr":{"$gt":["$qty",50]}}': { mongo: 'mingo', why: '$expr is not supported' },
  'MISSING {"item":{"$type":"null"}}': { mongo: 'mingo', why: '$type is not supported' },
  'RESULTS {"results":{"$elemMatch":{"score":{"$not":{"$gt":5}}}}}': {
    mongo: 'store',
    why: 'a filter in $elemMatch tests the elements that are documents only, not the scalar 1',
  },
  'RESULTS {"scores":{"$all":[42]}}': {
    mongo: 'store',
    why: '$all matches a scalar field equal to its only value (the AND of equalities)',
  },
  'MISSING {"item":{"$all":[null]}}': {
    mongo: 'store',
    why: '$all: [null] is { item: null }: null and missing match',
  },
  'MISSING {"item":{"$all":["x"]}}': {
    mongo: 'store',
    why: '$all matches a scalar field equal to its only value',
  },
  'RESULTS {"results.score":{"$size":2}}': {
    mongo: 'store',
    why: '$size tests each array a path reaches, not the list of values reached',
  },
  'NESTED {"key0.key1":{"$size":1}}': {
    mongo: 'store',
    why: '$size tests each array a path reaches, not the list of values reached',
  },
  'MISSING {"item":{"$in":[["x","y"]]}}': {
    mongo: 'store',
    why: 'an array in $in matches the field equal to it as well as an array holding it',
  },
  'MISSING {"item.a":{"$exists":true}}': {
    mongo: 'store',
    why: 'a path does not reach into an array nested in an array',
  },
  'MISSING {"item.a":null}': {
    mongo: 'store',
    why: 'an element document without the field matches null',
  },
  'MISSING {"item":{"$gt":null}}': {
    mongo: 'mingo',
    why: 'a range bound of null is refused (MongoDB: $gt/$lt null match nothing)',
  },
  'MISSING {"item":{"$gte":null}}': {
    mongo: 'mingo',
    why: 'a range bound of null is refused (MongoDB: $gte/$lte null are $eq null)',
  },
  'TEXTS {"name":{"$regex":"^a d # starts with ad","$options":"x"}}': {
    mongo: 'store',
    why: 'the x flag (whitespace and # comments ignored) is supported, as in MongoDB',
  },
  'TEXTS {"name":{"$regex":"ab\\\\ c","$options":"x"}}': {
    mongo: 'store',
    why: 'the x flag keeps an escaped space',
  },
  'TEXTS {"name":{"$eq":"/^a/"}}': {
    mongo: 'mingo',
    why: 'a RegExp compared with $eq is refused: no record holds a RegExp (use $regex)',
  },
  'TEXTS {"name":{"$regex":42}}': { mongo: 'store', why: 'MongoDB refuses a $regex of a number' },
};

describe('MongoDB compatibility (against mingo)', () => {
  const answers = MONGO_CASES.map(([set, query]) => {
    const name = label(set, query);
    return { name, ours: ours(set, query), mingo: mingos(set, query) };
  });
  const agree = answers.filter((a) => JSON.stringify(a.ours) === JSON.stringify(a.mingo));

  it('agrees with mingo except for the documented differences', () => {
    const undocumented = answers
      .filter((a) => JSON.stringify(a.ours) !== JSON.stringify(a.mingo))
      .filter((a) => !(a.name in DIFFERENCES))
      .map((a) => `${a.name}: store ${JSON.stringify(a.ours)}, mingo ${JSON.stringify(a.mingo)}`);
    expect(undocumented).toEqual([]);
  });

  it('documents only real differences', () => {
    const names = new Set(answers.map((a) => a.name));
    const stale = Object.keys(DIFFERENCES).filter(
      (name) => !names.has(name) || agree.some((a) => a.name === name),
    );
    expect(stale).toEqual([]);
  });

  it('reports the agreement', () => {
    const storeRight = Object.values(DIFFERENCES).filter((d) => d.mongo === 'store').length;
    process.stdout.write(
      `mongo compatibility: ${agree.length} of ${answers.length} cases agree with mingo; ` +
        `of the ${answers.length - agree.length} others, the store gives MongoDB's answer in ${storeRight}\n`,
    );
    expect(agree.length).toBeGreaterThan(0);
  });
});
