/** Where the store reads the time: milliseconds since the epoch. */
export interface Clock {
  now(): number;
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
