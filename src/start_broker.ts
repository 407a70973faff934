/**
 * `startBroker()`: a broker with its listeners, store, security hook, HTTP listener and bridges,
 * as one call (mod.ts exports it; `edgemq start` runs it).
 *
 * It lives here rather than in mod.ts so that importing it does not evaluate everything mod.ts
 * re-exports: the HTTP server (REST API, metrics, dashboard) and the bridges (with their MQTT
 * client) are imported only when `http` / `bridges` are given, which keeps a default start
 * small (start-up time and idle RSS on edge devices: `deno task bench startup`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { Broker, BROKER_VERSION, type Durability } from "./broker/broker.ts";
import type { BrokerHook } from "./broker/hooks.ts";
import { AuthHook, type FailDelayOptions } from "./auth/auth_hook.ts";
import type { AuthSettings } from "./auth/settings.ts";
import type { BrokerOptions } from "./broker/options.ts";
import { type RestoreCounts, restoreState } from "./broker/persistence.ts";
import type { Clock } from "./broker/types.ts";
import { MemoryStore } from "./store/memory_store.ts";
import { SqliteStore, type SynchronousMode } from "./store/sqlite_store.ts";
import type { Store, StoreLogger } from "./store/store.ts";
import type { HttpServer, HttpServerOptions } from "./http/server.ts";
import type { ReloadResult } from "./http/api.ts";
import type { Bridge, BridgeOptions, BridgeSet, BridgeStatus } from "./bridge/mod.ts";
import {
  type Listener,
  type ListenerOptions,
  openListeners,
  reloadTls,
  type TlsReloadResult,
} from "./transport/listener.ts";

/** The HTTP listener's options, plus what POST /api/v1/reload runs (the CLI's SIGHUP reload). */
export interface HttpStartOptions extends HttpServerOptions {
  reload?: () => Promise<ReloadResult>;
}

/** Options of `startBroker`: every `BrokerOptions` field, plus the listeners and hooks. */
export interface StartOptions extends Partial<BrokerOptions> {
  /**
   * Listeners (tcp, tls, ws, wss); default `[{ type: "tcp", host: "127.0.0.1", port: 1883 }]`.
   * Port 0 = ephemeral.
   */
  listeners?: ListenerOptions[];
  /** Connections at once over all listeners; 0 = unlimited (default). */
  maxConnections?: number;
  /** Hooks (authentication, authorization, events), called in order. */
  hooks?: BrokerHook[];
  /**
   * Authentication and authorization (password file, ACL, client rules, HTTP hook, SCRAM): an
   * `AuthHook` placed before `hooks`. Without it, every client is allowed. `failDelay` tunes the
   * delay after failed logins (tests set `{ baseMs: 0 }`).
   */
  auth?: Partial<AuthSettings> & { failDelay?: Partial<FailDelayOptions> };
  /** Milliseconds between `broker.tick()` calls (keep alive, expiry, $SYS). Default 250. */
  tickInterval?: number;
  /** Clock (tests); default the wall clock. */
  clock?: Clock;
  /** Durability seam for acks of incoming QoS 1/2 (default: immediate, in memory). */
  durability?: Durability;

  /**
   * Data directory of the durable store (`edgemq.db`, created if missing). When given, the
   * SQLite store is used (unless `store` says otherwise) and the state found there is resumed.
   * The CLI's default is `./data`; without it (library, tests) nothing is stored.
   */
  dataDir?: string;
  /**
   * Which store: `"sqlite"` (the default when `dataDir` is given; needs `dataDir`), `"memory"`
   * (same group commit, nothing survives the process: for comparisons), or a `Store` object
   * (tests: fault injection, delayed commits; it is loaded at start and flushed, not closed, by
   * `close()`). Without `dataDir` and `store`, no store is used.
   */
  store?: "memory" | "sqlite" | Store;
  /**
   * SQLite `synchronous`: `"full"` (default: every commit fsynced before its PUBACK/PUBREC;
   * survives power loss), `"normal"` (survives `kill -9`; a power loss may lose the last
   * commits), `"off"` (no fsync).
   */
  storeSynchronous?: SynchronousMode;
  /**
   * A damaged database: `"move-aside"` (default: renamed to `edgemq.db.corrupt-<time>`, logged,
   * the broker starts empty) or `"refuse"` (startBroker rejects with StoreCorruptError).
   */
  onCorrupt?: "move-aside" | "moveAside" | "refuse";
  /** Check of the database at start: `"quick"` (default), `"integrity"`, `"none"`. */
  storeStartupCheck?: "quick" | "integrity" | "none";
  /**
   * SQLite commits in a worker thread, off the event loop (default true where the worker module
   * is there); false commits on the main thread, which then waits for every fsync.
   */
  storeWorker?: boolean;
  /**
   * Cap on the bytes held in the store (messages, retained, wills). Beyond it QoS 1/2 PUBLISH
   * are refused (MQTT 5: 0x97; 3.1.1: disconnected) and messages for offline sessions dropped
   * (counted). Default: none.
   */
  maxStoredBytes?: number;
  /** Where the store logs (corruption, failed commits). Default: the `edgemq.store` logger. */
  storeLogger?: StoreLogger;
  /**
   * HTTP listener with the REST API, `/metrics` and the dashboard (default 127.0.0.1:18083).
   * None when absent.
   */
  http?: HttpStartOptions;
  /**
   * Bridges to upstream brokers (src/bridge): store-and-forward, with their queues in the store
   * (durable with `dataDir`). Started once the listeners are up; stopped by `close()`.
   */
  bridges?: BridgeOptions[];
}

export interface RunningBroker {
  /** The first listener's bound port. */
  readonly port: number;
  readonly listeners: Array<{ name: string; type: string; host: string; port: number }>;
  readonly broker: Broker;
  /**
   * Re-reads the certificate files of every tls / wss listener (the CLI calls it on SIGHUP).
   * Existing connections keep running; a listener whose new files fail keeps its old ones.
   */
  reloadTls(): Promise<TlsReloadResult[]>;
  /** The security hook made from `auth` (its `reload()` re-reads the files), if given. */
  readonly auth: AuthHook | undefined;
  /** The store in use, if any. */
  readonly store: Store | undefined;
  /** What was resumed from the store at start. */
  readonly restored: RestoreCounts;
  /** The HTTP listener (REST API, metrics, dashboard), when `http` was given. */
  readonly http: HttpServer | undefined;
  /** The bridges, in configuration order. */
  readonly bridges: readonly Bridge[];
  /** One status object per bridge (`GET /api/v1/bridges`): state, queue, counters, last error. */
  bridgeStatus(): BridgeStatus[];
  /**
   * Stops the listeners, sends MQTT 5 clients DISCONNECT 0x8B (Server shutting down), closes
   * every socket and clears the timers.
   */
  close(): Promise<void>;
}

/**
 * The store's logger on LogTape (`edgemq.store`). Failed commits (a full or failing disk fails
 * every commit) are logged at most once per 10 s, with the number since the last line.
 */
export function logtapeStoreLogger(): StoreLogger {
  const log = getLogger(["edgemq", "store"]);
  let lastCommitError = -Infinity;
  let suppressed = 0;
  return {
    error(message: string) {
      if (message.startsWith("commit of ")) {
        const now = Date.now();
        if (now - lastCommitError < 10_000) {
          suppressed++;
          return;
        }
        lastCommitError = now;
        if (suppressed > 0) {
          message += ` (${suppressed} more failed commits since the last message)`;
          suppressed = 0;
        }
      }
      log.error("{message}", { message });
    },
    warn: (message: string) => log.warn("{message}", { message }),
    info: (message: string) => log.info("{message}", { message }),
  };
}

/** No bridges configured: nothing to start, stop or report. */
const NO_BRIDGES: BridgeSet = {
  bridges: [],
  start() {},
  stop: () => Promise.resolve(),
  status: () => [],
};

/** Opens the store `options` ask for (undefined: none). Throws StoreCorruptError / StoreOpenError. */
function openStore(options: StartOptions, now: () => number): Store | undefined {
  const { dataDir, store } = options;
  if (store !== undefined && typeof store === "object") return store;
  const kind = store ?? (dataDir !== undefined ? "sqlite" : undefined);
  if (kind === undefined) return undefined;
  const logger = options.storeLogger ?? logtapeStoreLogger();
  const common = { now, logger, maxStoredBytes: options.maxStoredBytes };
  if (kind === "memory") return new MemoryStore(common);
  if (kind !== "sqlite") {
    throw new TypeError(`option store: expected "memory" or "sqlite", got "${kind}"`);
  }
  if (dataDir === undefined) throw new TypeError(`option store "sqlite" needs the option dataDir`);
  const onCorrupt = options.onCorrupt ?? "move-aside";
  if (onCorrupt !== "move-aside" && onCorrupt !== "moveAside" && onCorrupt !== "refuse") {
    throw new TypeError(`option onCorrupt: expected "move-aside" or "refuse", got "${onCorrupt}"`);
  }
  return new SqliteStore({
    ...common,
    dataDir,
    synchronous: options.storeSynchronous ?? "full",
    onCorrupt: onCorrupt === "refuse" ? "refuse" : "moveAside",
    startupCheck: options.storeStartupCheck ?? "quick",
    worker: options.storeWorker,
  });
}

/** Starts a broker with TCP listeners (resuming the stored state first, when there is a store). */
export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const {
    listeners: listenerOptions = [{ host: "127.0.0.1", port: 1883 }],
    maxConnections = 0,
    hooks,
    tickInterval = 250,
    clock,
    durability,
    dataDir: _dataDir,
    store: _store,
    storeSynchronous: _sync,
    onCorrupt: _onCorrupt,
    storeStartupCheck: _check,
    storeWorker: _worker,
    maxStoredBytes: _max,
    storeLogger: _logger,
    http: httpOptions,
    auth: authOptions,
    bridges: bridgeOptions,
    ...brokerOptions
  } = options;
  const log = getLogger(["edgemq", "broker"]);
  // Imported only when used (see the module doc); before anything is opened, so that a failed
  // import leaves nothing behind.
  const bridgeModule = bridgeOptions !== undefined && bridgeOptions.length > 0
    ? await import("./bridge/mod.ts")
    : undefined;
  const httpModule = httpOptions !== undefined ? await import("./http/server.ts") : undefined;
  const now = clock !== undefined ? () => clock.now() : Date.now;
  let store: Store | undefined;
  let broker: Broker;
  let bridgeSet: BridgeSet;
  let restored: RestoreCounts = { sessions: 0, messages: 0, retained: 0, wills: 0 };
  const ownStore = typeof options.store !== "object";
  let auth: AuthHook | undefined;
  if (authOptions !== undefined) {
    const { failDelay, ...settings } = authOptions;
    // Rejects when the password file or ACL file cannot be loaded: never start open.
    auth = await AuthHook.create(settings, {
      listenerHosts: listenerOptions.map((l) => l.host ?? "127.0.0.1"),
      failDelay,
      now,
    });
  }
  try {
    const t0 = performance.now();
    store = openStore(options, now);
    broker = new Broker(brokerOptions, {
      hooks: auth !== undefined ? [auth, ...(hooks ?? [])] : hooks,
      clock,
      durability,
      store,
      version: BROKER_VERSION,
      heapUsed: () => Deno.memoryUsage().heapUsed,
    });
    if (store !== undefined) {
      const state = store.load();
      restored = restoreState(broker, state);
      const where = store instanceof SqliteStore
        ? `${store.path} (synchronous=${options.storeSynchronous ?? "full"})`
        : "memory";
      log.info(
        "store {where}: resumed {sessions} sessions, {messages} messages, {retained} retained, " +
          "{wills} delayed wills in {ms} ms (dropped as expired: {ds} sessions, {dm} messages, " +
          "{dr} retained)",
        {
          where,
          ...restored,
          ms: Math.round(performance.now() - t0),
          ds: state.dropped.sessions,
          dm: state.dropped.messages,
          dr: state.dropped.retained,
        },
      );
    }
    // Hooks in before any client can publish; queues resumed from the store.
    bridgeSet = bridgeModule !== undefined
      ? bridgeModule.createBridges(broker, bridgeOptions ?? [])
      : NO_BRIDGES;
  } catch (e) {
    if (store !== undefined && ownStore) void store.close();
    return Promise.reject(e);
  }
  let listeners: Listener[];
  try {
    listeners = await openListeners(broker, listenerOptions, maxConnections);
  } catch (e) {
    if (store !== undefined && ownStore) void store.close();
    return Promise.reject(e);
  }
  broker.tick();
  const timer = setInterval(() => broker.tick(), tickInterval);
  bridgeSet.start();
  let closing: Promise<void> | undefined;
  let http: HttpServer | undefined;
  const running: RunningBroker = {
    port: listeners[0]?.port ?? 0,
    listeners: listeners.map((l) => ({ name: l.name, type: l.type, host: l.host, port: l.port })),
    broker,
    reloadTls: () => reloadTls(listeners),
    auth,
    store,
    restored,
    get http() {
      return http;
    },
    bridges: bridgeSet.bridges,
    bridgeStatus: () => bridgeSet.status(),
    close(): Promise<void> {
      closing ??= (async () => {
        await http?.close();
        clearInterval(timer);
        await Promise.all(listeners.map((l) => l.close()));
        await bridgeSet.stop();
        broker.close();
        await Promise.all(listeners.map((l) => l.drained()));
        // Sessions are now marked disconnected in the store: commit and close it.
        if (store !== undefined) {
          if (ownStore) await store.close();
          else await store.flush().catch(() => {});
        }
      })();
      return closing;
    },
  };
  if (httpOptions === undefined || httpModule === undefined) return Promise.resolve(running);
  const { reload, ...serverOptions } = httpOptions;
  return httpModule.startHttpServer(broker, serverOptions, {
    store,
    reload,
    bridges: () => bridgeSet.status(),
    ready: () => [
      { name: "listeners", ok: closing === undefined, detail: `${listeners.length} bound` },
      ...(store !== undefined ? [{ name: "store", ok: closing === undefined }] : []),
    ],
  }).then((server) => {
    http = server;
    return running;
  }, async (e) => {
    await running.close();
    throw e;
  });
}
