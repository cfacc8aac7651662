import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import type { TableOptions } from '../../../lib/interfaces/table-options.interface.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { thrown } from '../test-helpers.js';

function decorate(options: unknown): () => void {
  class Bad {
    id!: string;
  }
  return () => Table(options as TableOptions)(Bad);
}

const NOT_A_FIELD =
  'cannot be a key or index field (a top-level field, not __proto__, constructor or prototype)';

describe('@Table() option checks', () => {
  it.each([
    ['an unknown option', { nme: 'people' }, "unknown option 'nme'"],
    ['an empty name', { name: '' }, "'name' must be a non-empty string"],
    ['a name that is not a string', { name: 42 }, "'name' must be a non-empty string"],
    ['an empty key', { key: '' }, "'key' must be a non-empty string"],
    ['a key that is not a string', { key: ['id'] }, "'key' must be a non-empty string"],
    [
      'indexes that are not an array',
      { indexes: 'team' },
      "'indexes' must be an array of field names",
    ],
    [
      'a non-string index',
      { indexes: ['team', 3] },
      '3 is not an index field (a field name or dotted path, or a list of them for a compound index)',
    ],
    [
      'an empty index name',
      { indexes: [''] },
      "'' is not an index field (a field name or dotted path, or a list of them for a compound index)",
    ],
    [
      'an empty compound index',
      { indexes: [[]] },
      'index []: a compound index needs at least one field',
    ],
    [
      'a compound index naming a field twice',
      { indexes: [['team', 'team']] },
      "index ['team', 'team']: a compound index names a field twice",
    ],
    [
      'a compound index with a forbidden path',
      { indexes: [['team', 'profile.__proto__']] },
      "index ['team', 'profile.__proto__']: 'profile.__proto__' cannot be an index field (no empty segment, __proto__, constructor or prototype)",
    ],
    ['a key that cannot be a field', { key: '__proto__' }, `'__proto__' ${NOT_A_FIELD}`],
    ['a dotted key', { key: 'a.b' }, `'a.b' ${NOT_A_FIELD}`],
    [
      'an index that cannot be a field',
      { indexes: ['team', 'constructor'] },
      "'constructor' cannot be an index field (no empty segment, __proto__, constructor or prototype)",
    ],
    [
      'a path with an empty segment',
      { indexes: ['profile..team'] },
      "'profile..team' cannot be an index field (no empty segment, __proto__, constructor or prototype)",
    ],
    ['options that are not an object', 'people', 'options must be an object'],
    ['null options', null, 'options must be an object'],
  ])('refuses %s with an exact message', (_label, options, reason) => {
    const error = thrown(MemoryStoreError, decorate(options));
    expect(error.message).toBe(`@Table() on Bad: ${reason}`);
    expect(error.name).toBe('MemoryStoreError');
  });

  it('accepts no options and every documented option it knows', () => {
    expect(decorate(undefined)).not.toThrow();
    expect(decorate({})).not.toThrow();
    expect(decorate({ name: 'people', key: 'uuid', indexes: ['team'] })).not.toThrow();
  });

  it('keeps its own copy of the options object', () => {
    const options: TableOptions = { name: 'before', indexes: ['team'] };
    @Table(options)
    class Copied {
      id!: string;
      team?: string;
    }
    options.name = 'after';
    options.key = 'team';
    const schema = getTableSchema(Copied);
    expect(schema.name).toBe('before');
    expect(schema.key).toBe('id');
    expect(schema.indexes.map((i) => i.field)).toEqual(['team']);
  });
});
