import { ValidationError } from 'class-validator';
import { StoreValidationError } from '../errors/store-validation.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { copyFields, RecordShapeError } from './stored-values.js';

/**
 * Builds the records a table stores: an instance of the table class (by prototype), from the
 * class's defaults and the caller's fields, copied, validated and frozen.
 */
export class RecordFactory<T extends object> {
  readonly #schema: TableSchema<T>;
  readonly #defaultKeys: readonly string[];
  readonly #defaultValues: readonly unknown[];
  /**
   * Creates empty records with the table's prototype. A constructor (rather than
   * `Object.create`) lets V8 size records from the fields they get, so they keep their fields
   * in-object: faster to build and to read.
   */
  readonly #Shell: new () => Record<string, unknown>;

  constructor(schema: TableSchema<T>) {
    this.#schema = schema;
    this.#defaultKeys = schema.defaults.map(([key]) => key);
    this.#defaultValues = schema.defaults.map(([, value]) => value);
    const Shell = function RecordShell() {} as unknown as new () => Record<string, unknown>;
    Shell.prototype = schema.prototype;
    this.#Shell = Shell;
  }

  /** A record from the table's defaults overlaid with `input`'s fields. */
  create(input: unknown): T {
    return this.#build(this.#withDefaults(), input);
  }

  /** A record rebuilt from persisted fields: copied and frozen like any, but not validated again. */
  restore(input: object): T {
    const record = this.#withDefaults();
    copyFields(record, input, '', 1);
    return Object.freeze(record) as T;
  }

  /** An empty record of the table holding its defaults. */
  #withDefaults(): Record<string, unknown> {
    const record = new this.#Shell();
    const keys = this.#defaultKeys;
    const values = this.#defaultValues;
    for (let i = 0; i < keys.length; i++) record[keys[i]] = values[i];
    return record;
  }

  /** A record from `base`'s fields overlaid with `patch`'s (base's values are shared). */
  merge(base: T, patch: unknown): T {
    const record = new this.#Shell();
    const fields = base as Record<string, unknown>;
    for (const key of Object.keys(fields)) record[key] = fields[key];
    return this.#build(record, patch);
  }

  /** The primary key of a record the factory built. */
  keyOf(record: T): RecordKey {
    return (record as Record<string, RecordKey>)[this.#schema.key];
  }

  #build(record: Record<string, unknown>, input: unknown): T {
    const schema = this.#schema;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw this.#invalid('', input, 'isObject', 'a record must be an object');
    }
    try {
      copyFields(record, input, '', 1);
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
    return record as T;
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
