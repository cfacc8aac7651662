import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedScanShapes } from '../../../lib/query/scan-compiler.js';
import { keysOf } from '../test-helpers.js';
import { ARRAY_CASES, arrayTable } from './fixtures/array-cases.js';
import { find, SCAN_CASES, scanRows as rows } from './fixtures/scan-cases.js';

/**
 * A process started with `--disallow-code-generation-from-strings` cannot generate code
 * from strings: every query still answers, tested by closures. (Its own file: once code
 * generation fails, the module stops trying for the life of the process.)
 */

const FunctionBefore = globalThis.Function;

beforeAll(() => {
  globalThis.Function = function () {
    throw new EvalError('Code generation from strings disallowed for this context');
  } as unknown as FunctionConstructor;
});

afterAll(() => {
  globalThis.Function = FunctionBefore;
});

describe('without code generation', () => {
  it.each(Object.entries(SCAN_CASES))('answers as with it: %s', (_group, cases) => {
    const table = rows();
    for (const [query, keys] of cases) {
      expect(find(table, query)).toEqual(keys);
      expect(table.count(query)).toBe(keys.length);
    }
  });

  it.each(Object.entries(ARRAY_CASES))('reads arrays as with it: %s', (_group, cases) => {
    for (const indexed of [false, true]) {
      const table = arrayTable(indexed);
      for (const [query, keys] of cases) {
        const found = keysOf(table.select(query)).sort();
        expect([query, found]).toEqual([query, keys]);
      }
    }
  });

  it('keeps no generated code', () => {
    find(rows(), { n: 1 });
    expect(cachedScanShapes()).toBe(0);
  });
});
