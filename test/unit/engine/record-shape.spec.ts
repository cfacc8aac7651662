import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_NAMED_FIELDS, recordShape } from '../../../lib/engine/record-shape.js';
import {
  FORBIDDEN_KEYS,
  MAX_VALUE_DEPTH,
  ownValue,
  RecordShapeError,
} from '../../../lib/engine/stored-values.js';

class Base {
  get fullName(): string {
    return 'read only';
  }
}

/** Fields the generated copier names; inputs also carry others, copied the generic way. */
const FIELDS = ['id', 'name', 'age', 'tags', 'profile', 'when', 'fullName', 'nothing'];
const DEFAULTS: [string, unknown][] = [
  ['name', 'anonymous'],
  ['age', 0],
  ['profile', ownValue({ theme: 'dark' }, 'profile')],
];

const generated = recordShape(Base.prototype, DEFAULTS, FIELDS);
const generic = recordShape(Base.prototype, DEFAULTS, FIELDS, false);

/** What building a record from `input` gives: the record, or the error it throws. */
function build(shape: typeof generated, input: object) {
  const record = new shape.Record();
  try {
    shape.copy(record, input);
  } catch (error) {
    return { error };
  }
  return { record };
}

/** Everything observable of a built record, nested values included. */
function describeBuilt(built: { record?: object; error?: unknown }) {
  if (!built.record) {
    const error = built.error as RecordShapeError;
    return { error: [error.constructor.name, error.path, error.message] };
  }
  const record = built.record as Record<string, unknown>;
  return {
    prototype: Object.getPrototypeOf(record) as unknown,
    keys: Object.keys(record),
    values: Object.keys(record).map((k) => [k, record[k], Object.isFrozen(record[k])]),
  };
}

const VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  NaN,
  'text',
  true,
  1n,
  [1, [2]],
  { nested: { deep: 1 } },
  new Date(5),
  () => 1,
  Symbol('s'),
  new Map(),
  new Uint8Array(1),
  ownValue({ owned: true }, 'x'),
];
const KEYS = [...FIELDS, 'extra', 'other', '0', ...FORBIDDEN_KEYS];

describe('recordShape: generated code builds what the generic code builds', () => {
  it('starts records from the defaults, with the given prototype, in the same key order', () => {
    expect(describeBuilt(build(generated, {}))).toEqual(describeBuilt(build(generic, {})));
    expect(Object.keys(new generated.Record())).toEqual(['name', 'age', 'profile']);
    expect(new generated.Record()).toBeInstanceOf(Base);
  });

  it('copies any input alike: keys in input order, values owned and frozen, same refusals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)), {
          maxLength: 8,
        }),
        (entries) => {
          const input: Record<string, unknown> = {};
          for (const [key, value] of entries) {
            // defineProperty, so that __proto__ becomes an own key as JSON.parse makes it
            Object.defineProperty(input, key, { value, enumerable: true, configurable: true });
          }
          const a = describeBuilt(build(generated, input));
          const b = describeBuilt(build(generic, input));
          expect(a.error ?? a.keys).toEqual(b.error ?? b.keys);
          a.values?.forEach(([key, value, frozen], i) => {
            const [, other, otherFrozen] = b.values![i];
            expect(frozen).toBe(otherFrozen);
            expect(value === input[key as string]).toBe(other === input[key as string]);
            if (typeof value === 'object' && value !== null) expect(value).toEqual(other);
            else expect(Object.is(value, other)).toBe(true);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('shares owned values and copies the caller objects, so later changes to them do not show', () => {
    const tags = ['a'];
    const owned = ownValue({ theme: 'light' }, 'profile');
    const record = build(generated, { id: 'r', tags, profile: owned }).record as Record<
      string,
      unknown
    >;
    tags.push('b');
    expect(record.tags).toEqual(['a']);
    expect(Object.isFrozen(record.tags)).toBe(true);
    expect(record.profile).toBe(owned);
  });

  it('refuses a named field the prototype defines as a getter, as the generic code does', () => {
    for (const shape of [generated, generic]) {
      const error = build(shape, { id: 'r', fullName: 'x' }).error as RecordShapeError;
      expect(error).toBeInstanceOf(RecordShapeError);
      expect([error.path, error.reason]).toEqual([
        'fullName',
        'is read-only in the class (a getter?)',
      ]);
    }
  });

  it('reports the path of a value nested too deep in a named field', () => {
    let value: unknown = 1;
    for (let i = 0; i < MAX_VALUE_DEPTH + 1; i++) value = [value];
    const a = describeBuilt(build(generated, { tags: value }));
    expect(a).toEqual(describeBuilt(build(generic, { tags: value })));
    expect(a.error?.[1]).toMatch(/^tags(\[0\])+$/);
  });

  it('falls back to the generic code where code generation is disallowed', () => {
    const original = globalThis.Function;
    globalThis.Function = function disallowed() {
      // what V8 throws under --disallow-code-generation-from-strings
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    let shape: typeof generated;
    try {
      shape = recordShape(Base.prototype, DEFAULTS, FIELDS);
    } finally {
      globalThis.Function = original;
    }
    const input = { id: 'r', tags: ['a'], extra: 1 };
    expect(describeBuilt(build(shape, input))).toEqual(describeBuilt(build(generic, input)));
  });

  it(`copies the fields of a table wider than ${MAX_NAMED_FIELDS} named fields`, () => {
    const fields = Array.from({ length: MAX_NAMED_FIELDS + 8 }, (_, i) => `f${i}`);
    const wide = recordShape(Object.prototype, [['f0', 'default']], fields);
    const input = Object.fromEntries(fields.slice(1).map((f, i) => [f, i]));
    const record = new wide.Record();
    wide.copy(record, input);
    expect(record).toEqual({ f0: 'default', ...input });
    expect(Object.keys(record)).toEqual(fields);
  });

  it('clones a stored record as it is: own fields in its key order, nothing inherited', () => {
    const proto = Object.create(Base.prototype) as Record<string, unknown>;
    proto.inherited = 'from the prototype'; // enumerable, not the record's own
    for (const shape of [generated, generic]) {
      const base = new shape.Record();
      shape.copy(base, { id: 'r', extra: 1, tags: ['a'], age: 3 });
      Object.setPrototypeOf(base, proto);
      Object.freeze(base);
      const clone = new shape.Record();
      shape.clone(clone, base);
      expect(Object.keys(clone)).toEqual(Object.keys(base));
      expect(clone).toEqual({ ...base });
      expect(clone.tags).toBe(base.tags); // owned values are shared, not copied again
      expect(Object.prototype.hasOwnProperty.call(clone, 'inherited')).toBe(false);
    }
  });
});
