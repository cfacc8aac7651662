/** Types of readme-parts.mjs, for the unit test that imports it. */
export interface InstallLine {
  words: string[];
  line: number;
  text: string;
}
export interface ReadmeFile {
  path: string;
  text: string;
  line: number;
}
export interface ReadmeOutput {
  command: string;
  expected: string;
  line: number;
}
export interface ReadmeRun {
  kind: string;
  arg: string;
  line: number;
}
export interface Fragment {
  lang: string;
  code: string;
  line: number;
  preamble: string;
}
export interface ReadmeParts {
  installs: InstallLine[];
  files: ReadmeFile[];
  outputs: ReadmeOutput[];
  runs: ReadmeRun[];
  fragments: Fragment[];
  shared: string[];
}
export interface PackageJson {
  name: string;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
export function readmeParts(text: string): ReadmeParts;
export function fragmentSource(fragment: Fragment, shared: string[]): string;
export function installLineProblems(
  parts: ReadmeParts,
  packageJson: PackageJson,
): { line: InstallLine | undefined; missing: string[] };
