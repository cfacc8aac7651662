import {
  getMetadataStorage,
  validateSync,
  type ValidationError,
  type ValidatorOptions,
} from 'class-validator';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { TableClass, TableType } from '../interfaces/table-options.interface.js';
import { BAG_ROW } from '../engine/bag-rows.js';
import { FORBIDDEN_KEYS, ownValue, RecordShapeError } from '../engine/stored-values.js';
import { parseTtl } from '../cache/sliding-ttl.js';
import { declaredFields, type DeclaredFields } from './declared-fields.js';
import { TABLE_METADATA } from './table-metadata.storage.js';

/** A secondary index as the engine builds it: one field or dotted path. */
export interface IndexDefinition {
  readonly field: string;
  readonly unique: boolean;
  /** Keep a sorted index of the field from the start. */
  readonly ordered?: boolean;
}

/** A compound index as the engine builds it. */
export interface CompoundIndexDefinition {
  readonly fields: readonly string[];
  readonly unique: boolean;
  readonly ordered: boolean;
}

/** Everything the engine needs to know of a table, compiled once from its class. */
export interface TableSchema<T extends object = object> {
  readonly target: TableClass<T>;
  readonly name: string;
  /** The field the engine keys rows by: the primary key, or a bag's row identity. */
  readonly key: string;
  readonly type: TableType;
  /**
   * A bag table's key field (`@Table({ key })`), which many records share: the engine keys
   * its rows by a hidden row identity (`key` is `BAG_ROW`) and indexes this field.
   */
  readonly bagKey?: string;
  readonly autoIncrement: boolean;
  /** How a record without a key gets one, if the table makes keys (`autoIncrement` aside). */
  readonly keyGen?: 'uuid';
  /** The table's own `strict` option; undefined leaves it to the module's. */
  readonly strict?: boolean;
  /** What the class declares (for strictness and the start-up check of key and indexes). */
  readonly declaration: DeclaredFields;
  /** The shape's version, and the upgrades from older ones. */
  readonly version: number;
  readonly migrations: Readonly<
    Record<number, (record: Record<string, unknown>) => Record<string, unknown>>
  >;
  /** The default time to live in milliseconds. */
  readonly ttl?: number;
  /** The default time to live slides: a read renews it (see `SlidingTtl`). */
  readonly sliding?: boolean;
  readonly indexes: readonly IndexDefinition[];
  readonly compoundIndexes: readonly CompoundIndexDefinition[];
  /** Default field values from the class's property initialisers, owned and frozen. */
  readonly defaults: readonly (readonly [string, unknown])[];
  /**
   * The fields the class declares: those an instance has (with a default or not), the key,
   * indexed and validated fields. Records may hold others; these are the expected ones.
   */
  readonly fields: readonly string[];
  /** Fields declared as `Date` (by decorator metadata or a Date default): JSON revives them. */
  readonly dateFields: ReadonlySet<string>;
  /** The prototype every record gets. */
  readonly prototype: object;
  /** class-validator over a record, present only when the class carries its decorators. */
  validate?(record: T): ValidationError[];
}

const VALIDATOR_OPTIONS: ValidatorOptions = {
  forbidUnknownValues: false,
  validationError: { target: false, value: true },
};

const SCHEMAS = new WeakMap<TableClass, TableSchema>();

/** The compiled schema of a `@Table()` class (cached). */
export function getTableSchema<T extends object>(target: TableClass<T>): TableSchema<T> {
  let schema = SCHEMAS.get(target) as TableSchema<T> | undefined;
  if (!schema) {
    schema = compileTableSchema(target);
    SCHEMAS.set(target, schema);
  }
  return schema;
}

/** The table's name, for tokens and lookups, without compiling the schema. */
export function getTableName(target: TableClass): string {
  const options = TABLE_METADATA.getTable(target);
  if (!options) throw notATable(target);
  return options.name ?? target.name;
}

function notATable(target: unknown): MemoryStoreError {
  const name = typeof target === 'function' ? target.name : String(target);
  return new MemoryStoreError(`${name} is not a table: decorate the class with @Table()`, '');
}

function compileTableSchema<T extends object>(target: TableClass<T>): TableSchema<T> {
  const options = TABLE_METADATA.getTable(target);
  if (!options) throw notATable(target);
  const name = options.name ?? target.name;
  const key = options.key ?? 'id';
  const { indexes, compoundIndexes } = compileIndexes(target, name, options.indexes ?? []);
  if (FORBIDDEN_KEYS.has(key) || key.includes('.') || key === '')
    throw new MemoryStoreError(`Table '${name}': '${key}' cannot be a key field`, name);
  const bag = options.type === 'bag' || options.type === 'duplicate_bag';
  if (bag && indexes.get(key)?.unique === true)
    throw new MemoryStoreError(
      `Table '${name}': the key '${key}' of a '${options.type}' table holds many records: it cannot have a unique index`,
      name,
    );
  if (bag) indexes.set(key, { field: key, unique: false, ...indexes.get(key) });
  else indexes.delete(key);
  const indexedFields = [...indexes.keys(), ...compoundIndexes.flatMap((c) => c.fields)].map(
    (path) => path.split('.')[0],
  );

  const { defaults, declared, template } = readDefaults(target, name);
  if (bag && [key, ...indexedFields, ...declared, ...(options.fields ?? [])].includes(BAG_ROW))
    throw new MemoryStoreError(
      `Table '${name}': '${BAG_ROW}' holds a '${options.type}' record's hidden row identity: it cannot be the key, an index or a field of the class`,
      name,
    );
  return {
    target,
    name,
    key: bag ? BAG_ROW : key,
    type: options.type ?? 'set',
    ...(bag ? { bagKey: key } : {}),
    autoIncrement: options.autoIncrement === true,
    keyGen: options.keyGen,
    strict: options.strict,
    declaration: declaredFields(target, options, template, decoratedFields(target)),
    version: options.version ?? 1,
    migrations: options.migrations ?? {},
    ...defaultTtl(options.ttl, name),
    indexes: [...indexes.values()],
    compoundIndexes,
    defaults,
    fields: [
      ...new Set([
        ...declared,
        key,
        ...indexedFields,
        ...validatedFields(target),
        ...(options.fields ?? []),
      ]),
    ],
    dateFields: findDateFields(target, [key, ...indexedFields], defaults),
    prototype: target.prototype as object,
    validate: buildValidator<T>(target, name),
  };
}

/**
 * The indexes `@Table({ indexes })` and `@Index()` declare, merged by their fields: one
 * declaration's `unique` or `ordered` holds for the index.
 */
function compileIndexes(
  target: TableClass,
  name: string,
  declared: readonly (string | readonly string[])[],
): { indexes: Map<string, IndexDefinition>; compoundIndexes: CompoundIndexDefinition[] } {
  const all = new Map<string, { fields: readonly string[]; unique: boolean; kind?: string }>();
  const add = (fields: readonly string[], unique: boolean, kind?: string): void => {
    const name = fields.join(', ');
    const known = all.get(name);
    all.set(name, {
      fields,
      unique: unique || known?.unique === true,
      kind: kind === 'ordered' || known?.kind === 'ordered' ? 'ordered' : (kind ?? known?.kind),
    });
  };
  for (const fields of declared) add(typeof fields === 'string' ? [fields] : fields, false);
  for (const { fields, options, onProperty } of TABLE_METADATA.getIndexes(target).values()) {
    const [field] = fields;
    if (onProperty && (FORBIDDEN_KEYS.has(field) || field.includes('.') || field === ''))
      throw new MemoryStoreError(
        `Table '${name}': '${field}' cannot be a key or index field`,
        name,
      );
    add(fields, options.unique === true, options.kind);
  }
  const indexes = new Map<string, IndexDefinition>();
  const compoundIndexes: CompoundIndexDefinition[] = [];
  for (const { fields, unique, kind } of all.values()) {
    if (fields.length === 1)
      indexes.set(fields[0], {
        field: fields[0],
        unique,
        ...(kind === 'ordered' ? { ordered: true } : {}),
      });
    else compoundIndexes.push({ fields, unique, ordered: kind !== 'hash' });
  }
  return { indexes, compoundIndexes };
}

/** The schema's `ttl` and `sliding` from the table's `ttl` option. */
function defaultTtl(ttl: unknown, name: string): { ttl?: number; sliding?: boolean } {
  if (ttl === undefined) return {};
  const parsed = parseTtl(ttl, `Table '${name}': 'ttl'`, name);
  return typeof parsed === 'number' ? { ttl: parsed } : { ttl: parsed.slidingMs, sliding: true };
}

/** The fields an `@Index()` decorator sits on (a property decorator, not a class-level one). */
function decoratedFields(target: TableClass): string[] {
  const fields: string[] = [];
  for (const { fields: declared, onProperty } of TABLE_METADATA.getIndexes(target).values())
    if (onProperty) fields.push(declared[0]);
  return fields;
}

function findDateFields(
  target: TableClass,
  known: string[],
  defaults: [string, unknown][],
): Set<string> {
  const fields = new Set(
    defaults.filter(([, value]) => value instanceof Date).map(([field]) => field),
  );
  const candidates = new Set([...known, ...validatedFields(target)]);
  const getMetadata = (
    Reflect as { getMetadata?: (key: string, target: object, property: string) => unknown }
  ).getMetadata;
  for (const field of candidates) {
    if (getMetadata?.('design:type', target.prototype as object, field) === Date) fields.add(field);
  }
  return fields;
}

/** The fields class-validator decorators are on. */
function validatedFields(target: TableClass): string[] {
  return getMetadataStorage()
    .getTargetValidationMetadatas(target, '', true, false)
    .map((meta) => meta.propertyName);
}

/** The defaults an instance holds, and every field it has (undefined ones too). */
function readDefaults(
  target: TableClass,
  name: string,
): { defaults: [string, unknown][]; declared: string[]; template: object } {
  let template: object;
  try {
    template = new (target as unknown as new () => object)();
  } catch (cause) {
    throw new MemoryStoreError(
      `Table '${name}': cannot construct ${target.name} without arguments to read its defaults`,
      name,
      { cause },
    );
  }
  const defaults: [string, unknown][] = [];
  const declared = Object.keys(template);
  for (const [field, value] of Object.entries(template)) {
    if (value === undefined) continue;
    try {
      defaults.push([field, ownValue(value, field)]);
    } catch (error) {
      if (!(error instanceof RecordShapeError)) throw error;
      throw new MemoryStoreError(`Table '${name}': default of ${error.message}`, name);
    }
  }
  return { defaults, declared, template };
}

function buildValidator<T extends object>(
  target: TableClass,
  name: string,
): TableSchema<T>['validate'] {
  const storage = getMetadataStorage();
  const metadata = storage.getTargetValidationMetadatas(target, '', true, false);
  if (metadata.length === 0) return undefined;
  for (const meta of metadata) {
    if (!meta.constraintCls) continue;
    if (storage.getTargetValidatorConstraints(meta.constraintCls).some((c) => c.async)) {
      throw new MemoryStoreError(
        `Table '${name}': the validator on '${meta.propertyName}' is asynchronous; stores validate synchronously`,
        name,
      );
    }
  }
  return (record) => validateSync(record, VALIDATOR_OPTIONS);
}
