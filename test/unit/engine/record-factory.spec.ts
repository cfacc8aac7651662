import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { thrown } from '../test-helpers.js';

class Point {
  constructor(
    public x = 0,
    public y = 0,
  ) {}

  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

@Table({ name: 'people', key: 'uuid' })
class Person {
  uuid!: string;
  firstName?: string;
  lastName = '';
  nickname: string | undefined = undefined;
  department = 'engineering';
  active = true;
  age = 0;
  tags: string[] = [];
  profile = { theme: 'dark', lang: 'en' };
  startDate?: Date;
  visits: number;
  extra?: unknown;
  location?: Point;

  constructor() {
    this.visits = 7;
  }

  get fullName(): string {
    return `${this.firstName ?? ''} ${this.lastName}`.trim();
  }

  greet(): string {
    return `hello ${this.uuid}`;
  }
}

const people = () => new MemoryTable(getTableSchema(Person));

function refusal(table: MemoryTable<Person>, input: unknown): StoreValidationError {
  const error = thrown(StoreValidationError, () => table.write(input));
  expect(error.table).toBe('people');
  expect(error.errors).toHaveLength(1);
  return error;
}

describe('record building: defaults', () => {
  it('starts a record from the property initialisers of the class', () => {
    const r = people().write({ uuid: 'u1' });
    expect(r.lastName).toBe('');
    expect(r.department).toBe('engineering');
    expect(r.active).toBe(true);
    expect(r.age).toBe(0);
    expect(r.tags).toEqual([]);
    expect(r.profile).toEqual({ theme: 'dark', lang: 'en' });
  });

  it('takes fields assigned in the constructor as defaults too', () => {
    expect(people().write({ uuid: 'u1' }).visits).toBe(7);
  });

  it('lets the caller override defaults, including with falsy values', () => {
    const r = people().write({ uuid: 'u1', department: 'sales', active: false, age: 0 });
    expect(r.department).toBe('sales');
    expect(r.active).toBe(false);
  });

  it('skips initialisers that leave a field undefined', () => {
    const r = people().write({ uuid: 'u1' });
    for (const field of ['firstName', 'nickname', 'startDate', 'extra', 'location']) {
      expect(Object.prototype.hasOwnProperty.call(r, field)).toBe(false);
    }
    expect(Object.keys(r).sort()).toEqual(
      ['active', 'age', 'department', 'lastName', 'profile', 'tags', 'uuid', 'visits'].sort(),
    );
  });

  it('treats an undefined field as absent: the default or the current value stays', () => {
    const table = people();
    const r = table.write({ uuid: 'u1', department: undefined, firstName: undefined });
    expect(r.department).toBe('engineering');
    expect(Object.prototype.hasOwnProperty.call(r, 'firstName')).toBe(false);
    table.update('u1', { department: 'sales' });
    expect(table.update('u1', { department: undefined }).department).toBe('sales');
    expect(table.update('u1', { department: null as unknown as string }).department).toBeNull();
  });

  it('shares nested defaults between records, frozen so no record can change them', () => {
    const table = people();
    const a = table.write({ uuid: 'a' });
    const b = table.write({ uuid: 'b' });
    expect(a.profile).toBe(b.profile);
    expect(a.tags).toBe(b.tags);
    expect(Object.isFrozen(a.profile)).toBe(true);
    expect(Object.isFrozen(a.tags)).toBe(true);
    expect(() => {
      a.profile.theme = 'light';
    }).toThrow(TypeError);
    expect(() => a.tags.push('x')).toThrow(TypeError);
    expect(table.write({ uuid: 'c' }).profile).toEqual({ theme: 'dark', lang: 'en' });
    expect(table.write({ uuid: 'd' }).tags).toEqual([]);
  });
});

describe('record building: prototype', () => {
  it('gives records the table class as prototype, with its methods and getters', () => {
    const r = people().write({ uuid: 'u1', firstName: 'Ada', lastName: 'Lovelace' });
    expect(r).toBeInstanceOf(Person);
    expect(Object.getPrototypeOf(r)).toBe(Person.prototype);
    expect(r.greet()).toBe('hello u1');
    expect(r.fullName).toBe('Ada Lovelace');
  });

  it('refuses a field that the class defines only as a getter, as a validation error', () => {
    const table = people();
    const before = table.write({ uuid: 'u1', firstName: 'Ada' });
    for (const write of [
      () => table.write({ uuid: 'u2', fullName: 'Ada Lovelace' }),
      () => table.write({ ...before, fullName: 'Ada Lovelace' }),
      () => table.update('u1', { fullName: 'Ada Lovelace' }),
    ]) {
      const error = thrown(StoreValidationError, write);
      expect(error.errors[0].property).toBe('fullName');
    }
    expect(table.get('u1')).toBe(before);
    expect(table.size).toBe(1);
  });

  it('returns frozen records: assigning a field throws and changes nothing', () => {
    const table = people();
    const r = table.write({ uuid: 'u1', age: 3 });
    expect(Object.isFrozen(r)).toBe(true);
    expect(() => {
      r.age = 4;
    }).toThrow(TypeError);
    expect(table.get('u1')?.age).toBe(3);
  });
});

describe('record building: copies of the caller input', () => {
  it('deep-copies nested objects and arrays, and freezes the copies', () => {
    const input = {
      uuid: 'u1',
      tags: ['a'],
      profile: { theme: 'light', lang: 'fr' },
      extra: { deep: { list: [1, { x: 2 }] } },
    };
    const r = people().write(input);
    expect(r.tags).not.toBe(input.tags);
    expect(r.profile).not.toBe(input.profile);
    expect(r.extra).not.toBe(input.extra);
    input.tags.push('b');
    input.profile.theme = 'changed';
    (input.extra.deep.list[1] as { x: number }).x = 3;
    expect(r.tags).toEqual(['a']);
    expect(r.profile).toEqual({ theme: 'light', lang: 'fr' });
    expect(r.extra).toEqual({ deep: { list: [1, { x: 2 }] } });
    const deepest = (r.extra as { deep: { list: [number, { x: number }] } }).deep.list[1];
    expect(Object.isFrozen(deepest)).toBe(true);
    expect(Object.isFrozen((r.extra as { deep: object }).deep)).toBe(true);
  });

  it('does not keep the caller object itself', () => {
    const input = { uuid: 'u1', age: 1 };
    const r = people().write(input);
    expect(r).not.toBe(input);
    input.age = 2;
    expect(r.age).toBe(1);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('copies class instances keeping their prototype', () => {
    const location = new Point(3, 4);
    const r = people().write({ uuid: 'u1', location });
    expect(r.location).not.toBe(location);
    expect(r.location).toBeInstanceOf(Point);
    expect(r.location?.norm()).toBe(5);
    expect(Object.isFrozen(r.location)).toBe(true);
    location.x = 30;
    expect(r.location?.x).toBe(3);
  });

  it('copies a Date into a read-only date of the same time', () => {
    const start = new Date('2024-01-02T03:04:05.000Z');
    const r = people().write({ uuid: 'u1', startDate: start });
    const stored = r.startDate!;
    expect(stored).not.toBe(start);
    expect(stored).toBeInstanceOf(Date);
    expect(stored.getTime()).toBe(start.getTime());
    expect(stored.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    start.setTime(0);
    expect(stored.getTime()).toBe(Date.parse('2024-01-02T03:04:05.000Z'));
    expect(() => stored.setTime(0)).toThrow(TypeError);
    expect(() => stored.setFullYear(2000)).toThrow(TypeError);
    expect(() => stored.setUTCHours(0)).toThrow(TypeError);
    expect(() => stored.setMilliseconds(1)).toThrow(TypeError);
    expect(stored.toISOString()).toBe('2024-01-02T03:04:05.000Z');
  });

  it('makes dates nested in arrays and objects read-only too', () => {
    const r = people().write({ uuid: 'u1', extra: { history: [new Date(1)], at: new Date(2) } });
    const extra = r.extra as { history: Date[]; at: Date };
    expect(() => extra.history[0].setTime(5)).toThrow(TypeError);
    expect(() => extra.at.setDate(1)).toThrow(TypeError);
    expect(extra.history[0].getTime()).toBe(1);
  });
});

describe('record building: refused values', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a function', { cb: () => 1 }, 'cb'],
    ['a method in a nested object', { extra: { fn() {} } }, 'extra.fn'],
    ['a symbol', { s: Symbol('s') }, 's'],
    ['a nested symbol', { extra: { s: Symbol('s') } }, 'extra.s'],
    ['a Map', { extra: new Map() }, 'extra'],
    ['a nested Set', { profile: { theme: 'x', seen: new Set([1]) } }, 'profile.seen'],
    ['a RegExp in an array', { tags: ['a', /x/] }, 'tags[1]'],
    ['a typed array', { extra: new Uint8Array(2) }, 'extra'],
    ['a Buffer', { extra: { raw: Buffer.from('x') } }, 'extra.raw'],
    ['a DataView', { extra: new DataView(new ArrayBuffer(2)) }, 'extra'],
    ['an ArrayBuffer', { extra: new ArrayBuffer(2) }, 'extra'],
    ['a Promise', { extra: Promise.resolve(1) }, 'extra'],
    ['a WeakMap', { extra: new WeakMap() }, 'extra'],
    ['an Error', { extra: [{ e: new Error('x') }] }, 'extra[0].e'],
  ];

  it.each(cases)('refuses %s, naming its path', (_label, fields, path) => {
    const table = people();
    const error = refusal(table, { uuid: 'u1', ...fields });
    expect(error.errors[0].property).toBe(path);
    expect(Object.keys(error.errors[0].constraints ?? {})).toHaveLength(1);
    expect(table.size).toBe(0);
  });

  it('refuses a cycle, naming the path that loops', () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    const table = people();
    const error = refusal(table, { uuid: 'u1', extra: loop });
    expect(error.errors[0].property).toMatch(/^extra\.self\.self\.self/);
    expect(table.size).toBe(0);
  });

  it('refuses a cycle through arrays', () => {
    const list: unknown[] = [];
    list.push(list);
    const error = refusal(people(), { uuid: 'u1', tags: list });
    expect(error.errors[0].property).toMatch(/^tags\[0\]\[0\]/);
  });

  it('refuses nesting far too deep, but keeps reasonable nesting', () => {
    const nest = (levels: number): object => {
      let value: object = { leaf: true };
      for (let i = 0; i < levels; i++) value = { next: value };
      return value;
    };
    const table = people();
    expect(() => table.write({ uuid: 'ok', extra: nest(30) })).not.toThrow();
    const error = refusal(table, { uuid: 'deep', extra: nest(200) });
    expect(error.errors[0].property).toMatch(/^extra\.next\.next/);
    expect(table.has('deep')).toBe(false);
  });

  it('refuses a record that is not an object', () => {
    const table = people();
    for (const input of [null, 'u1', 42, ['u1'], undefined]) {
      thrown(StoreValidationError, () => table.write(input));
    }
    expect(table.size).toBe(0);
  });
});

describe('record building: forbidden keys', () => {
  const polluted = () =>
    (({}) as Record<string, unknown>).admin !== undefined ||
    Object.keys(Object.prototype).length > 0 ||
    'admin' in Person.prototype;

  const cases: [string, () => unknown, string][] = [
    [
      'an own __proto__ key',
      () => JSON.parse('{"uuid":"u1","__proto__":{"admin":true}}') as unknown,
      '__proto__',
    ],
    [
      'a nested __proto__ key',
      () => ({ uuid: 'u1', profile: JSON.parse('{"__proto__":{"admin":true}}') }),
      'profile.__proto__',
    ],
    [
      'a constructor key in an array item',
      () => ({ uuid: 'u1', extra: [JSON.parse('{"constructor":{"prototype":{"admin":true}}}')] }),
      'extra[0].constructor',
    ],
    ['a constructor key', () => ({ uuid: 'u1', constructor: { admin: true } }), 'constructor'],
    ['a prototype key', () => ({ uuid: 'u1', prototype: { admin: true } }), 'prototype'],
    [
      'a prototype key deep down',
      () => ({ uuid: 'u1', extra: { a: { b: [{ prototype: 1 }] } } }),
      'extra.a.b[0].prototype',
    ],
  ];

  it.each(cases)('refuses %s on write', (_label, input, path) => {
    const table = people();
    const error = refusal(table, input());
    expect(error.errors[0].property).toBe(path);
    expect(table.size).toBe(0);
    expect(polluted()).toBe(false);
  });

  it.each(cases)('refuses %s in an update, leaving the record as it was', (_label, input, path) => {
    const table = people();
    const before = table.write({ uuid: 'u1', age: 1 });
    const patch = { ...(input() as object) };
    delete (patch as { uuid?: string }).uuid;
    const error = thrown(StoreValidationError, () => table.update('u1', patch));
    expect(error.errors[0].property).toBe(path);
    expect(table.get('u1')).toBe(before);
    expect(polluted()).toBe(false);
  });

  it('refuses forbidden keys in writeMany and writes nothing', () => {
    const table = people();
    const error = thrown(StoreValidationError, () =>
      table.writeMany([{ uuid: 'a' }, JSON.parse('{"uuid":"b","__proto__":{"admin":true}}')]),
    );
    expect(error.entry).toBe(1);
    expect(error.errors[0].property).toBe('__proto__');
    expect(table.size).toBe(0);
    expect(polluted()).toBe(false);
  });
});

describe('record building: primary key', () => {
  const bad: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['an object', { id: 1 }],
    ['an array', ['u1']],
    ['null', null],
    ['a boolean', true],
    ['a bigint', 1n],
    ['a date', new Date(0)],
  ];

  it.each(bad)('refuses %s as primary key', (_label, uuid) => {
    const table = people();
    const error = refusal(table, { uuid });
    expect(error.errors[0].property).toBe('uuid');
    expect(error.errors[0].constraints).toHaveProperty('primaryKey');
    expect(table.size).toBe(0);
  });

  it('refuses a record without its primary key', () => {
    const table = people();
    const error = refusal(table, { firstName: 'Ada' });
    expect(error.errors[0].property).toBe('uuid');
    expect(table.size).toBe(0);
  });

  it('accepts strings and finite numbers, and keeps them distinct', () => {
    const table = people();
    for (const uuid of ['', 'u1', '1', 0, 1, -1.5, Number.MAX_SAFE_INTEGER]) {
      table.write({ uuid });
    }
    expect(table.size).toBe(7);
    expect(table.get(1)?.uuid).toBe(1);
    expect(table.get('1')?.uuid).toBe('1');
    expect(table.get(-1.5)?.uuid).toBe(-1.5);
  });
});

describe('record building: stored values are shared, not copied again', () => {
  it('keeps nested values of a stored record when it is written back with changes', () => {
    const table = people();
    const first = table.write({
      uuid: 'u1',
      profile: { theme: 'light', lang: 'fr' },
      tags: ['a'],
      startDate: new Date(5),
      location: new Point(1, 1),
    });
    const next = table.write({ ...first, age: 1 });
    expect(next).not.toBe(first);
    expect(next.age).toBe(1);
    expect(next.profile).toBe(first.profile);
    expect(next.tags).toBe(first.tags);
    expect(next.startDate).toBe(first.startDate);
    expect(next.location).toBe(first.location);
  });

  it('keeps untouched nested values through an update', () => {
    const table = people();
    const first = table.write({ uuid: 'u1', profile: { theme: 'light', lang: 'fr' } });
    const next = table.update('u1', { age: 2 });
    expect(next.profile).toBe(first.profile);
    expect(next.tags).toBe(first.tags);
  });

  it('shares a stored value placed in another record', () => {
    const table = people();
    const first = table.write({ uuid: 'u1', profile: { theme: 'light', lang: 'fr' } });
    const second = table.write({ uuid: 'u2', profile: first.profile });
    expect(second.profile).toBe(first.profile);
  });
});

describe('record building: values met more than once', () => {
  const graph = (levels: number): object => {
    let node: object = { leaf: 1 };
    for (let i = 0; i < levels; i++) node = { a: node, b: node };
    return node;
  };

  it('copies a value used in several places once per place, within MAX_REPEATED_VALUES', () => {
    const table = people();
    const tags = ['x', 'y'];
    const r = table.write({ uuid: 'u1', tags, extra: { tags, deep: [tags, tags] } });
    expect(r.extra).toEqual({ tags: ['x', 'y'], deep: [tags, tags] });
    expect((r.extra as { tags: unknown }).tags).not.toBe(r.tags);
    // 2^10 paths: about 2,000 values copied again, well within the bound
    expect(() => table.write({ uuid: 'u2', extra: graph(10) })).not.toThrow();
    const error = refusal(table, { uuid: 'u3', extra: graph(20) });
    expect(error.errors[0].property).toMatch(/^extra(\.a)+\.b/);
    expect(table.has('u3')).toBe(false);
  });

  it('counts each record on its own, also when a getter writes another record mid-copy', () => {
    const table = people();
    const other = people();
    const shared = graph(14); // 81,873 values copied again alone, 163,790 if seen twice
    const writingGetter = (uuid: string, extra: () => unknown) => ({
      uuid,
      get extra() {
        other.write({ uuid: `inner-${uuid}`, extra: shared });
        return extra();
      },
    });
    // the inner record's copy counts nothing against the outer one…
    expect(() => table.write(writingGetter('one', () => ({ shared })))).not.toThrow();
    expect(other.has('inner-one')).toBe(true);
    expect(table.get('one')?.extra).toEqual({ shared: other.get('inner-one')?.extra });
    // …and the outer one still counts its own after the inner one ends
    const error = refusal(
      table,
      writingGetter('two', () => [shared, shared]),
    );
    expect(error.errors[0].property).toMatch(/^extra\[1\]/);
    expect(other.has('inner-two')).toBe(true);
    expect(table.has('two')).toBe(false);
    // the next record starts from nothing met
    expect(() => table.write({ uuid: 'three', extra: shared })).not.toThrow();
  });
});
