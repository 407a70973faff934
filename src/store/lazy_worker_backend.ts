/**
 * The store worker, started when it is first needed: a {@link Backend} that opens the database
 * on the main thread (start-up checks and loading are blocking anyway), and moves it to the
 * store worker (`worker_backend.ts`) at the first commit made off the event loop — the first
 * durable write (a persistent session, a queued or retained message).
 *
 * Why: the worker is a second V8 isolate, ~14 MB of RSS as a Web Worker (measured: 69 → 55 MB
 * for an idle broker), ~20 MB as the node:worker_threads Worker it is now. A broker that is
 * idle, or carries only QoS 0 traffic between clean sessions, never writes and never needs it.
 * The move costs one blocking worker start (module load and open, 55–80 ms) at that first
 * write, once per process.
 *
 * If the worker cannot start there, the database is reopened here and commits stay on the main
 * thread (as with `worker: false`), with an error in the log that says so.
 *
 * @module
 */

import type { Backend, RawState } from "./buffered_store.ts";
import type { Op } from "./encoding.ts";
import { openDatabase, SqliteBackend, type SqliteStoreOptions } from "./sqlite_backend.ts";
import type { FaultInjector, QueuedBridgeMessage, StoreLogger } from "./store.ts";
import { WorkerBackend } from "./worker_backend.ts";

export class LazyWorkerBackend implements Backend {
  readonly durable = true;
  #inline: SqliteBackend | null;
  #worker: WorkerBackend | null = null;
  /** The worker failed to start: commits stay inline. */
  #inlineForGood = false;
  /** Neither the worker nor a reopened inline database could be had: every commit fails. */
  #broken: Error | null = null;
  readonly #options: SqliteStoreOptions;
  readonly #logger: StoreLogger;

  constructor(options: SqliteStoreOptions, logger: StoreLogger) {
    this.#options = options;
    this.#logger = logger;
    this.#inline = new SqliteBackend(openDatabase(options, logger));
  }

  /** Whether commits run in the store worker now. */
  get inWorker(): boolean {
    return this.#worker !== null;
  }

  #current(): Backend {
    if (this.#broken !== null) throw this.#broken;
    return (this.#worker ?? this.#inline)!;
  }

  /** Moves the database into the worker (blocking), or keeps it here if that fails. */
  #startWorker(): void {
    const t0 = performance.now();
    this.#inline!.close(); // the database is opened with an exclusive lock
    this.#inline = null;
    try {
      // Checked at start-up already; the worker only reopens it.
      this.#worker = new WorkerBackend({ ...this.#options, startupCheck: "none" }, this.#logger);
      this.#logger.info(
        `store worker started at the first durable write (${
          (performance.now() - t0).toFixed(0)
        } ms)`,
      );
      return;
    } catch (e) {
      this.#inlineForGood = true;
      this.#logger.error(
        `the store worker did not start (${(e as Error).message}): ` +
          `committing on the main thread instead (each commit blocks the event loop)`,
      );
    }
    try {
      this.#inline = new SqliteBackend(openDatabase(this.#options, this.#logger));
    } catch (e) {
      this.#broken = new Error(`the store could not be reopened: ${(e as Error).message}`, {
        cause: e,
      });
      this.#logger.error(this.#broken.message);
    }
  }

  submit(ops: Op[], done: (freed: number, error: Error | null) => void): void {
    if (this.#worker === null && !this.#inlineForGood && this.#broken === null) {
      this.#startWorker();
    }
    if (this.#worker !== null) {
      this.#worker.submit(ops, done);
      return;
    }
    let freed = 0;
    let error: Error | null = null;
    try {
      freed = this.#current().commit(ops, undefined);
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    }
    queueMicrotask(() => done(freed, error));
  }

  commit(ops: Op[], fault: FaultInjector | undefined): number {
    return this.#current().commit(ops, fault);
  }

  workerHeapBytes(): number {
    return this.#worker?.workerHeapBytes() ?? 0;
  }

  maxSeq(): number {
    return this.#current().maxSeq();
  }

  maxBridgeSeq(): number {
    return this.#current().maxBridgeSeq();
  }

  storedBytes(): number {
    return this.#current().storedBytes();
  }

  loadRaw(): RawState {
    return this.#current().loadRaw();
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    return this.#current().loadBridgeQueue(bridge);
  }

  pragma(name: string): unknown {
    if (this.#broken !== null) throw this.#broken;
    return this.#worker !== null ? this.#worker.pragma(name) : this.#inline!.pragma(name);
  }

  close(): void {
    if (this.#worker !== null) this.#worker.close();
    else this.#inline?.close();
    this.#worker = null;
    this.#inline = null;
  }
}
