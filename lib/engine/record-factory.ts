import { ValidationError } from 'class-validator';
import { StoreValidationError } from '../errors/store-validation.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { copyFields, markOwned, RecordShapeError } from './stored-values.js';

/**
 * Builds the records a table stores: an instance of the table class (by prototype), from the
 * class's defaults and the caller's fields, copied, validated and frozen.
 */
export class RecordFactory<T extends object> {
  readonly #schema: TableSchema<T>;
  readonly #defaults: object;

  constructor(schema: TableSchema<T>) {
    this.#schema = schema;
    this.#defaults = Object.fromEntries(schema.defaults);
  }

  /** A record from the table's defaults overlaid with `input`'s fields. */
  create(input: unknown): T {
    return this.#build(input, this.#defaults);
  }

  /** A record from `base`'s fields overlaid with `patch`'s (base's values are shared). */
  merge(base: T, patch: unknown): T {
    return this.#build(patch, base);
  }

  /** The primary key of a record the factory built. */
  keyOf(record: T): RecordKey {
    return (record as Record<string, RecordKey>)[this.#schema.key];
  }

  #build(input: unknown, base: object): T {
    const schema = this.#schema;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw this.#invalid('', input, 'isObject', 'a record must be an object');
    }
    let record: Record<string, unknown>;
    try {
      record = copyFields(schema.prototype, input, base, '', 1);
    } catch (error) {
      if (!(error instanceof RecordShapeError)) throw error;
      throw this.#invalid(error.path, undefined, 'plainData', error.message);
    }
    const key = record[schema.key];
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      throw this.#invalid(
        schema.key,
        key,
        'primaryKey',
        `${schema.key} is the primary key and must be a string or a finite number`,
      );
    }
    Object.freeze(record);
    if (schema.validate) {
      const errors = schema.validate(record as T);
      if (errors.length > 0) throw new StoreValidationError(schema.name, errors);
    }
    return markOwned(record) as T;
  }

  #invalid(
    property: string,
    value: unknown,
    constraint: string,
    message: string,
  ): StoreValidationError {
    return invalidField(this.#schema.name, property, value, constraint, message);
  }
}

/** A `StoreValidationError` for one field that broke one of the store's own rules. */
export function invalidField(
  table: string,
  property: string,
  value: unknown,
  constraint: string,
  message: string,
): StoreValidationError {
  const error = new ValidationError();
  error.property = property;
  error.value = value;
  error.constraints = { [constraint]: message };
  error.children = [];
  return new StoreValidationError(table, [error]);
}
