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
 * @module
 */
import { Broker, BROKER_VERSION, type Durability } from "./src/broker/broker.ts";
import type { BrokerHook } from "./src/broker/hooks.ts";
import type { BrokerOptions } from "./src/broker/options.ts";
import type { Clock } from "./src/broker/types.ts";
import { TcpListener } from "./src/transport/tcp.ts";

export { Broker, BROKER_VERSION, BrokerStats, immediateDurability } from "./src/broker/broker.ts";
export type { BrokerDeps, Durability, PendingWill } from "./src/broker/broker.ts";
export { DEFAULT_OPTIONS, resolveOptions, SESSION_NEVER_EXPIRES } from "./src/broker/options.ts";
export type { BrokerOptions } from "./src/broker/options.ts";
export { HookList } from "./src/broker/hooks.ts";
export type {
  AuthResult,
  BrokerHook,
  ClientInfo,
  ConnectedInfo,
  DisconnectInfo,
} from "./src/broker/hooks.ts";
export { FakeClock, systemClock } from "./src/broker/types.ts";
export type { ClientLink, Clock, LinkHandler, Message } from "./src/broker/types.ts";
export type { SessionRecord, StoredSubscription } from "./src/broker/session.ts";
export { TcpListener } from "./src/transport/tcp.ts";

/** Options of `startBroker`: every `BrokerOptions` field, plus the listeners and hooks. */
export interface StartOptions extends Partial<BrokerOptions> {
  /** TCP listeners; default `[{ host: "127.0.0.1", port: 1883 }]`. Port 0 = ephemeral. */
  listeners?: Array<{ host?: string; port?: number }>;
  /** Hooks (authentication, authorization, events), called in order. */
  hooks?: BrokerHook[];
  /** Milliseconds between `broker.tick()` calls (keep alive, expiry, $SYS). Default 250. */
  tickInterval?: number;
  /** Clock (tests); default the wall clock. */
  clock?: Clock;
  /** Durability seam for acks of incoming QoS 1/2 (default: immediate, in memory). */
  durability?: Durability;
}

export interface RunningBroker {
  /** The first listener's bound port. */
  readonly port: number;
  readonly listeners: Array<{ host: string; port: number }>;
  readonly broker: Broker;
  /**
   * Stops the listeners, sends MQTT 5 clients DISCONNECT 0x8B (Server shutting down), closes
   * every socket and clears the timers.
   */
  close(): Promise<void>;
}

/** Starts a broker with TCP listeners. */
export function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const {
    listeners: listenerOptions = [{ host: "127.0.0.1", port: 1883 }],
    hooks,
    tickInterval = 250,
    clock,
    durability,
    ...brokerOptions
  } = options;
  const broker = new Broker(brokerOptions, {
    hooks,
    clock,
    durability,
    version: BROKER_VERSION,
    heapUsed: () => Deno.memoryUsage().heapUsed,
  });
  const listeners: TcpListener[] = [];
  try {
    for (const l of listenerOptions) listeners.push(new TcpListener(broker, l));
  } catch (e) {
    for (const l of listeners) void l.close();
    return Promise.reject(e);
  }
  broker.tick();
  const timer = setInterval(() => broker.tick(), tickInterval);
  let closing: Promise<void> | undefined;
  return Promise.resolve({
    port: listeners[0]?.port ?? 0,
    listeners: listeners.map((l) => ({ host: l.host, port: l.port })),
    broker,
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(timer);
        await Promise.all(listeners.map((l) => l.close()));
        broker.close();
        await Promise.all(listeners.map((l) => l.drained()));
      })();
      return closing;
    },
  });
}
