import { crc32 } from 'node:zlib';

/**
 * The framing of log segments and snapshots: a magic line, then frames of
 * `[u32 length][u32 crc32][u64 sequence][payload]`, little-endian, the checksum covering the
 * sequence and the payload. A frame is whole or it is not there.
 */
export const LOG_MAGIC = Buffer.from('NMSWAL1\n');
export const SNAPSHOT_MAGIC = Buffer.from('NMSSNP1\n');
export const FRAME_HEADER = 16;
/** No payload is this large; a longer declared length is damage. */
export const MAX_PAYLOAD = 1 << 30;

export function encodeFrame(seq: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeBigUInt64LE(BigInt(seq), 8);
  body.copy(frame, FRAME_HEADER);
  frame.writeUInt32LE(crc32(frame.subarray(8)), 4);
  return frame;
}

/** A frame read back. */
export interface Frame {
  readonly seq: number;
  readonly payload: string;
  /** Where the frame starts in the file. */
  readonly offset: number;
}

/** The frames of a file, and where (and why) reading stopped early, if it did. */
export interface ParsedFrames {
  readonly frames: Frame[];
  /** The offset just after the last good frame. */
  readonly end: number;
  /** Why the bytes from `end` on are not a frame; undefined when the file ended cleanly. */
  readonly problem?: string;
  /** True when the bad bytes are what an interrupted append leaves (see `readFrame`). */
  readonly tornTail?: boolean;
}

/** What is at an offset of a file: a good frame, the clean end, or bytes that are no frame. */
export type FrameRead =
  | { readonly kind: 'frame'; readonly frame: Frame; readonly next: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'bad'; readonly problem: string; readonly torn: boolean };

/** Checks a file's magic: undefined if good, else the problem (torn if it is a cut-short one). */
export function magicProblem(
  data: Buffer,
  magic: Buffer,
): { problem: string; torn: boolean } | undefined {
  if (data.length >= magic.length && data.subarray(0, magic.length).equals(magic)) return undefined;
  const short = data.length < magic.length && magic.subarray(0, data.length).equals(data);
  return {
    problem: short ? 'the file header is cut short' : 'not a file of this kind (bad header)',
    torn: short,
  };
}

/**
 * Reads the frame at `offset`, whose sequence number should be `expected`. Bad bytes are a
 * torn append (`torn`, what a crash while appending leaves, and only at the end of the last
 * log segment) when they are nothing but:
 * - a frame header cut short (fewer than 16 bytes left);
 * - zeros to the end of the file (space the file system gave the append, never written);
 * - a frame that runs past the end of the file, whose header is whole with the expected
 *   sequence number, and whose bytes do not make a whole frame at any shorter length (no
 *   good checksum where the file ends or where the next frame's header would start), with
 *   no good frame after it.
 * Anything else is damage: a whole frame whose checksum fails, a length field that claims
 * more than the file holds when the frame checks out at a shorter length (the length was
 * damaged, not the write cut), a wrong sequence number, a good frame after a bad one.
 */
export function readFrame(data: Buffer, offset: number, expected: number): FrameRead {
  if (offset >= data.length) return { kind: 'end' };
  const bad = (problem: string, torn: boolean): FrameRead => ({ kind: 'bad', problem, torn });
  const left = data.length - offset;
  if (left < FRAME_HEADER)
    return bad('a frame header is cut short', !validFrameAfter(data, offset, expected));
  if (allZeros(data, offset)) return bad('zeros where a frame should start', true);
  const length = data.readUInt32LE(offset);
  if (length > MAX_PAYLOAD) return bad(`a frame declares ${length} bytes`, false);
  const seq = Number(data.readBigUInt64LE(offset + 8));
  if (FRAME_HEADER + length > left) {
    if (seq !== expected)
      return bad(`a frame is cut short, and its sequence number ${seq} is not ${expected}`, false);
    if (wholeAtShorterLength(data, offset, expected))
      return bad(
        `a frame's length field (${length}) is damaged: the frame is whole at a shorter length`,
        false,
      );
    return bad('a frame is cut short', !validFrameAfter(data, offset, expected));
  }
  const end = offset + FRAME_HEADER + length;
  if (crc32(data.subarray(offset + 8, end)) !== data.readUInt32LE(offset + 4))
    return bad('checksum mismatch', false);
  return {
    kind: 'frame',
    frame: { seq, payload: data.toString('utf8', offset + FRAME_HEADER, end), offset },
    next: end,
  };
}

/** Reads every frame of a file that starts with `magic`; `firstSeq` is the first frame's number. */
export function parseFrames(data: Buffer, magic: Buffer, firstSeq: number): ParsedFrames {
  const frames: Frame[] = [];
  const header = magicProblem(data, magic);
  if (header) return { frames, end: 0, problem: header.problem, tornTail: header.torn };
  let offset = magic.length;
  for (;;) {
    const read = readFrame(data, offset, (frames.at(-1)?.seq ?? firstSeq - 1) + 1);
    if (read.kind === 'end') return { frames, end: offset };
    if (read.kind === 'bad')
      return { frames, end: offset, problem: read.problem, tornTail: read.torn };
    frames.push(read.frame);
    offset = read.next;
  }
}

function allZeros(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/**
 * Whether the frame at `offset` checks out with a length shorter than the file's end: ending
 * at the end of the file, or just before the header of frame `expected + 1` (or a header cut
 * short). The checksum runs once over the bytes, continued from one candidate end to the next.
 */
function wholeAtShorterLength(data: Buffer, offset: number, expected: number): boolean {
  const start = offset + FRAME_HEADER;
  const candidates = new Set<number>();
  for (let end = Math.max(start, data.length - FRAME_HEADER + 1); end <= data.length; end++)
    candidates.add(end);
  const next = Buffer.alloc(8);
  next.writeBigUInt64LE(BigInt(expected + 1));
  for (let at = data.indexOf(next, start + 8); at !== -1; at = data.indexOf(next, at + 1))
    candidates.add(at - 8);
  const stored = data.readUInt32LE(offset + 4);
  let crc = crc32(data.subarray(offset + 8, start));
  let done = start;
  for (const end of [...candidates].sort((a, b) => a - b)) {
    crc = crc32(data.subarray(done, end), crc);
    done = end;
    if (crc === stored) return true;
  }
  return false;
}

/**
 * Whether a good frame follows a bad one: then the damage is not a torn tail (a crash only
 * ever cuts the end of the file) and must not be cut off. Looks for the next sequence
 * numbers and checks the frame there.
 */
function validFrameAfter(data: Buffer, bad: number, expected: number): boolean {
  for (const seq of [expected, expected + 1]) {
    const pattern = Buffer.alloc(8);
    pattern.writeBigUInt64LE(BigInt(seq));
    for (let at = data.indexOf(pattern, bad + 1); at !== -1; at = data.indexOf(pattern, at + 1)) {
      const start = at - 8;
      if (start > bad && wholeFrameAt(data, start)) return true;
    }
  }
  return false;
}

function wholeFrameAt(data: Buffer, offset: number): boolean {
  if (data.length - offset < FRAME_HEADER) return false;
  const length = data.readUInt32LE(offset);
  const end = offset + FRAME_HEADER + length;
  return (
    end <= data.length && crc32(data.subarray(offset + 8, end)) === data.readUInt32LE(offset + 4)
  );
}
