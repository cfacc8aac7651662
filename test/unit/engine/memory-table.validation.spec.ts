import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import {
  IsEmail,
  IsInt,
  IsOptional,
  IsString,
  Min,
  registerDecorator,
  Validate,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { StoreValidationError } from '../../../lib/errors/store-validation.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

@Table({ name: 'people', key: 'uuid', indexes: ['department'] })
class Person {
  @IsString() uuid!: string;
  @Index({ unique: true }) @IsEmail() email!: string;
  @IsOptional() @IsString() firstName?: string;
  department = 'engineering';
  @IsInt() @Min(0) age = 0;
}

@Table({ name: 'loose' })
class Loose {
  id!: string;
  email = '';
  age = 0;
}

const people = () => {
  const table = new MemoryTable(getTableSchema(Person));
  table.write({ uuid: 'u1', email: 'ada@example.com', department: 'math' });
  return table;
};

function expectIntact(table: MemoryTable<Person>) {
  const u1 = table.get('u1')!;
  return () => {
    expect(table.get('u1')).toBe(u1);
    expect(table.size).toBe(1);
    expect(keysOf(table.select({ email: 'ada@example.com' }), 'uuid')).toEqual(['u1']);
    expect(keysOf(table.select({ department: 'math' }), 'uuid')).toEqual(['u1']);
    expect(table.select({ department: 'sales' })).toEqual([]);
  };
}

describe('class-validator integration', () => {
  it('accepts a valid record', () => {
    const table = people();
    expect(table.write({ uuid: 'u2', email: 'bob@example.com', age: 3 }).age).toBe(3);
  });

  it('validates on write, with the property and constraints of each error', () => {
    const table = people();
    const intact = expectIntact(table);
    const error = thrown(StoreValidationError, () =>
      table.write({ uuid: 'u2', email: 'not-an-email', age: -1, department: 'sales' }),
    );
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect(error.table).toBe('people');
    const byProperty = Object.fromEntries(error.errors.map((e) => [e.property, e]));
    expect(Object.keys(byProperty).sort()).toEqual(['age', 'email']);
    expect(byProperty.email.constraints).toHaveProperty('isEmail');
    expect(byProperty.email.value).toBe('not-an-email');
    expect(byProperty.age.constraints).toHaveProperty('min');
    expect(error.message).toContain('email must be an email');
    expect(table.has('u2')).toBe(false);
    intact();
  });

  it('validates the defaults a record starts from too', () => {
    const table = people();
    const error = thrown(StoreValidationError, () => table.write({ uuid: 'u2' }));
    expect(error.errors.map((e) => e.property)).toEqual(['email']);
  });

  it('validates on insert', () => {
    const table = people();
    const intact = expectIntact(table);
    const error = thrown(StoreValidationError, () =>
      table.insert({ uuid: 'u2', email: 'bob@example.com', firstName: 42 }),
    );
    expect(error.errors[0].property).toBe('firstName');
    expect(error.errors[0].constraints).toHaveProperty('isString');
    intact();
  });

  it('validates the merged record on update, by patch or by function', () => {
    const table = people();
    const intact = expectIntact(table);
    for (const change of [{ email: 'nope', department: 'sales' }, () => ({ age: 1.5 })]) {
      const error = thrown(StoreValidationError, () => table.update('u1', change));
      expect(error.errors).toHaveLength(1);
      expect(['email', 'age']).toContain(error.errors[0].property);
      intact();
    }
  });

  it('validates every record of writeMany, naming the invalid one, and writes none', () => {
    const table = people();
    const intact = expectIntact(table);
    const error = thrown(StoreValidationError, () =>
      table.writeMany([
        { uuid: 'u2', email: 'bob@example.com', department: 'sales' },
        { uuid: 'u1', email: 'ada@example.com', department: 'sales' },
        { uuid: 'u3', email: 'carl@example.com', age: 'old' },
      ]),
    );
    expect(error.entry).toBe(2);
    expect(error.errors[0].property).toBe('age');
    expect(error.errors[0].constraints).toHaveProperty('isInt');
    intact();
    expect(table.has('u2')).toBe(false);
  });

  it('does not validate a table class without validation decorators', () => {
    expect(getTableSchema(Loose).validate).toBeUndefined();
    const table = new MemoryTable(getTableSchema(Loose));
    const r = table.write({ id: 'x', email: 42, age: 'old' });
    expect(r.email).toBe(42);
    expect(r.age).toBe('old');
  });
});

@ValidatorConstraint({ name: 'remoteCheck', async: true })
class RemoteCheck implements ValidatorConstraintInterface {
  validate(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

@ValidatorConstraint({ name: 'localCheck' })
class LocalCheck implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return value !== 'forbidden';
  }
}

function IsRegistered(): PropertyDecorator {
  return (target, property) =>
    registerDecorator({
      name: 'isRegistered',
      target: target.constructor,
      propertyName: property as string,
      async: true,
      validator: { validate: () => Promise.resolve(true) },
    });
}

describe('class-validator: asynchronous validators', () => {
  it('refuses an async constraint class when the schema is compiled', () => {
    @Table({ name: 'remote' })
    class Remote {
      id!: string;
      @Validate(RemoteCheck) code = 'x';
    }
    const error = thrown(MemoryStoreError, () => getTableSchema(Remote));
    expect(error.message).toBe(
      "Table 'remote': the validator on 'code' is asynchronous; stores validate synchronously",
    );
    expect(error.table).toBe('remote');
  });

  it('refuses an async validator made with registerDecorator', () => {
    @Table({ name: 'registered' })
    class Registered {
      id!: string;
      @IsRegistered() code = 'x';
    }
    const error = thrown(MemoryStoreError, () => getTableSchema(Registered));
    expect(error.message).toBe(
      "Table 'registered': the validator on 'code' is asynchronous; stores validate synchronously",
    );
  });

  it('runs a synchronous custom constraint', () => {
    @Table({ name: 'local' })
    class Local {
      id!: string;
      @Validate(LocalCheck) code = 'x';
    }
    const table = new MemoryTable(getTableSchema(Local));
    expect(table.write({ id: 'a' }).code).toBe('x');
    const error = thrown(StoreValidationError, () => table.write({ id: 'b', code: 'forbidden' }));
    expect(error.errors[0].constraints).toHaveProperty('localCheck');
    expect(table.has('b')).toBe(false);
  });
});
