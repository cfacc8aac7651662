import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  fragmentSource,
  installLineProblems,
  readmeParts,
  type PackageJson,
} from '../../consumer/readme-parts.mjs';

const fence = '```';
const SAMPLE = [
  '# Demo',
  '<!-- consumer:install -->',
  `${fence}bash`,
  'npm install demo @nestjs/common   # the peers',
  fence,
  '<!-- consumer:file src/main.ts -->',
  `${fence}ts`,
  "import 'reflect-metadata';",
  fence,
  '<!-- consumer:output npm start -->',
  `${fence}text`,
  'hello',
  fence,
  '<!-- consumer:run node --test dist/a.spec.js -->',
  '<!-- ts-shared: for every fragment',
  'declare const people: string[];',
  '-->',
  `${fence}ts`,
  'people.length;',
  fence,
  '<!-- ts-preamble',
  'declare const n: number;',
  '-->',
  `${fence}ts`,
  'n.toFixed();',
  fence,
  `${fence}ts`,
  "import { x } from './x.js';",
  fence,
  `${fence}json`,
  '{}',
  fence,
].join('\n');

describe('readmeParts', () => {
  const parts = readmeParts(SAMPLE);

  it('takes install lines, files, outputs and runs from their markers', () => {
    expect(parts.installs).toEqual([
      { words: ['demo', '@nestjs/common'], line: 3, text: 'npm install demo @nestjs/common' },
    ]);
    expect(parts.files).toEqual([
      { path: 'src/main.ts', text: "import 'reflect-metadata';\n", line: 7 },
    ]);
    expect(parts.outputs).toEqual([{ command: 'npm start', expected: 'hello\n', line: 11 }]);
    expect(parts.runs.map((r) => r.arg)).toEqual(['node --test dist/a.spec.js']);
  });

  it('compiles fragments after the shared preamble and their own; an import starts a standalone one', () => {
    expect(parts.fragments.map((f) => f.line)).toEqual([18, 24, 27]);
    const [shared, withPreamble, standalone] = parts.fragments.map((f) =>
      fragmentSource(f, parts.shared),
    );
    expect(shared).toMatch(/declare const people: string\[\];\s+people\.length;/);
    expect(withPreamble).toMatch(/declare const n: number;\s+n\.toFixed\(\);/);
    expect(standalone).not.toContain('declare const people');
    for (const source of [shared, withPreamble, standalone])
      expect(source).toMatch(/export {};\n$/);
  });

  it('refuses a marker that is not right before a code block, and an unknown one', () => {
    expect(() => readmeParts('<!-- consumer:install -->\ntext\n')).toThrow(
      'README.md:1: <!-- consumer:install --> is not right before a code block',
    );
    expect(() => readmeParts(`<!-- consumer:bogus -->\n${fence}ts\nx;\n${fence}\n`)).toThrow(
      'unknown marker consumer:bogus',
    );
    expect(() => readmeParts(`<!-- consumer:install -->\n${fence}bash\nnpx x\n${fence}\n`)).toThrow(
      'holds only npm install lines',
    );
  });
});

describe("the project's README", () => {
  const parts = readmeParts(readFileSync(new URL('../../../README.md', import.meta.url), 'utf8'));
  const packageJson = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as PackageJson;

  it('has an Install line naming every peer dependency that is not optional', () => {
    const { line, missing } = installLineProblems(parts, packageJson);
    expect(line?.words).toEqual(
      expect.arrayContaining(['nestjs-memory-store', '@nestjs/schedule']),
    );
    expect(missing).toEqual([]);
  });

  it('has a Quick start with a package.json, a main.ts and the output it prints', () => {
    expect(parts.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['package.json', 'tsconfig.json', 'src/main.ts', 'src/app.module.ts']),
    );
    expect(parts.outputs.map((o) => o.command)).toContain('npm start');
  });

  it('names no file a user does not have', () => {
    expect(readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')).not.toContain(
      'shared/API.md',
    );
  });
});

describe('installLineProblems', () => {
  it('names the peers an Install line leaves out, optional ones aside', () => {
    const parts = readmeParts('<!-- consumer:install -->\n```bash\nnpm install demo a\n```\n');
    const { missing } = installLineProblems(parts, {
      name: 'demo',
      peerDependencies: { a: '1', b: '1', c: '1' },
      peerDependenciesMeta: { c: { optional: true } },
    });
    expect(missing).toEqual(['b']);
  });
});
