/**
 * A {@link FaultInjector} for tests: makes commits fail on demand, as a full or failing disk
 * would. Pass it as `faultInjector` to either store.
 *
 * @module
 */

import type { FaultInjector } from "./store.ts";

export class FailingWrites implements FaultInjector {
  #remaining = 0;
  #message = "injected write failure";
  /** Commits that failed because of this injector. */
  failures = 0;

  /** Fails the next `count` commits (Infinity: until {@link heal}). */
  failNext(count = 1, message = "injected write failure (disk full)"): void {
    this.#remaining = count;
    this.#message = message;
  }

  /** Lets commits succeed again. */
  heal(): void {
    this.#remaining = 0;
  }

  beforeCommit(_batchSize: number): void {
    if (this.#remaining <= 0) return;
    this.#remaining--;
    this.failures++;
    throw new Error(this.#message);
  }
}
