/**
 * Bounded waiting for end-to-end tests: every wait has a deadline, and failures say what was
 * being waited for.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` every 10 ms until it returns true; rejects after `timeoutMs` with an error
 * naming `what` (and the last value of `describe()`, when given, to show what was seen instead).
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 3000,
  what = "condition",
  describe?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) {
      const seen = describe ? `; saw: ${describe()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await delay(10);
  }
}

/**
 * Races `promise` against a deadline; the timer is always cleared so Deno's op sanitizer stays
 * quiet.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port that was free on 127.0.0.1 a moment ago (for child processes that need a number). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
