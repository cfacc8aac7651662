import { performance } from 'node:perf_hooks';

/** The longest stretch a long operation runs before it lets other work through. */
const SLICE_MS = 8;
/** Progress is reported after this long, and then as often. */
const REPORT_MS = 1000;

/**
 * Cuts a long operation into slices: `tick()` between steps yields to the event loop once a
 * slice has run `SLICE_MS`, and calls `report(elapsed)` once a second after the first second.
 */
export class Slicer {
  readonly #started = performance.now();
  #sliceStart = this.#started;
  #reported = this.#started;

  constructor(private readonly report?: (elapsedMs: number) => void) {}

  /** True when the current slice has run its time. */
  get due(): boolean {
    return performance.now() - this.#sliceStart >= SLICE_MS;
  }

  async tick(): Promise<void> {
    const now = performance.now();
    if (now - this.#sliceStart < SLICE_MS) return;
    if (this.report && now - this.#reported >= REPORT_MS) {
      this.#reported = now;
      this.report(now - this.#started);
    }
    await new Promise((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }

  /** Milliseconds since the operation started. */
  get elapsed(): number {
    return performance.now() - this.#started;
  }
}
