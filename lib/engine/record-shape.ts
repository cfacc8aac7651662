import {
  copyField,
  copyFields,
  FORBIDDEN_KEYS,
  ownValue,
  readOnlyField,
  unreadable,
} from './stored-values.js';

/**
 * How one table builds records: a constructor that gives an empty record the table's
 * prototype and defaults, and a copier of the caller's fields into it.
 *
 * Both are generated per table from its field list when the runtime allows code generation.
 * Generic code that sets fields by computed names (`record[key] = value`) is shared by every
 * table, so V8 sees many shapes there and falls back to slow lookups; generated code names
 * each field (`record["email"] = value`), giving every table its own fast, single-shape
 * property stores: building a record took about 30% less time in the benchmark. The
 * generated code does exactly what `copyFields` does, field by field, in the caller's key
 * order.
 */
export interface RecordShape {
  /** Creates an empty record with the table's prototype, holding its defaults. */
  readonly Record: new () => Record<string, unknown>;
  /** `copyFields(record, input, '', 1)`, specialised to the table's fields. */
  readonly copy: (record: Record<string, unknown>, input: object) => void;
  /**
   * Copies a stored record's own fields as they are (no check: the store owns its values),
   * in its key order: the base of an update.
   */
  readonly clone: (record: Record<string, unknown>, base: object) => void;
}

/**
 * The most fields the copier names: each key of an input is compared with them in turn, so
 * a very wide table would pay more in comparisons than named stores save. Fields past these
 * take the generic path.
 */
export const MAX_NAMED_FIELDS = 32;

/**
 * What a record's constructor calls besides setting its defaults: `first` before any field
 * (what it adds sits next to the record's header), `last` after them. Used to give records
 * private slots (see `SlidingDeadline`) while they are built, where they take no extra memory
 * access to reach.
 */
export interface ShapeHooks {
  first(record: object): void;
  last(record: object): void;
}

const NO_HOOKS: ShapeHooks = { first() {}, last() {} };

/**
 * Builds a table's record shape. `fields` are the fields worth naming (the declared ones);
 * others are copied all the same, by the generic path. `generate: false` (or a runtime that
 * forbids code generation) gives the generic shape, which behaves the same.
 */
export function recordShape(
  prototype: object,
  defaults: readonly (readonly [string, unknown])[],
  fields: Iterable<string>,
  generate = true,
  hooks?: ShapeHooks,
): RecordShape {
  if (generate) {
    try {
      return generatedShape(prototype, defaults, fields, hooks);
    } catch (error) {
      // --disallow-code-generation-from-strings, or a content security policy
      if (!(error instanceof EvalError)) throw error;
    }
  }
  return genericShape(prototype, defaults, hooks);
}

function genericShape(
  prototype: object,
  defaults: readonly (readonly [string, unknown])[],
  hooks = NO_HOOKS,
): RecordShape {
  const keys = defaults.map(([key]) => key);
  const values = defaults.map(([, value]) => value);
  const Shell = function RecordShell(this: Record<string, unknown>) {
    hooks.first(this);
    for (let i = 0; i < keys.length; i++) this[keys[i]] = values[i];
    hooks.last(this);
  } as unknown as new () => Record<string, unknown>;
  Shell.prototype = prototype;
  return {
    Record: Shell,
    copy: (record, input) => copyFields(record, input, '', 1),
    clone: (record, base) => {
      const fields = base as Record<string, unknown>;
      for (const key of Object.keys(fields)) record[key] = fields[key];
    },
  };
}

function generatedShape(
  prototype: object,
  defaults: readonly (readonly [string, unknown])[],
  fields: Iterable<string>,
  hooks?: ShapeHooks,
): RecordShape {
  const named = [...new Set(fields)]
    .filter((f) => !FORBIDDEN_KEYS.has(f))
    .slice(0, MAX_NAMED_FIELDS);
  const literal = (name: string) => JSON.stringify(name); // a safe string literal of any name
  const source = `'use strict';
function RecordShell() {
${hooks ? '  hooks.first(this);' : ''}
${defaults.map(([key], i) => `  this[${literal(key)}] = defaults[${i}];`).join('\n')}
${hooks ? '  hooks.last(this);' : ''}
}
function copyRecordFields(record, input) {
  for (const key in input) {
    if (!hasOwn.call(input, key)) continue;
    switch (key) {
${named.map((name) => namedCase(literal(name))).join('\n')}
      default:
        copyField(record, input, key, '', 1);
    }
  }
}
function cloneRecordFields(record, base) {
  for (const key in base) {
    if (!hasOwn.call(base, key)) continue;
    switch (key) {
${named.map((name) => `      case ${literal(name)}: record[${literal(name)}] = base[${literal(name)}]; break;`).join('\n')}
      default:
        record[key] = base[key];
    }
  }
}
return { Record: RecordShell, copy: copyRecordFields, clone: cloneRecordFields };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source names only fields, as string literals; values are passed in
  const build = new Function(
    'defaults',
    'hasOwn',
    'copyField',
    'ownValue',
    'readOnly',
    'unreadable',
    'hooks',
    source,
  ) as (...args: unknown[]) => RecordShape;
  const shape = build(
    defaults.map(([, value]) => value),
    Object.prototype.hasOwnProperty,
    copyField,
    ownValue,
    readOnlyField,
    unreadable,
    hooks,
  );
  shape.Record.prototype = prototype;
  return shape;
}

/** The copier's case for one field: `copyField`'s steps, with the field's name written out. */
function namedCase(name: string): string {
  return `      case ${name}: {
        let v;
        try {
          v = input[${name}];
        } catch (error) {
          throw unreadable(${name}, error);
        }
        if (v === undefined) break;
        if (typeof v === 'object' ? v !== null : typeof v === 'function' || typeof v === 'symbol')
          v = ownValue(v, ${name}, 1);
        try {
          record[${name}] = v;
        } catch {
          throw readOnly(${name});
        }
        break;
      }`;
}
