/**
 * edgemq — an MQTT 3.1 / 3.1.1 / 5.0 broker for edge gateways. The library API: start a broker
 * in-process on one or more TCP listeners.
 *
 * ```ts
 * import { startBroker } from "./mod.ts";
 * const running = await startBroker({ listeners: [{ port: 0 }] });
 * console.log(running.port);
 * await running.close();
 * ```
 *
 * With `dataDir` the broker keeps its state (persistent sessions with their subscriptions and
 * messages, incoming QoS 2 ids, retained messages, delayed wills) in a SQLite database there and
 * resumes it at the next start; QoS 1/2 PUBLISH are acknowledged only once stored.
 *
 * ```ts
 * const running = await startBroker({ listeners: [{ port: 1883 }], dataDir: "./data" });
 * ```
 *
 * @module
 */
export { Broker, BROKER_VERSION, BrokerStats, immediateDurability } from "./src/broker/broker.ts";
export type { BrokerDeps, Durability, PendingWill } from "./src/broker/broker.ts";
export { DEFAULT_OPTIONS, resolveOptions, SESSION_NEVER_EXPIRES } from "./src/broker/options.ts";
export type { BrokerOptions } from "./src/broker/options.ts";
export { HookList } from "./src/broker/hooks.ts";
export { AuthHook } from "./src/auth/auth_hook.ts";
export type { AuthHookOptions, FailDelayOptions, ReloadReport } from "./src/auth/auth_hook.ts";
export type { AuthSettings } from "./src/auth/settings.ts";
export type {
  AuthResult,
  BrokerHook,
  ClientInfo,
  ConnectedInfo,
  DisconnectInfo,
  EnhancedAuthContext,
  EnhancedAuthExchange,
  EnhancedAuthStep,
} from "./src/broker/hooks.ts";
export { FakeClock, systemClock } from "./src/broker/types.ts";
export type { ClientLink, Clock, LinkHandler, Message } from "./src/broker/types.ts";
export type { SessionRecord, StoredSubscription } from "./src/broker/session.ts";
export { TcpListener } from "./src/transport/tcp.ts";
export { openListener, openListeners } from "./src/transport/listener.ts";
export type {
  Listener,
  ListenerOptions,
  ListenerType,
  TlsReloadResult,
} from "./src/transport/listener.ts";
export type { PeerCertificate } from "./src/transport/connection.ts";
export { restoreState } from "./src/broker/persistence.ts";
export type { RestoreCounts } from "./src/broker/persistence.ts";
export { MemoryBacking, MemoryStore } from "./src/store/memory_store.ts";
export {
  DB_FILE,
  SqliteStore,
  StoreCorruptError,
  StoreOpenError,
  type SynchronousMode,
} from "./src/store/sqlite_store.ts";
export { FailingWrites } from "./src/store/fault_injector.ts";
export type { Store, StoreLogger, StoreStats } from "./src/store/store.ts";
export { DEFAULT_HTTP_PORT, HttpConfigError } from "./src/http/server.ts";
export type { HttpServer, HttpServerOptions } from "./src/http/server.ts";
export type { ReloadResult } from "./src/http/api.ts";
export { Bridge, resolveBridgeOptions } from "./src/bridge/mod.ts";
export type {
  BridgeOptions,
  BridgeQueueOptions,
  BridgeState,
  BridgeStatus,
  BridgeTlsOptions,
  BridgeTopicOptions,
} from "./src/bridge/mod.ts";

export { logtapeStoreLogger, startBroker } from "./src/start_broker.ts";
export type { HttpStartOptions, RunningBroker, StartOptions } from "./src/start_broker.ts";
