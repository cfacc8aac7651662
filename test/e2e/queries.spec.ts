import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { QueryError, type Query, type SelectOptions } from 'nestjs-memory-store';
import { createApp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import { TASKS, Task, TasksAppModule, TasksStore, day } from './fixtures/tasks-app.module.js';

const ids = (records: readonly { id: number }[]) => records.map((r) => r.id).sort((a, b) => a - b);

describe('queries with attribute maps', () => {
  let app: INestApplication;
  let tasks: TasksStore;

  beforeEach(async () => {
    app = await createApp(TasksAppModule.register());
    await app.init();
    tasks = app.get(TasksStore);
    await tasks.writeMany(TASKS);
  });

  afterEach(async () => {
    await app.close();
  });

  describe('select()', () => {
    it('matches an indexed field', () => {
      expect(ids(tasks.select({ status: 'open' }))).toEqual([1, 3, 5]);
      expect(ids(tasks.select({ status: 'nothing' }))).toEqual([]);
    });

    it('matches an unindexed field', () => {
      expect(ids(tasks.select({ priority: 3 }))).toEqual([1, 4]);
      expect(ids(tasks.select({ title: 'e' }))).toEqual([5]);
    });

    it('requires every field of the map to match', () => {
      expect(ids(tasks.select({ status: 'open', priority: 2 }))).toEqual([3]);
      expect(ids(tasks.select({ status: 'done', priority: 3 }))).toEqual([]);
      expect(ids(tasks.select({ assignee: 'ada', status: 'done' }))).toEqual([2]);
    });

    it('matches the primary key, still checking the other fields', () => {
      expect(tasks.select({ id: 3 })).toEqual([tasks.get(3)]);
      expect(tasks.select({ id: 3, status: 'done' })).toEqual([]);
      expect(tasks.select({ id: 99 })).toEqual([]);
    });

    it('answers every query of a repeated shape with its own values, indexed or not', () => {
      const matching = (test: (t: Partial<Task>) => boolean) =>
        ids(TASKS.filter(test) as { id: number }[]);
      for (let round = 0; round < 3; round++)
        for (const status of ['open', 'done', 'blocked', 'none'])
          for (const priority of [0, 1, 2, 3]) {
            expect(ids(tasks.select({ status, priority }))).toEqual(
              matching((t) => t.status === status && t.priority === priority),
            );
            expect(
              ids(tasks.select({ priority: { $gte: priority }, title: { $lt: 'e' } })),
            ).toEqual(matching((t) => t.priority! >= priority && t.title! < 'e'));
            expect(
              ids(
                tasks.select([
                  ['status', '==', status],
                  ['priority', '<', priority],
                ]),
              ),
            ).toEqual(matching((t) => t.status === status && t.priority! < priority));
            expect(
              tasks.select({ id: { $gt: priority } }, { orderBy: { id: 'desc' }, limit: 2 }),
            ).toEqual([tasks.get(6), tasks.get(5)]);
          }
    });

    it('returns every record for an empty or absent query', () => {
      expect(ids(tasks.select())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(ids(tasks.select({}))).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('reaches nested fields with dotted paths', () => {
      expect(ids(tasks.select({ 'meta.area': 'ui' }))).toEqual([4, 5]);
      expect(ids(tasks.select({ 'meta.area': 'ui', 'meta.size': 's' }))).toEqual([5]);
      expect(ids(tasks.select({ 'meta.area': 'core', status: 'done' }))).toEqual([2, 6]);
    });

    it('compares objects by content', () => {
      expect(ids(tasks.select({ meta: { area: 'ui', size: 'l' } }))).toEqual([4]);
      expect(ids(tasks.select({ meta: { area: 'ui' } as Task['meta'] }))).toEqual([]);
    });

    it('compares dates by time, indexed or not', () => {
      expect(ids(tasks.select({ due: new Date('2026-01-02T00:00:00.000Z') }))).toEqual([2, 3]);
      expect(ids(tasks.select({ doneAt: new Date(day(3).getTime()) }))).toEqual([2]);
      expect(ids(tasks.select({ due: day(4) }))).toEqual([]);
    });

    it('matches null against null and missing values, indexed or not', () => {
      expect(ids(tasks.select({ assignee: null }))).toEqual([3, 4, 6]);
      expect(ids(tasks.select({ reviewer: null }))).toEqual([2, 3, 4, 5]);
      expect(ids(tasks.select({ due: null }))).toEqual([4, 5]);
      expect(ids(tasks.select({ 'meta.owner': null } as Query<Task>))).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('sees writes, updates and deletes at once, through the indexes', async () => {
      await tasks.update(1, { status: 'done', assignee: null });
      await tasks.delete(3);
      await tasks.write({ id: 7, status: 'open', assignee: 'ada' });
      expect(ids(tasks.select({ status: 'open' }))).toEqual([5, 7]);
      expect(ids(tasks.select({ status: 'done' }))).toEqual([1, 2, 6]);
      expect(ids(tasks.select({ assignee: null }))).toEqual([1, 4, 6]);
      expect(ids(tasks.select({ assignee: 'ada' }))).toEqual([2, 7]);
    });
  });

  describe('select() options', () => {
    it('orders by one field, ascending or descending', () => {
      expect(tasks.select({}, { orderBy: { title: 'desc' } }).map((t) => t.title)).toEqual([
        'f',
        'e',
        'd',
        'c',
        'b',
        'a',
      ]);
      expect(
        tasks.select({ status: 'done' }, { orderBy: { due: 'desc' } }).map((t) => t.id),
      ).toEqual([6, 2]);
    });

    it('orders by several fields in the order given', () => {
      const ordered = tasks.select(undefined, { orderBy: { priority: 'desc', id: 'asc' } });
      expect(ordered.map((t) => t.id)).toEqual([1, 4, 3, 6, 2, 5]);
      const reversed = tasks.select(undefined, { orderBy: { priority: 'desc', id: 'desc' } });
      expect(reversed.map((t) => t.id)).toEqual([4, 1, 6, 3, 2, 5]);
    });

    it('orders dates by time', () => {
      const dated = tasks.select({ status: 'open' }, { orderBy: { due: 'asc' } });
      expect(dated.filter((t) => t.due).map((t) => t.id)).toEqual([1, 3]);
    });

    it('pages with offset and limit after ordering', () => {
      const page = tasks.select({}, { orderBy: { id: 'desc' }, offset: 1, limit: 2 });
      expect(page.map((t) => t.id)).toEqual([5, 4]);
      expect(tasks.select({}, { orderBy: { id: 'asc' }, offset: 5, limit: 10 })).toHaveLength(1);
      expect(tasks.select({}, { orderBy: { id: 'asc' }, offset: 6 })).toEqual([]);
      expect(tasks.select({}, { limit: 0 })).toEqual([]);
    });

    it('limits without ordering', () => {
      expect(tasks.select({ status: 'open' }, { limit: 2 })).toHaveLength(2);
      const all = tasks.select({ status: 'open' });
      expect(tasks.select({ status: 'open' }, { offset: 1 })).toEqual(all.slice(1));
    });

    it('projects the listed fields only', () => {
      const rows = tasks.select(
        { status: 'done' },
        { fields: ['id', 'title'], orderBy: { id: 'asc' } },
      );
      expect(rows).toEqual([
        { id: 2, title: 'b' },
        { id: 6, title: 'f' },
      ]);
      for (const row of rows) expect(Object.keys(row).sort()).toEqual(['id', 'title']);
    });
  });

  describe('one(), count(), exists(), keys(), size', () => {
    it('one() returns a matching record or undefined', () => {
      expect(tasks.one({ status: 'blocked' })).toBe(tasks.get(4));
      expect([2, 6]).toContain(tasks.one({ status: 'done' })?.id);
      expect(tasks.one({ 'meta.size': 'l' })?.id).toBe(4);
      expect(tasks.one({ status: 'nope' })).toBeUndefined();
      expect(tasks.one({ due: day(5) })?.id).toBe(6);
    });

    it('count() counts matches, or every record without a query', () => {
      expect(tasks.count({ status: 'open' })).toBe(3);
      expect(tasks.count({ reviewer: null })).toBe(4);
      expect(tasks.count({ 'meta.area': 'core' })).toBe(4);
      expect(tasks.count()).toBe(6);
      expect(tasks.count({ status: 'nope' })).toBe(0);
    });

    it('exists(), keys() and size reflect the stored keys', async () => {
      expect(tasks.exists(3)).toBe(true);
      expect(tasks.exists(99)).toBe(false);
      expect([...tasks.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(tasks.size).toBe(6);
      await tasks.delete(3);
      expect(tasks.exists(3)).toBe(false);
      expect(tasks.keys()).not.toContain(3);
      expect(tasks.size).toBe(5);
    });
  });

  describe('malformed queries throw QueryError', () => {
    const malformed: [string, unknown][] = [
      ['an undefined value', { assignee: undefined }],
      ['an undefined value next to a good one', { status: 'open', assignee: undefined }],
      ['an unknown top-level $ operator', { $where: 'this.priority > 1' }],
      ['an unknown $ operator on a field', { status: { $regexp: 'o.*' } }],
      ['a __proto__ field', JSON.parse('{"__proto__": {"status": "open"}}')],
      ['a __proto__ path segment', { 'meta.__proto__.polluted': true }],
      ['a constructor field', { constructor: 'Object' }],
      ['a prototype path segment', { 'meta.prototype': null }],
      ['an empty path segment', { 'meta..area': 'ui' }],
      ['a string', 'open'],
      ['a number', 42],
      ['null', null],
      ['a function', () => true],
    ];

    it.each(malformed)('select() refuses %s', (_, query) => {
      const error = thrownBy(() => tasks.select(query as Query<Task>));
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).table).toBe('tasks');
    });

    it.each(malformed)('one() and count() refuse %s', (_, query) => {
      expect(thrownBy(() => tasks.one(query as Query<Task>))).toBeInstanceOf(QueryError);
      expect(thrownBy(() => tasks.count(query as Query<Task>))).toBeInstanceOf(QueryError);
    });

    it.each(malformed)(
      'deleteMany() and withdraw() refuse %s and delete nothing',
      async (_, query) => {
        expect(await rejectionOf(tasks.deleteMany(query as Query<Task>))).toBeInstanceOf(
          QueryError,
        );
        expect(await rejectionOf(tasks.withdraw(query as Query<Task>))).toBeInstanceOf(QueryError);
        expect(thrownBy(() => tasks.dirtyDeleteMany(query as Query<Task>))).toBeInstanceOf(
          QueryError,
        );
        expect(tasks.size).toBe(6);
      },
    );

    it('leaves Object.prototype untouched', () => {
      thrownBy(() => tasks.select({ '__proto__.polluted': true } as Query<Task>));
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });
  });

  describe('malformed select options throw QueryError', () => {
    it.each([
      ['a negative limit', { limit: -1 }],
      ['a fractional limit', { limit: 1.5 }],
      ['a string limit', { limit: '10' }],
      ['a NaN limit', { limit: NaN }],
      ['a negative offset', { offset: -2 }],
      ['an unknown direction', { orderBy: { priority: 'up' } }],
      ['orderBy as a string', { orderBy: 'priority' }],
      ['an orderBy on __proto__', { orderBy: JSON.parse('{"__proto__": "asc"}') }],
      ['an unknown option', { sort: { id: 'asc' } }],
      ['fields as a string', { fields: 'id' }],
      ['a __proto__ field', { fields: ['__proto__'] }],
      ['options that are not an object', 'id'],
    ])('%s', (_, options) => {
      const error = thrownBy(() =>
        tasks.select({ status: 'open' }, options as SelectOptions<Task>),
      );
      expect(error).toBeInstanceOf(QueryError);
    });
  });
});
