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
export function strictCheck(schema: TableSchema): StrictCheck {
  const { declared, validated } = schema.declaration;
  const className = schema.target.name;
  const kinds = new Map<string, FieldKind>();
  for (const [field, value] of schema.defaults) {
    const kind = kindOf(value);
    if (kind && !validated.has(field)) kinds.set(field, kind);
  }
  return (record, key) => {
    for (const field of Object.keys(record)) {
      const value = record[field];
      if (!declared.has(field)) {
        throw invalidField(
          schema.name,
          field,
          value,
          'declaredField',
          `'${field}' is not a field of ${className}, and the table is strict (declare it in the class, or list it in @Table({ fields }))`,
          key,
        );
      }
      const kind = kinds.get(field);
      if (kind && !kind.test(value)) {
        throw invalidField(
          schema.name,
          field,
          value,
          'initialiserType',
          `${field} must be ${kind.name}, as its initialiser in ${className} is`,
          key,
        );
      }
    }
  };
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

/** The kind of an initialiser's value; undefined (any value goes) for `null`. */
function kindOf(value: unknown): FieldKind | undefined {
  if (value === null) return undefined;
  if (value instanceof Date) return DATE;
  if (Array.isArray(value)) return ARRAY;
  if (typeof value === 'object') return OBJECT;
  return PRIMITIVE_KINDS[typeof value];
}
