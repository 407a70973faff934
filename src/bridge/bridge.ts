/**
 * A bridge: one link from this broker to an upstream broker (EMQX, HiveMQ, Mosquitto, AWS IoT
 * Core), store-and-forward in both directions.
 *
 * ## Outbound (local -> upstream)
 * A BrokerHook (`onMessagePublished`) sees every message the broker accepts. One that an `out`
 * rule takes (QoS >= 1, or any QoS with `queue.qos0`) is appended to the bridge's queue in the
 * store *synchronously, inside the local PUBLISH's handling* (`Persistence.bridgeEnqueue` counts
 * as a store write): the local publisher's PUBACK/PUBREC goes out only after the commit that
 * holds it (the broker's durability seam), so an acknowledged local publish is never lost. The
 * entry leaves the queue (and the store) only when the upstream acknowledged it (PUBACK, or
 * PUBCOMP for QoS 2); a connection lost before that re-sends it (DUP when it may have arrived)
 * after the reconnect, in queue order.
 *
 * The queue is forwarded in order with up to min(`maxInflight`, upstream Receive Maximum)
 * unacknowledged publishes; new messages join at the tail, behind any backlog, so per-topic
 * order holds. It is bounded by `queue.maxMessages` and `queue.maxBytes`; when full the oldest
 * entry is dropped (or, with `dropPolicy: newest`, the new one), counted and logged.
 *
 * QoS 0 without `queue.qos0` is sent at once when connected and dropped (counted) when not.
 *
 * ## Inbound (upstream -> local)
 * The bridge subscribes upstream to `remote_prefix + pattern` of every `in`/`both` rule (again
 * after every reconnect), with `manualAck`: a message is published into the local broker and
 * acknowledged upstream only once the local store committed what it caused.
 *
 * ## Loops
 * With the same topics both ways, a message must not bounce: MQTT 5 upstream subscriptions use
 * No Local (MQTT-3.8.3-3); for 3.1.1 the CONNECT carries the bridge bit (protocol level 0x84,
 * `tryPrivate`), which Mosquitto honours the same way; locally, messages the bridge injected
 * are remembered (a WeakSet of the message objects) and never forwarded back up.
 *
 * ## Connection
 * Reconnects forever with exponential backoff and full jitter (`reconnect.baseMs` ..
 * `capMs`). Failures are logged once per kind (unreachable, refused with a code, TLS, timeout,
 * ...) at warning, then every 10th repeat; the broker keeps serving local clients throughout.
 * `$SYS/broker/connection/{name}/state` is 1 while connected, 0 otherwise (retained).
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Properties, PublishPacket, QoS } from "../codec/packets.ts";
import { compactBytes } from "../codec/alloc.ts";
import { MqttClient, type PublishResult } from "../client/client.ts";
import { ConnectionLost, MqttClientError } from "../client/errors.ts";
import { backoffDelay } from "../client/backoff.ts";
import type { TlsOptions } from "../client/transport.ts";
import type { Broker } from "../broker/broker.ts";
import type { BrokerHook, ClientInfo } from "../broker/hooks.ts";
import type { Message } from "../broker/types.ts";
import type { BridgeMessage, QueuedBridgeMessage, StoredMessage } from "../store/store.ts";
import type { ResolvedBridgeOptions } from "./options.ts";
import { TopicMap } from "./topics.ts";

/** Where a bridge keeps its queue: the broker's store (through Persistence) or a memory store. */
export interface BridgeQueueStore {
  enqueue(bridge: string, message: BridgeMessage): number | null;
  remove(bridge: string, seq: number): void;
  load(bridge: string): QueuedBridgeMessage[];
  readonly durable: boolean;
}

export type BridgeState = "stopped" | "connecting" | "connected" | "disconnected";

/** What `GET /api/v1/bridges` shows for one bridge (plain data, JSON-ready). */
export interface BridgeStatus {
  name: string;
  address: string;
  protocolVersion: 4 | 5;
  clientId: string;
  state: BridgeState;
  connected: boolean;
  /** ms epoch of the current connection, or null. */
  connectedSince: number | null;
  /** Messages waiting for the upstream's acknowledgement (in flight included). */
  queued: number;
  queuedBytes: number;
  inflight: number;
  /** Whether the queue survives a restart (SQLite store). */
  durable: boolean;
  /** Messages acknowledged by (or, QoS 0, written to) the upstream. */
  forwarded: number;
  /** Messages received from the upstream and published locally. */
  received: number;
  /** Messages dropped, total and by reason. */
  dropped: number;
  droppedByReason: Record<string, number>;
  /** Connections established after the first one. */
  reconnects: number;
  /** Failed connection attempts since the last successful one. */
  failedAttempts: number;
  lastError: string | null;
  /** ms epoch of lastError, or null. */
  lastErrorAt: number | null;
}

/** A queued message: the store's message, its queue sequence number and its send state. */
interface Entry extends StoredMessage {
  seq: number;
  size: number;
  /** Acknowledged, dropped or expired: skipped, removed from the front when reached. */
  done: boolean;
  /** Connection epoch in which it was last sent (0 = not sent on the current one). */
  sentIn: number;
  /** A re-send of a PUBLISH that may have arrived [MQTT-3.3.1-1]. */
  dup: boolean;
}

/** Per-message bytes beyond topic, payload and properties (as the store counts them). */
const ENTRY_OVERHEAD = 64;

/** What a queued message counts for against `queue.max_bytes`. */
function entrySize(topic: string, payload: Uint8Array, properties?: Properties): number {
  return ENTRY_OVERHEAD + topic.length + payload.byteLength +
    (properties === undefined ? 0 : JSON.stringify(properties).length);
}
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 10_000;
/** Repeated failures of one kind are logged every Nth time. */
const LOG_EVERY = 10;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Sorts connection failures into kinds, so that the log says each one once. */
export function failureKind(e: unknown): string {
  if (e instanceof MqttClientError) {
    if (e.code === "connect_refused") return `refused:${e.reasonCode}`;
    if (e.code === "transport") {
      const text = `${e.message} ${errorText(e.cause)}`;
      if (/certificate|tls|handshake|UnknownIssuer|InvalidData|alert/i.test(text)) return "tls";
      if (/refused/i.test(text)) return "unreachable:refused";
      return "unreachable";
    }
    return e.code;
  }
  return "error";
}

const KIND_TEXT: Record<string, string> = {
  tls: "TLS failure",
  unreachable: "upstream unreachable",
  "unreachable:refused": "upstream unreachable",
  connect_timeout: "no CONNACK in time",
  tls_files: "cannot read TLS files",
};

function describeKind(kind: string): string {
  if (kind.startsWith("refused:")) return "connection refused by the upstream";
  return KIND_TEXT[kind] ?? "connection failed";
}

export class Bridge {
  readonly options: ResolvedBridgeOptions;
  readonly name: string;
  readonly hook: BrokerHook;
  readonly #broker: Broker;
  readonly #store: BridgeQueueStore;
  readonly #topics: TopicMap;
  readonly #log: Logger;
  /** Messages this bridge published locally (never forwarded back up). */
  readonly #injected = new WeakSet<Message>();
  readonly #origin: ClientInfo;

  #client: MqttClient | undefined;
  #state: BridgeState = "stopped";
  #stopped = true;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;

  /** Queue in seq order; entries before #head are gone. */
  #queue: Entry[] = [];
  #head = 0;
  /** Next index to send on the current connection. */
  #next = 0;
  #count = 0;
  #bytes = 0;
  #outstanding = 0;
  #epoch = 0;

  #forwarded = 0;
  #received = 0;
  #dropped = 0;
  #droppedByReason: Record<string, number> = {};
  #connections = 0;
  #failedAttempts = 0;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #connectedSince: number | null = null;
  #lastKind: string | undefined;
  #kindRepeats = 0;
  #lastDropLog = -Infinity;
  #dropsSinceLog = 0;

  constructor(broker: Broker, options: ResolvedBridgeOptions, store: BridgeQueueStore) {
    this.#broker = broker;
    this.options = options;
    this.name = options.name;
    this.#store = store;
    this.#topics = new TopicMap(options.topics);
    this.#log = getLogger(["edgemq", "bridge", options.name]);
    this.#origin = {
      clientId: `bridge:${options.name}`,
      protocolVersion: options.protocolVersion,
      remoteAddress: `${options.host}:${options.port}`,
      listenerName: `bridge:${options.name}`,
    };
    for (const m of store.load(this.name)) {
      this.#append(m.seq, m, entrySize(m.topic, m.payload, m.properties), m.payload);
    }
    if (this.#count > 0) {
      this.#log.info(
        "bridge {name}: {n} queued message(s) ({bytes} bytes) resumed from the store",
        {
          name: this.name,
          n: this.#count,
          bytes: this.#bytes,
        },
      );
    }
    this.hook = {
      name: `bridge:${options.name}`,
      onMessagePublished: (msg) => this.#onLocalMessage(msg),
    };
  }

  get state(): BridgeState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === "connected";
  }

  /** Starts connecting (in the background); the hook must already be registered. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#publishState(false);
    this.#running = this.#run().catch((e) => {
      this.#log.error("bridge {name} stopped on an unexpected error: {error}", {
        name: this.name,
        error: e instanceof Error ? e.stack ?? e.message : String(e),
      });
    });
  }

  /** Disconnects and stops reconnecting. The queue stays in the store. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#sleepTimer !== undefined) clearTimeout(this.#sleepTimer);
    this.#wake?.();
    await this.#client?.disconnect(0, undefined, 1000).catch(() => {});
    await this.#running;
    this.#state = "stopped";
  }

  status(): BridgeStatus {
    const o = this.options;
    return {
      name: this.name,
      address: o.address,
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      state: this.#state,
      connected: this.#state === "connected",
      connectedSince: this.#connectedSince,
      queued: this.#count,
      queuedBytes: this.#bytes,
      inflight: this.#outstanding,
      durable: this.#store.durable,
      forwarded: this.#forwarded,
      received: this.#received,
      dropped: this.#dropped,
      droppedByReason: { ...this.#droppedByReason },
      reconnects: Math.max(0, this.#connections - 1),
      failedAttempts: this.#failedAttempts,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Connection loop

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      this.#state = "connecting";
      let client: MqttClient;
      try {
        client = await this.#clientFor();
        await client.connect();
      } catch (e) {
        if (this.#stopped) break;
        this.#connectFailed(e);
        this.#state = "disconnected";
        await this.#sleep(backoffDelay(attempt++, this.#backoff()));
        continue;
      }
      if (this.#stopped) {
        await client.disconnect().catch(() => {});
        break;
      }
      const since = Date.now();
      this.#onConnected(client);
      const err = await client.closed;
      this.#onDisconnected(err);
      if (this.#stopped) break;
      if (Date.now() - since >= STABLE_MS) attempt = 0;
      await this.#sleep(backoffDelay(attempt++, this.#backoff()));
    }
    this.#state = "stopped";
  }

  #backoff() {
    return { base: this.options.reconnect.baseMs, cap: this.options.reconnect.capMs };
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(() => {
        this.#sleepTimer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }

  /** The client, made once (TLS files are read until that succeeds). */
  async #clientFor(): Promise<MqttClient> {
    if (this.#client !== undefined) return this.#client;
    const o = this.options;
    let tls: TlsOptions | undefined;
    if (o.tls !== undefined) {
      const t = o.tls;
      const read = async (pem: string | undefined, file: string | undefined, what: string) => {
        if (pem !== undefined) return pem;
        if (file === undefined) return undefined;
        try {
          return await Deno.readTextFile(file);
        } catch (e) {
          throw new MqttClientError("invalid", `cannot read tls.${what} ${file}: ${errorText(e)}`);
        }
      };
      tls = {};
      const ca = await read(t.ca, t.caFile, "ca");
      const cert = await read(t.cert, t.certFile, "cert");
      const key = await read(t.key, t.keyFile, "key");
      if (ca !== undefined) tls.ca = ca;
      if (cert !== undefined) tls.cert = cert;
      if (key !== undefined) tls.key = key;
      if (t.serverName !== undefined) tls.serverName = t.serverName;
      if (t.alpn !== undefined) tls.alpn = t.alpn;
    }
    const client = new MqttClient({
      protocol: o.protocol,
      host: o.host,
      port: o.port,
      ...(o.wsPath !== undefined ? { wsPath: o.wsPath } : {}),
      ...(tls !== undefined ? { tls } : {}),
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      clean: o.cleanStart,
      keepAlive: o.keepalive,
      ...(o.protocolVersion === 5 ? { sessionExpiryInterval: o.sessionExpiry } : {}),
      manualAck: true,
      bridgeMode: o.protocolVersion === 4 && o.tryPrivate,
      maxInflight: o.maxInflight,
      connectTimeout: o.connectTimeoutMs,
    });
    client.onMessage = (p) => this.#onUpstreamMessage(client, p);
    client.onError = (e) =>
      this.#log.error("bridge {name}: inbound message failed: {error}", {
        name: this.name,
        error: errorText(e),
      });
    this.#client = client;
    return client;
  }

  #connectFailed(e: unknown): void {
    const kind = errorText(e).startsWith("cannot read tls.") ? "tls_files" : failureKind(e);
    const message = errorText(e);
    this.#failedAttempts++;
    this.#lastError = message;
    this.#lastErrorAt = Date.now();
    const fields = {
      name: this.name,
      address: this.options.address,
      kind: describeKind(kind),
      error: message,
      n: this.#failedAttempts,
    };
    if (kind !== this.#lastKind) {
      this.#lastKind = kind;
      this.#kindRepeats = 1;
      this.#log.warn(
        "bridge {name}: {kind}: {error} (local clients are still served; retrying with backoff)",
        fields,
      );
    } else if (++this.#kindRepeats % LOG_EVERY === 0) {
      this.#log.warn("bridge {name}: still failing after {n} attempts: {kind}: {error}", fields);
    } else {
      this.#log.debug("bridge {name}: attempt {n} failed: {error}", fields);
    }
  }

  #onConnected(client: MqttClient): void {
    this.#epoch++;
    this.#connections++;
    this.#state = "connected";
    this.#connectedSince = Date.now();
    const failed = this.#failedAttempts;
    this.#failedAttempts = 0;
    this.#lastKind = undefined;
    this.#log.info(
      "bridge {name}: connected to {address} as {clientId} (MQTT {v}){after}; {n} queued",
      {
        name: this.name,
        address: this.options.address,
        clientId: client.clientId,
        v: this.options.protocolVersion === 5 ? "5.0" : "3.1.1",
        after: failed > 0 ? ` after ${failed} failed attempt(s)` : "",
        n: this.#count,
      },
    );
    this.#publishState(true);
    this.#subscribe(client);
    // Everything not yet acknowledged is (re-)sent in queue order.
    this.#outstanding = 0;
    this.#next = this.#head;
    this.#pump();
  }

  #onDisconnected(err: Error | undefined): void {
    this.#state = this.#stopped ? "stopped" : "disconnected";
    this.#connectedSince = null;
    this.#outstanding = 0;
    this.#publishState(false);
    if (this.#stopped) return;
    const message = err === undefined ? "disconnected" : errorText(err);
    this.#lastError = message;
    this.#lastErrorAt = Date.now();
    this.#log.warn("bridge {name}: connection to {address} lost: {error}; reconnecting", {
      name: this.name,
      address: this.options.address,
      error: message,
    });
  }

  #subscribe(client: MqttClient): void {
    const subs = this.#topics.subscriptions();
    if (subs.length === 0) return;
    const v5 = this.options.protocolVersion === 5;
    client.subscribe(subs.map((s) => ({
      topicFilter: s.filter,
      qos: s.qos,
      // MQTT-3.8.3-3: what we forward up is not sent back to us; retained flags kept as sent.
      ...(v5 ? { noLocal: true, retainAsPublished: true } : {}),
    }))).then((codes) => {
      codes.forEach((code, i) => {
        if (code >= 0x80) {
          this.#lastError = `upstream refused the subscription to ${subs[i].filter} ` +
            `(code 0x${code.toString(16)})`;
          this.#lastErrorAt = Date.now();
          this.#log.warn("bridge {name}: {error}", { name: this.name, error: this.#lastError });
        }
      });
    }, (e) => {
      if (!(e instanceof ConnectionLost)) {
        this.#log.warn("bridge {name}: subscribe failed: {error}", {
          name: this.name,
          error: errorText(e),
        });
      }
    });
  }

  #publishState(connected: boolean): void {
    try {
      this.#broker.publish({
        topic: `$SYS/broker/connection/${this.name}/state`,
        payload: new TextEncoder().encode(connected ? "1" : "0"),
        qos: 0,
        retain: true,
        from: "",
        receivedAt: this.#broker.clock.now(),
      });
    } catch (e) {
      this.#log.debug("bridge {name}: state not published: {error}", {
        name: this.name,
        error: errorText(e),
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Outbound

  #onLocalMessage(msg: Message): void {
    if (this.#stopped || this.#injected.has(msg)) return;
    const mapped = this.#topics.outbound(msg.topic, msg.qos);
    if (mapped === undefined) return;
    const qos = mapped.qos;
    if (msg.expiresAt !== undefined && msg.expiresAt <= this.#broker.clock.now()) return;
    if (qos === 0 && !this.options.queue.qos0) {
      const client = this.#client;
      if (client === undefined || !client.connected) {
        this.#drop("qos0_offline", `QoS 0 message to ${msg.topic} while not connected`);
        return;
      }
      client.publish(mapped.topic, msg.payload, this.#publishOptions(msg, 0, false)).then(
        () => this.#forwarded++,
        () => this.#drop("qos0_lost", `QoS 0 message to ${msg.topic}: connection lost`),
      );
      return;
    }
    const properties = msg.properties;
    const size = entrySize(mapped.topic, msg.payload, properties);
    const q = this.options.queue;
    if (size > q.maxBytes) {
      this.#drop("queue_full", `message to ${msg.topic} (${size} bytes) is above queue.max_bytes`);
      return;
    }
    while (this.#count + 1 > q.maxMessages || this.#bytes + size > q.maxBytes) {
      if (q.dropPolicy === "newest" || !this.#dropOldest()) {
        this.#drop("queue_full", `queue full (${this.#count} messages, ${this.#bytes} bytes)`);
        return;
      }
    }
    const stored: BridgeMessage = {
      topic: mapped.topic,
      payload: msg.payload,
      qos,
      retain: msg.retain,
      expiresAt: msg.expiresAt ?? null,
    };
    if (properties !== undefined) stored.properties = properties;
    let seq: number | null;
    try {
      seq = this.#store.enqueue(this.name, stored);
    } catch (e) {
      this.#drop("store_error", `cannot store the message: ${errorText(e)}`);
      return;
    }
    if (seq === null) {
      this.#drop("store_full", "the store is full (max_stored_bytes)");
      return;
    }
    this.#append(seq, stored, size, compactBytes(msg.payload));
    this.#pump();
  }

  /** Appends a stored message to the in-memory queue (`payload`: the copy the queue keeps). */
  #append(seq: number, m: StoredMessage, size: number, payload: Uint8Array): void {
    this.#queue.push({
      seq,
      topic: m.topic,
      payload,
      qos: m.qos,
      retain: m.retain,
      ...(m.properties === undefined ? {} : { properties: m.properties }),
      expiresAt: m.expiresAt,
      size,
      done: false,
      sentIn: 0,
      dup: false,
    });
    this.#count++;
    this.#bytes += size;
  }

  /** Drops the oldest live entry (policy "oldest"); false when there is none. */
  #dropOldest(): boolean {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i];
      if (e.done) continue;
      this.#finish(e);
      this.#drop("queue_full", `queue full: dropped the oldest message (to ${e.topic})`);
      return true;
    }
    return false;
  }

  #drop(reason: string, why: string): void {
    this.#dropped++;
    this.#droppedByReason[reason] = (this.#droppedByReason[reason] ?? 0) + 1;
    this.#dropsSinceLog++;
    const now = Date.now();
    if (now - this.#lastDropLog >= 10_000) {
      this.#log.warn("bridge {name}: dropped {n} message(s) since the last report; latest: {why}", {
        name: this.name,
        n: this.#dropsSinceLog,
        why,
      });
      this.#lastDropLog = now;
      this.#dropsSinceLog = 0;
    } else {
      this.#log.debug("bridge {name}: dropped a message: {why}", { name: this.name, why });
    }
  }

  #publishOptions(
    m: { retain: boolean; properties?: Properties; expiresAt?: number | null },
    qos: QoS,
    dup: boolean,
  ) {
    const client = this.#client!;
    const o: { qos: QoS; retain: boolean; dup: boolean; properties?: Properties } = {
      qos: (qos > client.server.maximumQoS ? client.server.maximumQoS : qos) as QoS,
      retain: m.retain && client.server.retainAvailable,
      dup,
    };
    if (this.options.protocolVersion === 5) {
      let props = m.properties;
      if (m.expiresAt !== undefined && m.expiresAt !== null) {
        // MQTT-3.3.2-6: forward the remaining lifetime.
        const left = Math.max(1, Math.ceil((m.expiresAt - this.#broker.clock.now()) / 1000));
        props = { ...props, messageExpiryInterval: left };
      }
      if (props !== undefined) o.properties = props;
    }
    return o;
  }

  /** Sends queued entries while the window has room, in queue order. */
  #pump(): void {
    const client = this.#client;
    if (client === undefined || this.#state !== "connected" || !client.connected) return;
    const window = Math.max(1, Math.min(this.options.maxInflight, client.server.receiveMaximum));
    const q = this.#queue;
    const epoch = this.#epoch;
    while (this.#outstanding < window && this.#next < q.length) {
      const e = q[this.#next++];
      if (e.done) continue;
      if (e.expiresAt !== null && e.expiresAt <= this.#broker.clock.now()) {
        this.#finish(e);
        this.#drop("expired", `message to ${e.topic} expired in the queue`);
        continue;
      }
      e.sentIn = epoch;
      this.#outstanding++;
      const p = client.publish(e.topic, e.payload, this.#publishOptions(e, e.qos, e.dup));
      p.then(
        (r) => this.#onAck(e, epoch, r),
        (err) => this.#onPublishError(e, epoch, err),
      );
    }
    this.#compact();
  }

  #onAck(e: Entry, epoch: number, r: PublishResult): void {
    if (epoch === this.#epoch) this.#outstanding--;
    if (e.done) {
      this.#pump();
      return;
    }
    if (r.reasonCode >= 0x80) {
      // MQTT 5: the upstream refused it (not authorized, quota, topic invalid): not retried.
      this.#finish(e);
      this.#drop(
        "rejected",
        `upstream refused the message to ${e.topic} (reason code 0x${r.reasonCode.toString(16)})`,
      );
    } else {
      this.#forwarded++;
      this.#finish(e);
    }
    this.#pump();
  }

  #onPublishError(e: Entry, epoch: number, err: unknown): void {
    if (err instanceof ConnectionLost) {
      // Stays queued; re-sent after the reconnect (DUP when it may have arrived).
      if (err.mayHaveBeenDelivered) e.dup = true;
      if (epoch === this.#epoch) this.#outstanding = Math.max(0, this.#outstanding - 1);
      return;
    }
    if (epoch === this.#epoch) this.#outstanding--;
    if (err instanceof MqttClientError && err.code === "not_connected") return;
    if (!e.done) {
      // Cannot ever be sent (too large for the upstream, invalid topic): dropped, not retried.
      this.#finish(e);
      this.#drop("unsendable", errorText(err));
    }
    this.#pump();
  }

  /** The entry leaves the queue and the store. */
  #finish(e: Entry): void {
    if (e.done) return;
    e.done = true;
    this.#count--;
    this.#bytes -= e.size;
    try {
      this.#store.remove(this.name, e.seq);
    } catch (err) {
      this.#log.debug("bridge {name}: queue entry not removed: {error}", {
        name: this.name,
        error: errorText(err),
      });
    }
    e.payload = EMPTY;
  }

  #compact(): void {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head].done) this.#head++;
    if (this.#head === q.length) {
      this.#queue = [];
      this.#next -= this.#head;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#next -= this.#head;
      this.#head = 0;
    }
    if (this.#next < this.#head) this.#next = this.#head;
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  #onUpstreamMessage(client: MqttClient, p: PublishPacket): void {
    if (this.#stopped) return;
    const mapped = this.#topics.inbound(p.topic, p.qos);
    if (mapped === undefined) {
      // Not for us (an overlapping subscription of an earlier session): acknowledged, ignored.
      if (p.qos > 0) client.ack(p);
      return;
    }
    const now = this.#broker.clock.now();
    const msg: Message = {
      topic: mapped.topic,
      payload: compactBytes(p.payload),
      qos: p.qos,
      retain: p.retain,
      from: this.#origin.clientId,
      receivedAt: now,
    };
    if (p.properties !== undefined) {
      const {
        topicAlias: _a,
        subscriptionIdentifiers: _s,
        messageExpiryInterval,
        ...rest
      } = p.properties;
      if (messageExpiryInterval !== undefined) msg.expiresAt = now + messageExpiryInterval * 1000;
      for (const _ in rest) {
        msg.properties = rest;
        break;
      }
    }
    this.#injected.add(msg);
    this.#received++;
    this.#broker.publish(msg, this.#origin);
    if (p.qos === 0) return;
    // Acknowledged upstream only once what the local publish wrote is durable.
    this.#broker.afterDurable((error) => {
      if (error !== null) {
        this.#lastError = `local store failed, message from ${p.topic} not acknowledged: ` +
          error.message;
        this.#lastErrorAt = Date.now();
        this.#log.error("bridge {name}: {error}", { name: this.name, error: this.#lastError });
        return;
      }
      client.ack(p);
    });
  }
}

const EMPTY = new Uint8Array(0);
