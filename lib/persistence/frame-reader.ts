import type { ReadFile } from './file-system.js';
import {
  FRAME_HEADER,
  magicProblem,
  MAX_PAYLOAD,
  readFrame,
  type FrameRead,
} from './log-format.js';

/** Bytes read from a file at a time. */
const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Reads the frames of a snapshot or log segment through a window of the file, so that no
 * file has to fit in one buffer (`readFile` stops at 2 GiB). A frame that is whole in the
 * window and checks out is read from there. For a log segment (`tornTails`), anything else
 * (bad bytes, a frame cut short, the end) is judged by `readFrame` on all the rest of the
 * file, exactly as if the file had been read whole: its torn-tail rules look only at what
 * follows the frame. A snapshot has no torn tail (it is renamed into place whole): its bad
 * bytes are judged from the frame alone, and the rest of the file is never read.
 */
export class FrameReader {
  #window = Buffer.alloc(0);
  /** Where the window starts in the file, and how many bytes of it are read. */
  #base = 0;
  #length = 0;

  constructor(
    private readonly file: ReadFile,
    private readonly windowBytes = WINDOW_BYTES,
    /** Whether bad bytes may be a torn append, judged on all that follows (log segments). */
    private readonly tornTails = true,
  ) {}

  get size(): number {
    return this.file.size;
  }

  /** Checks the file's magic: undefined if good, else the problem (torn if it is cut short). */
  async magic(magic: Buffer): Promise<{ problem: string; torn: boolean } | undefined> {
    return magicProblem(await this.range(0, Math.min(magic.length, this.size)), magic);
  }

  /** The frame at `offset` (whose sequence number should be `expected`), with file offsets. */
  async read(offset: number, expected: number): Promise<FrameRead> {
    if (offset >= this.size) return { kind: 'end' };
    if (await this.#cover(offset, FRAME_HEADER)) {
      const length = this.#window.readUInt32LE(offset - this.#base);
      if (length <= MAX_PAYLOAD && (await this.#cover(offset, FRAME_HEADER + length))) {
        const read = readFrame(
          this.#window.subarray(0, this.#length),
          offset - this.#base,
          expected,
        );
        if (read.kind === 'frame' || !this.tornTails) return this.#shifted(read, this.#base);
      }
    }
    if (!this.tornTails) return this.#badFrame(offset);
    return this.#shifted(await this.#judgeRest(offset, expected), offset);
  }

  /**
   * `readFrame` on all the rest of the file from `offset`, holding no more of it at once
   * than a frame (the rest of a damaged segment may be larger than any buffer): the rest is
   * only needed whole when a frame runs past the end of the file, and is then shorter than
   * the longest frame.
   */
  async #judgeRest(offset: number, expected: number): Promise<FrameRead> {
    const left = this.size - offset;
    if (left < FRAME_HEADER) return readFrame(await this.range(offset, left), 0, expected);
    if (await this.#zerosFrom(offset))
      return { kind: 'bad', problem: 'zeros where a frame should start', torn: true };
    const length = (await this.range(offset, FRAME_HEADER)).readUInt32LE(0);
    if (length > MAX_PAYLOAD) return readFrame(await this.range(offset, FRAME_HEADER), 0, expected);
    if (FRAME_HEADER + length > left) return readFrame(await this.range(offset, left), 0, expected);
    // a whole frame: bad only by its checksum, whatever follows it
    const read = readFrame(await this.range(offset, FRAME_HEADER + length), 0, expected);
    // (its 16 bytes all zeros, but not the rest: a checksum that fails on all the rest too)
    return read.kind === 'bad' && read.torn
      ? { kind: 'bad', problem: 'checksum mismatch', torn: false }
      : read;
  }

  /** True when every byte from `offset` to the end of the file is zero; read a window at a time. */
  async #zerosFrom(offset: number): Promise<boolean> {
    const part = Buffer.allocUnsafe(Math.min(this.windowBytes, this.size - offset));
    for (let position = offset; position < this.size;) {
      const n = await this.file.read(
        part,
        0,
        Math.min(part.length, this.size - position),
        position,
      );
      if (n <= 0) return true; // the file ended early: nothing more to see
      for (let i = 0; i < n; i++) if (part[i] !== 0) return false;
      position += n;
    }
    return true;
  }

  /** `length` bytes of the file from `position` (fewer if the file ends first). */
  async range(position: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - position)));
    let done = 0;
    while (done < out.length) {
      const n = await this.file.read(out, done, out.length - done, position + done);
      if (n <= 0) break;
      done += n;
    }
    return done === out.length ? out : out.subarray(0, done);
  }

  /** True once the window holds `length` bytes from `offset` (false if the file is shorter). */
  async #cover(offset: number, length: number): Promise<boolean> {
    if (offset + length > this.size) return false;
    if (offset >= this.#base && offset + length <= this.#base + this.#length) return true;
    const want = Math.min(Math.max(length, this.windowBytes), this.size - offset);
    // a window is reused while it is large enough: frames are read out of it as strings
    if (this.#window.length < want) this.#window = Buffer.allocUnsafe(want);
    this.#base = offset;
    this.#length = 0;
    while (this.#length < want) {
      const n = await this.file.read(
        this.#window,
        this.#length,
        want - this.#length,
        offset + this.#length,
      );
      if (n <= 0) break;
      this.#length += n;
    }
    return this.#length >= length;
  }

  /** Why the frame at `offset` is not whole, told from its header alone (no torn tail). */
  async #badFrame(offset: number): Promise<FrameRead> {
    const header = await this.range(offset, FRAME_HEADER);
    if (header.length < FRAME_HEADER)
      return { kind: 'bad', problem: 'a frame header is cut short', torn: false };
    const length = header.readUInt32LE(0);
    return {
      kind: 'bad',
      problem:
        length > MAX_PAYLOAD
          ? `a frame declares ${length} bytes`
          : `a frame is cut short (it declares ${length} bytes, the file holds ${this.size - offset - FRAME_HEADER} after its header)`,
      torn: false,
    };
  }

  #shifted(read: FrameRead, by: number): FrameRead {
    if (read.kind !== 'frame' || by === 0) return read;
    return {
      kind: 'frame',
      frame: { seq: read.frame.seq, payload: read.frame.payload, offset: read.frame.offset + by },
      next: read.next + by,
    };
  }
}
