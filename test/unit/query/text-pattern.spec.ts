import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compileTextPattern, UnsupportedPatternError } from '../../../lib/query/text-pattern.js';

/** Pieces of JavaScript pattern syntax, joined at random into patterns. */
const PIECES = [
  ...'ab.^$|*+?()[]{}-,:x1A é'.split(''),
  ...['\\s', '\\S', '\\d', '\\D', '\\w', '\\W', '\\b', '\\B', '\\n', '\\t', '\\.', '\\-', '\\/'],
  ...['(?:', '(?<n>', '[^', '[]', '[^]', '{2}', '{1,3}', '{2,}', '*?', '+?', '??'],
  ...['\\u0041', '\\x61', '\\u{e9}', '\\p{L}', '\\P{L}', '\\cJ', '\\c', '\\0', '\\e', '\\k'],
];
/**
 * Subjects: no characters where RE2 is documented to differ (line ends other than \n
 * under m, ſ and the Kelvin sign under i, characters outside the BMP without u).
 */
const SUBJECT = fc.string({
  unit: fc.constantFrom(...'ab \n\t\u00a0\u2003Ae1,-{}:x\u0000'.split('')),
  maxLength: 10,
});
const FLAGS = fc.constantFrom('', 'i', 'm', 's', 'u', 'iu', 'ms', 'imsu');

describe('compileTextPattern', () => {
  it('tests strings exactly as the RegExp does, for every pattern RE2 can run', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((p) => p.join('')),
        FLAGS,
        fc.array(SUBJECT, { minLength: 4, maxLength: 4 }),
        (source, flags, subjects) => {
          let regex: RegExp;
          try {
            regex = new RegExp(source, flags);
          } catch {
            return; // not JavaScript: refused before translation
          }
          let pattern;
          try {
            pattern = compileTextPattern(source, flags);
          } catch (error) {
            expect(error).toBeInstanceOf(UnsupportedPatternError);
            return;
          }
          for (const subject of subjects) {
            compared++;
            expect([source, flags, subject, pattern.test(subject)]).toEqual([
              source,
              flags,
              subject,
              regex.test(subject),
            ]);
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(compared).toBeGreaterThan(3000);
  });

  it('runs a pattern that cannot backtrack (once rewritten) on V8, any other on RE2', () => {
    expect(compileTextPattern('^ab[c-e]\\d$', 'i')).toBeInstanceOf(RegExp);
    expect(compileTextPattern('a{3}', '')).toBeInstanceOf(RegExp);
    expect(compileTextPattern('a|b', '')).toBeInstanceOf(RegExp);
    expect(compileTextPattern('(?:a|b)*a(?:a|b){20}$', '')).toBeInstanceOf(RegExp);
    expect(compileTextPattern('^a{1,3}$', '')).not.toBeInstanceOf(RegExp);
    expect(compileTextPattern('^(?:ab|a)$', '')).not.toBeInstanceOf(RegExp);
    expect(compileTextPattern('a\\{3}', '').test('a{3}')).toBe(true);
  });

  it('gives JavaScript meaning to what RE2 reads differently', () => {
    const re2 = (source: string, flags = '') => {
      const pattern = compileTextPattern(`^(?:${source})+$`, flags);
      expect(pattern).not.toBeInstanceOf(RegExp);
      return pattern;
    };
    expect(re2('\\s').test('\u00a0')).toBe(true); // RE2's \s is ASCII only
    expect(re2('\\S').test('\u3000')).toBe(false);
    expect(re2('[\\s]').test('\ufeff')).toBe(true);
    expect(re2('^.$').test('\r')).toBe(false); // RE2's . stops at \n only
    expect(re2('^.$', 's').test('\r')).toBe(true);
    expect(re2('^[^]$').test('\n')).toBe(true);
    expect(re2('[]').test('a')).toBe(false); // RE2 reads []…] as a class holding ]
    expect(re2('\\a\\e\\z').test('aez')).toBe(true); // identity escapes, not RE2's \a \z
    expect(re2('\\u{1F600}', 'u').test('😀')).toBe(true);
    expect(re2('\\uD83D\\uDE00').test('😀')).toBe(true);
    expect(re2('[\\d-z]').test('-')).toBe(true); // a class next to - makes - a character
    expect(re2('\\p{Script=Greek}', 'u').test('λ')).toBe(true);
    expect(re2('\\c1').test('\\c1')).toBe(true); // \c without a letter: a backslash, then c
    expect(re2('[\\c1]').test('\u0011')).toBe(true); // in a class, a digit or _ is a control too
    expect(re2('[\\c-]').test('\\')).toBe(true);
  });

  it('refuses backreferences, lookaround and repetition counts RE2 does not take', () => {
    const reason = (source: string, flags = '') => {
      try {
        compileTextPattern(source, flags);
      } catch (error) {
        expect(error).toBeInstanceOf(UnsupportedPatternError);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(reason('(a)\\1')).toBe('backreferences are not supported');
    expect(reason('(?<x>a)\\k<x>')).toBe('backreferences are not supported');
    expect(reason('a(?=b)')).toBe('lookahead ((?= or (?!) is not supported');
    expect(reason('a(?!b)')).toBe('lookahead ((?= or (?!) is not supported');
    expect(reason('(?<=a)b')).toBe('lookbehind ((?<= or (?<!) is not supported');
    expect(reason('\\01')).toBe('octal escapes are not supported');
    expect(reason('a{1001}')).toMatch(/^RE2 refuses it \(.*invalid repeat count/);
    // a count too long to read is still a quantifier, as in JavaScript, not literal text
    expect(reason(`a{1,${'9'.repeat(30)}}`)).toMatch(/^RE2 refuses it \(.*invalid repeat count/);
    expect(reason('^\\p{Script_Extensions=Latin}+$', 'u')).toMatch(/^RE2 refuses it/);
  });
});
