/**
 * Broker options: every limit and feature switch of the core, with defaults chosen like
 * Mosquitto 2.x or EMQX 5 (each default says which).
 *
 * Pure: no Deno API.
 *
 * @module
 */

/** Session expiry meaning "never expires" (MQTT 5 §3.1.2.11.2: 0xFFFFFFFF). */
export const SESSION_NEVER_EXPIRES = 0xFFFFFFFF;

export interface BrokerOptions {
  /**
   * Largest keep alive (seconds) a client may use. Default 65535 (Mosquitto `max_keepalive`).
   * An MQTT 5 client asking for more, or for 0 when this is below 65535, gets this value as
   * Server Keep Alive in CONNACK [MQTT-3.2.2-21] and is timed by it. MQTT 3.1/3.1.1 cannot be
   * told, so a 3.1/3.1.1 client asking for more is refused with CONNACK return code 2
   * (identifier rejected), as Mosquitto's documentation for `max_keepalive` describes (the
   * mosquitto 2.0.11 binary we compared with accepted it; refusing gives the device a clear
   * error instead of flapping at 1.5 × the cap). Keep alive 0 is accepted from them.
   */
  maxKeepAlive: number;
  /** Seconds a new connection has to send CONNECT before it is closed. Default 10 (EMQX `idle_timeout` 15 s, Mosquitto has none; 10 like many brokers). */
  connectTimeout: number;
  /**
   * Outgoing QoS 1/2 messages in flight per client (Mosquitto `max_inflight_messages`, default
   * 20). For MQTT 5 the client's Receive Maximum also applies: the window is the smaller of the
   * two, like EMQX (`max_inflight` and Receive Maximum). 0 means "no limit" (65535).
   */
  maxInflight: number;
  /**
   * Our Receive Maximum, sent in CONNACK to MQTT 5 clients: QoS 1/2 PUBLISH they may have
   * unacknowledged towards us; exceeding it gets DISCONNECT 0x93 (MQTT 5 §3.3.4). Default
   * 65535, the value the spec assumes when the property is absent. Mosquitto 2.0 advertises 20
   * but never enforces it, and MQTT.js 5 ignores the value it is sent: with 20, a burst of
   * more than 20 QoS 2 publishes from MQTT.js (all read in one chunk, before any PUBREL came
   * back) would be disconnected. Per-client state stays bounded: an id per unreleased QoS 2
   * message. Lower it to bound that state more tightly.
   */
  receiveMaximum: number;
  /** Messages queued per session beyond the in-flight window (Mosquitto `max_queued_messages`, default 1000). 0 = unlimited. */
  maxQueuedMessages: number;
  /** Payload bytes queued per session (Mosquitto `max_queued_bytes`, default 0 = unlimited). */
  maxQueuedBytes: number;
  /** Queue QoS 0 messages for offline persistent sessions (Mosquitto `queue_qos0_messages`, default false). */
  queueQos0: boolean;
  /** Largest packet accepted, and advertised as Maximum Packet Size to MQTT 5 clients. Default 1 MiB (EMQX `max_packet_size` 1 MB). */
  maxPacketSize: number;
  /** Inbound topic aliases an MQTT 5 client may use (Topic Alias Maximum in CONNACK). Default 10 (Mosquitto `max_topic_alias` 10). 0 disables. */
  topicAliasMaximum: number;
  /** Retained messages supported (Retain Available). Default true. */
  retainAvailable: boolean;
  /** Highest QoS supported (Maximum QoS); 0, 1 or 2. Default 2. */
  maximumQoS: 0 | 1 | 2;
  /** Wildcard subscriptions allowed. Default true. */
  wildcardSubscriptionAvailable: boolean;
  /** Subscription identifiers supported. Default true. */
  subscriptionIdentifierAvailable: boolean;
  /** Shared subscriptions (`$share/g/…`, `$queue/…`) supported. Default true. */
  sharedSubscriptionAvailable: boolean;
  /** Seconds between `$SYS` updates; 0 disables them. Default 10 (Mosquitto `sys_interval`). */
  sysInterval: number;
  /**
   * Session expiry (seconds) for MQTT 3.1/3.1.1 persistent sessions (clean session 0), like
   * Mosquitto `persistent_client_expiration`. Default 0 = never expire.
   */
  sessionExpiryDefault: number;
  /**
   * Largest Session Expiry Interval (seconds) an MQTT 5 client may ask for; a larger request
   * is lowered and the used value is returned in CONNACK (MQTT 5 §3.2.2.3.2). Default 0xFFFFFFFF
   * (no cap, like Mosquitto).
   */
  maxSessionExpiry: number;
  /** Accept zero-length client ids with clean start and assign one. Default true (Mosquitto `allow_zero_length_clientid`). */
  allowZeroLengthClientId: boolean;
  /** Prefix of assigned client ids. Default "auto-" (Mosquitto `auto_id_prefix`). */
  clientIdPrefix: string;
  /** Node name used in `$SYS/brokers/{node}/…` event topics. Default "edgemq". */
  nodeName: string;
  /**
   * When a connection has more than this many bytes waiting to be written, QoS 0 messages to
   * it are dropped (and counted) and QoS 1/2 wait in the session queue. Default 1 MiB.
   */
  maxPendingOutputBytes: number;
  /** Response Information returned to MQTT 5 clients that ask for it (Request Response Information 1). Default none. */
  responseInformation?: string;
  /**
   * Most levels a topic name or filter may have (PUBLISH and SUBSCRIBE). Default 128, EMQX's
   * `max_topic_levels`. Over it: PUBLISH gets MQTT 5 PUBACK/PUBREC 0x90 Topic Name invalid
   * (3.1.1: acknowledged and dropped), SUBSCRIBE 0x8F Topic Filter invalid (3.1.1: 0x80).
   */
  maxTopicLevels: number;
  /** Longest topic name or filter in UTF-8 bytes; same answers as maxTopicLevels. Default 65535 (the protocol's own limit). */
  maxTopicLength: number;
  /**
   * Longest client id in UTF-8 bytes; longer: CONNACK 0x85 Client Identifier not valid (3.1.1:
   * 0x02 Identifier rejected). Default 65535 (EMQX `max_clientid_len`; MQTT 3.1.1 servers must
   * accept 1..23, MQTT-3.1.3-5). MQTT 3.1 clients are held to 23 bytes regardless.
   */
  maxClientIdLength: number;
  /**
   * PUBLISH packets per second one connection may send (token bucket holding one second's
   * worth). Over it: MQTT 5 DISCONNECT 0x96 Message rate too high, 3.1.1 the connection is
   * closed. EMQX throttles instead (pauses reading); we disconnect, which needs nothing from
   * the transport and tells an MQTT 5 client why. 0 = unlimited (default).
   */
  maxPublishRate: number;
  /** Payload bytes per second one connection may publish; as maxPublishRate. 0 = unlimited (default). */
  maxPublishBytesRate: number;
  /**
   * Seconds a connection's output may stay backed up (more than maxPendingOutputBytes waiting
   * to be written) before it is disconnected as a slow consumer (MQTT 5 DISCONNECT 0x97 Quota
   * exceeded). While backed up it gets no QoS 0 and its QoS 1/2 wait in its bounded session
   * queue, so memory stays bounded either way. Like NATS's write deadline (NATS: 10 s); default
   * 60 s for slow edge links. 0 = never.
   */
  slowConsumerTimeout: number;
}

export const DEFAULT_OPTIONS: Readonly<BrokerOptions> = Object.freeze({
  maxKeepAlive: 65535,
  connectTimeout: 10,
  maxInflight: 20,
  receiveMaximum: 65535,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 0,
  queueQos0: false,
  maxPacketSize: 1024 * 1024,
  topicAliasMaximum: 10,
  retainAvailable: true,
  maximumQoS: 2,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifierAvailable: true,
  sharedSubscriptionAvailable: true,
  sysInterval: 10,
  sessionExpiryDefault: 0,
  maxSessionExpiry: SESSION_NEVER_EXPIRES,
  allowZeroLengthClientId: true,
  clientIdPrefix: "auto-",
  nodeName: "edgemq",
  maxPendingOutputBytes: 1024 * 1024,
  maxTopicLevels: 128,
  maxTopicLength: 65535,
  maxClientIdLength: 65535,
  maxPublishRate: 0,
  maxPublishBytesRate: 0,
  slowConsumerTimeout: 60,
});

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`option ${name}: expected an integer in ${min}..${max}, got ${v}`);
  }
}

/** Fills in defaults and checks ranges; throws RangeError naming the bad option. */
export function resolveOptions(partial: Partial<BrokerOptions> = {}): BrokerOptions {
  const o: BrokerOptions = { ...DEFAULT_OPTIONS };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  checkInt("maxKeepAlive", o.maxKeepAlive, 0, 65535);
  checkInt("connectTimeout", o.connectTimeout, 0, 86400);
  checkInt("maxInflight", o.maxInflight, 0, 65535);
  checkInt("receiveMaximum", o.receiveMaximum, 1, 65535);
  checkInt("maxQueuedMessages", o.maxQueuedMessages, 0, Number.MAX_SAFE_INTEGER);
  checkInt("maxQueuedBytes", o.maxQueuedBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInt("maxPacketSize", o.maxPacketSize, 16, 268435460);
  checkInt("topicAliasMaximum", o.topicAliasMaximum, 0, 65535);
  checkInt("maximumQoS", o.maximumQoS, 0, 2);
  checkInt("sysInterval", o.sysInterval, 0, 86400 * 365);
  checkInt("sessionExpiryDefault", o.sessionExpiryDefault, 0, SESSION_NEVER_EXPIRES);
  checkInt("maxSessionExpiry", o.maxSessionExpiry, 0, SESSION_NEVER_EXPIRES);
  checkInt("maxPendingOutputBytes", o.maxPendingOutputBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInt("maxTopicLevels", o.maxTopicLevels, 1, 65535);
  checkInt("maxTopicLength", o.maxTopicLength, 1, 65535);
  checkInt("maxClientIdLength", o.maxClientIdLength, 1, 65535);
  checkInt("maxPublishRate", o.maxPublishRate, 0, Number.MAX_SAFE_INTEGER);
  checkInt("maxPublishBytesRate", o.maxPublishBytesRate, 0, Number.MAX_SAFE_INTEGER);
  checkInt("slowConsumerTimeout", o.slowConsumerTimeout, 0, 86400);
  return o;
}
