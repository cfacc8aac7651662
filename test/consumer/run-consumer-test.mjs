#!/usr/bin/env node
// Consumer test: installs the packed library into a scratch Nest 12 ESM TypeScript app, as a
// user would, then compiles and runs the app.
//
//   1. `npm pack` this repository (its `prepack` script builds dist/) into a temporary dir;
//   2. create a scratch app in a fresh temporary dir outside the repository and
//      `npm install` the tarball, its peers and `typescript@latest` into it;
//   3. write the app's sources, compile them with the installed `tsc` (a type error fails
//      the test: this is what catches broken declarations or a broken `exports` map). If
//      `typescript@latest` cannot compile the app, the repository's own TypeScript version is
//      tried too so the report says which one works, and the test still fails;
//   4. run `node dist/main.js` and check the JSON summary it prints.
//
// Nothing from the repository's node_modules is used by the scratch app. The last line
// printed is exactly `consumer: <n> passed, <n> failed` (read by CI).
//
// Environment:
//   CONSUMER_TEST_KEEP=1       keep the temporary directories (their path is printed)
//   CONSUMER_TEST_TS=<spec>    install this TypeScript instead of `typescript@latest`

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEEP = process.env.CONSUMER_TEST_KEEP === '1';
const TS_SPEC = process.env.CONSUMER_TEST_TS || 'typescript@latest';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const MINUTE = 60_000;
const TIMEOUTS = {
  pack: 3 * MINUTE,
  install: 6 * MINUTE,
  tsc: 3 * MINUTE,
  run: 1 * MINUTE,
};

const PEERS = [
  '@nestjs/common@^12',
  '@nestjs/core@^12',
  'class-validator',
  'reflect-metadata',
  'rxjs',
];

const started = Date.now();
const elapsed = (since = started) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const log = (message) => console.log(`[consumer] ${message}`);

class StepError extends Error {}

/** Children still running, each with a function that stops its whole process group. */
const running = new Map();
/** Set to the signal's name once SIGINT or SIGTERM arrives. */
let interrupted;

// ---- process helpers --------------------------------------------------------------------

/**
 * The environment for child processes: this process's, without what `npm run` adds for
 * lifecycle scripts (package fields, the repo as local prefix, INIT_CWD), so that npm in the
 * scratch app sees only that app.
 */
function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (
      k.startsWith('npm_package_') ||
      k.startsWith('npm_lifecycle_') ||
      k === 'npm_config_local_prefix' ||
      k === 'init_cwd' ||
      k === 'npm_command'
    ) {
      continue;
    }
    env[key] = value;
  }
  env.NO_UPDATE_NOTIFIER = '1';
  env.npm_config_update_notifier = 'false';
  return env;
}

/** Runs a command with captured output and a time limit; resolves with its result. */
function run(command, args, { cwd, timeout }) {
  return new Promise((resolvePromise) => {
    if (interrupted) {
      resolvePromise({
        code: null,
        signal: interrupted,
        stdout: '',
        stderr: 'interrupted',
        timedOut: false,
        timeout,
        ms: 0,
      });
      return;
    }
    const began = Date.now();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(command, args, {
        cwd,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a timeout can end npm and everything it started.
        detached: process.platform !== 'win32',
        shell: process.platform === 'win32',
      });
    } catch (error) {
      resolvePromise({
        code: null,
        signal: null,
        stdout,
        stderr: String(error),
        timedOut,
        timeout,
        ms: 0,
      });
      return;
    }
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const kill = (signal) => {
      try {
        if (process.platform !== 'win32') process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    running.set(child, kill);
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    }, timeout);
    child.on('error', (error) => {
      stderr += `\n${String(error)}`;
      // A command that could not start (ENOENT, EACCES) may never emit 'close'.
      if (child.pid === undefined) finish(null, null);
    });
    let settled = false;
    const finish = (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(child);
      resolvePromise({ code, signal, stdout, stderr, timedOut, timeout, ms: Date.now() - began });
    };
    child.on('close', finish);
  });
}

function indent(text) {
  return text
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => `    | ${line}`)
    .join('\n');
}

function describeFailure(title, command, args, result) {
  const how = result.timedOut
    ? `timed out (limit ${(result.timeout / 1000).toFixed(0)}s) and was stopped`
    : result.signal
      ? `was killed by ${result.signal}`
      : result.code === null
        ? 'could not be started'
        : `exited with code ${result.code}`;
  const parts = [`${title}: \`${[command, ...args].join(' ')}\` ${how}`];
  if (result.stdout.trim()) parts.push(`  stdout:\n${indent(result.stdout)}`);
  if (result.stderr.trim()) parts.push(`  stderr:\n${indent(result.stderr)}`);
  return parts.join('\n');
}

/** Runs one step; throws a StepError carrying its output when it fails. */
async function step(title, command, args, options) {
  log(`${title}: ${[command, ...args].join(' ')}`);
  const result = await run(command, args, options);
  if (result.code !== 0 || result.timedOut) {
    throw new StepError(describeFailure(title, command, args, result));
  }
  log(`  ok (${(result.ms / 1000).toFixed(1)}s)`);
  return result;
}

// ---- the scratch application ------------------------------------------------------------

const APP_PACKAGE_JSON = {
  name: 'nestjs-memory-store-consumer',
  version: '0.0.0',
  private: true,
  type: 'module',
  description: 'Scratch app made by test/consumer/run-consumer-test.mjs',
};

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    // Type-check the installed declarations too: a broken .d.ts must fail the test.
    skipLibCheck: false,
    forceConsistentCasingInFileNames: true,
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

const SOURCES = {
  'src/person.table.ts': `
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

  'src/people.store.ts': `
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

  'src/flags.module.ts': `
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

  'src/app.module.ts': `
import { Module } from '@nestjs/common';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { FlagsModule } from './flags.module.js';
import { PeopleStore } from './people.store.js';

@Module({
  imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore] }), FlagsModule],
})
export class AppModule {}
`,

  'src/main.ts': `
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
const EXPECTED_SUMMARY = {
  ok: true,
  people: 3,
  flags: 2,
  engineers: ['u-2', 'u-1'],
  duplicateKeyError: 'DuplicateKeyError',
  storeValidationError: 'StoreValidationError',
  stores: 2,
};

// ---- the test ---------------------------------------------------------------------------

async function installedVersion(appDir, name) {
  try {
    const json = JSON.parse(
      await readFile(join(appDir, 'node_modules', name, 'package.json'), 'utf8'),
    );
    return json.version;
  } catch {
    return undefined;
  }
}

async function compile(appDir, label) {
  const version = await installedVersion(appDir, 'typescript');
  const tsc = join(
    appDir,
    'node_modules',
    '.bin',
    process.platform === 'win32' ? 'tsc.cmd' : 'tsc',
  );
  log(`compile with TypeScript ${version} (${label}): tsc -p tsconfig.json`);
  const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: appDir, timeout: TIMEOUTS.tsc });
  if (result.code === 0 && !result.timedOut) {
    log(`  ok (${(result.ms / 1000).toFixed(1)}s)`);
    return { ok: true, version };
  }
  return {
    ok: false,
    version,
    failure: describeFailure(
      `compile with TypeScript ${version}`,
      'tsc',
      ['-p', 'tsconfig.json'],
      result,
    ),
  };
}

async function consumerTest(work) {
  const repoPackage = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8'));
  const packDir = join(work, 'pack');
  const appDir = join(work, 'app');
  await mkdir(packDir);
  await mkdir(appDir);

  // 1. Pack (prepack builds dist/).
  await step('npm pack', NPM, ['pack', '--pack-destination', packDir], {
    cwd: REPO,
    timeout: TIMEOUTS.pack,
  });
  const tarballs = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) {
    throw new StepError(`npm pack: expected one tarball in ${packDir}, found ${tarballs.length}`);
  }
  const tarball = join(packDir, tarballs[0]);
  log(`  packed ${tarballs[0]}`);

  // 2. Scratch app + install, as a user would.
  await writeFile(join(appDir, 'package.json'), JSON.stringify(APP_PACKAGE_JSON, null, 2) + '\n');
  await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2) + '\n');
  const npmInstall = ['install', '--no-audit', '--no-fund', '--loglevel=error'];
  await step('npm install', NPM, [...npmInstall, tarball, ...PEERS, TS_SPEC, '@types/node@^20'], {
    cwd: appDir,
    timeout: TIMEOUTS.install,
  });
  const versions = {};
  for (const name of [
    'nestjs-memory-store',
    '@nestjs/common',
    '@nestjs/core',
    'class-validator',
    'rxjs',
    'reflect-metadata',
    'typescript',
  ]) {
    versions[name] = await installedVersion(appDir, name);
  }
  log(
    `  installed ${Object.entries(versions)
      .map(([n, v]) => `${n}@${v}`)
      .join(' ')}`,
  );

  // 3. Sources + compile.
  for (const [file, text] of Object.entries(SOURCES)) {
    await mkdir(dirname(join(appDir, file)), { recursive: true });
    await writeFile(join(appDir, file), text.trimStart());
  }
  const compiled = [];
  const latest = await compile(appDir, TS_SPEC);
  compiled.push(latest);
  if (!latest.ok) {
    console.log(latest.failure);
    const repoTs = repoPackage.devDependencies?.typescript;
    const fallback = repoTs ? `typescript@${repoTs}` : undefined;
    log(
      `!! the app does NOT compile with TypeScript ${latest.version} (${TS_SPEC}), ` +
        `which is what a new user installs`,
    );
    if (fallback && fallback !== TS_SPEC) {
      await step(
        `npm install ${fallback} (the repository's version)`,
        NPM,
        [...npmInstall, fallback],
        {
          cwd: appDir,
          timeout: TIMEOUTS.install,
        },
      );
      const again = await compile(appDir, `${fallback}, the repository's version`);
      compiled.push(again);
      if (again.ok) {
        log(`!! it compiles with TypeScript ${again.version} (the repository's version)`);
      } else {
        console.log(again.failure);
        log(`!! it does not compile with TypeScript ${again.version} either`);
      }
    }
    const summary = compiled.map((c) => `TypeScript ${c.version}: ${c.ok ? 'compiles' : 'FAILS'}`);
    throw new StepError(
      `compile: the consumer app does not compile with ${TS_SPEC} (${summary.join('; ')})`,
    );
  }

  // 4. Run.
  const result = await step('run', process.execPath, ['dist/main.js'], {
    cwd: appDir,
    timeout: TIMEOUTS.run,
  });
  const lines = result.stdout.trim().split('\n');
  let summary;
  try {
    summary = JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new StepError(
      `run: the last line of output is not a JSON summary:\n${indent(result.stdout)}`,
    );
  }
  log(`  output: ${JSON.stringify(summary)}`);
  const expected = JSON.stringify(EXPECTED_SUMMARY);
  if (JSON.stringify(summary) !== expected) {
    throw new StepError(
      `run: unexpected summary\n  expected ${expected}\n  got      ${JSON.stringify(summary)}` +
        (result.stderr.trim() ? `\n  stderr:\n${indent(result.stderr)}` : ''),
    );
  }
  return { typescript: latest.version, versions };
}

async function main() {
  // A fresh directory outside the repository: Node's module resolution must not find the
  // repository's node_modules from the scratch app.
  const base = await realpath(tmpdir());
  const rel = relative(REPO, base);
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep))) {
    throw new StepError(`the temporary directory ${base} is inside the repository; set TMPDIR`);
  }
  const work = await mkdtemp(join(base, 'nestjs-memory-store-consumer-'));
  log(`node ${process.version}, repo ${REPO}, scratch dir ${work}`);

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (KEEP) log(`keeping ${work} (CONSUMER_TEST_KEEP=1)`);
    else await rm(work, { recursive: true, force: true, maxRetries: 3 });
  };
  // On SIGINT/SIGTERM: stop the running step (its whole process group); the step then fails
  // and the normal path below cleans up and prints the result line. If that path does not
  // finish soon, clean up and exit here.
  const onSignal = (signal) => {
    interrupted = signal;
    log(`${signal}: stopping`);
    for (const kill of running.values()) kill('SIGTERM');
    setTimeout(() => {
      for (const kill of running.values()) kill('SIGKILL');
    }, 5000).unref();
    setTimeout(() => {
      cleanup().finally(() => {
        printResult(false);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    }, 15_000).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let passed = false;
  try {
    const { typescript } = await consumerTest(work);
    log(`PASS: the packed library installs, compiles with TypeScript ${typescript}, and runs`);
    passed = true;
  } catch (error) {
    console.log(error instanceof StepError ? error.message : (error?.stack ?? String(error)));
    log('FAIL');
  } finally {
    await cleanup().catch((error) => log(`cleanup failed: ${String(error)}`));
  }
  log(`total ${elapsed()}`);
  printResult(passed);
  process.exitCode = passed ? 0 : interrupted === 'SIGINT' ? 130 : interrupted ? 143 : 1;
}

/** Prints the result line CI reads, once, as the last line of output. */
let printed = false;
function printResult(passed) {
  if (printed) return;
  printed = true;
  console.log(`consumer: ${passed ? 1 : 0} passed, ${passed ? 0 : 1} failed`);
}

main().catch((error) => {
  console.log(error instanceof StepError ? error.message : (error?.stack ?? String(error)));
  printResult(false);
  process.exitCode = 1;
});
