/**
 * Reconnect delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): attempt n waits a uniformly random time in [0, min(cap, base * 2^n)).
 * Pure: the random source is injectable, nothing sleeps here — the bridge owns the loop.
 *
 * ```ts
 * const delays = reconnectWithBackoff({ base: 500, cap: 30_000 });
 * for (;;) {
 *   try { await client.connect(); break; } catch { await sleep(delays.next().value); }
 * }
 * ```
 *
 * @module
 */

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in milliseconds (> 0). */
  base: number;
  /** Largest delay ceiling, in milliseconds (>= base). */
  cap: number;
  /**
   * `true` or "full" (default): uniform in [0, ceiling). `false` or "none": exactly the
   * ceiling. A number j in [0, 1]: uniform in [ceiling * (1 - j), ceiling] ("equal jitter" is 0.5).
   */
  jitter?: boolean | "full" | "none" | number;
  /** Random source in [0, 1); default Math.random. */
  random?: () => number;
  /** Stop after this many delays (default: never). */
  maxAttempts?: number;
}

function check(opts: BackoffOptions): void {
  const { base, cap, jitter } = opts;
  if (!(Number.isFinite(base) && base > 0)) {
    throw new RangeError(`backoff base must be a positive number of ms, got ${base}`);
  }
  if (!(cap >= base)) throw new RangeError(`backoff cap (${cap}) must be >= base (${base})`);
  if (typeof jitter === "number" && !(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`backoff jitter must be in [0, 1], got ${jitter}`);
  }
}

/** The delay ceiling of attempt `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, base: number, cap: number): number {
  if (attempt < 0) attempt = 0;
  // 2^attempt overflows to Infinity for huge attempts; min() keeps it at cap.
  return Math.min(cap, base * Math.pow(2, attempt));
}

/** The delay before retry number `attempt` (0-based), in milliseconds (an integer). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  check(opts);
  const ceiling = backoffCeiling(attempt, opts.base, opts.cap);
  const jitter = opts.jitter ?? true;
  const random = opts.random ?? Math.random;
  let r = random();
  if (!(r >= 0)) r = 0;
  if (r >= 1) r = 1 - Number.EPSILON;
  let d: number;
  if (jitter === true || jitter === "full") d = r * ceiling;
  else if (jitter === false || jitter === "none") d = ceiling;
  else d = ceiling * (1 - jitter) + r * ceiling * jitter;
  return Math.floor(d);
}

/**
 * An endless (or `maxAttempts` long) sequence of reconnect delays in milliseconds. Call
 * `reset()`-style by creating a new generator after a connection that lasted.
 */
export function* reconnectWithBackoff(opts: BackoffOptions): Generator<number, void, unknown> {
  check(opts);
  const max = opts.maxAttempts ?? Infinity;
  for (let attempt = 0; attempt < max; attempt++) yield backoffDelay(attempt, opts);
}
