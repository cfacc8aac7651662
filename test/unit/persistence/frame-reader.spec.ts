import { describe, expect, it } from '@jest/globals';
import type { ReadFile } from '../../../lib/persistence/file-system.js';
import { FrameReader } from '../../../lib/persistence/frame-reader.js';
import {
  encodeFrame,
  LOG_MAGIC,
  readFrame,
  type FrameRead,
} from '../../../lib/persistence/log-format.js';

/** A file in memory, read in parts as the real one is. */
function inMemory(data: Buffer): ReadFile {
  return {
    size: data.length,
    read: (target, offset, length, position) =>
      Promise.resolve(data.copy(target, offset, position, position + length)),
    close: () => Promise.resolve(),
  };
}

/** Every read of a file from its first frame on, until the end or bad bytes. */
async function readAll(next: (offset: number, expected: number) => Promise<FrameRead> | FrameRead) {
  const reads: FrameRead[] = [];
  let offset = LOG_MAGIC.length;
  for (let expected = 1; ; expected++) {
    const read = await next(offset, expected);
    reads.push(read);
    if (read.kind !== 'frame') return reads;
    offset = read.next;
  }
}

/**
 * Recovery reads files through a window (no file has to fit in one buffer): it must find
 * exactly the frames, the clean end, the torn tails and the damage that reading the whole
 * file finds, wherever the window's edges fall.
 */
describe('FrameReader', () => {
  const frames = Array.from({ length: 12 }, (_, i) =>
    encodeFrame(i + 1, JSON.stringify({ o: [['p', 't', `k${i}`, 'v'.repeat((i * 37) % 300)]] })),
  );
  const whole = Buffer.concat([LOG_MAGIC, ...frames]);
  const last = whole.length - frames[11].length;
  const flipped = (at: number) => {
    const copy = Buffer.from(whole);
    copy[at] ^= 0xff;
    return copy;
  };
  const files: Record<string, Buffer> = {
    whole,
    'torn last frame': whole.subarray(0, whole.length - 20),
    'torn header': whole.subarray(0, last + 9),
    'zeros after the last frame': Buffer.concat([whole, Buffer.alloc(300)]),
    'a flipped byte in a middle frame': flipped(LOG_MAGIC.length + frames[0].length + 40),
    'a damaged length field': flipped(last + 1),
    'a flipped byte in the last frame': flipped(whole.length - 3),
    'a frame of zeros before the last frame': Buffer.concat([
      whole.subarray(0, last),
      Buffer.alloc(16),
      frames[11],
    ]),
    'a flipped byte in the last frame, then zeros': Buffer.concat([
      flipped(whole.length - 3),
      Buffer.alloc(40),
    ]),
  };

  for (const [name, data] of Object.entries(files)) {
    it(`reads ${name} as readFrame does on the whole file, at every window size`, async () => {
      const expected = await readAll((offset, seq) => readFrame(data, offset, seq));
      for (const window of [1, 16, 37, 100, 255, 1024, data.length]) {
        const reader = new FrameReader(inMemory(data), window);
        expect(await readAll((offset, seq) => reader.read(offset, seq))).toEqual(expected);
      }
    });
  }

  it('reads the magic and any range of the file', async () => {
    const reader = new FrameReader(inMemory(whole), 64);
    expect(await reader.magic(LOG_MAGIC)).toBeUndefined();
    expect(await reader.range(100, 50)).toEqual(whole.subarray(100, 150));
    expect(await reader.range(whole.length - 10, 50)).toEqual(whole.subarray(whole.length - 10));
    const short = new FrameReader(inMemory(LOG_MAGIC.subarray(0, 3)));
    expect(await short.magic(LOG_MAGIC)).toEqual(expect.objectContaining({ torn: true }));
  });

  it('judges damage in a segment larger than any buffer reading no more than a frame at once', async () => {
    // 5 GiB (past Node's largest buffer): a first frame whose checksum fails, then 'x' bytes
    const GiB = 2 ** 30;
    const first = Buffer.from(frames[0]);
    first[first.length - 1] ^= 0xff;
    let largest = 0;
    const huge: ReadFile = {
      size: 5 * GiB,
      read: (target, offset, length, position) => {
        largest = Math.max(largest, length);
        const n = Math.min(length, 5 * GiB - position);
        target.fill(0x78, offset, offset + n);
        if (position < first.length)
          first.copy(target, offset, position, Math.min(first.length, position + n));
        return Promise.resolve(n);
      },
      close: () => Promise.resolve(),
    };
    const reader = new FrameReader(huge, 1024);
    expect(await reader.read(0, 1)).toEqual({
      kind: 'bad',
      problem: 'checksum mismatch',
      torn: false,
    });
    expect(largest).toBeLessThanOrEqual(1024);
  });
});
