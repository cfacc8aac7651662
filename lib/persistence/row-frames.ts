import type { RecordKey } from '../interfaces/table-options.interface.js';
import { FramePacker } from './frame-packer.js';
import { encodedJson, encodeValue } from './value-codec.js';

/** Rows gathered into one frame at most (restore and recovery parse a frame in one step). */
const ROWS_PER_FRAME = 2000;

/**
 * The payloads of the rows frames of one table in a snapshot or a backup:
 * `{"t":"rows","table":…,"rows":[[key, encoded record, deadline, version, period?], …]}`
 * (`period`: the deadline's sliding period, where `MemoryTable.periodOf` gives one), each at
 * most `limit` bytes. Each row is written straight to JSON text (`encodedJson`: no encoded
 * objects, which V8 may put in its old generation and leave there as garbage); a record too
 * large for a frame is cut into pieces by `FramePacker`, carried (`"c"`) by the frames before
 * its row (`"r":1`), as the log does.
 */
export class RowFrames {
  readonly #opening: string;
  /** The most bytes of rows in one frame. */
  readonly #room: number;
  readonly #packer: FramePacker;
  #rows: string[] = [];
  #size = 0;

  constructor(table: string, limit: number) {
    this.#opening = `{"t":"rows","table":${JSON.stringify(table)},`;
    this.#room = limit - Buffer.byteLength(this.#opening) - 32;
    this.#packer = new FramePacker(this.#room);
  }

  /**
   * Adds a row; yields the payloads of the frames it completes. Throws what encoding the
   * record throws (a getter, a value past what a frame and a string can carry).
   */
  *add(
    key: RecordKey,
    record: object,
    deadline: number | null,
    version: number,
    period?: number,
  ): Generator<string> {
    let row: string | undefined;
    const slides = period === undefined ? '' : `,${period}`;
    try {
      row = `[${JSON.stringify(key)},${encodedJson(record)},${deadline},${version}${slides}]`;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error; // longer than a string can be
    }
    const bytes = row === undefined ? Infinity : Buffer.byteLength(row) + 1;
    if (bytes > this.#room) {
      yield* this.finish();
      const item = [key, encodeValue(record), deadline, version];
      if (period !== undefined) item.push(period);
      for (const part of this.#packer.pack([item], 1)) {
        yield (
          this.#opening +
          (part.chunks.length > 0 ? `"c":[${part.chunks.join(',')}],` : '') +
          (part.refs ? '"r":1,' : '') +
          `"rows":[${part.items.join(',')}]}`
        );
      }
      return;
    }
    if (this.#size + bytes > this.#room) yield* this.finish();
    this.#rows.push(row!);
    this.#size += bytes;
    if (this.#rows.length >= ROWS_PER_FRAME) yield* this.finish();
  }

  /** Yields the payload of the rows gathered, if any. */
  *finish(): Generator<string> {
    if (this.#rows.length === 0) return;
    const payload = `${this.#opening}"rows":[${this.#rows.join(',')}]}`;
    this.#rows = [];
    this.#size = 0;
    yield payload;
  }
}
