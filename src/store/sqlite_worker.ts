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
  OpenInfo,
  ToWorker,
  WireError,
} from "./worker_protocol.ts";
import { packValue } from "./worker_protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let backend: SqliteBackend | undefined;
let port: MessagePort | undefined;
let flag: Int32Array | undefined;

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

scope.onmessage = (e) => {
  const m = e.data;
  switch (m.t) {
    case "init":
      port = m.port;
      flag = new Int32Array(m.sab);
      Atomics.store(flag, 1, 1);
      Atomics.notify(flag, 1);
      return;
    case "commit": {
      let reply: CommitReply;
      try {
        reply = { freed: opened().commit(m.ops, undefined) };
      } catch (e) {
        reply = { freed: 0, error: e instanceof Error ? e.message : String(e) };
      }
      scope.postMessage(reply);
      return;
    }
    case "call": {
      let reply: CallReply;
      try {
        reply = { id: m.id, ok: true, value: packValue(handle(m.req)) };
      } catch (e) {
        reply = { id: m.id, ok: false, error: wireError(e) };
      }
      port!.postMessage(reply);
      Atomics.store(flag!, 0, m.id);
      Atomics.notify(flag!, 0);
      return;
    }
  }
};
