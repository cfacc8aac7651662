import { QueryError } from '../errors/query.error.js';
import type { CompareOp, FilterNode } from './filter-node.js';
import { comparison, describeValue } from './query-values.js';

/**
 * A query written in the `match` syntax. Create it with the `match` tag; values enter only
 * through `${}` placeholders, never as text, so a value can never change a query's meaning.
 */
export class MatchQuery {
  /** @internal */
  constructor(
    readonly strings: TemplateStringsArray,
    readonly values: readonly unknown[],
  ) {
    // Called as a plain function (match('x'), match(null)), the tag gets no strings array.
    if (
      !Array.isArray(strings) ||
      strings.length !== values.length + 1 ||
      !strings.every((s) => typeof s === 'string')
    ) {
      throw new QueryError(
        '',
        `match is a template tag (match\`field == \${value}\`), but was called with ${describeValue(strings)}`,
      );
    }
  }

  /** The query's text with numbered placeholders, as error positions count it. */
  toString(): string {
    return displayText(this.strings);
  }
}

/**
 * Writes a query in the ActiveMemory syntax: comparisons `field op ${value}` with
 * `== != > >= < <=`, joined by `and` (binds tighter) and `or`, negated with `not`, grouped
 * with parentheses. Dotted fields reach nested values. Each template is parsed once.
 *
 * @example
 * ```ts
 * people.select(match`department == ${'sales'} or department == ${'marketing'} and startDate > ${lastMonth}`);
 * ```
 */
export function match(strings: TemplateStringsArray, ...values: unknown[]): MatchQuery {
  return new MatchQuery(strings, values);
}

/** A parsed template: the tree with placeholder numbers where values go. */
type Template =
  | { kind: 'and' | 'or'; nodes: Template[] }
  | { kind: 'not'; node: Template }
  | { kind: 'cmp'; field: string; op: CompareOp; slot: number; position: number };

type Token =
  | { type: 'word'; text: string; position: number }
  | { type: 'op'; text: string; position: number }
  | { type: '(' | ')'; position: number }
  | { type: 'value'; slot: number; position: number }
  | { type: 'end'; position: number };

const OPERATORS: Readonly<Record<string, CompareOp>> = {
  '==': 'eq',
  '!=': 'ne',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
};

const CACHE = new WeakMap<TemplateStringsArray, Template | QueryError>();

/** The filter tree of a `match` query: its cached template, bound to this call's values. */
export function parseMatch(table: string, query: MatchQuery): FilterNode {
  let template = CACHE.get(query.strings);
  if (!template) {
    try {
      template = new Parser(tokenize(query.strings)).parse();
    } catch (error) {
      if (!(error instanceof SyntaxProblem)) throw error;
      template = new QueryError(
        table,
        `${error.message} at position ${error.position} in match\`${displayText(query.strings)}\``,
        error.position,
      );
    }
    CACHE.set(query.strings, template);
  }
  if (template instanceof QueryError)
    throw new QueryError(
      table,
      template.message.replace(/^Invalid query on table '[^']*': /, ''),
      template.position,
    );
  return bind(table, template, query.values);
}

function bind(table: string, t: Template, values: readonly unknown[]): FilterNode {
  switch (t.kind) {
    case 'and':
    case 'or':
      return { kind: t.kind, nodes: t.nodes.map((n) => bind(table, n, values)) };
    case 'not':
      return { kind: 'not', node: bind(table, t.node, values) };
    case 'cmp':
      return comparison(table, t.field, t.op, values[t.slot]);
  }
}

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

function displayText(strings: readonly string[]): string {
  return strings.reduce((text, s, i) => (i === 0 ? s : `${text}\${${i - 1}}${s}`), '');
}

function tokenize(strings: readonly string[]): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  strings.forEach((text, segment) => {
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      const position = offset + i;
      if (/\s/.test(c)) {
        i++;
      } else if (c === '(' || c === ')') {
        tokens.push({ type: c, position });
        i++;
      } else if ('=!<>'.includes(c)) {
        const two = text.slice(i, i + 2);
        const op = two in OPERATORS ? two : c in OPERATORS ? c : undefined;
        if (!op) throw new SyntaxProblem(`unknown operator '${two.trim() || c}'`, position);
        tokens.push({ type: 'op', text: op, position });
        i += op.length;
      } else if (/[A-Za-z_:]/.test(c)) {
        const word = /^:?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i));
        if (!word) throw new SyntaxProblem(`unexpected '${c}'`, position);
        tokens.push({ type: 'word', text: word[0], position });
        i += word[0].length;
      } else if (/[0-9"'`-]/.test(c)) {
        throw new SyntaxProblem('values go in ${} placeholders, not in the query text', position);
      } else {
        throw new SyntaxProblem(`unexpected '${c}'`, position);
      }
    }
    offset += text.length;
    if (segment < strings.length - 1) {
      tokens.push({ type: 'value', slot: segment, position: offset });
      offset += `\${${segment}}`.length;
    }
  });
  tokens.push({ type: 'end', position: offset });
  return tokens;
}

/** Recursive descent: or → and → not → primary; `and` binds tighter than `or`. */
class Parser {
  #i = 0;
  #depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Template {
    const t = this.#or();
    const next = this.#peek();
    if (next.type !== 'end')
      throw new SyntaxProblem(
        `expected 'and', 'or' or the end, found ${describe(next)}`,
        next.position,
      );
    return t;
  }

  #or(): Template {
    const nodes = [this.#and()];
    while (this.#isWord('or')) {
      this.#i++;
      nodes.push(this.#and());
    }
    return nodes.length === 1 ? nodes[0] : { kind: 'or', nodes };
  }

  #and(): Template {
    const nodes = [this.#not()];
    while (this.#isWord('and')) {
      this.#i++;
      nodes.push(this.#not());
    }
    return nodes.length === 1 ? nodes[0] : { kind: 'and', nodes };
  }

  #not(): Template {
    if (this.#isWord('not')) {
      const token = this.tokens[this.#i++];
      if (++this.#depth > 64) throw new SyntaxProblem('the query nests too deeply', token.position);
      const node = this.#not();
      this.#depth--;
      return { kind: 'not', node };
    }
    return this.#primary();
  }

  #primary(): Template {
    const token = this.tokens[this.#i++];
    if (token.type === '(') {
      if (++this.#depth > 64) throw new SyntaxProblem('the query nests too deeply', token.position);
      const inner = this.#or();
      this.#depth--;
      const close = this.tokens[this.#i++];
      if (close.type !== ')')
        throw new SyntaxProblem(`expected ')', found ${describe(close)}`, close.position);
      return inner;
    }
    if (token.type !== 'word' || ['and', 'or', 'not'].includes(token.text)) {
      throw new SyntaxProblem(
        `expected a field name or '(', found ${describe(token)}`,
        token.position,
      );
    }
    const op = this.tokens[this.#i++];
    if (op.type !== 'op')
      throw new SyntaxProblem(
        `expected an operator (== != > >= < <=) after '${token.text}', found ${describe(op)}`,
        op.position,
      );
    const value = this.tokens[this.#i++];
    if (value.type !== 'value')
      throw new SyntaxProblem(
        `expected a \${} value after '${op.text}', found ${describe(value)}`,
        value.position,
      );
    return {
      kind: 'cmp',
      field: token.text.replace(/^:/, ''),
      op: OPERATORS[op.text],
      slot: value.slot,
      position: token.position,
    };
  }

  #peek(): Token {
    return this.tokens[this.#i];
  }

  #isWord(word: string): boolean {
    const t = this.tokens[this.#i];
    return t.type === 'word' && t.text === word;
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'word':
      return `'${token.text}'`;
    case 'op':
      return `'${token.text}'`;
    case 'value':
      return `the value \${${token.slot}}`;
    case 'end':
      return 'the end of the query';
    default:
      return `'${token.type}'`;
  }
}
