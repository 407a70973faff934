/**
 * Messages between the main thread ({@link WorkerBackend}, `worker_backend.ts`) and the SQLite
 * store worker (`sqlite_worker.ts`). All plain data (structured clone).
 *
 * - Commits: `commit` messages, answered in order with a {@link CommitReply} (`postMessage`).
 * - Synchronous calls (open, load, loadBridgeQueue, pragma, close, a commit before a read):
 *   a `call` message; the worker posts the {@link CallReply} on a dedicated MessagePort, then
 *   stores the call id in `flag[0]` and notifies; the main thread blocks in `Atomics.wait` and
 *   takes the reply with `receiveMessageOnPort`. Calls travel with the commits, so a call is
 *   answered after every commit submitted before it. The value of a reply crosses as one string
 *   ({@link packValue}): Deno's `receiveMessageOnPort` clones binary data at ~0.1 µs per byte
 *   (6.4 MB of payloads: 700 ms), a string at memory speed.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type { Op } from "./encoding.ts";
import type { SynchronousMode } from "./sqlite_backend.ts";

/** What the worker needs of SqliteStoreOptions (no functions: they do not cross threads). */
export interface WorkerOpenOptions {
  dataDir: string;
  synchronous?: SynchronousMode;
  onCorrupt?: "moveAside" | "refuse";
  startupCheck?: "quick" | "integrity" | "none";
  maxPageCount?: number;
  /** The clock at open (names a moved-aside damaged file). */
  now: number;
}

export type CallRequest =
  | { op: "open"; options: WorkerOpenOptions }
  | { op: "commit"; ops: Op[] }
  | { op: "loadColumns" }
  | { op: "bridgeColumns"; bridge: string }
  | { op: "pragma"; name: string }
  | { op: "close" };

/**
 * The Worker's first and only message. `sab`: Int32 [0] = id of the last answered call, [1] = 1
 * once the worker runs. `port`: call replies go there. `requests`: every later {@link ToWorker}
 * comes from there, and commit replies go back there.
 */
export interface InitMessage {
  t: "init";
  sab: SharedArrayBuffer;
  port: MessagePort;
  requests: MessagePort;
}

export type ToWorker =
  | { t: "commit"; ops: Op[] }
  | { t: "call"; id: number; req: CallRequest };

/**
 * Answer to a `commit` message: bytes freed, or the error message; `heap`: the worker isolate's
 * committed V8 heap in bytes, in at most one reply a second.
 */
export type CommitReply =
  & ({ freed: number; error?: undefined } | { freed: 0; error: string })
  & { heap?: number };

/** An error as it crosses threads. */
export interface WireError {
  name: string;
  message: string;
}

export type CallReply =
  /** `value`: {@link packValue} of the result. */
  | { id: number; ok: true; value: string }
  | { id: number; ok: false; error: WireError };

/** Result of `open`. */
export interface OpenInfo {
  maxSeq: number;
  maxBridgeSeq: number;
  storedBytes: number;
  /** What openDatabase logged (e.g. a damaged file moved aside), for the main logger. */
  logs: ["error" | "warn" | "info", string][];
}

interface Base64Bytes {
  toBase64(): string;
}
interface Base64Ctor {
  fromBase64(s: string): Uint8Array;
}

/** A structured-cloneable value as one string (V8 serialization, base64). */
export function packValue(value: unknown): string {
  return (serialize(value) as unknown as Base64Bytes).toBase64();
}

/** Inverse of {@link packValue}. */
export function unpackValue(text: string): unknown {
  return deserialize((Uint8Array as unknown as Base64Ctor).fromBase64(text));
}
