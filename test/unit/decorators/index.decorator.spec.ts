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
      '@Index() on WithSymbol needs a string property name',
    );
  });

  it('refuses a misspelt option when the class is declared, naming class and field', () => {
    const declare = (options: unknown) => () => {
      @Table()
      class Account {
        id!: string;
        @Index(options as never) email?: string;
      }
      return Account;
    };
    expect(declare({ uniq: true })).toThrow(MemoryStoreError);
    expect(declare({ uniq: true })).toThrow(
      "@Index() on Account.email: unknown option 'uniq' (known: unique, kind)",
    );
  });

  it("refuses a 'unique' that is not a boolean, which used to make a non-unique index", () => {
    for (const unique of ['yes', 1, null]) {
      expect(() => {
        class Account {
          @Index({ unique } as never) email?: string;
        }
        return Account;
      }).toThrow("@Index() on Account.email: 'unique' must be true or false");
    }
  });

  it('refuses options that are not an object', () => {
    expect(() => {
      class Account {
        @Index('unique' as never) email?: string;
      }
      return Account;
    }).toThrow('@Index() on Account.email: options must be an object');
  });
});
