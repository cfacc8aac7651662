import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { RecordNotFoundError } from '../../../lib/errors/record-not-found.error.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { documentedMatch, keysOf } from '../test-helpers.js';

@Table({ name: 'members', indexes: ['team'] })
class Member {
  id!: string;
  @Index({ unique: true }) email?: string | null;
  team?: unknown;
  n = 0;
}

type Fields = { email?: string | null; team?: unknown; n?: number };
type Input = Fields & { id: string };
type Row = Record<string, unknown> & { id: string };

type Op =
  | { kind: 'write' | 'insert'; input: Input }
  | { kind: 'update'; id: string; patch: Fields }
  | { kind: 'delete'; id: string }
  | { kind: 'writeMany'; inputs: Input[] }
  | { kind: 'deleteMany'; team: unknown }
  | { kind: 'invalid'; inputs: unknown[] };

const EMAILS: (string | null | undefined)[] = ['x@', 'y@', 'z@', null, undefined];
const TEAMS: unknown[] = ['red', 'blue', 1, '1', 0, -0, NaN, null, new Date(1), { k: 1 }, [1]];

const id = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const fields = {
  email: fc.constantFrom(...EMAILS),
  team: fc.constantFrom(...TEAMS),
  n: fc.nat(3),
};
const input: fc.Arbitrary<Input> = fc.record({ id, ...fields }, { requiredKeys: ['id'] });
const patch: fc.Arbitrary<Fields> = fc.record(fields, { requiredKeys: [] });
const invalid = fc.constantFrom<unknown>(
  { id: NaN },
  { id: 'a', team: () => 'red' },
  { id: 'b', email: 'x@', team: new Map() },
  JSON.parse('{"id":"c","__proto__":{"n":1}}'),
  { team: 'red' },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: input.map((i) => ({ kind: 'write' as const, input: i })), weight: 4 },
  { arbitrary: input.map((i) => ({ kind: 'insert' as const, input: i })), weight: 2 },
  {
    arbitrary: fc
      .tuple(id, patch)
      .map(([key, p]) => ({ kind: 'update' as const, id: key, patch: p })),
    weight: 3,
  },
  { arbitrary: id.map((key) => ({ kind: 'delete' as const, id: key })), weight: 2 },
  {
    arbitrary: fc
      .array(input, { maxLength: 4 })
      .map((inputs) => ({ kind: 'writeMany' as const, inputs })),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(...TEAMS).map((team) => ({ kind: 'deleteMany' as const, team })),
    weight: 1,
  },
  {
    arbitrary: fc
      .tuple(fc.array(input, { maxLength: 2 }), invalid)
      .map(([valid, bad]) => ({ kind: 'invalid' as const, inputs: [...valid, bad] })),
    weight: 1,
  },
);

/** The fields that are not undefined: an undefined field counts as absent. */
function defined<F extends object>(fields: F): Partial<F> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as Partial<F>;
}

/** The model: rows by key, and the documented effect of each operation on them. */
class Model {
  rows = new Map<string, Row>();

  /** The rows after `op`, or the error class the table must throw (and then change nothing). */
  next(op: Op): Map<string, Row> | (abstract new (...args: never[]) => Error) {
    const rows = new Map(this.rows);
    const build = (i: Input): Row => ({ n: 0, ...defined(i), id: i.id });
    switch (op.kind) {
      case 'write':
        rows.set(op.input.id, build(op.input));
        break;
      case 'insert':
        if (rows.has(op.input.id)) return DuplicateKeyError;
        rows.set(op.input.id, build(op.input));
        break;
      case 'update': {
        const current = rows.get(op.id);
        if (!current) return RecordNotFoundError;
        rows.set(op.id, { ...current, ...defined(op.patch) });
        break;
      }
      case 'delete':
        rows.delete(op.id);
        break;
      case 'writeMany':
        for (const i of op.inputs) rows.set(i.id, build(i));
        break;
      case 'deleteMany':
        for (const [key, row] of rows) if (documentedMatch(row.team, op.team)) rows.delete(key);
        break;
      case 'invalid':
        return StoreValidationError;
    }
    const owners = new Set<unknown>();
    for (const row of rows.values()) {
      if (row.email === null || row.email === undefined) continue;
      if (owners.has(row.email)) return DuplicateKeyError;
      owners.add(row.email);
    }
    return rows;
  }

  select(field: string, value: unknown): string[] {
    const matches = [...this.rows.values()].filter((r) => documentedMatch(r[field], value));
    return keysOf(matches) as string[];
  }
}

function apply(table: MemoryTable<Member>, op: Op): void {
  switch (op.kind) {
    case 'write':
      table.write(op.input);
      return;
    case 'insert':
      table.insert(op.input);
      return;
    case 'update':
      table.update(op.id, op.patch);
      return;
    case 'delete':
      table.delete(op.id);
      return;
    case 'writeMany':
      table.writeMany(op.inputs);
      return;
    case 'deleteMany':
      table.deleteMany({ team: op.team });
      return;
    case 'invalid':
      if (op.inputs.length === 1) table.write(op.inputs[0]);
      else table.writeMany(op.inputs);
  }
}

function expectSame(table: MemoryTable<Member>, model: Model): void {
  expect(table.size).toBe(model.rows.size);
  expect(keysOf(table.all())).toEqual(keysOf(model.rows.values()));
  for (const [key, row] of model.rows) {
    const record = table.get(key);
    expect(record).toBeInstanceOf(Member);
    expect({ ...record }).toEqual(row);
  }
  for (const email of EMAILS) {
    const value = email ?? null;
    expect(keysOf(table.select({ email: value }))).toEqual(model.select('email', value));
    expect(table.count({ email: value })).toBe(model.select('email', value).length);
  }
  for (const team of TEAMS) {
    expect(keysOf(table.select({ team }))).toEqual(model.select('team', team));
  }
}

describe('MemoryTable against a model (property)', () => {
  it('agrees with a Map and a naive filter after every step', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const table = new MemoryTable(getTableSchema(Member));
        const model = new Model();
        expect(table.plan({ email: 'x@' }).path.kind).toBe('index');
        expect(table.plan({ team: 'red' }).path.kind).toBe('index');
        for (const step of ops) {
          const expected = model.next(step);
          if (expected instanceof Map) {
            apply(table, step);
            model.rows = expected;
          } else {
            const rows = [...table.rows.entries()];
            const all = table.all();
            expect(() => apply(table, step)).toThrow(expected);
            const after = [...table.rows.entries()];
            expect(after.map(([key]) => key)).toEqual(rows.map(([key]) => key));
            after.forEach(([, record], i) => expect(record).toBe(rows[i][1]));
            expect(table.all()).toBe(all);
          }
          expectSame(table, model);
        }
      }),
      { numRuns: 200 },
    );
  });
});
