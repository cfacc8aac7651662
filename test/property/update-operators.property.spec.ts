/**
 * Random update operator documents applied by a store (through its public API, in a Nest
 * application) give what a plain reference implementation gives on plain objects: the same
 * record, or the same kind of refusal (`QueryError` for a malformed document,
 * `StoreValidationError` for one that cannot apply to the record), with nothing changed.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import {
  MemoryStore,
  MemoryStoreModule,
  QueryError,
  Store,
  StoreValidationError,
  Table,
} from 'nestjs-memory-store';
import { createApp } from '../e2e/fixtures/app.factory.js';

@Table({ name: 'update_model' })
class Doc {
  id!: string;
  n = 0;
  s = 'm';
  arr: number[] = [];
  objs: { k: number }[] = [];
  o: Record<string, unknown> = { a: 1, b: { c: 2 } };
  opt?: number | string | null;
}

@Store({ table: Doc })
class DocsStore extends MemoryStore<Doc> {}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [DocsStore] })] })
class UpdateModelModule {}

type Json = null | number | string | Json[] | { [key: string]: Json };
type Plain = { [key: string]: Json };

const DEFAULTS: Plain = { n: 0, s: 'm', arr: [], objs: [], o: { a: 1, b: { c: 2 } } };

// ---- the reference: plain objects, mutated in place ------------------------------------

class Refused extends Error {
  constructor(readonly kind: 'query' | 'apply') {
    super(kind);
  }
}

const OPERATORS = [
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$pull',
  '$rename',
];

function reference(record: Plain, doc: Record<string, Record<string, unknown>>): Plain {
  const named: string[] = [];
  for (const [op, fields] of Object.entries(doc)) {
    if (!OPERATORS.includes(op)) throw new Refused('query');
    for (const [path, value] of Object.entries(fields)) {
      named.push(path);
      if (op === '$rename') named.push(value as string);
    }
  }
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [a, b] = [named[i], named[j]];
      if (a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)) throw new Refused('query');
    }
  }
  const out = structuredClone(record);
  for (const [op, fields] of Object.entries(doc)) {
    for (const [path, value] of Object.entries(fields)) apply(out, op, path.split('.'), value);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(s: string): boolean {
  return /^(0|[1-9]\d*)$/.test(s);
}

/** The value at a path, and whether the walk went through an array. */
function lookup(root: Plain, path: string[]): { found: boolean; value?: Json; viaArray: boolean } {
  let value: Json = root;
  let viaArray = false;
  for (const segment of path) {
    if (Array.isArray(value)) {
      viaArray = true;
      if (!isIndex(segment) || Number(segment) >= value.length) return { found: false, viaArray };
      value = value[Number(segment)];
    } else if (isObject(value)) {
      if (!Object.hasOwn(value, segment)) return { found: false, viaArray };
      value = value[segment];
    } else {
      return { found: false, viaArray };
    }
  }
  return { found: true, value, viaArray };
}

/** The container holding the path's last segment, created as needed (`null`: not there). */
function parentOf(root: Plain, path: string[], create: boolean): Json[] | Plain | null {
  let container: Json[] | Plain = root;
  for (const segment of path.slice(0, -1)) {
    let next: Json | undefined;
    if (Array.isArray(container)) {
      if (!isIndex(segment)) throw new Refused('apply');
      next = container[Number(segment)];
    } else {
      next = Object.hasOwn(container, segment) ? container[segment] : undefined;
    }
    if (next === undefined) {
      if (!create) return null;
      next = {};
      put(container, segment, next);
    } else if (typeof next !== 'object' || next === null) {
      if (!create) return null;
      throw new Refused('apply');
    }
    container = next;
  }
  return container;
}

function put(container: Json[] | Plain, segment: string, value: Json): void {
  if (!Array.isArray(container)) {
    container[segment] = value;
    return;
  }
  if (!isIndex(segment)) throw new Refused('apply');
  while (container.length < Number(segment)) container.push(null);
  container[Number(segment)] = value;
}

function set(root: Plain, path: string[], value: Json): void {
  put(parentOf(root, path, true)!, path[path.length - 1], structuredClone(value));
}

function remove(root: Plain, path: string[]): void {
  if (!lookup(root, path).found) return;
  const last = path[path.length - 1];
  if (path.length === 1) {
    if (Object.hasOwn(DEFAULTS, last)) root[last] = structuredClone(DEFAULTS[last]);
    else delete root[last];
    return;
  }
  const parent = parentOf(root, path, false)!;
  if (Array.isArray(parent)) parent[Number(last)] = null;
  else delete parent[last];
}

function typeRank(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function apply(root: Plain, op: string, path: string[], operand: unknown): void {
  const { found, value } = lookup(root, path);
  switch (op) {
    case '$set':
      return set(root, path, operand as Json);
    case '$unset':
      return remove(root, path);
    case '$inc':
    case '$mul':
      if (!found) return set(root, path, op === '$inc' ? (operand as number) : 0);
      if (typeof value !== 'number') throw new Refused('apply');
      return set(
        root,
        path,
        op === '$inc' ? value + (operand as number) : value * (operand as number),
      );
    case '$min':
    case '$max': {
      if (!found) return set(root, path, operand as Json);
      const [a, b] = [typeRank(value!), typeRank(operand as Json)];
      if (a === 'null' || b === 'null') {
        if (a !== b && (op === '$min' ? b === 'null' : a === 'null'))
          set(root, path, operand as Json);
        return;
      }
      if (a !== b || (a !== 'number' && a !== 'string')) throw new Refused('apply');
      const less = (operand as number | string) < (value as number | string);
      const more = (operand as number | string) > (value as number | string);
      if (op === '$min' ? less : more) set(root, path, operand as Json);
      return;
    }
    case '$push':
    case '$addToSet': {
      if (found && !Array.isArray(value)) throw new Refused('apply');
      const items: Json[] = found ? [...(value as Json[])] : [];
      const each = isObject(operand) && Object.hasOwn(operand, '$each');
      const added = each ? (operand as { $each: Json[] }).$each : [operand as Json];
      if (op === '$addToSet') {
        for (const item of added)
          if (!items.some((x) => JSON.stringify(x) === JSON.stringify(item))) items.push(item);
        return set(root, path, items);
      }
      const { $position, $slice } = (each ? operand : {}) as {
        $position?: number;
        $slice?: number;
      };
      const at =
        $position === undefined
          ? items.length
          : $position < 0
            ? Math.max(0, items.length + $position)
            : Math.min($position, items.length);
      let next = [...items.slice(0, at), ...added, ...items.slice(at)];
      if ($slice !== undefined)
        next = $slice < 0 ? next.slice(Math.max(0, next.length + $slice)) : next.slice(0, $slice);
      return set(root, path, next);
    }
    case '$pull': {
      if (!found) return;
      if (!Array.isArray(value)) throw new Refused('apply');
      const matches = (item: Json): boolean => {
        if (isObject(operand) && Object.hasOwn(operand, '$gte'))
          return typeof item === 'number' && item >= (operand.$gte as number);
        if (isObject(operand)) return isObject(item) && item.k === operand.k;
        return JSON.stringify(item) === JSON.stringify(operand);
      };
      const kept = value.filter((item) => !matches(item));
      if (kept.length !== value.length) set(root, path, kept);
      return;
    }
    case '$rename': {
      if (!found) return;
      const to = (operand as string).split('.');
      if (lookup(root, path).viaArray || lookup(root, to).viaArray || viaArrayPrefix(root, to))
        throw new Refused('apply');
      remove(root, path);
      return set(root, to, value!);
    }
  }
}

/** Whether the walk to a missing path goes through an array before it stops. */
function viaArrayPrefix(root: Plain, path: string[]): boolean {
  for (let n = path.length - 1; n > 0; n--) {
    const { found, value, viaArray } = lookup(root, path.slice(0, n));
    if (found) return viaArray || Array.isArray(value);
  }
  return false;
}

// ---- generators ----------------------------------------------------------------------

const PATHS = [
  'n',
  's',
  'arr',
  'arr.0',
  'arr.2',
  'objs',
  'objs.0.k',
  'o',
  'o.a',
  'o.b',
  'o.b.c',
  'o.x',
  'o.b.c.d',
  'opt',
  'opt.z',
  'p.q',
];
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('a', 'z'),
  fc.constant(null),
);
const value: fc.Arbitrary<Json> = fc.oneof(
  scalar,
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
  fc.record({ k: fc.integer({ min: 0, max: 2 }) }),
);
const operand = (op: string): fc.Arbitrary<unknown> => {
  switch (op) {
    case '$inc':
    case '$mul':
      return fc.integer({ min: -3, max: 3 });
    case '$unset':
      return fc.constant(1);
    case '$rename':
      return fc.constantFrom(...PATHS);
    case '$min':
    case '$max':
      return scalar;
    case '$push':
      return fc.oneof(
        value,
        fc.record(
          {
            $each: fc.array(value, { maxLength: 3 }),
            $slice: fc.integer({ min: -3, max: 3 }),
            $position: fc.integer({ min: -2, max: 3 }),
          },
          { requiredKeys: ['$each'] },
        ),
      );
    case '$addToSet':
      return fc.oneof(value, fc.record({ $each: fc.array(value, { maxLength: 3 }) }));
    case '$pull':
      return fc.oneof(
        scalar,
        fc.record({ $gte: fc.integer({ min: 0, max: 3 }) }),
        fc.record({ k: fc.integer({ min: 0, max: 2 }) }),
      );
    default:
      return value;
  }
};
const operatorDoc = fc
  .array(
    fc
      .constantFrom(...OPERATORS, ...OPERATORS, ...OPERATORS, '$nope')
      .chain((op) =>
        fc.tuple(
          fc.constant(op),
          fc.dictionary(fc.constantFrom(...PATHS), operand(op), { minKeys: 1, maxKeys: 2 }),
        ),
      ),
    { minLength: 1, maxLength: 3 },
  )
  .map((entries) => Object.fromEntries(entries) as Record<string, Record<string, unknown>>);
const startRecord = fc.record(
  {
    n: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant('x')),
    arr: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }),
    objs: fc.array(fc.record({ k: fc.integer({ min: 0, max: 2 }) }), { maxLength: 3 }),
    opt: scalar,
  },
  { requiredKeys: [] },
);

describe('update operators: the store agrees with a plain reference implementation', () => {
  let app: INestApplication;
  let docs: DocsStore;

  beforeAll(async () => {
    app = await createApp(UpdateModelModule);
    await app.init();
    docs = app.get(DocsStore);
  });

  afterAll(async () => {
    await app.close();
  });

  it('gives the same record or the same refusal, with nothing changed on a refusal', async () => {
    await fc.assert(
      fc.asyncProperty(startRecord, operatorDoc, async (start, doc) => {
        const written = await docs.write({ id: 'r', ...(start as Partial<Doc>) });
        const before = JSON.parse(JSON.stringify(written)) as Plain;
        let expected: Plain | Refused;
        try {
          expected = reference(before, doc);
        } catch (error) {
          if (!(error instanceof Refused)) throw error;
          expected = error;
        }
        let actual: unknown;
        try {
          actual = await docs.update('r', doc);
        } catch (error) {
          actual = error;
        }
        if (expected instanceof Refused) {
          expect(actual).toBeInstanceOf(
            expected.kind === 'query' ? QueryError : StoreValidationError,
          );
          expect(docs.get('r')).toBe(written);
        } else {
          expect(actual).toBeInstanceOf(Doc);
          // (through JSON on both sides: -0 is 0 there, as in every file the store writes)
          expect(JSON.parse(JSON.stringify(actual))).toEqual(JSON.parse(JSON.stringify(expected)));
          expect(docs.get('r')).toBe(actual);
        }
      }),
      { numRuns: 400 },
    );
  });
});
