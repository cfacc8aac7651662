import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { MemoryStoreError } from '../../../lib/errors/memory-store.error.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';

describe('@Index()', () => {
  it('declares a non-unique index by default and a unique one on request', () => {
    @Table()
    class Indexed {
      id!: string;
      @Index() team?: string;
      @Index({}) city?: string;
      @Index({ unique: false }) zip?: string;
      @Index({ unique: true }) email?: string;
    }
    const unique = Object.fromEntries(
      getTableSchema(Indexed).indexes.map((i) => [i.field, i.unique]),
    );
    expect(unique).toEqual({ team: false, city: false, zip: false, email: true });
  });

  it('refuses a symbol property', () => {
    class WithSymbol {}
    expect(() => Index()(WithSymbol.prototype, Symbol('s'))).toThrow(MemoryStoreError);
    expect(() => Index()(WithSymbol.prototype, Symbol('s'))).toThrow(
      '@Index() needs a string property name',
    );
  });
});
