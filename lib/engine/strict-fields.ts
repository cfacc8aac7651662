import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { invalidField } from './record-factory.js';

/** One kind of value an initialiser gives its field: its name in messages, and its test. */
interface FieldKind {
  readonly name: string;
  readonly test: (value: unknown) => boolean;
}

/** Checks a record built for a strict table; throws `StoreValidationError` naming the field. */
export type StrictCheck = (record: Record<string, unknown>, key: RecordKey) => void;

/**
 * The check of a strict table (`@Table({ strict: true })`, or the module's `strict`): every
 * field of a record is declared by the class, and a field with an initialiser and no
 * class-validator decorator holds a value of its initialiser's type. It walks the record's
 * fields once: a write costs a loop over its fields and a set lookup per field.
 */
export function strictCheck(schema: TableSchema, generate = true): StrictCheck {
  const { declared, validated } = schema.declaration;
  const className = schema.target.name;
  const kinds = new Map<string, FieldKind>();
  for (const [field, value] of schema.defaults) {
    const kind = kindOf(value);
    if (kind && !validated.has(field)) kinds.set(field, kind);
  }
  const undeclared = (field: string, value: unknown, key: RecordKey) =>
    invalidField(
      schema.name,
      field,
      value,
      'declaredField',
      `'${field}' is not a field of ${className}, and the table is strict (declare it in the class, or list it in @Table({ fields }))`,
      key,
    );
  const mistyped = (field: string, value: unknown, key: RecordKey) =>
    invalidField(
      schema.name,
      field,
      value,
      'initialiserType',
      `${field} must be ${kinds.get(field)!.name}, as its initialiser in ${className} is`,
      key,
    );
  if (generate) {
    try {
      return generatedCheck(declared, kinds, undeclared, mistyped);
    } catch (error) {
      if (!(error instanceof EvalError)) throw error; // code generation is disallowed
    }
  }
  return (record, key) => {
    for (const field of Object.keys(record)) {
      const value = record[field];
      if (!declared.has(field)) throw undeclared(field, value, key);
      const kind = kinds.get(field);
      if (kind && !kind.test(value)) throw mistyped(field, value, key);
    }
  };
}

/**
 * The check written out for one table's fields, as `record-shape.ts` does for copying: a
 * switch over the record's keys with each field's test inline, so that every property read
 * names its field (fast, single-shape) instead of a computed lookup per field: in a 10-field
 * write the generic loop cost about as much as the rest of the write.
 */
function generatedCheck(
  declared: ReadonlySet<string>,
  kinds: ReadonlyMap<string, FieldKind>,
  undeclared: (field: string, value: unknown, key: RecordKey) => Error,
  mistyped: (field: string, value: unknown, key: RecordKey) => Error,
): StrictCheck {
  const literal = (name: string) => JSON.stringify(name);
  const cases = [...declared].map((field) => {
    const kind = kinds.get(field);
    const read = `record[${literal(field)}]`;
    const test = kind ? TESTS.get(kind)!(read) : undefined;
    return test
      ? `      case ${literal(field)}: if (!(${test})) throw mistyped(${literal(field)}, ${read}, key); break;`
      : `      case ${literal(field)}: break;`;
  });
  const source = `'use strict';
return function strictCheck(record, key) {
  for (const field in record) {
    switch (field) {
${cases.join('\n')}
      default: throw undeclared(field, record[field], key);
    }
  }
};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source names only fields, as string literals
  const build = new Function('undeclared', 'mistyped', 'isArray', 'DateClass', source) as (
    ...args: unknown[]
  ) => StrictCheck;
  return build(undeclared, mistyped, Array.isArray, Date);
}

const PRIMITIVE_KINDS: Record<string, FieldKind> = {
  string: { name: 'a string', test: (v) => typeof v === 'string' },
  number: { name: 'a number', test: (v) => typeof v === 'number' },
  boolean: { name: 'a boolean', test: (v) => typeof v === 'boolean' },
  bigint: { name: 'a bigint', test: (v) => typeof v === 'bigint' },
};
const DATE: FieldKind = { name: 'a Date', test: (v) => v instanceof Date };
const ARRAY: FieldKind = { name: 'an array', test: (v) => Array.isArray(v) };
const OBJECT: FieldKind = {
  name: 'an object',
  test: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date),
};

/** Each kind's test as source over an expression (for the generated check). */
const TESTS = new Map<FieldKind, (value: string) => string>([
  ...Object.entries(PRIMITIVE_KINDS).map(([type, kind]): [FieldKind, (value: string) => string] => [
    kind,
    (v) => `typeof ${v} === '${type}'`,
  ]),
  [DATE, (v) => `${v} instanceof DateClass`],
  [ARRAY, (v) => `isArray(${v})`],
  [
    OBJECT,
    (v) =>
      `typeof ${v} === 'object' && ${v} !== null && !isArray(${v}) && !(${v} instanceof DateClass)`,
  ],
]);

/** The kind of an initialiser's value; undefined (any value goes) for `null`. */
function kindOf(value: unknown): FieldKind | undefined {
  if (value === null) return undefined;
  if (value instanceof Date) return DATE;
  if (Array.isArray(value)) return ARRAY;
  if (typeof value === 'object') return OBJECT;
  return PRIMITIVE_KINDS[typeof value];
}
