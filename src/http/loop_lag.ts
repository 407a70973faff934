/**
 * Event-loop lag, measured with a timer: every `intervalMs` a timeout is set, and how late it
 * fires is the lag (what a client of the broker feels as extra latency). Keeps the last
 * minute of samples.
 *
 * @module
 */

export class EventLoopLag {
  readonly #intervalMs: number;
  readonly #samples: number[] = [];
  readonly #keep: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expected = 0;
  #last = 0;

  constructor(intervalMs = 500, windowMs = 60_000) {
    this.#intervalMs = intervalMs;
    this.#keep = Math.max(1, Math.round(windowMs / intervalMs));
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The latest lag, in seconds. */
  get last(): number {
    return this.#last / 1000;
  }

  /** The largest lag of the window, in seconds. */
  get max(): number {
    let m = 0;
    for (const s of this.#samples) if (s > m) m = s;
    return m / 1000;
  }

  #schedule(): void {
    this.#expected = performance.now() + this.#intervalMs;
    const timer = setTimeout(() => {
      const lag = Math.max(0, performance.now() - this.#expected);
      this.#last = lag;
      this.#samples.push(lag);
      if (this.#samples.length > this.#keep) this.#samples.shift();
      this.#schedule();
    }, this.#intervalMs);
    this.#timer = timer;
    // The probe alone must not keep the process alive.
    Deno.unrefTimer(timer);
  }
}
