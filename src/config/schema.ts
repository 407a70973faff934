/**
 * The configuration schema: every key of the config file, its type, range, default and whether it
 * can change at run time (SIGHUP) — the one table that validation, defaults, environment variables,
 * `check-config` output and the example file test are all driven from.
 */
import {
  type AuthSettings,
  checkAclValue,
  checkAddressList,
  checkAuthHttpValue,
  checkClientIdList,
} from "../auth/settings.ts";

export type { AuthSettings };
import { defaultHttpConfig, type HttpConfig } from "./http_section.ts";
import type { BrokerOptions } from "../broker/options.ts";
import type { BridgeOptions } from "../bridge/options.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
export const LOG_FORMATS = ["auto", "text", "json"] as const;
export type LogFormat = typeof LOG_FORMATS[number];

/** Listener types the schema knows about (and implements). */
export const SUPPORTED_LISTENER_TYPES = ["tcp", "tls", "ws", "wss"] as const;
export const KNOWN_LISTENER_TYPES = ["tcp", "tls", "ws", "wss"] as const;
export type ListenerType = typeof KNOWN_LISTENER_TYPES[number];

/** Default port of each listener type (a listener without `port`). */
export const LISTENER_DEFAULT_PORTS: Record<ListenerType, number> = {
  tcp: 1883,
  tls: 8883,
  ws: 8083,
  wss: 8084,
};

export interface ListenerTlsConfig {
  /** PEM files; relative paths are relative to the working directory. */
  cert?: string;
  key?: string;
  ca?: string;
  minVersion?: "1.2" | "1.3";
  requireClientCert?: boolean;
  useIdentityAsUsername?: "cn" | "subject" | false;
}

/** One entry of `listeners:`. Keys other than type/host/port are present only when given. */
export interface ListenerConfig {
  type: ListenerType;
  host: string;
  port: number;
  name?: string;
  /** MQTT levels accepted: 3 (3.1), 4 (3.1.1), 5. */
  protocols?: Array<3 | 4 | 5>;
  /** 0 = unlimited. */
  maxConnections?: number;
  proxyProtocol?: boolean;
  tls?: ListenerTlsConfig;
  ws?: { path?: string; allowedOrigins?: string[] };
}

/**
 * Options handed to the broker (`startBroker`): every BrokerOptions field (one list, in
 * src/broker/options.ts) except those with no config key, plus the store settings.
 */
export type BrokerSettings = Omit<BrokerOptions, "responseInformation"> & {
  /** sqlite (durable, in dataDir) or memory. */
  store: "sqlite" | "memory";
  storeSynchronous: "full" | "normal" | "off";
  onCorrupt: "move-aside" | "refuse";
  storeStartupCheck: "quick" | "integrity" | "none";
  /** SQLite commits in a worker thread (true) or on the main thread. */
  storeWorker: boolean;
  /** 0 = unlimited. */
  maxStoredBytes: number;
};

export interface Config {
  listeners: ListenerConfig[];
  /** Connections at once over all listeners; 0 = unlimited. */
  maxConnections: number;
  /** Directory of the durable store (SQLite); relative paths are relative to the working dir. */
  dataDir: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Log to this file (appending) instead of stderr; null = stderr. */
  logFile: string | null;
  broker: BrokerSettings;
  /** Authentication and authorization (src/auth). */
  auth: AuthSettings;
  /** The HTTP listener: REST API, /metrics, dashboard (see http_section.ts). */
  http: HttpConfig;
  /** Bridges to upstream brokers (src/bridge/config.ts); TLS paths in `tls.caFile` etc. */
  bridges: BridgeOptions[];
}

export type ValueType =
  | { kind: "int"; min: number; max: number }
  | { kind: "bool"; nullable?: boolean }
  | { kind: "string"; nullable?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "size"; min: number; max: number }
  | { kind: "duration"; min: number; max: number }
  /** Lists and mappings (acl, auth_http, ...): validated by `check`. */
  | {
    kind: "custom";
    describe: string;
    check(value: unknown, fromString: boolean): { ok: true; value: unknown } | {
      ok: false;
      message: string;
    };
  };

export interface KeySpec {
  /** snake_case key in the file; `EDGEMQ_<KEY>` in the environment. */
  key: string;
  /** Where the value lives in Config: a top-level property or `broker.<prop>`. */
  prop: string;
  type: ValueType;
  default: unknown;
  /** Applied by SIGHUP without a restart. */
  live: boolean;
  doc: string;
}

const U16 = 65535;
const U32 = 4294967295;
/** Largest MQTT packet: 1 byte fixed header + 4 bytes remaining length + 268435455. */
export const MAX_MQTT_PACKET = 268435460;

export const KEYS: readonly KeySpec[] = [
  {
    key: "data_dir",
    prop: "dataDir",
    type: { kind: "string" },
    default: "./data",
    live: false,
    doc: "Directory of the durable store (sessions, retained and queued messages).",
  },
  {
    key: "store",
    prop: "broker.store",
    type: { kind: "enum", values: ["sqlite", "memory"] },
    default: "sqlite",
    live: false,
    doc: "sqlite (durable, edgemq.db in data_dir) or memory (nothing survives a restart).",
  },
  {
    key: "store_synchronous",
    prop: "broker.storeSynchronous",
    type: { kind: "enum", values: ["full", "normal", "off"] },
    default: "full",
    live: false,
    doc: "SQLite durability: full survives crashes and power cuts; normal survives a process " +
      "crash but a power cut may lose the last commits; off leaves it to the OS.",
  },
  {
    key: "store_on_corrupt",
    prop: "broker.onCorrupt",
    type: { kind: "enum", values: ["move-aside", "refuse"] },
    default: "move-aside",
    live: false,
    doc: "A damaged edgemq.db is moved aside (edgemq.db.corrupt-<time>) and edgemq starts " +
      "empty, or edgemq refuses to start.",
  },
  {
    key: "store_startup_check",
    prop: "broker.storeStartupCheck",
    type: { kind: "enum", values: ["quick", "integrity", "none"] },
    default: "quick",
    live: false,
    doc: "Check of edgemq.db at start-up: quick (PRAGMA quick_check), integrity or none.",
  },
  {
    key: "store_worker",
    prop: "broker.storeWorker",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "SQLite commits in a worker thread, off the event loop (more QoS 1/2 throughput with " +
      "store_synchronous: full), started at the first durable write; false commits on the main " +
      "thread, which waits for each fsync. The worker costs ~14 MB of RSS and ~50 ms once, at " +
      "that first write; an idle or QoS 0-only broker never starts it.",
  },
  {
    key: "max_stored_bytes",
    prop: "broker.maxStoredBytes",
    type: { kind: "size", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    live: false,
    doc: "Cap on bytes stored; past it new QoS 1/2 publishes are refused (0x97 / disconnect). " +
      "0 = unlimited.",
  },
  {
    key: "log_level",
    prop: "logLevel",
    type: { kind: "enum", values: LOG_LEVELS },
    default: "info",
    live: true,
    doc: "Lowest level logged: trace, debug, info, warning or error.",
  },
  {
    key: "log_format",
    prop: "logFormat",
    type: { kind: "enum", values: LOG_FORMATS },
    default: "auto",
    live: true,
    doc: "text (for people), json (one object per line), or auto: json under systemd " +
      "(JOURNAL_STREAM set and stderr not a terminal), text otherwise.",
  },
  {
    key: "log_file",
    prop: "logFile",
    type: { kind: "string", nullable: true },
    default: null,
    live: true,
    doc: "Append log lines to this file instead of stderr (null = stderr).",
  },
  {
    key: "max_connections",
    prop: "maxConnections",
    type: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    live: false,
    doc: "Connections at once over all listeners (each listener has its own max_connections " +
      "too); past it new connections are closed at accept, like Mosquitto. 0 = unlimited.",
  },
  {
    key: "max_keepalive",
    prop: "broker.maxKeepAlive",
    type: { kind: "duration", min: 1, max: U16 },
    default: U16,
    live: false,
    doc: "Largest keep-alive (seconds) a client may use; MQTT 5 clients asking for more are " +
      "told this value (Server Keep Alive).",
  },
  {
    key: "connect_timeout",
    prop: "broker.connectTimeout",
    type: { kind: "duration", min: 1, max: 86400 },
    default: 10,
    live: false,
    doc: "Seconds a new connection may take to send CONNECT before it is closed.",
  },
  {
    key: "max_inflight",
    prop: "broker.maxInflight",
    type: { kind: "int", min: 0, max: U16 },
    default: 20,
    live: false,
    doc: "Outgoing QoS 1/2 messages in flight per client, unacknowledged (the client's own " +
      "Receive Maximum also applies); 0 = no limit (65535).",
  },
  {
    key: "receive_maximum",
    prop: "broker.receiveMaximum",
    type: { kind: "int", min: 1, max: U16 },
    default: U16,
    live: false,
    doc: "Incoming QoS 1/2 messages a client may have in flight to the broker (MQTT 5 " +
      "Receive Maximum; exceeding it gets DISCONNECT 0x93). 65535 = the spec's default, " +
      "because common clients (MQTT.js) ignore a lower value.",
  },
  {
    key: "max_queued_messages",
    prop: "broker.maxQueuedMessages",
    type: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 1000,
    live: false,
    doc: "Messages queued per session beyond the in-flight window (offline or slow); past it " +
      "the oldest QoS 0 is dropped first. 0 = unlimited.",
  },
  {
    key: "max_queued_bytes",
    prop: "broker.maxQueuedBytes",
    type: { kind: "size", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    live: false,
    doc: "Payload bytes queued per session; 0 = unlimited (max_queued_messages still applies).",
  },
  {
    key: "queue_qos0",
    prop: "broker.queueQos0",
    type: { kind: "bool" },
    default: false,
    live: false,
    doc: "Queue QoS 0 messages for offline persistent sessions too.",
  },
  {
    key: "max_packet_size",
    prop: "broker.maxPacketSize",
    type: { kind: "size", min: 16, max: MAX_MQTT_PACKET },
    default: 1024 * 1024,
    live: false,
    doc: "Largest packet accepted or sent (MQTT 5 Maximum Packet Size), in bytes.",
  },
  {
    key: "max_pending_output_bytes",
    prop: "broker.maxPendingOutputBytes",
    type: { kind: "size", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 1024 * 1024,
    live: false,
    doc: "Bytes waiting to be written to one connection past which QoS 0 messages to it are " +
      "dropped (and counted) and QoS 1/2 wait in its session queue.",
  },
  {
    key: "topic_alias_maximum",
    prop: "broker.topicAliasMaximum",
    type: { kind: "int", min: 0, max: U16 },
    default: 10,
    live: false,
    doc: "Topic aliases a MQTT 5 client may use towards the broker; 0 disables them.",
  },
  {
    key: "retain_available",
    prop: "broker.retainAvailable",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "Support retained messages.",
  },
  {
    key: "maximum_qos",
    prop: "broker.maximumQoS",
    type: { kind: "int", min: 0, max: 2 },
    default: 2,
    live: false,
    doc: "Highest QoS supported (0, 1 or 2).",
  },
  {
    key: "wildcard_subscription_available",
    prop: "broker.wildcardSubscriptionAvailable",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "Allow subscriptions with + and #.",
  },
  {
    key: "subscription_identifier_available",
    prop: "broker.subscriptionIdentifierAvailable",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "Support MQTT 5 subscription identifiers.",
  },
  {
    key: "shared_subscription_available",
    prop: "broker.sharedSubscriptionAvailable",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "Support shared subscriptions ($share/group/filter).",
  },
  {
    key: "sys_interval",
    prop: "broker.sysInterval",
    type: { kind: "duration", min: 0, max: 86400 * 365 },
    default: 10,
    live: false,
    doc: "Seconds between $SYS topic updates; 0 disables $SYS.",
  },
  {
    key: "session_expiry_default",
    prop: "broker.sessionExpiryDefault",
    type: { kind: "duration", min: 0, max: U32 },
    default: 0,
    live: false,
    doc: "Seconds a MQTT 3.1/3.1.1 persistent session (clean session = false) is kept after " +
      "disconnect; 0 = never expires.",
  },
  {
    key: "max_session_expiry",
    prop: "broker.maxSessionExpiry",
    type: { kind: "duration", min: 0, max: U32 },
    default: U32,
    live: false,
    doc: "Cap on the Session Expiry Interval a client may ask for (seconds).",
  },
  {
    key: "allow_zero_length_client_id",
    prop: "broker.allowZeroLengthClientId",
    type: { kind: "bool" },
    default: true,
    live: false,
    doc: "Accept an empty client id and assign one (clean sessions only).",
  },
  {
    key: "client_id_prefix",
    prop: "broker.clientIdPrefix",
    type: { kind: "string" },
    default: "auto-",
    live: false,
    doc: "Prefix of the client ids the broker assigns.",
  },
  {
    key: "node_name",
    prop: "broker.nodeName",
    type: { kind: "string" },
    default: "edgemq",
    live: false,
    doc: "Name of this broker, shown in $SYS and logs.",
  },
  // --- Security (src/auth) ---------------------------------------------------------------------
  {
    key: "allow_anonymous",
    prop: "auth.allowAnonymous",
    type: { kind: "bool", nullable: true },
    default: null,
    live: true,
    doc: "Clients without a user name: true = allowed, false = refused, null = allowed only " +
      "when every listener is on loopback (Mosquitto 2's stance). The startup log says which.",
  },
  {
    key: "password_file",
    prop: "auth.passwordFile",
    type: { kind: "string", nullable: true },
    default: null,
    live: true,
    doc: "Mosquitto password file ($6$, $7$ and argon2id entries, as mosquitto_passwd and " +
      "`edgemq passwd` write them; SCRAM-SHA-256/512 entries for MQTT 5 SCRAM).",
  },
  {
    key: "acl_file",
    prop: "auth.aclFile",
    type: { kind: "string", nullable: true },
    default: null,
    live: true,
    doc: "Mosquitto ACL file (topic / user / pattern lines). With an ACL, what no rule allows " +
      "is denied.",
  },
  {
    key: "acl",
    prop: "auth.acl",
    type: { kind: "custom", describe: "a list of ACL rules", check: checkAclValue },
    default: Object.freeze([]),
    live: true,
    doc: "ACL rules in YAML: { topic | pattern, access: read|write|readwrite|deny, user, " +
      "client_id, address }.",
  },
  {
    key: "auth_http",
    prop: "auth.authHttp",
    type: { kind: "custom", describe: "an auth_http mapping or null", check: checkAuthHttpValue },
    default: null,
    live: true,
    doc: "HTTP authentication / authorization service: { authenticate_url, acl_url, " +
      "timeout_ms, cache_ttl_s, on_error: deny|allow|next }.",
  },
  {
    key: "allow_client_ids",
    prop: "auth.allowClientIds",
    type: { kind: "custom", describe: "a list of client ids", check: checkClientIdList },
    default: Object.freeze([]),
    live: true,
    doc: "Only these client ids (exact, or globs with * and ?) may connect; empty = any.",
  },
  {
    key: "deny_client_ids",
    prop: "auth.denyClientIds",
    type: { kind: "custom", describe: "a list of client ids", check: checkClientIdList },
    default: Object.freeze([]),
    live: true,
    doc: "These client ids (exact, or globs) are refused (CONNACK 0x87 / 5); wins over the " +
      "allow list.",
  },
  {
    key: "allow_addresses",
    prop: "auth.allowAddresses",
    type: { kind: "custom", describe: "a list of addresses", check: checkAddressList },
    default: Object.freeze([]),
    live: true,
    doc: "Only these source addresses or CIDR ranges (IPv4, IPv6) may connect; empty = any.",
  },
  {
    key: "deny_addresses",
    prop: "auth.denyAddresses",
    type: { kind: "custom", describe: "a list of addresses", check: checkAddressList },
    default: Object.freeze([]),
    live: true,
    doc: "These source addresses or CIDR ranges are refused; wins over the allow list.",
  },
  // --- Limits ------------------------------------------------------------------------------------
  {
    key: "max_topic_levels",
    prop: "broker.maxTopicLevels",
    type: { kind: "int", min: 1, max: U16 },
    default: 128,
    live: false,
    doc: "Most levels in a topic name or filter (PUBLISH: MQTT 5 0x90; SUBSCRIBE: 0x8F / 0x80).",
  },
  {
    key: "max_topic_length",
    prop: "broker.maxTopicLength",
    type: { kind: "int", min: 1, max: U16 },
    default: U16,
    live: false,
    doc: "Longest topic name or filter in bytes (same answers as max_topic_levels).",
  },
  {
    key: "max_client_id_length",
    prop: "broker.maxClientIdLength",
    type: { kind: "int", min: 1, max: U16 },
    default: U16,
    live: false,
    doc: "Longest client id in bytes; longer ones get CONNACK 0x85 (3.1.1: 0x02).",
  },
  {
    key: "max_publish_rate",
    prop: "broker.maxPublishRate",
    type: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    live: false,
    doc: "PUBLISH packets per second per connection (one second of burst); over it MQTT 5 " +
      "clients get DISCONNECT 0x96, 3.1.1 clients are disconnected. 0 = unlimited.",
  },
  {
    key: "max_publish_bytes_rate",
    prop: "broker.maxPublishBytesRate",
    type: { kind: "size", min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    live: false,
    doc: "Payload bytes per second per connection, like max_publish_rate. 0 = unlimited.",
  },
  {
    key: "slow_consumer_timeout",
    prop: "broker.slowConsumerTimeout",
    type: { kind: "duration", min: 0, max: 86400 },
    default: 60,
    live: false,
    doc: "Seconds a connection's output may stay above max_pending_output_bytes before it is " +
      "disconnected (MQTT 5: 0x97). 0 = never.",
  },
];

export const DEFAULT_LISTENER: ListenerConfig = Object.freeze({
  type: "tcp",
  host: "127.0.0.1",
  port: 1883,
}) as ListenerConfig;

/** Keys of one listener entry. */
export const LISTENER_KEYS = [
  "name",
  "type",
  "host",
  "port",
  "protocols",
  "max_connections",
  "proxy_protocol",
  "tls",
  "ws",
] as const;
export const LISTENER_TLS_KEYS = [
  "cert",
  "key",
  "ca",
  "min_version",
  "require_client_cert",
  "use_identity_as_username",
] as const;
export const LISTENER_WS_KEYS = ["path", "allowed_origins"] as const;

/** Every top-level key of the file, in the order check-config prints them. */
export const TOP_LEVEL_KEYS: readonly string[] = [
  "listeners",
  ...KEYS.map((k) => k.key),
  "http",
  "bridges",
];

/** Environment variables read besides `EDGEMQ_<KEY>` for every scalar key. */
export const ENV_PREFIX = "EDGEMQ_";
export const EXTRA_ENV = ["EDGEMQ_HOST", "EDGEMQ_PORT", "EDGEMQ_CONFIG"] as const;

export function envName(key: string): string {
  return ENV_PREFIX + key.toUpperCase();
}

export function keySpec(key: string): KeySpec | undefined {
  return KEYS.find((k) => k.key === key);
}

export function defaultConfig(): Config {
  const config = {
    listeners: [{ ...DEFAULT_LISTENER }],
    broker: {},
    auth: {},
    http: defaultHttpConfig(),
    bridges: [],
  } as unknown as Config;
  for (const spec of KEYS) setProp(config, spec.prop, spec.default);
  return config;
}

export function setProp(config: Config, prop: string, value: unknown): void {
  const parts = prop.split(".");
  // deno-lint-ignore no-explicit-any
  let target: any = config;
  for (const p of parts.slice(0, -1)) target = target[p];
  target[parts[parts.length - 1]] = value;
}

export function getProp(config: Config, prop: string): unknown {
  // deno-lint-ignore no-explicit-any
  let target: any = config;
  for (const p of prop.split(".")) target = target[p];
  return target;
}

/** Describes what a key expects, for error messages ("expected an integer from 1 to 65535"). */
export function describeType(type: ValueType): string {
  switch (type.kind) {
    case "int":
      return `an integer from ${type.min} to ${type.max}`;
    case "bool":
      return type.nullable ? "true, false or null" : "true or false";
    case "string":
      return type.nullable ? "a string or null" : "a non-empty string";
    case "enum":
      return `one of ${type.values.join(", ")}`;
    case "size":
      return `a size in bytes from ${type.min} to ${type.max} (a number, or a string like "1MB")`;
    case "duration":
      return `a whole number of seconds from ${type.min} to ${type.max}`;
    case "custom":
      return type.describe;
  }
}
