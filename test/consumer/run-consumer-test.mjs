#!/usr/bin/env node
// Consumer test: follows the README as a new user would, in a scratch Nest 12 ESM app, so
// that the README cannot drift from what works (readme-parts.mjs says how the README marks
// what is taken from it).
//
//   1. `npm pack` this repository (its `prepack` script builds dist/) into a temporary dir;
//   2. in a fresh temporary dir outside the repository, write the README's Quick start files
//      (package.json, tsconfig.json, src/…) and run each of its install lines as written,
//      with the tarball in place of the package's name and `--legacy-peer-deps`, so that
//      nothing the Install line leaves out is installed (the line must also name every
//      peer dependency that is not optional);
//   3. `npm run build` (the README's script), run each command whose output the README
//      shows and compare, and run the README's other commands (the testing recipe);
//   4. type-check every other ts block of the README (fragments get the README's preambles)
//      and this test's own checks app (checks-app.mjs) with skipLibCheck off: a broken
//      declaration or `exports` map fails here. If the installed TypeScript (the newest,
//      as a user gets) fails, the repository's own TypeScript version is tried too so the
//      report says which one works, and the test still fails;
//   5. run the checks app and compare the JSON summary it prints.
//
// Nothing from the repository's node_modules is used by the scratch app. The last line
// printed is exactly `consumer: <n> passed, <n> failed` (read by CI).
//
// Environment:
//   CONSUMER_TEST_KEEP=1       keep the temporary directories (their path is printed)
//   CONSUMER_TEST_TS=<spec>    install this TypeScript where the README installs `typescript`

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPECTED_SUMMARY, SOURCES } from './checks-app.mjs';
import { fragmentSource, installLineProblems, readmeParts } from './readme-parts.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEEP = process.env.CONSUMER_TEST_KEEP === '1';
const TS_SPEC = process.env.CONSUMER_TEST_TS || undefined;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const MINUTE = 60_000;
const TIMEOUTS = {
  pack: 3 * MINUTE,
  install: 6 * MINUTE,
  tsc: 3 * MINUTE,
  run: 1 * MINUTE,
};

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

/**
 * The tsconfig of the second compile: the README's own, with the installed declarations
 * type-checked too (a broken .d.ts must fail the test), over the README's app, its
 * fragments and the consumer test's checks.
 */
const CHECKS_TSCONFIG = {
  extends: './tsconfig.json',
  compilerOptions: { skipLibCheck: false, forceConsistentCasingInFileNames: true },
  include: ['src'],
};

/** Flags added to every README install line: no audit or funding chatter, and no peer
 * dependency installed unless the line names it (as with npm 6, Yarn classic or pnpm's
 * `auto-install-peers=false`), so that the Install line must be complete. */
const INSTALL_FLAGS = ['--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error'];

/** A command line of the README (`npm start`, `node dist/x.js`, `node --test …`) to run. */
function commandOf(text) {
  const [command, ...args] = text.split(/\s+/);
  return command === 'npm'
    ? [NPM, args]
    : command === 'node'
      ? [process.execPath, args]
      : [command, args];
}

/** The output of an `npm run`/`npm start` without npm's own `> script` banner lines. */
function appOutput(command, stdout) {
  const lines = stdout.split('\n');
  const own = command.startsWith('npm ') ? lines.filter((l) => !/^> /.test(l)) : lines;
  return own.join('\n').trim();
}

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
  log(`compile with TypeScript ${version} (${label}): tsc -p tsconfig.checks.json`);
  const result = await run(tsc, ['-p', 'tsconfig.checks.json'], {
    cwd: appDir,
    timeout: TIMEOUTS.tsc,
  });
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
      ['-p', 'tsconfig.checks.json'],
      result,
    ),
  };
}

async function consumerTest(work) {
  const repoPackage = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8'));
  const readme = readmeParts(await readFile(join(REPO, 'README.md'), 'utf8'));
  const packDir = join(work, 'pack');
  const appDir = join(work, 'app');
  await mkdir(packDir);
  await mkdir(appDir);

  // 0. The README's Install line names every peer dependency that is not optional.
  const { line: installLine, missing } = installLineProblems(readme, repoPackage);
  if (!installLine) {
    throw new StepError(`README: no consumer:install line installs ${repoPackage.name}`);
  }
  if (missing.length > 0) {
    throw new StepError(
      `README.md:${installLine.line}: the Install line leaves out the peer dependencies ${missing.join(', ')}`,
    );
  }
  if (!readme.files.some((f) => f.path === 'package.json') || readme.outputs.length === 0) {
    throw new StepError(
      'README: the Quick start has no consumer:file package.json or no consumer:output',
    );
  }
  log(
    `README: ${readme.installs.length} install lines, ${readme.files.length} files, ` +
      `${readme.outputs.length} outputs, ${readme.runs.length} runs, ${readme.fragments.length} fragments`,
  );

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

  // 2. The README's files, then its install lines as written (the tarball in place of the
  //    package's name), each run on its own.
  for (const file of readme.files) {
    await mkdir(dirname(join(appDir, file.path)), { recursive: true });
    await writeFile(join(appDir, file.path), file.text);
  }
  for (const install of readme.installs) {
    const words = install.words.map((w) =>
      w === repoPackage.name ? tarball : w === 'typescript' && TS_SPEC ? TS_SPEC : w,
    );
    await step(
      `README.md:${install.line} ${install.text}`,
      NPM,
      ['install', ...words, ...INSTALL_FLAGS],
      {
        cwd: appDir,
        timeout: TIMEOUTS.install,
      },
    );
  }
  const versions = {};
  for (const name of [
    repoPackage.name,
    '@nestjs/common',
    '@nestjs/core',
    '@nestjs/schedule',
    'typescript',
  ]) {
    versions[name] = await installedVersion(appDir, name);
  }
  log(
    `  installed ${Object.entries(versions)
      .map(([n, v]) => `${n}@${v}`)
      .join(' ')}`,
  );

  // 3. Build and run the Quick start (and the recipes' files) as the README says.
  await step("npm run build (the README's build script)", NPM, ['run', 'build'], {
    cwd: appDir,
    timeout: TIMEOUTS.tsc,
  });
  for (const output of readme.outputs) {
    const [command, args] = commandOf(output.command);
    const result = await step(output.command, command, args, {
      cwd: appDir,
      timeout: TIMEOUTS.run,
    });
    const got = appOutput(output.command, result.stdout);
    if (got !== output.expected.trim()) {
      throw new StepError(
        `README.md:${output.line}: \`${output.command}\` does not print what the README shows\n` +
          `  README:\n${indent(output.expected)}\n  printed:\n${indent(got)}` +
          (result.stderr.trim() ? `\n  stderr:\n${indent(result.stderr)}` : ''),
      );
    }
    log(`  prints what README.md:${output.line} shows`);
  }
  for (const extra of readme.runs) {
    const [command, args] = commandOf(extra.arg);
    await step(`README.md:${extra.line} ${extra.arg}`, command, args, {
      cwd: appDir,
      timeout: TIMEOUTS.run,
    });
  }

  // 4. Every other ts block of the README, and the consumer test's own checks, compiled with
  //    the installed declarations checked too.
  for (const fragment of readme.fragments) {
    await writeFile(
      join(appDir, 'src', 'people', `readme-line-${fragment.line}.ts`),
      fragmentSource(fragment, readme.shared),
    );
  }
  for (const [file, text] of Object.entries(SOURCES)) {
    await mkdir(dirname(join(appDir, file)), { recursive: true });
    await writeFile(join(appDir, file), text.trimStart());
  }
  await writeFile(
    join(appDir, 'tsconfig.checks.json'),
    JSON.stringify(CHECKS_TSCONFIG, null, 2) + '\n',
  );
  const compiled = [];
  const latest = await compile(appDir, TS_SPEC ?? "the README's typescript");
  compiled.push(latest);
  if (!latest.ok) {
    console.log(latest.failure);
    const repoTs = repoPackage.devDependencies?.typescript;
    const fallback = repoTs ? `typescript@${repoTs}` : undefined;
    log(
      `!! the README's blocks and the checks do NOT compile with TypeScript ${latest.version}, ` +
        `which is what a new user installs`,
    );
    if (fallback && fallback !== TS_SPEC) {
      await step(
        `npm install ${fallback} (the repository's version)`,
        NPM,
        ['install', fallback, ...INSTALL_FLAGS],
        { cwd: appDir, timeout: TIMEOUTS.install },
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
      `compile: the README's blocks or the checks do not compile (${summary.join('; ')})`,
    );
  }

  // 5. Run the checks app.
  const result = await step('run the checks', process.execPath, ['dist/checks/main.js'], {
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
