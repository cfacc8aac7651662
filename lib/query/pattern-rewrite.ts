/**
 * Rewrites a `$regex` pattern into one that `test()` answers the same for every string, but
 * that is cheaper to run, and tells whether V8's backtracking `RegExp` runs it in linear time.
 *
 * `test()` (no `g`/`y` flag) asks whether the pattern matches at some position of the string.
 * Assertions (`^`, `$`, `\b`, `\B`) depend on the string and the position only, never on where
 * the match began, and the store refuses backreferences and lookaround, so a match of a
 * sequence `R S` at `i` is a match of `R` from `i` to some `j` and of `S` at `j`. Hence:
 *
 * - A leading `R{n,m}` (`*`, `+`, `?`, `{n,}`; greedy or lazy) becomes `R{n}`, and is dropped
 *   when n is 0. If `R^k S` matches at `p0` through `p0 → p1 → … → pk` (n ≤ k), then `R^n S`
 *   matches at `p(k−n)`; conversely `R^n S` at `p` is `R{n,m} S` at `p` with n iterations.
 * - A trailing `R{n,m}` becomes `R{n}` (dropped when n is 0): `S R^k` matching at `i` through
 *   `… → jn → … → jk` means `S R^n` matches at `i` (ending at `jn`); the converse is k = n.
 * - Each top-level branch of `A|B` is rewritten alone: `A|B` matches iff `A` or `B` does.
 * - A group of single characters or classes `(?:a|\s|[x-z])` is the class `[a\sx-z]`.
 *
 * A pattern left with no alternation below the top level and only fixed counts `{n}` matches
 * at each position in one way or not at all: V8 runs it in O(length × expanded size), and the
 * expanded size is bounded here. Anything else stays on RE2.
 */

import { NotRewritable, PatternParser, type Atom, type Term } from './pattern-syntax.js';

/** A pattern as the store runs it: `source` for RE2, `v8Source` when V8 may run it. */
export interface RewrittenPattern {
  source: string;
  /** Set when the pattern cannot backtrack beyond its bounded size: V8 runs it linearly. */
  v8Source?: string;
  /** Set when only the subject's last `tail` code units can hold a match (see `tailLength`). */
  tail?: number;
}

/** The most characters V8 may compare at one start position (fixed counts multiplied out). */
const MAX_V8_SIZE = 1000;
/** Fixed counts are written out for V8 (which optimises `aaa$` but not `a{3}$`) up to this length. */
const MAX_EXPANDED_TEXT = 2000;

/** Escapes that mean the same one character (or set) inside a class as outside it. */
const CLASS_SAFE_ESCAPE =
  /^\\(?:[dDwWsStnvfr]|0|x[0-9A-Fa-f]{2}|u(?![dD][89a-fA-F])[0-9A-Fa-f]{4}|u\{[0-9A-Fa-f]+\}|c[A-Za-z]|[pP]\{[^}]*\}|[^0-9A-Za-z])$/;

/** Drops the repetitions a search cannot tell apart at both ends of a top-level branch. */
function trimEnds(terms: Term[]): Term[] {
  const out = [...terms];
  for (const end of ['first', 'last'] as const) {
    for (;;) {
      const k = end === 'first' ? 0 : out.length - 1;
      const q = out[k]?.q;
      if (!q || q.min === q.max) break;
      if (q.min > 0) {
        out[k] = { atom: out[k].atom, q: { min: q.min, max: q.min, lazy: false } };
        break;
      }
      out.splice(k, 1);
    }
  }
  return out;
}

/** The text of a one-character atom inside a class, when it means the same there. */
function classBody(atom: Atom): string | undefined {
  let body: string | undefined;
  if (atom.kind === 'char' && atom.text.startsWith('\\'))
    body = CLASS_SAFE_ESCAPE.test(atom.text) ? atom.text : undefined;
  else if (atom.kind === 'char') body = '\\]^-'.includes(atom.text) ? `\\${atom.text}` : atom.text;
  else if (atom.kind === 'set' && atom.text.startsWith('\\')) body = atom.text;
  else if (atom.kind === 'set') {
    body = atom.text.slice(1, -1);
    // a negated class cannot join a union; an edge '-' could make a range with a neighbour
    if (/^[\^-]|-$/.test(body)) return undefined;
  }
  // a lone surrogate at an edge could pair with a neighbour's under the u flag
  return body === undefined || /^[\udc00-\udfff]|[\ud800-\udbff]$/.test(body) ? undefined : body;
}

/** Groups of single characters become classes, at any depth. */
function mergeSingles(terms: Term[]): Term[] {
  return terms.map((term) => {
    if (term.atom.kind !== 'group') return term;
    const branches = term.atom.branches.map(mergeSingles);
    const bodies = branches.map((b) =>
      b.length === 1 && !b[0].q ? classBody(b[0].atom) : undefined,
    );
    const atom: Atom =
      branches.length > 1 && bodies.every((b) => b !== undefined)
        ? { kind: 'set', text: `[${bodies.join('')}]` }
        : { kind: 'group', branches };
    return { ...term, atom };
  });
}

/** Characters compared at one start position, or undefined when the terms can backtrack. */
function fixedSize(terms: Term[]): number | undefined {
  let size = 0;
  for (const { atom, q } of terms) {
    if (q && q.min !== q.max) return undefined;
    let atomSize = 1;
    if (atom.kind === 'group') {
      const inner = atom.branches.length === 1 ? fixedSize(atom.branches[0]) : undefined;
      if (inner === undefined) return undefined;
      atomSize = inner;
    }
    size += atomSize * (q ? q.min : 1);
    if (size > MAX_V8_SIZE) return undefined;
  }
  return size;
}

/** The most characters a match of the terms spans: Infinity when unbounded. */
function maxLength(terms: Term[]): number {
  let length = 0;
  for (const { atom, q } of terms) {
    const one =
      atom.kind === 'group'
        ? Math.max(0, ...atom.branches.map(maxLength))
        : atom.kind === 'assert'
          ? 0
          : 1;
    if (one > 0) length += one * (q ? q.max : 1);
  }
  return length;
}

function looksBehind(terms: Term[]): boolean {
  return terms.some(({ atom }) =>
    atom.kind === 'group'
      ? atom.branches.some(looksBehind)
      : atom.kind === 'assert' && atom.text !== '$',
  );
}

/**
 * How many code units at the end of a subject decide the answer, when every branch ends with
 * `$`, the `m` flag is off, no `^`, `\b` or `\B` looks before a match, and a match spans at most
 * M characters. Then `$` holds only at the end, so every match ends there and starts in the
 * last 2M code units (a character is at most two); searching that tail finds the same matches,
 * as nothing looks before them. A tail cut inside a surrogate pair starts with a lone trail
 * surrogate, where no match can start: it would span 2M units with at most M characters, the
 * first of them a single unit.
 */
function tailLength(branches: Term[][], flags: string): number | undefined {
  if (flags.includes('m')) return undefined;
  const anchored = branches.every((t) => {
    const last = t[t.length - 1];
    return last?.atom.kind === 'assert' && last.atom.text === '$' && !looksBehind(t);
  });
  const length = Math.max(...branches.map(maxLength));
  return anchored && length !== Infinity ? 2 * length : undefined;
}

function emit(branches: Term[][], expand: boolean): string {
  return branches.map((terms) => terms.map((t) => emitTerm(t, expand)).join('')).join('|');
}

function emitTerm({ atom, q }: Term, expand: boolean): string {
  const text =
    atom.kind === 'group'
      ? `(?:${emit(atom.branches, expand)})`
      : atom.kind === 'char' && '{}]'.includes(atom.text)
        ? `\\${atom.text}` // never read as (part of) a quantifier or class next to new neighbours
        : atom.text;
  if (!q || (q.min === 1 && q.max === 1)) return text;
  if (expand && q.min === q.max) return text.repeat(q.min);
  const count =
    q.min === 0 && q.max === Infinity
      ? '*'
      : q.min === 1 && q.max === Infinity
        ? '+'
        : q.min === 0 && q.max === 1
          ? '?'
          : `{${q.min}${q.max === q.min ? '' : `,${q.max === Infinity ? '' : q.max}`}}`;
  return text + count + (q.lazy ? '?' : '');
}

/** The cheapest equivalent of `source` for `test()`, and whether V8 runs it in linear time. */
export function rewritePattern(source: string, flags: string): RewrittenPattern {
  let branches: Term[][];
  try {
    branches = new PatternParser(source, flags.includes('u')).parse();
  } catch (error) {
    if (error instanceof NotRewritable) return { source };
    throw error;
  }
  const merged = mergeSingles([{ atom: { kind: 'group', branches } }])[0].atom;
  branches = merged.kind === 'group' ? merged.branches.map(trimEnds) : [[{ atom: merged }]];
  const rewritten = emit(branches, false);
  const sizes = branches.map(fixedSize);
  const total = sizes.reduce<number | undefined>(
    (sum, size) => (sum === undefined || size === undefined ? undefined : sum + size),
    0,
  );
  let v8Source: string | undefined;
  if (total !== undefined && total <= MAX_V8_SIZE) {
    const expanded = emit(branches, true);
    v8Source = expanded.length <= MAX_EXPANDED_TEXT ? expanded : rewritten;
  }
  try {
    new RegExp(rewritten, flags);
    if (v8Source !== undefined) new RegExp(v8Source, flags);
  } catch {
    return { source }; // a rewrite V8 would not read: run the pattern as written
  }
  return v8Source !== undefined
    ? { source: rewritten, v8Source }
    : { source: rewritten, tail: tailLength(branches, flags) };
}
