import { describe, expect, it } from '@jest/globals';
import { ChunkStore, FramePacker } from '../../../lib/persistence/frame-packer.js';
import { encodeFrame, readFrame, LOG_MAGIC } from '../../../lib/persistence/log-format.js';
import { encodeValue } from '../../../lib/persistence/value-codec.js';

/** Packs `rows` ([key, value]) at `limit`, then reads the parts back as a reader would. */
function roundTrip(rows: unknown[][], limit: number): { values: unknown[]; largest: number } {
  const chunks = new ChunkStore();
  const values: unknown[] = [];
  let largest = 0;
  for (const part of new FramePacker(limit).pack(rows, 1)) {
    const payload = `{"c":[${part.chunks.join(',')}],"o":[${part.items.join(',')}]}`;
    largest = Math.max(largest, Buffer.byteLength(payload));
    const body = JSON.parse(payload) as { c: unknown; o: unknown[][] };
    expect(chunks.add(body.c)).toBe(true);
    for (const item of body.o) values.push(chunks.resolve(item[1]));
  }
  expect(chunks.size).toBe(0); // every chunk was used
  return { values, largest };
}

describe('FramePacker and ChunkStore', () => {
  it('packs small items into parts within the limit, in order', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => [
      `k${i}`,
      encodeValue({ i, text: 'x'.repeat(i % 50) }),
    ]);
    const { values, largest } = roundTrip(rows, 4096);
    expect(largest).toBeLessThanOrEqual(4096);
    expect(values).toEqual(rows.map((row) => row[1]));
  });

  it('cuts values larger than a part into chunks and puts them back equal: strings (split surrogate pairs too), arrays, objects, nested', () => {
    const keys: Record<string, unknown> = { __proto__: 'a key like any other' };
    for (let i = 0; i < 800; i++) keys[`k${i}`] = [i, { deep: 'y'.repeat(i) }];
    const values = [
      'ab\u{1f600}"\\\n\u2028'.repeat(3000),
      Array.from({ length: 2000 }, (_, i) => ({ i, s: `${i}`.repeat(5) })),
      keys,
      {
        outer: { inner: ['z'.repeat(20_000), { list: Array.from({ length: 900 }, (_, i) => i) }] },
      },
    ];
    for (const limit of [256, 1000, 4096]) {
      const rows = values.map((value, i) => [`r${i}`, encodeValue(value)]);
      const { values: back, largest } = roundTrip(rows, limit);
      expect(largest).toBeLessThanOrEqual(limit);
      expect(back).toEqual(rows.map((row) => row[1]));
    }
  });

  it('refuses a dangling or malformed reference', () => {
    const chunks = new ChunkStore();
    expect(() => chunks.resolve(['@s', 7])).toThrow('missing chunk');
    expect(chunks.add([[1, 'a'], 'not a chunk'])).toBe(false);
  });
});

describe('readFrame: a torn append or damage', () => {
  const frames = [
    encodeFrame(1, '{"o":[]}'),
    encodeFrame(2, '{"o":[1]}'),
    encodeFrame(3, '{"o":[2]}'),
  ];
  const file = Buffer.concat([LOG_MAGIC, ...frames]);
  const lastAt = file.length - frames[2].length;

  it('a frame cut anywhere after its header is torn; a header cut short is torn', () => {
    for (let end = lastAt + 1; end < file.length; end++) {
      const read = readFrame(file.subarray(0, end), lastAt, 3);
      expect({ end, read }).toEqual({
        end,
        read: expect.objectContaining({ kind: 'bad', torn: true }),
      });
    }
  });

  it('zeros to the end are torn; a whole frame with a bad checksum, a damaged length and a wrong sequence are damage', () => {
    const zeros = Buffer.concat([file, Buffer.alloc(40)]);
    expect(readFrame(zeros, file.length, 4)).toMatchObject({ kind: 'bad', torn: true });
    const flipped = Buffer.from(file);
    flipped[file.length - 1] ^= 1;
    expect(readFrame(flipped, lastAt, 3)).toMatchObject({ kind: 'bad', torn: false });
    const longer = Buffer.from(file);
    longer.writeUInt32LE(1000, lastAt);
    expect(readFrame(longer, lastAt, 3)).toMatchObject({ kind: 'bad', torn: false });
    const cut = file.subarray(0, file.length - 2);
    expect(readFrame(cut, lastAt, 4)).toMatchObject({ kind: 'bad', torn: false });
  });
});

describe('FramePacker.packInSteps', () => {
  it('yields between runs of items inside one frame, and packs the same parts as pack', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => [
      `k${i}`,
      encodeValue({ id: `k${i}`, n: i }),
    ]);
    const parts = [...new FramePacker(1 << 20).pack(rows, 1)];
    const steps = [...new FramePacker(1 << 20).packInSteps(rows, 1)];
    expect(parts).toHaveLength(1); // all 5,000 fit one frame
    expect(steps.filter((step) => step === null).length).toBeGreaterThanOrEqual(5); // one per run of 1,000
    expect(steps.filter((step) => step !== null)).toEqual(parts);
  });
});
