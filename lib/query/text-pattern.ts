import { RE2JS } from 're2js';
import { rewritePattern } from './pattern-rewrite.js';

/** What a `$regex` condition tests a string with. */
export interface TextPattern {
  test(subject: string): boolean;
}

/** A `$regex` pattern the store cannot run in linear time, with why. */
export class UnsupportedPatternError extends Error {}

type Range = readonly [number, number];

const MAX_CODE_POINT = 0x10ffff;
/** What JavaScript's `\s` matches (RE2's own `\s` is ASCII only). */
const WHITESPACE: readonly Range[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
/** What ends a line for JavaScript's `.` (RE2's `.` stops at `\n` only). */
const LINE_TERMINATORS: readonly Range[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

const hex = (c: number) => `\\x{${c.toString(16)}}`;
const rangesText = (ranges: readonly Range[]) =>
  ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');

const SPACE = rangesText(WHITESPACE);
const NOT_SPACE = rangesText(complement(WHITESPACE));
const NOT_LINE_END = `[${rangesText(complement(LINE_TERMINATORS))}]`;
const ANY = `[${hex(0)}-${hex(MAX_CODE_POINT)}]`;
const NOTHING = `[^${hex(0)}-${hex(MAX_CODE_POINT)}]`;
const ESCAPED_CONTROL: Readonly<Record<string, number>> = { t: 9, n: 10, v: 11, f: 12, r: 13 };
const isPunctuation = (c: string) => /^[!-/:-@[-`{-~]$/.test(c);
const QUANTIFIER = /^\{\d+(?:,\d*)?\}/;

/**
 * One pass over a JavaScript pattern (already accepted by `new RegExp`) that writes the same
 * pattern in RE2's syntax, with JavaScript's meaning for `\s`, `.`, `[]`, `[^]` and escapes.
 * Refuses what RE2 cannot run in linear time: backreferences and lookaround.
 */
class Translator {
  #i = 0;
  out = '';
  /** Whether the pattern repeats or alternates anything (a backtracking engine could stall). */
  branches = false;

  constructor(
    private readonly source: string,
    private readonly unicode: boolean,
    private readonly dotAll: boolean,
  ) {}

  run(): string {
    const s = this.source;
    while (this.#i < s.length) {
      const c = s[this.#i];
      if (c === '\\') this.out += this.#escape(false);
      else if (c === '[') this.out += this.#charClass();
      else if (c === '(') this.out += this.#group();
      else if (c === '.') {
        this.out += this.dotAll ? ANY : NOT_LINE_END;
        this.#i++;
      } else if (c === '*' || c === '+' || c === '?') {
        this.branches = true;
        this.out += c;
        this.#i++;
      } else if (c === '{' && QUANTIFIER.test(s.slice(this.#i))) {
        const end = s.indexOf('}', this.#i);
        this.branches = true;
        this.out += s.slice(this.#i, end + 1);
        this.#i = end + 1;
      } else if (c === '|') {
        this.branches = true;
        this.out += c;
        this.#i++;
      } else if (c === ')' || c === '^' || c === '$') {
        this.out += c;
        this.#i++;
      } else {
        this.out += isPunctuation(c) ? `\\${c}` : c;
        this.#i++;
      }
    }
    return this.out;
  }

  #group(): string {
    const s = this.source;
    const i = this.#i;
    if (s[i + 1] !== '?') {
      this.#i++;
      return '(?:';
    }
    if (s[i + 2] === ':') {
      this.#i += 3;
      return '(?:';
    }
    if (s[i + 2] === '=' || s[i + 2] === '!')
      throw new UnsupportedPatternError('lookahead ((?= or (?!) is not supported');
    if (s[i + 2] === '<' && (s[i + 3] === '=' || s[i + 3] === '!'))
      throw new UnsupportedPatternError('lookbehind ((?<= or (?<!) is not supported');
    if (s[i + 2] === '<') {
      this.#i = s.indexOf('>', i) + 1;
      return '(?:';
    }
    throw new UnsupportedPatternError('group modifiers are not supported');
  }

  /** An escape at `#i`; inside a class, `\b` is a backspace and sets come without brackets. */
  #escape(inClass: boolean): string {
    const s = this.source;
    const c = s[this.#i + 1];
    this.#i += 2;
    if (c === 'd' || c === 'D' || c === 'w' || c === 'W') return `\\${c}`;
    if (c === 's') return inClass ? SPACE : `[${SPACE}]`;
    if (c === 'S') return inClass ? NOT_SPACE : `[${NOT_SPACE}]`;
    if (c === 'b') return inClass ? hex(8) : '\\b';
    if (c === 'B' && !inClass) return '\\B';
    if (Object.hasOwn(ESCAPED_CONTROL, c)) return hex(ESCAPED_CONTROL[c]);
    if (c >= '1' && c <= '9') throw new UnsupportedPatternError('backreferences are not supported');
    if (c === '0') {
      if (/[0-9]/.test(s[this.#i] ?? ''))
        throw new UnsupportedPatternError('octal escapes are not supported');
      return hex(0);
    }
    if (c === 'k' && s[this.#i] === '<')
      throw new UnsupportedPatternError('backreferences are not supported');
    if (c === 'c') {
      // a control letter; in a class also a digit or _; otherwise a backslash, then the c
      if (/[A-Za-z]/.test(s[this.#i] ?? '') || (inClass && /[0-9_]/.test(s[this.#i] ?? '')))
        return hex(s.charCodeAt(this.#i++) % 32);
      this.#i--;
      return '\\\\';
    }
    if (c === 'x' && /^[0-9A-Fa-f]{2}$/.test(s.slice(this.#i, this.#i + 2))) {
      this.#i += 2;
      return hex(parseInt(s.slice(this.#i - 2, this.#i), 16));
    }
    if (c === 'u') return this.#unicodeEscape();
    if ((c === 'p' || c === 'P') && this.unicode) {
      const end = s.indexOf('}', this.#i);
      const name = s.slice(this.#i + 1, end).replace(/^(?:Script|sc|General_Category|gc)=/, '');
      this.#i = end + 1;
      return `\\${c}{${name}}`;
    }
    return isPunctuation(c) ? `\\${c}` : c; // an identity escape: the character itself
  }

  #unicodeEscape(): string {
    const s = this.source;
    if (this.unicode && s[this.#i] === '{') {
      const end = s.indexOf('}', this.#i);
      const code = parseInt(s.slice(this.#i + 1, end), 16);
      this.#i = end + 1;
      return hex(code);
    }
    if (!/^[0-9A-Fa-f]{4}$/.test(s.slice(this.#i, this.#i + 4))) return 'u';
    let code = parseInt(s.slice(this.#i, this.#i + 4), 16);
    this.#i += 4;
    // A surrogate pair written as two escapes is one character, as in the subject string.
    const low = /^\\u([dD][c-fC-F][0-9A-Fa-f]{2})/.exec(s.slice(this.#i, this.#i + 6));
    if (code >= 0xd800 && code <= 0xdbff && low) {
      code = 0x10000 + ((code - 0xd800) << 10) + (parseInt(low[1], 16) - 0xdc00);
      this.#i += 6;
    }
    return hex(code);
  }

  #charClass(): string {
    const s = this.source;
    this.#i++;
    const negated = s[this.#i] === '^';
    if (negated) this.#i++;
    // Items: a single character (may bound a range), a set (\d, \s, …) or a '-'.
    const items: { text: string; set: boolean; dash?: true }[] = [];
    while (s[this.#i] !== ']') {
      const c = s[this.#i];
      if (c === '\\') {
        const d = s[this.#i + 1];
        const text = this.#escape(true);
        items.push({ text, set: 'dDwWsS'.includes(d) || (this.unicode && 'pP'.includes(d)) });
      } else if (c === '-') {
        items.push({ text: '-', set: false, dash: true });
        this.#i++;
      } else {
        const char = String.fromCodePoint(s.codePointAt(this.#i)!);
        items.push({ text: isPunctuation(char) ? `\\${char}` : char, set: false });
        this.#i += char.length;
      }
    }
    this.#i++;
    if (items.length === 0) return negated ? ANY : NOTHING;
    let body = '';
    items.forEach((item, k) => {
      if (!item.dash) {
        body += item.text;
        return;
      }
      const before = items[k - 1];
      const after = items[k + 1];
      const isRange = before && after && !before.set && !after.set && !before.dash && !after.dash;
      body += isRange ? '-' : '\\-';
    });
    return `[${negated ? '^' : ''}${body}]`;
  }
}

/** RE2 run on the end of the subject only, where every match lies (see pattern-rewrite.ts). */
class TailPattern implements TextPattern {
  constructor(
    private readonly re2: RE2JS,
    private readonly tail: number,
  ) {}

  test(subject: string): boolean {
    const start = subject.length - this.tail;
    return this.re2.test(start > 0 ? subject.slice(start) : subject);
  }
}

/**
 * A pattern to test strings with in time linear in their length. It is first rewritten into
 * the cheapest pattern `test()` cannot tell from it (see pattern-rewrite.ts); one that cannot
 * backtrack runs on V8's RegExp, any other on RE2 (re2js), translated so that it matches what
 * the RegExp would.
 */
export function compileTextPattern(source: string, flags: string): TextPattern {
  const unicode = flags.includes('u');
  const dotAll = flags.includes('s');
  const original = new Translator(source, unicode, dotAll);
  original.run(); // refuses what RE2 cannot run, even in a part the rewrite drops
  const rewritten = rewritePattern(source, flags);
  if (rewritten.v8Source !== undefined) return new RegExp(rewritten.v8Source, flags);
  if (rewritten.source === source && !original.branches) return new RegExp(source, flags);
  const re2Source = new Translator(rewritten.source, unicode, dotAll).run();
  const re2Flags =
    (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) |
    (flags.includes('m') ? RE2JS.MULTILINE : 0);
  try {
    const re2 = RE2JS.compile(re2Source, re2Flags);
    return rewritten.tail === undefined ? re2 : new TailPattern(re2, rewritten.tail);
  } catch (error) {
    throw new UnsupportedPatternError(`RE2 refuses it (${(error as Error).message})`);
  }
}
