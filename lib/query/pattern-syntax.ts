/** The syntax tree of a JavaScript pattern, as far as pattern-rewrite.ts reasons about it. */

/** A repetition `{min,max}`, `max` Infinity when open. */
export interface Quantifier {
  min: number;
  max: number;
  lazy: boolean;
}
export type Atom =
  { kind: 'char' | 'set' | 'dot' | 'assert'; text: string } | { kind: 'group'; branches: Term[][] };
export interface Term {
  atom: Atom;
  q?: Quantifier;
}

/** RE2's limit on a repetition count; a pattern past it is left for RE2 to refuse. */
const MAX_COUNT = 1000;
/** A construct the rewrite does not reason about: the pattern is run as written. */
export class NotRewritable extends Error {}

const QUANTIFIER = /(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})(\??)/y;
const ESCAPE_U =
  /\\(?:u\{[0-9A-Fa-f]+\}|u[dD][89abAB][0-9A-Fa-f]{2}\\u[dD][c-fC-F][0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|[pP]\{[^}]*\}|[^])/y;
const ESCAPE = /\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|[^])/y;
const GROUP_OPEN = /\((?:\?:|\?<(?![=!])[^>]*>)?/y;
function sticky(regex: RegExp, s: string, at: number): RegExpExecArray | null {
  regex.lastIndex = at;
  return regex.exec(s);
}

/** Reads a JavaScript pattern (already accepted by `new RegExp`) into terms. */
export class PatternParser {
  #i = 0;

  constructor(
    private readonly s: string,
    private readonly unicode: boolean,
  ) {}

  parse(): Term[][] {
    const branches = this.#alternation();
    if (this.#i !== this.s.length) throw new NotRewritable();
    return branches;
  }

  #alternation(): Term[][] {
    const branches = [this.#sequence()];
    while (this.s[this.#i] === '|') {
      this.#i++;
      branches.push(this.#sequence());
    }
    return branches;
  }

  #sequence(): Term[] {
    const terms: Term[] = [];
    while (this.#i < this.s.length && this.s[this.#i] !== '|' && this.s[this.#i] !== ')') {
      const atom = this.#atom();
      const q = this.#quantifier();
      if (q && atom.kind === 'assert') throw new NotRewritable();
      terms.push(q ? { atom, q } : { atom });
    }
    return terms;
  }

  #atom(): Atom {
    const s = this.s;
    const start = this.#i;
    const c = s[start];
    if (c === '(') {
      const open = sticky(GROUP_OPEN, s, start)![0];
      if (open === '(' && s[start + 1] === '?') throw new NotRewritable(); // lookaround
      this.#i += open.length;
      const branches = this.#alternation();
      if (s[this.#i++] !== ')') throw new NotRewritable();
      return { kind: 'group', branches };
    }
    if (c === '[') {
      this.#i++;
      while (this.#i < s.length && s[this.#i] !== ']') this.#i += s[this.#i] === '\\' ? 2 : 1;
      this.#i++;
      return { kind: 'set', text: s.slice(start, this.#i) };
    }
    if (c === '\\') {
      const text = sticky(this.unicode ? ESCAPE_U : ESCAPE, s, start)![0];
      // `\c` without a letter is a backslash then a c; digits are backreferences or octal.
      if (text === '\\c' || /^\\[0-9]$/.test(text)) throw new NotRewritable();
      this.#i += text.length;
      if (text === '\\b' || text === '\\B') return { kind: 'assert', text };
      const isSet = /^\\[dDwWsS]$/.test(text) || (this.unicode && /^\\[pP]/.test(text));
      return { kind: isSet ? 'set' : 'char', text };
    }
    if (c === '^' || c === '$') {
      this.#i++;
      return { kind: 'assert', text: c };
    }
    const text = this.unicode ? String.fromCodePoint(s.codePointAt(start)!) : c;
    this.#i += text.length;
    return { kind: c === '.' ? 'dot' : 'char', text };
  }

  #quantifier(): Quantifier | undefined {
    const m = sticky(QUANTIFIER, this.s, this.#i);
    if (!m) return undefined;
    this.#i += m[0].length;
    const [, symbol, low, comma, high, lazy] = m;
    if (symbol) {
      return { min: symbol === '+' ? 1 : 0, max: symbol === '?' ? 1 : Infinity, lazy: !!lazy };
    }
    const min = Number(low);
    const max = comma ? (high ? Number(high) : Infinity) : min;
    if (min > MAX_COUNT || (max !== Infinity && max > MAX_COUNT)) throw new NotRewritable();
    return { min, max, lazy: !!lazy };
  }
}
