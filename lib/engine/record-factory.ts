import { ValidationError } from 'class-validator';
import { StoreValidationError } from '../errors/store-validation.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';
import { recordShape, type RecordShape } from './record-shape.js';
import { beginRecordCopy, endRecordCopy } from './copy-scope.js';
import { RecordShapeError, unreadable, unstorableKind } from './stored-values.js';
import { isUpdateDocument, parseUpdate } from '../update/update-document.js';
import { UpdateApplyError, type UpdateDraft } from '../update/update-draft.js';
import { applyUpdate } from '../update/update-operators.js';
import { strictCheck, type StrictCheck } from './strict-fields.js';
import { BAG_ROW, placeRow, rowOf } from './bag-rows.js';
import { SLIDING_SLOT } from '../ttl/sliding-deadline.js';

/**
 * Builds the records a table stores: an instance of the table class (by prototype), from the
 * class's defaults and the caller's fields, copied, validated and frozen.
 */
export class RecordFactory<T extends object> {
  readonly #schema: TableSchema<T>;
  #shape: RecordShape;
  #strict: StrictCheck | undefined;
  /** The field a record must hold a valid key in: the primary key, or a bag's key. */
  readonly #keyField: string;
  /** A bag's next row identity (see `BAG_ROW`); unused by other tables. */
  #nextRow = 1;
  /** Set for a replicated bag: its rows are `<prefix><n>`, distinct from other instances'. */
  rowPrefix: string | undefined;
  #slots = false;

  constructor(schema: TableSchema<T>) {
    this.#schema = schema;
    this.#shape = recordShape(schema.prototype, schema.defaults, schema.fields);
    this.#keyField = schema.bagKey ?? schema.key;
  }

  /** Hands out bag rows past `row` from now on (a row loaded from the log or a snapshot). */
  raiseRow(row: RecordKey): void {
    if (typeof row === 'number' && row >= this.#nextRow) this.#nextRow = row + 1;
  }

  /**
   * Give every record built from now on a slot for a sliding deadline (see
   * `SlidingDeadline`): set by a table once its records may slide.
   */
  set slots(on: boolean) {
    if (!on || this.#slots) return;
    this.#slots = true;
    const schema = this.#schema;
    this.#shape = recordShape(schema.prototype, schema.defaults, schema.fields, true, SLIDING_SLOT);
  }

  /** Refuse undeclared fields and check initialised ones' types (`@Table({ strict })`). */
  set strict(on: boolean) {
    this.#strict = on ? (this.#strict ?? strictCheck(this.#schema)) : undefined;
  }

  /**
   * A record from the table's defaults overlaid with `input`'s fields. A bag record gets
   * `row` as its row identity, else a new one.
   */
  create(input: unknown, row?: RecordKey): T {
    return this.#build(new this.#shape.Record(), input, false, row);
  }

  /**
   * A record rebuilt from persisted fields: copied and frozen like any, but not validated
   * again. A bag record gets `row` (its persisted key) as its row identity.
   */
  restore(input: object, row?: RecordKey): T {
    const record = new this.#shape.Record();
    this.#shape.copy(record, input);
    if (this.#schema.bagKey !== undefined && row !== undefined) {
      placeRow(record, row);
      this.raiseRow(row);
    }
    return Object.freeze(record) as T;
  }

  /** A record from `base`'s fields overlaid with `patch`'s (base's values are shared). */
  merge(base: T, patch: unknown): T {
    if (typeof patch === 'object' && patch !== null && isUpdateDocument(patch)) {
      return this.#applyOperators(base, patch);
    }
    // Records hold the defaults first, in order, so overwriting a fresh record's defaults
    // with base's fields keeps base's key order, and every record gets the same hidden class.
    const record = new this.#shape.Record();
    this.#shape.clone(record, base);
    return this.#build(record, patch, true, rowOf(base));
  }

  /**
   * A record from `base` changed by an update operator document (`{ $inc: { visits: 1 } }`).
   * A top-level field the update removes goes back to what a record written without it has:
   * the class's default, if it has one, else nothing.
   */
  #applyOperators(base: T, doc: object): T {
    const steps = parseUpdate(this.#schema.name, doc);
    let draft: UpdateDraft;
    try {
      draft = applyUpdate(base, steps);
    } catch (error) {
      if (!(error instanceof UpdateApplyError)) throw error;
      throw this.#invalid(
        error.path,
        error.value,
        error.operator,
        error.message,
        base as Record<string, unknown>,
      );
    }
    const record = new this.#shape.Record();
    const unset = draft.unset;
    if (unset === undefined) this.#shape.clone(record, base);
    else {
      const fields = base as Record<string, unknown>;
      for (const key of Object.keys(fields)) if (!unset.has(key)) record[key] = fields[key];
    }
    return this.#build(record, draft.fields, true, rowOf(base));
  }

  /** The primary key of a record the factory built. */
  keyOf(record: T): RecordKey {
    return (record as Record<string, RecordKey>)[this.#schema.key];
  }

  #build(record: Record<string, unknown>, input: unknown, patch: boolean, row?: RecordKey): T {
    const schema = this.#schema;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw this.#invalid('', input, 'isObject', 'a record must be an object');
    }
    if (patch) {
      this.assertStorable(input);
    }
    const outer = beginRecordCopy();
    try {
      this.#shape.copy(record, input);
    } catch (error) {
      // a proxy's trap that throws while its keys are listed lands here, not in a field
      const shapeError = error instanceof RecordShapeError ? error : unreadable('', error);
      throw this.#invalid(shapeError.path, undefined, 'plainData', shapeError.message, record);
    } finally {
      endRecordCopy(outer);
    }
    const keyField = this.#keyField;
    const key = record[keyField];
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      this.assertStorable(input); // a Date, a Map, a promise… says so, rather than "no key"
      throw this.#invalid(
        keyField,
        key,
        'primaryKey',
        `${keyField} is the primary key and must be a string or a finite number`,
      );
    }
    this.#strict?.(record, key);
    if (schema.bagKey !== undefined) this.#placeBagRow(record, key, row);
    Object.freeze(record);
    if (schema.validate) {
      const errors = schema.validate(record as T);
      if (errors.length > 0) throw new StoreValidationError(schema.name, errors, undefined, key);
    }
    return record as T;
  }

  /** Gives a bag record its row identity: `row`, or a new one. */
  #placeBagRow(record: Record<string, unknown>, key: RecordKey, row: RecordKey | undefined): void {
    if (Object.prototype.hasOwnProperty.call(record, BAG_ROW))
      throw invalidField(
        this.#schema.name,
        BAG_ROW,
        record[BAG_ROW],
        'bagRow',
        `${BAG_ROW} holds a bag record's row identity: a record cannot set it`,
        key,
      );
    if (row === undefined)
      row = this.rowPrefix === undefined ? this.#nextRow++ : `${this.rowPrefix}${this.#nextRow++}`;
    else this.raiseRow(row);
    placeRow(record, row);
  }

  /**
   * Refuses an object that no record or patch can be made of: a promise (an async update
   * function), a Date, a Map… Their fields are in internal slots, so copying would find none
   * and write an empty record or apply an empty patch. Checked for every patch, and for a
   * record where it would otherwise pass: it has no key (the error then says why) or gets
   * one from autoIncrement. Plain objects and instances of the table class pass at once.
   */
  assertStorable(input: object): void {
    const proto: unknown = Object.getPrototypeOf(input);
    if (proto === Object.prototype || proto === this.#schema.prototype || proto === null) return;
    const kind = unstorableKind(input);
    if (kind === undefined) return;
    throw this.#invalid(
      '',
      undefined,
      'isObject',
      kind === 'a promise'
        ? 'a record or patch must be an object, not a promise (an update function must return its patch, not a promise of it)'
        : `a record or patch must be a plain object, not ${kind}`,
    );
  }

  /** The error for one field; `record`, the record being built, names its key if it has one. */
  #invalid(
    property: string,
    value: unknown,
    constraint: string,
    message: string,
    record?: Record<string, unknown>,
  ): StoreValidationError {
    const key = record?.[this.#keyField];
    const valid = typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key));
    return invalidField(
      this.#schema.name,
      property,
      value,
      constraint,
      message,
      valid ? key : undefined,
    );
  }
}

/** A `StoreValidationError` for one field that broke one of the store's own rules. */
export function invalidField(
  table: string,
  property: string,
  value: unknown,
  constraint: string,
  message: string,
  key?: RecordKey,
): StoreValidationError {
  const error = new ValidationError();
  error.property = property;
  error.value = value;
  error.constraints = { [constraint]: message };
  error.children = [];
  return new StoreValidationError(table, [error], undefined, key);
}
