/** A CSV text that is not well formed; `lines` is the 1-based line where it was found. */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly lines: number,
  ) {
    super(message);
  }
}

/** Ends of an unquoted field: a delimiter, a line end, or a quote (refused there). */
const UNQUOTED_END = /[,\r\n"]/g;

/**
 * Reads CSV (RFC 4180: `,` between fields, `"` around fields that hold one, `""` for a quote
 * inside them, CR LF or LF between records), fed a piece at a time, and hands each record to
 * `onRecord` with the line it ends on. Empty lines are skipped and a leading BOM dropped. It
 * finds a field's end with `indexOf` and a regular expression, not a character at a time, so
 * that long fields cost little. Throws a `CsvSyntaxError` for an unclosed quote, a quote in
 * an unquoted field, or text after a closing quote.
 */
export class CsvReader {
  #fields: string[] = [];
  #pieces: string[] = [];
  /** In a quoted field; `quoteAtEnd`: the last piece ended on a quote that may be doubled. */
  #quoted = false;
  #quoteAtEnd = false;
  /** A quoted field was closed: only a delimiter or a line end may follow. */
  #closed = false;
  /** The last piece ended with CR: an LF that starts the next one belongs to it. */
  #afterCr = false;
  #line = 1;
  /** The line a quoted field opened on. */
  #quoteLine = 1;
  #started = false;
  /** Something of the current record was read (it is not an empty line). */
  #inRecord = false;

  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

  write(text: string): void {
    let i = 0;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    if (this.#afterCr && text.length > i) {
      this.#afterCr = false;
      if (text.charCodeAt(i) === LF) i++;
    }
    while (i < text.length) {
      if (this.#quoted) {
        if (this.#quoteAtEnd) {
          this.#quoteAtEnd = false;
          if (text.charCodeAt(i) === QUOTE) {
            this.#pieces.push('"');
            i++;
            continue;
          }
          this.#quoted = false;
          this.#closed = true;
          continue;
        }
        const quote = text.indexOf('"', i);
        const end = quote === -1 ? text.length : quote;
        this.#pieces.push(text.slice(i, end));
        this.#countLines(text, i, end);
        if (quote === -1) return;
        if (quote + 1 === text.length) {
          this.#quoteAtEnd = true;
          return;
        }
        if (text.charCodeAt(quote + 1) === QUOTE) {
          this.#pieces.push('"');
          i = quote + 2;
        } else {
          this.#quoted = false;
          this.#closed = true;
          i = quote + 1;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.#closed && c !== COMMA && c !== LF && c !== CR) {
        throw new CsvSyntaxError(
          `Invalid Closing Quote: got "${text[i]}" at line ${this.#line} instead of a delimiter`,
          this.#line,
        );
      }
      if (c === QUOTE && this.#pieces.length === 0 && !this.#closed) {
        this.#quoted = true;
        this.#quoteLine = this.#line;
        this.#inRecord = true;
        i++;
        continue;
      }
      UNQUOTED_END.lastIndex = i;
      const match = UNQUOTED_END.exec(text);
      const end = match ? match.index : text.length;
      if (end > i) {
        this.#pieces.push(text.slice(i, end));
        this.#inRecord = true;
      }
      if (!match) return;
      const d = text.charCodeAt(end);
      if (d === QUOTE) {
        throw new CsvSyntaxError(
          `Invalid Opening Quote: a quote is found in field ${this.#fields.length + 1} at line ${this.#line}, in an unquoted field`,
          this.#line,
        );
      }
      this.#endField();
      i = end + 1;
      if (d === COMMA) {
        this.#inRecord = true;
        continue;
      }
      this.#endRecord();
      if (d === CR) {
        if (i === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i) === LF) i++;
      }
    }
  }

  /** Ends the text: a record without a final line end is handed on. */
  end(): void {
    if (this.#quoted && !this.#quoteAtEnd) {
      throw new CsvSyntaxError(
        `Quote Not Closed: the text ends in a field quoted from line ${this.#quoteLine}`,
        this.#quoteLine,
      );
    }
    this.#quoted = false;
    this.#quoteAtEnd = false;
    if (this.#inRecord || this.#pieces.length > 0 || this.#closed) {
      this.#endField();
      this.#endRecord();
    }
  }

  #endField(): void {
    this.#fields.push(this.#pieces.length === 1 ? this.#pieces[0] : this.#pieces.join(''));
    this.#pieces = [];
    this.#closed = false;
  }

  #endRecord(): void {
    const fields = this.#fields;
    this.#fields = [];
    const line = this.#line;
    this.#line++;
    if (!this.#inRecord && fields.length === 1 && fields[0] === '') return; // an empty line
    this.#inRecord = false;
    this.onRecord(fields, line);
  }

  #countLines(text: string, from: number, to: number): void {
    for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1))
      this.#line++;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
