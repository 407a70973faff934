/**
 * The SQLite store worker: owns the database connection of a {@link SqliteStore} running with
 * `worker: true` (the default), so that commits — SQLite work and the fsync of
 * `synchronous=full` — happen off the broker's event loop. Protocol: `worker_protocol.ts`.
 *
 * Started by `worker_backend.ts` with
 * `new Worker(new URL("./sqlite_worker.ts", import.meta.url), { type: "module" })`;
 * `deno compile` embeds it through `--include` (scripts/compile.ts).
 *
 * @module
 */

import { openDatabase, SqliteBackend } from "./sqlite_backend.ts";
import type {
  CallReply,
  CallRequest,
  CommitReply,
  InitMessage,
  OpenInfo,
  ToWorker,
  WireError,
} from "./worker_protocol.ts";
import { packValue } from "./worker_protocol.ts";
import { getHeapStatistics } from "node:v8";
import { parentPort } from "node:worker_threads";

/** How often a commit reply carries this isolate's heap size (StoreStats.workerHeapBytes). */
const HEAP_REPORT_MS = 1000;
let nextHeapReport = 0;
let backend: SqliteBackend | undefined;

function wireError(e: unknown): WireError {
  return e instanceof Error
    ? { name: e.name, message: e.message }
    : { name: "Error", message: String(e) };
}

function opened(): SqliteBackend {
  if (backend === undefined) throw new Error("the store worker has no open database");
  return backend;
}

function handle(req: CallRequest): unknown {
  switch (req.op) {
    case "open": {
      const logs: OpenInfo["logs"] = [];
      const at = req.options.now;
      const db = openDatabase({ ...req.options, now: () => at }, {
        error: (m) => logs.push(["error", m]),
        warn: (m) => logs.push(["warn", m]),
        info: (m) => logs.push(["info", m]),
      });
      backend = new SqliteBackend(db);
      const info: OpenInfo = {
        maxSeq: backend.maxSeq(),
        maxBridgeSeq: backend.maxBridgeSeq(),
        storedBytes: backend.storedBytes(),
        logs,
      };
      return info;
    }
    case "commit":
      return opened().commit(req.ops, undefined);
    case "loadColumns":
      return opened().loadColumns();
    case "bridgeColumns":
      return opened().bridgeColumns(req.bridge);
    case "pragma":
      return opened().pragma(req.name);
    case "close":
      backend?.close();
      backend = undefined;
      return null;
  }
}

function onRequest(m: ToWorker, requests: MessagePort, port: MessagePort, flag: Int32Array): void {
  switch (m.t) {
    case "commit": {
      let reply: CommitReply;
      try {
        reply = { freed: opened().commit(m.ops, undefined) };
      } catch (e) {
        reply = { freed: 0, error: e instanceof Error ? e.message : String(e) };
      }
      const now = performance.now();
      if (now >= nextHeapReport) {
        nextHeapReport = now + HEAP_REPORT_MS;
        reply.heap = getHeapStatistics().total_heap_size;
      }
      requests.postMessage(reply);
      return;
    }
    case "call": {
      let reply: CallReply;
      try {
        reply = { id: m.id, ok: true, value: packValue(handle(m.req)) };
      } catch (e) {
        reply = { id: m.id, ok: false, error: wireError(e) };
      }
      port.postMessage(reply);
      Atomics.store(flag, 0, m.id);
      Atomics.notify(flag, 0);
      return;
    }
  }
}

parentPort!.once("message", (init: InitMessage) => {
  const flag = new Int32Array(init.sab);
  const { port, requests } = init;
  requests.onmessage = (e: MessageEvent<ToWorker>) => onRequest(e.data, requests, port, flag);
  Atomics.store(flag, 1, 1);
  Atomics.notify(flag, 1);
});
