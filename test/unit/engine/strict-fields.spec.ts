import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { IsInt } from 'class-validator';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { strictCheck } from '../../../lib/engine/strict-fields.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';

@Table({ name: 'things', strict: true })
class Thing {
  id!: string;
  label = '';
  count = 0;
  on = false;
  big = 0n;
  at = new Date(0);
  list: string[] = [];
  nested = { a: 1 };
  anything: unknown = null;
  @IsInt() score = 0;
  'odd "name"\n' = '';
}

/** What a check does with a record: passes, or names the field and the rule it broke. */
function outcome(check: ReturnType<typeof strictCheck>, record: Record<string, unknown>) {
  try {
    check(record, 'k');
    return 'ok';
  } catch (error) {
    const { errors } = error as StoreValidationError;
    return `${errors[0].property}: ${Object.values(errors[0].constraints ?? {})[0]}`;
  }
}

describe('strictCheck', () => {
  const schema = getTableSchema(Thing);
  const generated = strictCheck(schema);
  const generic = strictCheck(schema, false);
  const base = { id: 'k', label: 'x', count: 1, on: true, big: 2n, at: new Date(1) };
  const cases: Record<string, unknown>[] = [
    base,
    { ...base, list: ['a'], nested: { b: 2 }, anything: 'any', score: 'not checked here' },
    { ...base, 'odd "name"\n': 'y' },
    { ...base, extra: 1 },
    { ...base, label: 3 },
    { ...base, count: '1' },
    { ...base, on: 'true' },
    { ...base, big: 2 },
    { ...base, at: '1970-01-01' },
    { ...base, list: 'a' },
    { ...base, nested: [1] },
    { ...base, nested: new Date(0) },
    { ...base, count: null },
  ];

  it('generated and generic checks agree on every case', () => {
    const outcomes = cases.map((record) => outcome(generated, record));
    expect(cases.map((record) => outcome(generic, record))).toEqual(outcomes);
    expect(outcomes.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
    expect(outcomes[3]).toMatch(/^extra: 'extra' is not a field of Thing, and the table is strict/);
    expect(outcomes.slice(4)).toEqual([
      'label: label must be a string, as its initialiser in Thing is',
      'count: count must be a number, as its initialiser in Thing is',
      'on: on must be a boolean, as its initialiser in Thing is',
      'big: big must be a bigint, as its initialiser in Thing is',
      'at: at must be a Date, as its initialiser in Thing is',
      'list: list must be an array, as its initialiser in Thing is',
      'nested: nested must be an object, as its initialiser in Thing is',
      'nested: nested must be an object, as its initialiser in Thing is',
      'count: count must be a number, as its initialiser in Thing is',
    ]);
  });
});
