/** Where the store reads the time: milliseconds since the epoch. */
export interface Clock {
  now(): number;
  /**
   * The time read now, not cached: where a deadline is set, so that a write's time to live
   * counts from the write (a cached time can be older while the event loop is busy).
   * Defaults to `now()`.
   */
  precise?(): number;
}

/**
 * Reads `Date.now()` at most once per `resolution` ms (0: on every call), like lru-cache's
 * `ttlResolution`: an expiry check costs a field read instead of a system call. The cached
 * time is dropped by a timer, so with the default of 1 ms a record is never seen more than
 * about 1 ms after its deadline (longer only while the event loop is blocked).
 */
export class CoarseClock implements Clock {
  #now = 0;
  #fresh = false;
  readonly #expire = () => {
    this.#fresh = false;
  };

  constructor(private readonly resolution: number) {}

  precise(): number {
    this.#now = Date.now();
    if (!this.#fresh && this.resolution > 0) {
      this.#fresh = true;
      setTimeout(this.#expire, this.resolution).unref?.();
    }
    return this.#now;
  }

  now(): number {
    if (this.#fresh) return this.#now;
    this.#now = Date.now();
    if (this.resolution > 0) {
      this.#fresh = true;
      setTimeout(this.#expire, this.resolution).unref?.();
    }
    return this.#now;
  }
}
