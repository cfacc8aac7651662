import { afterEach, describe, expect, it, jest } from '@jest/globals';
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
});
