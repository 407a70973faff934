/**
 * Bridge options (library form, camelCase) and their defaults. The config file's `bridges:`
 * section (snake_case, src/bridge/config.ts) is validated into this form.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { QoS } from "../codec/packets.ts";
// From transport.ts, not client.ts: the config reader imports this module, and the client
// (46 KB with the codec) has no place in a start without bridges.
import { DEFAULT_PORTS, SCHEMES, type TransportProtocol } from "../client/transport.ts";
import type { BridgeDirection, BridgeTopicRule } from "./topics.ts";

export interface BridgeTopicOptions {
  /** Topic filter matched against the un-prefixed topic ("" with a prefix: the prefix itself). */
  pattern: string;
  /** Default "out". */
  direction?: BridgeDirection;
  /** Default 1 (Mosquitto's default is 0; a store-and-forward bridge wants 1). */
  qos?: QoS;
  localPrefix?: string;
  remotePrefix?: string;
}

export interface BridgeTlsOptions {
  /** PEM text, or a file (`caFile`) read at each start of the bridge. */
  ca?: string;
  caFile?: string;
  cert?: string;
  certFile?: string;
  key?: string;
  keyFile?: string;
  /** SNI and the name the certificate must carry (default: the address's host). */
  serverName?: string;
  /** ALPN protocols, e.g. ["x-amzn-mqtt-ca"] for AWS IoT Core on port 443. */
  alpn?: string[];
}

export interface BridgeQueueOptions {
  /** Messages held at most (default 100000). */
  maxMessages?: number;
  /** Bytes held at most (topic + payload + properties + 64 per message; default 64 MB). */
  maxBytes?: number;
  /** Queue QoS 0 messages too (default false: QoS 0 is sent when connected, dropped when not). */
  qos0?: boolean;
  /** When full: drop the oldest queued message (default) or refuse the newest. */
  dropPolicy?: "oldest" | "newest";
}

export interface BridgeOptions {
  /** Unique name: logs, `$SYS/broker/connection/{name}/state`, the queue's key in the store. */
  name: string;
  /** `mqtt://host:port`, `mqtts://…`, `ws://host:port/path`, `wss://…`, or `host:port`. */
  address: string;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  protocolVersion?: 4 | 5;
  /** Default `edgemq-bridge-{name}`. */
  clientId?: string;
  username?: string;
  password?: string;
  /** TLS (implied by mqtts:// and wss://; a host:port address with `tls` uses TLS). */
  tls?: BridgeTlsOptions;
  /** Seconds, default 60. */
  keepalive?: number;
  /** Default false: a persistent upstream session keeps inbound messages while the link is down. */
  cleanStart?: boolean;
  /** MQTT 5 Session Expiry Interval, seconds (default 3600 when cleanStart is false, else 0). */
  sessionExpiry?: number;
  /**
   * MQTT 3.1.1: mark the connection as a bridge (protocol level 0x84, Mosquitto's
   * `try_private`), so that the upstream does not echo our messages back. Default true; turn it
   * off for brokers that refuse it (AWS IoT Core).
   */
  tryPrivate?: boolean;
  topics: BridgeTopicOptions[];
  queue?: BridgeQueueOptions;
  /** Reconnect delay: exponential from baseMs to capMs, with full jitter (default 500, 30000). */
  reconnect?: { baseMs?: number; capMs?: number };
  /** Unacknowledged QoS 1/2 publishes upstream at most (also capped by its Receive Maximum). */
  maxInflight?: number;
  /** Milliseconds for the transport and the CONNACK (default 10000). */
  connectTimeoutMs?: number;
}

/** Options with every default applied. */
export interface ResolvedBridgeOptions {
  name: string;
  address: string;
  protocol: TransportProtocol;
  host: string;
  port: number;
  wsPath?: string;
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  tls?: BridgeTlsOptions;
  keepalive: number;
  cleanStart: boolean;
  sessionExpiry: number;
  tryPrivate: boolean;
  topics: BridgeTopicRule[];
  queue: Required<BridgeQueueOptions>;
  reconnect: { baseMs: number; capMs: number };
  maxInflight: number;
  connectTimeoutMs: number;
}

export const BRIDGE_DEFAULTS = {
  protocolVersion: 4,
  keepalive: 60,
  cleanStart: false,
  sessionExpiry: 3600,
  tryPrivate: true,
  qos: 1,
  queue: { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024, qos0: false, dropPolicy: "oldest" },
  reconnect: { baseMs: 500, capMs: 30_000 },
  maxInflight: 1000,
  connectTimeoutMs: 10_000,
} as const;

/** Parses an address; a string explaining what is wrong when it cannot be used. */
export function parseAddress(
  address: string,
  tls: boolean,
): { protocol: TransportProtocol; host: string; port: number; wsPath?: string } | string {
  const expected = 'expected "mqtt://host:port", "mqtts://…", "ws://host:port/path", ' +
    '"wss://…" or "host:port"';
  if (typeof address !== "string" || address === "") return expected;
  let url: URL;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address);
  try {
    url = new URL(hasScheme ? address : `${tls ? "mqtts" : "mqtt"}://${address}`);
  } catch {
    return `${expected}, got ${JSON.stringify(address)}`;
  }
  const scheme = SCHEMES[url.protocol.replace(/:$/, "")];
  if (scheme === undefined) {
    return `unsupported scheme ${JSON.stringify(url.protocol)}: ${expected}`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return `${expected}, got ${JSON.stringify(address)} (no host)`;
  const port = url.port === "" ? DEFAULT_PORTS[scheme] : Number(url.port);
  const out: { protocol: TransportProtocol; host: string; port: number; wsPath?: string } = {
    protocol: scheme,
    host,
    port,
  };
  if ((scheme === "ws" || scheme === "wss") && url.pathname !== "" && url.pathname !== "/") {
    out.wsPath = url.pathname + url.search;
  }
  return out;
}

/** Names may be used in `$SYS/broker/connection/{name}/state`: one topic level, no wildcards. */
export function bridgeNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") {
    return "expected a non-empty name (letters, digits, '-', '_', '.')";
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    return `expected 1 to 64 letters, digits, '-', '_' or '.', got ${JSON.stringify(name)}`;
  }
  return undefined;
}

function fail(name: string, key: string, message: string): never {
  throw new TypeError(`bridge ${name}: ${key}: ${message}`);
}

/** Applies defaults and checks what the library API gets; throws TypeError naming the key. */
export function resolveBridgeOptions(o: BridgeOptions): ResolvedBridgeOptions {
  const nameProblem = bridgeNameProblem(o.name);
  if (nameProblem !== undefined) throw new TypeError(`bridge name: ${nameProblem}`);
  const name = o.name;
  const addr = parseAddress(o.address, o.tls !== undefined);
  if (typeof addr === "string") fail(name, "address", addr);
  const v = o.protocolVersion ?? BRIDGE_DEFAULTS.protocolVersion;
  if (v !== 4 && v !== 5) fail(name, "protocolVersion", `expected 4 or 5, got ${v}`);
  if (!Array.isArray(o.topics) || o.topics.length === 0) {
    fail(name, "topics", "expected at least one topic rule ({ pattern, direction, qos })");
  }
  const topics: BridgeTopicRule[] = o.topics.map((t, i) => {
    const localPrefix = t.localPrefix ?? "";
    const remotePrefix = t.remotePrefix ?? "";
    if (typeof t.pattern !== "string") fail(name, `topics[${i}].pattern`, "expected a string");
    if (t.pattern === "" && localPrefix === "" && remotePrefix === "") {
      fail(name, `topics[${i}].pattern`, "an empty pattern needs a local or remote prefix");
    }
    const direction = t.direction ?? "out";
    if (!["out", "in", "both"].includes(direction)) {
      fail(name, `topics[${i}].direction`, `expected out, in or both, got ${direction}`);
    }
    const qos = t.qos ?? BRIDGE_DEFAULTS.qos;
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      fail(name, `topics[${i}].qos`, `expected 0, 1 or 2, got ${qos}`);
    }
    return { pattern: t.pattern, direction, qos, localPrefix, remotePrefix };
  });
  const cleanStart = o.cleanStart ?? BRIDGE_DEFAULTS.cleanStart;
  const q = o.queue ?? {};
  const r = o.reconnect ?? {};
  const baseMs = r.baseMs ?? BRIDGE_DEFAULTS.reconnect.baseMs;
  const capMs = r.capMs ?? Math.max(baseMs, BRIDGE_DEFAULTS.reconnect.capMs);
  if (!(baseMs > 0)) fail(name, "reconnect.baseMs", `expected a positive number, got ${baseMs}`);
  if (!(capMs >= baseMs)) fail(name, "reconnect.capMs", `must be >= baseMs (${baseMs})`);
  const out: ResolvedBridgeOptions = {
    name,
    address: o.address,
    ...addr,
    protocolVersion: v,
    clientId: o.clientId ?? `edgemq-bridge-${name}`,
    keepalive: o.keepalive ?? BRIDGE_DEFAULTS.keepalive,
    cleanStart,
    sessionExpiry: o.sessionExpiry ?? (cleanStart ? 0 : BRIDGE_DEFAULTS.sessionExpiry),
    tryPrivate: o.tryPrivate ?? BRIDGE_DEFAULTS.tryPrivate,
    topics,
    queue: {
      maxMessages: q.maxMessages ?? BRIDGE_DEFAULTS.queue.maxMessages,
      maxBytes: q.maxBytes ?? BRIDGE_DEFAULTS.queue.maxBytes,
      qos0: q.qos0 ?? BRIDGE_DEFAULTS.queue.qos0,
      dropPolicy: q.dropPolicy ?? BRIDGE_DEFAULTS.queue.dropPolicy,
    },
    reconnect: { baseMs, capMs },
    maxInflight: o.maxInflight ?? BRIDGE_DEFAULTS.maxInflight,
    connectTimeoutMs: o.connectTimeoutMs ?? BRIDGE_DEFAULTS.connectTimeoutMs,
  };
  if (o.username !== undefined) out.username = o.username;
  if (o.password !== undefined) out.password = o.password;
  if (o.tls !== undefined) out.tls = o.tls;
  return out;
}

/** Resolves a list; names must be unique. */
export function resolveBridges(list: readonly BridgeOptions[]): ResolvedBridgeOptions[] {
  const seen = new Set<string>();
  return list.map((o) => {
    const r = resolveBridgeOptions(o);
    if (seen.has(r.name)) throw new TypeError(`bridge name ${r.name} is used twice`);
    seen.add(r.name);
    return r;
  });
}
