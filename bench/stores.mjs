// The library's side of the benchmark: tables declared with the decorators applied as
// functions (plain JS has no decorator syntax), their stores, and real Nest boots.

import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { IsBoolean, IsEmail, IsInt, IsString } from 'class-validator';
import {
  Index,
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  OnStoreEvent,
  Store,
  Table,
} from 'nestjs-memory-store';

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

/**
 * The same records with two hash indexes, department (10 values) and age (50 values): the
 * table of issue 20's write and memory rows.
 */
export class TwoIndexPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'people_two_indexes', key: 'id', indexes: ['department', 'age'] })(TwoIndexPerson);

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

export class TwoIndexPeopleStore extends MemoryStore {}
Store({ table: TwoIndexPerson })(TwoIndexPeopleStore);

class AppModule {}
Module({
  imports: [
    MemoryStoreModule.forRoot({
      stores: [PeopleStore, IndexedPeopleStore, ValidatedStore, TwoIndexPeopleStore],
    }),
  ],
})(AppModule);

/** Boots a Nest application context and returns it with its four started stores (empty). */
export async function bootStores() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  return {
    app,
    people: app.get(PeopleStore),
    indexed: app.get(IndexedPeopleStore),
    validated: app.get(ValidatedStore),
    twoIndexes: app.get(TwoIndexPeopleStore),
  };
}

/** A module class importing and providing what it is given (a fresh class per app). */
function appModule(imports, providers = []) {
  class BenchAppModule {}
  Module({ imports, providers })(BenchAppModule);
  return BenchAppModule;
}

const boot = (module) => NestFactory.createApplicationContext(module, { logger: false });

/** Applies a method decorator to `Class.prototype[name]` (what `@Decorator()` does in TS). */
function decorateMethod(decorator, Class, name) {
  const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, name);
  Object.defineProperty(Class.prototype, name, decorator(Class.prototype, name, descriptor));
}

// ---- the query section ---------------------------------------------------------------------

/**
 * Indexes on department (10 values) and city (1,000 values) through `@Table({ indexes })`,
 * and on score through `@Index()`; age, active and email are not indexed.
 */
export class QueryPerson {
  id;
  department = 'd0';
  city = 'c000';
  score = 0;
  age = 0;
  active = true;
  email;
}
Index()(QueryPerson.prototype, 'score');
Table({ name: 'query_people', key: 'id', indexes: ['department', 'city'] })(QueryPerson);

export class QueryPeopleStore extends MemoryStore {}
Store({ table: QueryPerson })(QueryPeopleStore);

/** Boots an application context with the query store (empty). */
export async function bootQueryStore() {
  const app = await boot(appModule([MemoryStoreModule.forRoot({ stores: [QueryPeopleStore] })]));
  return { app, store: app.get(QueryPeopleStore) };
}

// ---- the ttl section -----------------------------------------------------------------------

/** Every record lives an hour unless its write says otherwise. */
export class TtlPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'ttl_people', key: 'id', ttl: '1h' })(TtlPerson);

/** The same records without any time to live. */
export class NoTtlPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'no_ttl_people', key: 'id' })(NoTtlPerson);

/** The scheduled sweep is pushed out of the way (~24.8 days): the bench calls sweep() itself. */
const NO_SCHEDULED_SWEEP = { sweep: { everyMs: 2 ** 31 - 1 } };

export class TtlPeopleStore extends MemoryStore {}
Store({ table: TtlPerson, ttl: NO_SCHEDULED_SWEEP })(TtlPeopleStore);

export class NoTtlPeopleStore extends MemoryStore {}
Store({ table: NoTtlPerson })(NoTtlPeopleStore);

/** Boots an application context with both ttl-section stores (empty). */
export async function bootTtlStores() {
  const app = await boot(
    appModule([MemoryStoreModule.forRoot({ stores: [TtlPeopleStore, NoTtlPeopleStore] })]),
  );
  return { app, withTtl: app.get(TtlPeopleStore), withoutTtl: app.get(NoTtlPeopleStore) };
}

// ---- the events section --------------------------------------------------------------------

export class EventPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'event_people', key: 'id' })(EventPerson);

/** A second table, to see what one store's listeners cost the writes of another. */
export class OtherPerson {
  id;
  department = 'd0';
  age = 0;
  active = true;
  email;
}
Table({ name: 'event_other_people', key: 'id' })(OtherPerson);

export class EventPeopleStore extends MemoryStore {}
Store({ table: EventPerson })(EventPeopleStore);

export class OtherPeopleStore extends MemoryStore {}
Store({ table: OtherPerson })(OtherPeopleStore);

/** Counts what `@OnEvent('memory-store.event_people.update')` (EventEmitter2) receives. */
export class OnEventListener {
  static received = 0;
  handle() {
    OnEventListener.received++;
  }
}
decorateMethod(OnEvent('memory-store.event_people.update'), OnEventListener, 'handle');
Injectable()(OnEventListener);

/** Counts what `@OnStoreEvent(EventPeopleStore, 'update')` receives. */
export class StoreEventListener {
  static received = 0;
  handle() {
    StoreEventListener.received++;
  }
}
decorateMethod(OnStoreEvent(EventPeopleStore, 'update'), StoreEventListener, 'handle');
Injectable()(StoreEventListener);

/**
 * Boots an application context with the two event stores (empty): `eventEmitter` imports
 * `EventEmitterModule.forRoot()`, `providers` adds listener classes.
 */
export async function bootEventStores({ eventEmitter = false, providers = [] } = {}) {
  const imports = [MemoryStoreModule.forRoot({ stores: [EventPeopleStore, OtherPeopleStore] })];
  if (eventEmitter) imports.unshift(EventEmitterModule.forRoot());
  const app = await boot(appModule(imports, providers));
  return {
    app,
    store: app.get(EventPeopleStore),
    other: app.get(OtherPeopleStore),
    memory: app.get(MemoryStoreService),
  };
}
