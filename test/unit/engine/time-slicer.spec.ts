import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { keysBeforeGrowth } from '../../../lib/engine/map-growth.js';
import { SLICE_CHECK, TimeSlicer } from '../../../lib/engine/time-slicer.js';

describe('TimeSlicer', () => {
  let now = 0;
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Counts `SLICE_CHECK` records at the time `at`; resolves once any pause is over. */
  async function batchAt(slicer: TimeSlicer, at: number): Promise<boolean> {
    now = at;
    let paused = false;
    for (let i = 0; i < SLICE_CHECK; i++) {
      const pause = slicer.tick();
      if (pause) {
        paused = true;
        await pause;
      }
    }
    return paused;
  }

  it('pauses once a slice has run its time, and reports progress after a second, then every second', async () => {
    now = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    const lines: string[] = [];
    const slicer = new TimeSlicer("export of table 'people'", (line) => lines.push(line), 1000);
    expect(await batchAt(slicer, 1)).toBe(false); // the slice has time left
    expect(await batchAt(slicer, 10)).toBe(true);
    expect(lines).toEqual([]); // under a second: nothing to report
    expect(await batchAt(slicer, 1200)).toBe(true);
    expect(lines).toEqual([
      `export of table 'people': ${3 * SLICE_CHECK} of 1,000 records, 1.2 s elapsed`,
    ]);
    slicer.phase('writing', 500);
    await batchAt(slicer, 1500); // within a second of the last report
    await batchAt(slicer, 2300);
    slicer.finish();
    expect(lines.slice(1)).toEqual([
      `export of table 'people': writing ${2 * SLICE_CHECK} of 500 records, 2.3 s elapsed`,
      `export of table 'people': done, writing ${2 * SLICE_CHECK} of 500 records, 2.3 s elapsed`,
    ]);
  });

  it('reports nothing for an operation shorter than a second', async () => {
    now = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    const lines: string[] = [];
    const slicer = new TimeSlicer('restore', (line) => lines.push(line));
    await batchAt(slicer, 300);
    await batchAt(slicer, 900);
    slicer.finish();
    expect(lines).toEqual([]);
  });

  it('step() looks at the clock at every call, whatever the count: a slow step pauses at once', async () => {
    now = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    const slicer = new TimeSlicer('writeMany', undefined, 100);
    expect(slicer.step(4)).toBeUndefined(); // the slice has time left
    now = 9; // one step of 4 records used the slice (tick() would look after SLICE_CHECK)
    const pause = slicer.step(4);
    expect(pause).toBeInstanceOf(Promise);
    await pause;
    expect(slicer.done).toBe(8);
    expect(slicer.step(4)).toBeUndefined(); // a new slice
  });
});

describe('keysBeforeGrowth', () => {
  it('counts the new keys a Map takes before it doubles (at powers of two), from 65,536 on', () => {
    expect(keysBeforeGrowth(0)).toBe(Infinity);
    expect(keysBeforeGrowth(32_768)).toBe(Infinity);
    expect(keysBeforeGrowth(32_769)).toBe(32_767);
    expect(keysBeforeGrowth(65_535)).toBe(1);
    expect(keysBeforeGrowth(65_536)).toBe(0);
    expect(keysBeforeGrowth(65_537)).toBe(65_535);
    expect(keysBeforeGrowth(524_287)).toBe(1);
    expect(keysBeforeGrowth(524_288)).toBe(0);
    expect(keysBeforeGrowth(1_000_000)).toBe(48_576);
  });
});
