// The library's side of the benchmark: three tables declared with the decorators applied as
// functions (plain JS has no decorator syntax), their stores, and a real Nest boot.

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsBoolean, IsEmail, IsInt, IsString } from 'class-validator';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';

// ---- tables ---------------------------------------------------------------------------

/** No index on the queried fields, no validation decorators. */
export class Person {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'people', key: 'id' })(Person);

/** The same records with a secondary index on `department`. */
export class IndexedPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'people_indexed', key: 'id', indexes: ['department'] })(IndexedPerson);

/** The same records with class-validator decorators: every write is validated. */
export class ValidatedPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
IsString()(ValidatedPerson.prototype, 'id');
IsString()(ValidatedPerson.prototype, 'department');
IsInt()(ValidatedPerson.prototype, 'age');
IsBoolean()(ValidatedPerson.prototype, 'active');
IsEmail()(ValidatedPerson.prototype, 'email');
Table({ name: 'people_validated', key: 'id' })(ValidatedPerson);

// ---- stores ---------------------------------------------------------------------------

export class PeopleStore extends MemoryStore {}
Store({ table: Person })(PeopleStore);

export class IndexedPeopleStore extends MemoryStore {}
Store({ table: IndexedPerson })(IndexedPeopleStore);

export class ValidatedStore extends MemoryStore {}
Store({ table: ValidatedPerson })(ValidatedStore);

class AppModule {}
Module({
  imports: [
    MemoryStoreModule.forRoot({ stores: [PeopleStore, IndexedPeopleStore, ValidatedStore] }),
  ],
})(AppModule);

/** Boots a Nest application context and returns it with its three started stores. */
export async function bootStores() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  return {
    app,
    people: app.get(PeopleStore),
    indexed: app.get(IndexedPeopleStore),
    validated: app.get(ValidatedStore),
  };
}
