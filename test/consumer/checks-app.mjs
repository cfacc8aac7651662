// The consumer test's own checks, beside the README's app (in its src/checks/): a second
// app that exercises the installed declarations and the `exports` map (types that must not
// be `any`, a misspelt field that must not compile, typed errors, a bare table under
// forFeature, getStoreToken), compiled with skipLibCheck off and run with
// `node dist/checks/main.js`, whose last line must be EXPECTED_SUMMARY.

export const SOURCES = {
  'src/checks/person.table.ts': `
import { IsEmail, IsInt, IsString, Min } from 'class-validator';
import { Index, Table } from 'nestjs-memory-store';

@Table({ name: 'people', key: 'uuid', indexes: ['department'] })
export class Person {
  @IsString() uuid!: string;
  @Index({ unique: true }) @IsEmail() email!: string;
  @IsString() department = 'engineering';
  @IsInt() @Min(0) age = 0;
  admin = false;
}
`,

  'src/checks/people.store.ts': `
import { MemoryStore, Store } from 'nestjs-memory-store';
import { Person } from './person.table.js';

@Store({ table: Person })
export class PeopleStore extends MemoryStore<Person> {
  /** A custom query: the members of a department, oldest first. */
  inDepartment(department: string): Person[] {
    return this.select({ department }, { orderBy: { age: 'desc' } });
  }

  admins(): Person[] {
    return this.select({ admin: true });
  }
}
`,

  'src/checks/flags.module.ts': `
import { Injectable, Module } from '@nestjs/common';
import { InjectStore, MemoryStore, MemoryStoreModule, Table } from 'nestjs-memory-store';

/** A bare table: forFeature() gives it a plain MemoryStore<FeatureFlag>. */
@Table({ name: 'flags' })
export class FeatureFlag {
  id!: string;
  enabled = false;
}

@Injectable()
export class FlagService {
  constructor(@InjectStore(FeatureFlag) private readonly flags: MemoryStore<FeatureFlag>) {}

  async enable(id: string): Promise<FeatureFlag> {
    return this.flags.write({ id, enabled: true });
  }

  async declare(id: string): Promise<FeatureFlag> {
    return this.flags.write({ id });
  }

  isEnabled(id: string): boolean {
    return this.flags.get(id)?.enabled === true;
  }

  get count(): number {
    return this.flags.size;
  }
}

@Module({
  imports: [MemoryStoreModule.forFeature([FeatureFlag])],
  providers: [FlagService],
  exports: [FlagService],
})
export class FlagsModule {}
`,

  'src/checks/app.module.ts': `
import { Module } from '@nestjs/common';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { FlagsModule } from './flags.module.js';
import { PeopleStore } from './people.store.js';

@Module({
  imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore] }), FlagsModule],
})
export class AppModule {}
`,

  'src/checks/main.ts': `
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  DuplicateKeyError,
  MemoryStoreError,
  MemoryStoreService,
  StoreValidationError,
  getStoreToken,
  type MemoryStore,
} from 'nestjs-memory-store';
import { AppModule } from './app.module.js';
import { FeatureFlag, FlagService } from './flags.module.js';
import { PeopleStore } from './people.store.js';
import { Person } from './person.table.js';

// Compile-time checks: the declarations must give real types, not \`any\`.
type IsAny<T> = 0 extends 1 & T ? true : false;
type Expect<T extends true> = T;
export type TypeChecks = [
  Expect<IsAny<ReturnType<PeopleStore['get']>> extends false ? true : false>,
  Expect<ReturnType<PeopleStore['get']> extends Person | undefined ? true : false>,
  Expect<IsAny<DuplicateKeyError> extends false ? true : false>,
  Expect<DuplicateKeyError extends MemoryStoreError ? true : false>,
  Expect<IsAny<MemoryStoreService> extends false ? true : false>,
];

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(\`check failed: \${message}\`);
}

async function expectRejection<E extends Error>(
  what: string,
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    check(
      error instanceof errorClass,
      \`\${what}: expected \${errorClass.name}, got \${String(error)}\`,
    );
    check(error instanceof MemoryStoreError, \`\${what}: not a MemoryStoreError\`);
    return error;
  }
  throw new Error(\`\${what}: expected \${errorClass.name}, but nothing was thrown\`);
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  let summary: Record<string, unknown>;
  try {
    const people = app.get(PeopleStore);
    check(people.isReady, 'the store is ready after init');

    const ada = await people.write({ uuid: 'u-1', email: 'ada@example.com', age: 36 });
    await people.write({ uuid: 'u-2', email: 'grace@example.com', age: 45, admin: true });
    await people.write({ uuid: 'u-3', email: 'linus@example.com', department: 'kernel' });

    check(ada instanceof Person, 'records are instances of the table class');
    check(ada.department === 'engineering', 'defaults come from property initialisers');
    check(Object.isFrozen(ada), 'records are frozen');
    check(people.get('u-1') === ada, 'get() returns the stored record');
    check(people.size === 3, \`size is 3 (got \${people.size})\`);

    const engineers = people.inDepartment('engineering');
    check(
      engineers.map((p) => p.uuid).join(',') === 'u-2,u-1',
      \`custom query (got \${engineers.map((p) => p.uuid).join(',')})\`,
    );
    check(people.admins().length === 1, 'admins()');
    check(people.one({ email: 'linus@example.com' })?.uuid === 'u-3', 'one() by unique index');

    // @ts-expect-error -- a misspelt field must not type-check
    people.select({ departmnet: 'engineering' });

    const duplicate = await expectRejection(
      'unique index',
      people.write({ uuid: 'u-9', email: 'ada@example.com' }),
      DuplicateKeyError,
    );
    check(duplicate.table === 'people', 'DuplicateKeyError names its table');
    const invalid = await expectRejection(
      'validation',
      people.write({ uuid: 'u-10', email: 'not-an-email' }),
      StoreValidationError,
    );
    check(invalid.errors.length > 0, "StoreValidationError carries class-validator's errors");
    check(people.size === 3 && !people.exists('u-10'), 'rejected writes change nothing');

    const flags = app.get(FlagService);
    await flags.enable('dark-mode');
    await flags.declare('beta');
    check(flags.isEnabled('dark-mode') && !flags.isEnabled('beta'), 'forFeature() store');
    const flagStore = app.get<MemoryStore<FeatureFlag>>(getStoreToken(FeatureFlag));
    check(flagStore.get('beta') instanceof FeatureFlag, 'bare table records use its class');

    const stats = app.get(MemoryStoreService).stats();
    summary = {
      ok: true,
      people: people.size,
      flags: flags.count,
      engineers: engineers.map((p) => p.uuid),
      duplicateKeyError: duplicate.name,
      storeValidationError: invalid.name,
      stores: stats.length,
    };
  } finally {
    await app.close();
  }
  console.log(JSON.stringify(summary));
}

main().then(
  () => {
    // After app.close() nothing may keep the process alive; report it if something does.
    setTimeout(() => {
      console.error('the process did not exit after app.close(): something left a handle open');
      process.exit(1);
    }, 10_000).unref();
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
`,
};

/** What `node dist/main.js` must print as its last line. */
export const EXPECTED_SUMMARY = {
  ok: true,
  people: 3,
  flags: 2,
  engineers: ['u-2', 'u-1'],
  duplicateKeyError: 'DuplicateKeyError',
  storeValidationError: 'StoreValidationError',
  stores: 2,
};
