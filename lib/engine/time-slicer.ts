import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * How long a long operation works before it lets the event loop run (timers, I/O, other
 * requests). Well under the 20 ms a server's longest pause should stay below.
 */
export const SLICE_MS = 8;
/** How many records a long operation handles between two looks at the clock. */
export const SLICE_CHECK = 64;
/** An operation that runs longer than this logs its progress. */
const PROGRESS_AFTER_MS = 1000;

/**
 * Cuts a long operation into slices of about `SLICE_MS`, letting the event loop run between
 * them, and reports progress (records done, total, elapsed) about every second once it has
 * run longer than one (the stores send it to Nest's `Logger`).
 *
 * @example
 * ```ts
 * const slicer = new TimeSlicer('import into people', (line) => logger.log(line), records.length);
 * for (const record of records) { work(record); await slicer.tick(); }
 * slicer.finish();
 * ```
 */
export class TimeSlicer {
  readonly #started = performance.now();
  #sliceStart = this.#started;
  #nextLog = this.#started + PROGRESS_AFTER_MS;
  #logged = false;
  #count = 0;
  #phase = '';
  done = 0;

  constructor(
    /** What runs, for the progress lines: "export of table 'people'". */
    readonly operation: string,
    /** Where progress lines go. */
    readonly report: ((line: string) => void) | undefined,
    /** How many records in all, when known. */
    public total?: number,
  ) {}

  /** Starts a new phase of the operation: progress counts from 0 again, of `total`. */
  phase(name: string, total?: number): void {
    this.#phase = name;
    this.done = 0;
    this.total = total;
  }

  /** True when the current slice has used its time: call `pause()` then. */
  get due(): boolean {
    return performance.now() - this.#sliceStart >= SLICE_MS;
  }

  /** Counts `n` records done; every `SLICE_CHECK` of them, pauses if the slice is over. */
  tick(n = 1): Promise<void> | undefined {
    this.done += n;
    this.#count += n;
    if (this.#count < SLICE_CHECK) return undefined;
    this.#count = 0;
    return this.due ? this.pause() : undefined;
  }

  /**
   * Counts `n` records done and looks at the clock now: for steps whose cost can jump (a
   * step that makes a map or an index grow), where `tick`'s look every `SLICE_CHECK`
   * records could let one slice run over by many steps.
   */
  step(n: number): Promise<void> | undefined {
    this.done += n;
    this.#count = 0;
    return this.due ? this.pause() : undefined;
  }

  /** Lets the event loop run, then starts a new slice. */
  async pause(): Promise<void> {
    const now = performance.now();
    if (now >= this.#nextLog) {
      this.#nextLog = now + PROGRESS_AFTER_MS;
      this.#logged = true;
      this.report?.(`${this.operation}: ${this.#progress(now)}`);
    }
    await nextTurn();
    this.#sliceStart = performance.now();
  }

  /** Ends the operation: logs the total if it ran long enough to log progress. */
  finish(): void {
    if (this.#logged || performance.now() - this.#started >= PROGRESS_AFTER_MS)
      this.report?.(`${this.operation}: done, ${this.#progress(performance.now())}`);
  }

  #progress(now: number): string {
    const total = this.total === undefined ? '' : ` of ${this.total.toLocaleString('en')}`;
    const phase = this.#phase === '' ? '' : `${this.#phase} `;
    return `${phase}${this.done.toLocaleString('en')}${total} records, ${((now - this.#started) / 1000).toFixed(1)} s elapsed`;
  }
}
