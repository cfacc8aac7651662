/** Where a JSON import cannot be a document of records. */
const SHAPE = 'a JSON import holds an array of records or { records: [...] }';

/**
 * Cuts a JSON import, fed a piece at a time, into its records without ever holding the whole
 * text: the document is an array of records, or an object whose `records` member is one
 * (its other members, such as `version`, are kept in `members`). Each record's text is handed
 * to `onRecord` once complete; only the structure around the records is checked here, each
 * record's text by `JSON.parse`. Throws a `SyntaxError` where the structure is wrong.
 */
export class JsonSplitter {
  /** The envelope's members other than `records`, parsed. */
  readonly members: Record<string, unknown> = {};
  #state: 'start' | 'envelope' | 'records' | 'done' = 'start';
  #isArray = false;
  #sawRecords = false;
  /** The `records` member's name has been read: its array comes next. */
  #recordsNext = false;
  /** A record or an envelope member is being gathered. */
  #gathering = false;
  #pending: string[] = [];
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(private readonly onRecord: (text: string) => void) {}

  write(text: string): void {
    let start = this.#gathering ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      if (this.#inString) {
        while (i < text.length) {
          const d = text.charCodeAt(i);
          if (this.#escaped) this.#escaped = false;
          else if (d === BACKSLASH) this.#escaped = true;
          else if (d === QUOTE) break;
          i++;
        }
        if (i < text.length) this.#inString = false;
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.#gathering) {
        if (c === QUOTE) this.#inString = true;
        else if (c === OPEN_ARRAY || c === OPEN_OBJECT) this.#depth++;
        else if (this.#depth > 0 && (c === CLOSE_ARRAY || c === CLOSE_OBJECT)) this.#depth--;
        else if (this.#depth === 0 && c === COLON && this.#state === 'envelope') {
          const name = this.#pending.join('') + text.slice(start, i);
          if (JSON.parse(name.trim()) === 'records') {
            this.#pending = [];
            this.#gathering = false;
            this.#recordsNext = true;
          }
        } else if (this.#depth === 0 && (c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT)) {
          this.#pending.push(text.slice(start, i));
          this.#finish();
          i--; // read the separator again, between values
        }
        continue;
      }
      if (c === SPACE || c === NEWLINE || c === RETURN || c === TAB || c === BOM) continue;
      switch (this.#state) {
        case 'start':
          if (c === OPEN_ARRAY) {
            this.#isArray = true;
            this.#state = 'records';
          } else if (c === OPEN_OBJECT) this.#state = 'envelope';
          else throw new SyntaxError(SHAPE);
          continue;
        case 'done':
          throw new SyntaxError('malformed JSON: more text after the end of the document');
        case 'records':
          if (c === COMMA) continue;
          if (c === CLOSE_ARRAY) {
            this.#state = this.#isArray ? 'done' : 'envelope';
            continue;
          }
          break;
        case 'envelope':
          if (this.#recordsNext) {
            if (c !== OPEN_ARRAY) throw new SyntaxError(SHAPE);
            this.#recordsNext = false;
            this.#sawRecords = true;
            this.#state = 'records';
            continue;
          }
          if (c === COMMA) continue;
          if (c === CLOSE_OBJECT) {
            this.#state = 'done';
            continue;
          }
          if (c !== QUOTE) throw new SyntaxError('malformed JSON: a member name was expected');
          break;
      }
      // the first character of a record, or of an envelope member ("name": value)
      this.#gathering = true;
      start = i;
      this.#depth = 0;
      i--; // read it again, gathering
    }
    if (this.#gathering && start >= 0) this.#pending.push(text.slice(start));
  }

  /** Ends the document; throws a `SyntaxError` if it is incomplete or holds no records. */
  end(): void {
    if (this.#state !== 'done') throw new SyntaxError('malformed JSON: the document ends early');
    if (!this.#isArray && !this.#sawRecords) throw new SyntaxError(SHAPE);
  }

  #finish(): void {
    const text = this.#pending.join('');
    this.#pending = [];
    this.#gathering = false;
    if (this.#state === 'records') this.onRecord(text);
    else Object.assign(this.members, JSON.parse(`{${text}}`) as Record<string, unknown>);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const TAB = 0x09;
const BOM = 0xfeff;
