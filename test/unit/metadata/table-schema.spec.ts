import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { IsDate, IsOptional, IsString } from 'class-validator';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { getTableName, getTableSchema } from '../../../lib/metadata/table-schema.js';
import { thrown } from '../test-helpers.js';

const indexesOf = (target: abstract new () => object) =>
  [...getTableSchema(target).indexes].sort((a, b) => a.field.localeCompare(b.field));

describe('getTableSchema: names, key, prototype', () => {
  it('defaults the name to the class name and the key to id', () => {
    @Table()
    class Widget {
      id!: string;
    }
    const schema = getTableSchema(Widget);
    expect(schema.name).toBe('Widget');
    expect(getTableName(Widget)).toBe('Widget');
    expect(schema.key).toBe('id');
    expect(schema.indexes).toEqual([]);
    expect(schema.prototype).toBe(Widget.prototype);
    expect(schema.target).toBe(Widget);
  });

  it('takes name and key from the options', () => {
    @Table({ name: 'people', key: 'uuid' })
    class Person {
      uuid!: string;
    }
    const schema = getTableSchema(Person);
    expect(schema.name).toBe('people');
    expect(getTableName(Person)).toBe('people');
    expect(schema.key).toBe('uuid');
  });

  it('compiles a class once', () => {
    @Table()
    class Once {
      id!: string;
    }
    expect(getTableSchema(Once)).toBe(getTableSchema(Once));
  });

  it('refuses a class without @Table()', () => {
    class Plain {
      id!: string;
    }
    const error = thrown(MemoryStoreError, () => getTableSchema(Plain));
    expect(error.message).toBe('Plain is not a table: decorate the class with @Table()');
    expect(thrown(MemoryStoreError, () => getTableName(Plain)).message).toBe(
      'Plain is not a table: decorate the class with @Table()',
    );
  });
});

describe('getTableSchema: defaults', () => {
  it('reads own instance fields with a defined initial value', () => {
    @Table()
    class Defaults {
      id!: string;
      missing?: string;
      explicit: number | undefined = undefined;
      count = 0;
      flag = false;
      empty: string | null = null;
      profile = { theme: 'dark' };
      set: number;
      constructor() {
        this.set = 3;
      }
      get computed(): number {
        return 1;
      }
      method(): number {
        return 2;
      }
    }
    const defaults = new Map(getTableSchema(Defaults).defaults);
    expect([...defaults.keys()].sort()).toEqual(['count', 'empty', 'flag', 'profile', 'set']);
    expect(defaults.get('count')).toBe(0);
    expect(defaults.get('empty')).toBeNull();
    expect(defaults.get('profile')).toEqual({ theme: 'dark' });
    expect(Object.isFrozen(defaults.get('profile'))).toBe(true);
  });

  it('inherits the defaults of a parent class', () => {
    class Base {
      id!: string;
      createdBy = 'system';
    }
    @Table()
    class Derived extends Base {
      level = 1;
    }
    const r = new MemoryTable(getTableSchema(Derived)).write({ id: 'a' });
    expect(r.createdBy).toBe('system');
    expect(r.level).toBe(1);
    expect(r).toBeInstanceOf(Base);
  });

  it('refuses a class it cannot construct without arguments', () => {
    @Table({ name: 'needy' })
    class Needy {
      id!: string;
      constructor(readonly dep: { name: string }) {
        this.id = dep.name;
      }
    }
    const error = thrown(MemoryStoreError, () => getTableSchema(Needy));
    expect(error.message).toBe(
      "Table 'needy': cannot construct Needy without arguments to read its defaults",
    );
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('refuses a default the store could not keep', () => {
    @Table({ name: 'sets' })
    class WithSet {
      id!: string;
      tags = new Set<string>();
    }
    expect(thrown(MemoryStoreError, () => getTableSchema(WithSet)).message).toBe(
      "Table 'sets': default of tags must be plain data, not a Set",
    );
  });
});

describe('getTableSchema: date fields', () => {
  it('finds Date fields from decorator metadata and Date defaults', () => {
    @Table()
    class Dated {
      id!: string;
      @IsOptional() @IsDate() startDate?: Date;
      @Index() seenAt?: Date;
      createdAt = new Date(0);
      @IsString() label = '';
      plain?: Date;
    }
    const fields = getTableSchema(Dated).dateFields;
    expect([...fields].sort()).toEqual(['createdAt', 'seenAt', 'startDate']);
  });
});

describe('getTableSchema: indexes', () => {
  it('merges @Index() with the indexes option; a unique declaration wins', () => {
    @Table({ indexes: ['team', 'email', 'city'] })
    class Merged {
      id!: string;
      @Index({ unique: true }) email?: string;
      @Index() team?: string;
      @Index() code?: string;
      city?: string;
    }
    expect(indexesOf(Merged)).toEqual([
      { field: 'city', unique: false },
      { field: 'code', unique: false },
      { field: 'email', unique: true },
      { field: 'team', unique: false },
    ]);
    const table = new MemoryTable(getTableSchema(Merged));
    table.write({ id: 'a', email: 'x' });
    expect(() => table.write({ id: 'b', email: 'x' })).toThrow(DuplicateKeyError);
  });

  it('inherits @Index() declarations from a parent class', () => {
    class Account {
      id!: string;
      @Index({ unique: true }) email?: string;
      @Index() region?: string;
    }
    @Table({ name: 'admins', indexes: ['level'] })
    class Admin extends Account {
      @Index() team?: string;
      level = 1;
    }
    expect(indexesOf(Admin)).toEqual([
      { field: 'email', unique: true },
      { field: 'level', unique: false },
      { field: 'region', unique: false },
      { field: 'team', unique: false },
    ]);
    const table = new MemoryTable(getTableSchema(Admin));
    table.write({ id: 'a', email: 'x' });
    expect(() => table.write({ id: 'b', email: 'x' })).toThrow(DuplicateKeyError);
    expect(table.plan({ region: 'eu' }).path.kind).toBe('index');
  });

  it('does not let a subclass declaration leak into the parent table', () => {
    @Table({ name: 'parents' })
    class Parent {
      id!: string;
      name?: string;
    }
    @Table({ name: 'children' })
    class Child extends Parent {
      @Index({ unique: true }) nickname?: string;
    }
    expect(indexesOf(Child)).toEqual([{ field: 'nickname', unique: true }]);
    expect(indexesOf(Parent)).toEqual([]);
  });

  it('keeps no secondary index on the primary key: the key serves those queries', () => {
    @Table({ key: 'uuid', indexes: ['uuid'] })
    class Keyed {
      @Index({ unique: true }) uuid!: string;
    }
    expect(getTableSchema(Keyed).indexes).toEqual([]);
    const table = new MemoryTable(getTableSchema(Keyed));
    table.write({ uuid: 'a' });
    expect(table.plan({ uuid: 'a' }).path.kind).toBe('key');
  });

  // A key or indexes option that cannot be a field is refused by @Table() itself (see
  // table.decorator.spec); @Index() names are checked here, when the schema is compiled.
  it('refuses @Index() on a dotted property name', () => {
    @Table({ name: 'dotted' })
    class Dotted {
      id!: string;
      @Index() 'profile.theme'?: string;
    }
    const error = thrown(MemoryStoreError, () => getTableSchema(Dotted));
    expect(error.message).toBe(`Table 'dotted': 'profile.theme' cannot be a key or index field`);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses @Index() on the forbidden name %s',
    (field) => {
      @Table({ name: 'forbidden' })
      class Forbidden {
        id!: string;
      }
      Index()(Forbidden.prototype, field);
      const error = thrown(MemoryStoreError, () => getTableSchema(Forbidden));
      expect(error.message).toBe(`Table 'forbidden': '${field}' cannot be a key or index field`);
    },
  );
});
