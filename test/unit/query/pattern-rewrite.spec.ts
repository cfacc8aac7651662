import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { rewritePattern } from '../../../lib/query/pattern-rewrite.js';
import { compileTextPattern } from '../../../lib/query/text-pattern.js';

/** Atoms to repeat at the ends of a pattern, and alternations of single characters. */
const ATOMS = [
  ...['a', 'b', '.', '\\s', '\\S', '\\d', '\\w', '[ab]', '[^a]', '[a-c]', '-', '\\-', ']', '{'],
  ...[
    '(?:a|b)',
    '(ab|a)',
    '(?:a|\\s|[b-d])',
    '(?:-|a)',
    '(?:a|-|c)',
    '(?:^|a)',
    '(?:a|$)',
    '(?:\\b|a)',
  ],
  ...['(?:\\d|x|[^b])', '(?<n>a|b)', '(?:a|)', '(?:ab)', '(?:a*)', '(?:\\u0041|\\x62|\\cJ)'],
];
const QUANTIFIERS = ['', '', '*', '+', '?', '{2}', '{0,2}', '{1,}', '{2,3}', '*?', '+?', '{0}'];
const ASSERTIONS = ['', '^', '$', '\\b', '\\B'];
const TERM = fc
  .tuple(fc.constantFrom(...ATOMS), fc.constantFrom(...QUANTIFIERS))
  .map(([a, q]) => a + q);
const BRANCH = fc
  .tuple(
    fc.constantFrom(...ASSERTIONS),
    fc.array(TERM, { maxLength: 4 }),
    fc.constantFrom(...ASSERTIONS),
  )
  .map(([start, terms, end]) => start + terms.join('') + end);
const PATTERN = fc.array(BRANCH, { minLength: 1, maxLength: 2 }).map((b) => b.join('|'));
const SUBJECT = fc.string({ unit: fc.constantFrom(...'aab-b c\n1A{]x'.split('')), maxLength: 8 });
const FLAGS = fc.constantFrom('', 'i', 'm', 's', 'u', 'mu', 'is');

/** Checks that the rewritten pattern, and the store's, answer test() as the pattern does. */
function sameAnswers(
  pattern: fc.Arbitrary<string>,
  flags: fc.Arbitrary<string>,
  subject: fc.Arbitrary<string>,
  numRuns: number,
) {
  let compared = 0;
  fc.assert(
    fc.property(
      pattern,
      flags,
      fc.array(subject, { minLength: 4, maxLength: 4 }),
      (source, flagText, subjects) => {
        let regex: RegExp;
        try {
          regex = new RegExp(source, flagText);
        } catch {
          return; // not JavaScript
        }
        const rewritten = rewritePattern(source, flagText);
        const forms = [
          new RegExp(rewritten.source, flagText),
          compileTextPattern(source, flagText),
        ];
        if (rewritten.v8Source !== undefined) forms.push(new RegExp(rewritten.v8Source, flagText));
        for (const text of subjects) {
          compared++;
          const expected = regex.test(text);
          for (const form of forms) {
            expect([source, flagText, text, rewritten, form.test(text)]).toEqual([
              source,
              flagText,
              text,
              rewritten,
              expected,
            ]);
          }
        }
      },
    ),
    { numRuns },
  );
  expect(compared).toBeGreaterThan(numRuns);
}

describe('rewritePattern', () => {
  it('answers test() as the pattern as written does, on V8 and through the store', () => {
    sameAnswers(PATTERN, FLAGS, SUBJECT, 4000);
  });

  it('keeps characters outside the BMP whole under the u flag', () => {
    const astral = fc.constantFrom(
      '😀',
      '\\u{1F600}',
      '\\uD83D\\uDE00',
      '(?:😀|a)',
      '[😀a]',
      '\\uD83D',
    );
    const term = fc
      .tuple(fc.oneof(astral, fc.constantFrom(...ATOMS)), fc.constantFrom(...QUANTIFIERS))
      .map(([a, q]) => a + q);
    const pattern = fc
      .tuple(fc.array(term, { maxLength: 4 }), fc.constantFrom('', '$'))
      .map(([t, end]) => t.join('') + end);
    const subject = fc.string({
      unit: fc.constantFrom('😀', '\ud83d', '\ude00', 'a', 'b', ' '),
      maxLength: 8,
    });
    sameAnswers(pattern, fc.constantFrom('u', 'iu'), subject, 1500);
  });

  it('rewrites the issue 14 patterns into ones V8 cannot backtrack on', () => {
    expect(rewritePattern('(?:a|b)*a(?:a|b){20}$', '')).toEqual({
      source: 'a[ab]{20}$',
      v8Source: `a${'[ab]'.repeat(20)}$`,
    });
    expect(rewritePattern('\\s+$', '')).toEqual({ source: '\\s$', v8Source: '\\s$' });
    expect(rewritePattern('(ab|a)*c', '')).toEqual({ source: 'c', v8Source: 'c' });
    expect(rewritePattern('a|b+', '')).toEqual({ source: 'a|b', v8Source: 'a|b' });
  });

  it('leaves on RE2 what V8 could backtrack on, and what it does not reason about', () => {
    expect(rewritePattern('^(a+)+$', '').v8Source).toBeUndefined();
    expect(rewritePattern('^a*b$', '').v8Source).toBeUndefined();
    expect(rewritePattern('x(?:ab|a){20}y', '').v8Source).toBeUndefined(); // nested alternation
    expect(rewritePattern('x(?:a{40}){30}y', '').v8Source).toBeUndefined(); // 1,200 per position
    expect(rewritePattern('x(?:[^a]|b)y', '').v8Source).toBeUndefined(); // no class union
    expect(rewritePattern('a{1,30000}b', '')).toEqual({ source: 'a{1,30000}b' }); // RE2 refuses
    expect(rewritePattern('\\c*', '')).toEqual({ source: '\\c*' }); // a backslash, then c*
  });

  it('has RE2 search only the end of the subject for a bounded pattern anchored there', () => {
    expect(rewritePattern('(a|aa)+$', '')).toEqual({ source: '(?:a|aa)$', tail: 4 });
    expect(rewritePattern('(?:ab|b)*a(?:ab|b){20}$', '').tail).toBe(82);
    expect(rewritePattern('(a|aa)+$', 'm').tail).toBeUndefined(); // $ at every line end
    expect(rewritePattern('^(a|aa)+$', '').tail).toBeUndefined();
    expect(rewritePattern('\\b(a|aa)$', '').tail).toBeUndefined(); // looks before the match
    expect(rewritePattern('x|(a|aa)$', '').tail).toBeUndefined();
    const pattern = compileTextPattern('(?:ab|b)*a(?:ab|b){3}$', '');
    expect(pattern.test(`${'x'.repeat(50)}abbab`)).toBe(true);
    expect(pattern.test(`${'ab'.repeat(50)}a`)).toBe(false);
  });
});
