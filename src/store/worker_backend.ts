/**
 * The main-thread side of the SQLite store worker (`sqlite_worker.ts`): a {@link Backend}
 * whose `submit` posts a batch to the worker and calls back when it is durable, so that the
 * SQLite work and the fsync never block the event loop. The synchronous part of the Backend
 * interface (open, load, loadBridgeQueue, a commit before a read, close) is a blocking call:
 * the main thread waits with `Atomics.wait` and takes the answer with `receiveMessageOnPort`
 * (protocol: `worker_protocol.ts`). Those happen at start-up and shutdown, not per message.
 *
 * @module
 */

import {
  receiveMessageOnPort,
  type Transferable,
  Worker as ThreadWorker,
} from "node:worker_threads";
import type { Backend, RawState } from "./buffered_store.ts";
import type { Op } from "./encoding.ts";
import {
  type RawColumns,
  rawFromColumns,
  type SqliteStoreOptions,
  StoreCorruptError,
  StoreOpenError,
} from "./sqlite_backend.ts";
import type { FaultInjector, QueuedBridgeMessage, StoreLogger } from "./store.ts";
import type {
  CallReply,
  CallRequest,
  CommitReply,
  InitMessage,
  OpenInfo,
  ToWorker,
  WireError,
} from "./worker_protocol.ts";
import { unpackValue } from "./worker_protocol.ts";
import { bridgeQueueFromColumns, type MessageColumns } from "./columns.ts";

/** How long the worker may take to start running (module load) before open gives up. */
const BOOT_TIMEOUT_MS = 10_000;

/**
 * V8 limits of the worker's isolate: a young generation of 3 MB (1 MB semi-spaces, V8's
 * smallest). Uncapped, V8 grows it from 1 MB towards 16 MB semi-spaces under the steady stream
 * of short-lived batch objects, and the old generation behind it: during connection churn at
 * 150/s the worker's committed heap went 10 → 68 MB with 7 MB live, and the soak's churn phase
 * failed on RSS. Capped, the same phase passes, and store throughput is unchanged (QoS 1
 * fan-in with the SQLite store, 3 runs each: 84–115k PUBACKs/s either way). The old
 * generation keeps V8's default limit: a large bridge queue is loaded through this isolate.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 };

/** The worker's module, next to this one (`deno compile` embeds it with `--include`). */
export const WORKER_URL = new URL("./sqlite_worker.ts", import.meta.url);

/** The store worker could not be started: the caller may commit inline instead. */
export class WorkerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerStartError";
  }
}

/**
 * Is the worker module there? False when it is a local file that does not exist, as in a
 * `deno bundle` of the program (one file: the worker is not in it).
 */
export function workerModuleAvailable(url: URL = WORKER_URL): boolean {
  if (url.protocol !== "file:") return true;
  try {
    Deno.statSync(url);
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

type Done = (freed: number, error: Error | null) => void;

function fromWire(e: WireError): Error {
  const error = e.name === "StoreCorruptError"
    ? new StoreCorruptError(e.message)
    : e.name === "StoreOpenError"
    ? new StoreOpenError(e.message)
    : new Error(e.message);
  if (error.name !== e.name) error.name = e.name;
  return error;
}

/** A {@link Backend} running SQLite in a worker. Opens (synchronously) in the constructor. */
export class WorkerBackend implements Backend {
  readonly durable = true;
  #worker: ThreadWorker;
  /** Commits and calls go out here; commit replies come back here. */
  #requests: MessagePort;
  /** Call replies come back here (taken synchronously with receiveMessageOnPort). */
  #port: MessagePort;
  #flag: Int32Array;
  #callId = 0;
  /** Callbacks of submitted commits, in order (the worker answers in order). */
  #waiting: Done[] = [];
  #broken: Error | null = null;
  #closed = false;
  #info: OpenInfo;
  #logger: StoreLogger;
  /** The worker isolate's committed heap, as last reported. */
  #heapBytes = 0;

  constructor(options: SqliteStoreOptions, logger: StoreLogger) {
    this.#logger = logger;
    const sab = new SharedArrayBuffer(8);
    this.#flag = new Int32Array(sab);
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const requests = new MessageChannel();
    this.#requests = requests.port1;
    const start = options.startThread ?? ((url, o) => new ThreadWorker(url, o));
    this.#worker = start(WORKER_URL, { name: "edgemq-store", resourceLimits: WORKER_LIMITS });
    // A MessagePort of our own, not the Worker's message channel: in Deno 2.9 a message through
    // node:worker_threads' Worker/parentPort costs far more (fan-in QoS 1 with the store: ~60k
    // instead of ~95k PUBACKs/s).
    this.#requests.onmessage = (e: MessageEvent<CommitReply>) => this.#onCommitReply(e.data);
    this.#worker.on("error", (e: Error) => {
      this.#fail(new Error(`the store worker failed: ${e.message}`));
    });
    this.#worker.on("exit", (code: number) => {
      if (!this.#closed) this.#fail(new Error(`the store worker exited (code ${code})`));
    });
    this.#worker.postMessage(
      { t: "init", sab, port: channel.port2, requests: requests.port2 } satisfies InitMessage,
      [channel.port2, requests.port2] as unknown as Transferable[],
    );
    try {
      this.#info = this.#call({
        op: "open",
        options: {
          dataDir: options.dataDir,
          synchronous: options.synchronous,
          onCorrupt: options.onCorrupt,
          startupCheck: options.startupCheck,
          maxPageCount: options.maxPageCount,
          now: (options.now ?? Date.now)(),
        },
      }) as OpenInfo;
    } catch (e) {
      this.#shutdown();
      throw e;
    }
    for (const [level, message] of this.#info.logs) logger[level](message);
  }

  #post(message: ToWorker): void {
    this.#requests.postMessage(message);
  }

  /** A blocking call: answered after every commit submitted before it. */
  #call(req: CallRequest): unknown {
    if (this.#broken !== null) throw this.#broken;
    if (this.#closed) throw new Error("the store worker is closed");
    const id = ++this.#callId;
    this.#post({ t: "call", id, req });
    const flag = this.#flag;
    const start = performance.now();
    while (Atomics.load(flag, 0) !== id) {
      Atomics.wait(flag, 0, id - 1, 1000);
      if (Atomics.load(flag, 1) === 0 && performance.now() - start > BOOT_TIMEOUT_MS) {
        throw new WorkerStartError(
          `the store worker (${WORKER_URL.href}) did not start within ${BOOT_TIMEOUT_MS / 1000} s`,
        );
      }
    }
    let received = receiveMessageOnPort(this.#port as never) as { message: CallReply } | undefined;
    for (let spins = 0; received === undefined && spins < 1000; spins++) {
      Atomics.wait(flag, 0, id, 1); // the answer was posted before the flag: should not happen
      received = receiveMessageOnPort(this.#port as never) as { message: CallReply } | undefined;
    }
    if (received === undefined) throw new Error(`no answer from the store worker to ${req.op}`);
    const reply = received.message;
    if (reply.id !== id) throw new Error(`store worker answered call ${reply.id}, expected ${id}`);
    if (!reply.ok) throw fromWire(reply.error);
    return unpackValue(reply.value);
  }

  #onCommitReply(reply: CommitReply): void {
    if (reply.heap !== undefined) this.#heapBytes = reply.heap;
    const done = this.#waiting.shift();
    if (done === undefined) return;
    done(reply.freed, reply.error === undefined ? null : new Error(reply.error));
  }

  /** The worker died: every waiting commit fails, and so does everything after. */
  #fail(error: Error): void {
    if (this.#broken === null) this.#logger.error(error.message);
    this.#broken = error;
    for (const done of this.#waiting.splice(0)) done(0, error);
  }

  #shutdown(): void {
    this.#closed = true;
    this.#worker.terminate();
    this.#port.close();
    this.#requests.close();
  }

  workerHeapBytes(): number {
    return this.#closed ? 0 : this.#heapBytes;
  }

  maxSeq(): number {
    return this.#info.maxSeq;
  }

  maxBridgeSeq(): number {
    return this.#info.maxBridgeSeq;
  }

  storedBytes(): number {
    return this.#info.storedBytes;
  }

  submit(ops: Op[], done: Done): void {
    if (this.#broken !== null || this.#closed) {
      const error = this.#broken ?? new Error("the store worker is closed");
      queueMicrotask(() => done(0, error));
      return;
    }
    this.#waiting.push(done);
    this.#post({ t: "commit", ops });
  }

  commit(ops: Op[], fault: FaultInjector | undefined): number {
    fault?.beforeCommit(ops.length);
    return this.#call({ op: "commit", ops }) as number;
  }

  loadRaw(): RawState {
    return rawFromColumns(this.#call({ op: "loadColumns" }) as RawColumns);
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    return bridgeQueueFromColumns(this.#call({ op: "bridgeColumns", bridge }) as MessageColumns);
  }

  pragma(name: string): unknown {
    return this.#call({ op: "pragma", name });
  }

  close(): void {
    if (this.#closed) return;
    try {
      if (this.#broken === null) this.#call({ op: "close" });
    } finally {
      this.#shutdown();
    }
  }
}
