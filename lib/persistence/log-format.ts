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

export function encodeFrame(seq: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
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
  /** True when the bad bytes could be a frame cut short by a crash: nothing valid follows. */
  readonly tornTail?: boolean;
}

/** Reads the frames of a file that starts with `magic`; `firstSeq` is the first frame's number. */
export function parseFrames(data: Buffer, magic: Buffer, firstSeq: number): ParsedFrames {
  const frames: Frame[] = [];
  if (data.length < magic.length || !data.subarray(0, magic.length).equals(magic)) {
    const short = data.length < magic.length && magic.subarray(0, data.length).equals(data);
    return {
      frames,
      end: 0,
      problem: short ? 'the file header is cut short' : 'not a file of this kind (bad header)',
      tornTail: short,
    };
  }
  let offset = magic.length;
  while (offset < data.length) {
    const problem = frameProblem(data, offset);
    if (problem) {
      const expected = (frames.at(-1)?.seq ?? firstSeq - 1) + 1;
      return { frames, end: offset, problem, tornTail: !validFrameAfter(data, offset, expected) };
    }
    const length = data.readUInt32LE(offset);
    frames.push({
      seq: Number(data.readBigUInt64LE(offset + 8)),
      payload: data.toString('utf8', offset + FRAME_HEADER, offset + FRAME_HEADER + length),
      offset,
    });
    offset += FRAME_HEADER + length;
  }
  return { frames, end: offset };
}

function frameProblem(data: Buffer, offset: number): string | undefined {
  if (data.length - offset < FRAME_HEADER) return 'a frame header is cut short';
  const length = data.readUInt32LE(offset);
  if (length > MAX_PAYLOAD) return `a frame declares ${length} bytes`;
  if (offset + FRAME_HEADER + length > data.length) return 'a frame is cut short';
  const expected = data.readUInt32LE(offset + 4);
  if (crc32(data.subarray(offset + 8, offset + FRAME_HEADER + length)) !== expected)
    return 'checksum mismatch';
  return undefined;
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
      if (start > bad && !frameProblem(data, start)) return true;
    }
  }
  return false;
}
