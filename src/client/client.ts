/**
 * MqttClient: a small MQTT 3.1 / 3.1.1 / 5.0 client on edgemq's own codec, for the bridge,
 * tests and benchmarks.
 *
 * - `connect()` resolves with the CONNACK, or throws `MqttClientError` ("connect_refused" with
 *   the return/reason code, "connect_timeout", "transport").
 * - `publish()` resolves when written (QoS 0), on PUBACK (QoS 1) or on PUBCOMP (QoS 2), with the
 *   reason code. At most the server's Receive Maximum QoS 1/2 publishes are unacknowledged
 *   [MQTT-3.3.4-7]; the rest wait in a FIFO and are sent in call order.
 * - Inbound QoS 1/2 are acknowledged after `onMessage` returns, or — with `manualAck` — only
 *   when `ack(packet)` is called (the bridge acks once the message is stored durably).
 * - Reconnecting is the caller's job: `closed` / `onClose` report the end of a connection, and
 *   every pending operation rejects with `ConnectionLost`, which says whether the server may
 *   have received the message. `connect()` may be called again on the same object (same client
 *   id, inbound QoS 2 state kept, for persistent sessions).
 *
 * @module
 */
import {
  type AckPacket,
  type ByteWriter,
  type ConnackPacket,
  type ConnectPacket,
  type DisconnectPacket,
  encodePacket,
  MqttCodecError,
  type Packet,
  PacketReader,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type Subscription,
  topicFilterProblem,
  topicNameProblem,
  type Will,
} from "../codec/mod.ts";
import {
  ConnectionLost,
  describeConnackCode,
  describeReasonCode,
  MqttClientError,
  type PublishStage,
} from "./errors.ts";
import {
  BatchedWriter,
  DEFAULT_PORTS,
  openTransport,
  SCHEMES,
  type TlsOptions,
  type Transport,
  type TransportProtocol,
} from "./transport.ts";

export { DEFAULT_PORTS, SCHEMES };

export interface WillOptions {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 will properties (Will Delay Interval, Message Expiry Interval, ...). */
  properties?: Properties;
}

export interface MqttClientOptions {
  /** `mqtt://host:port`, `mqtts://`, `ws://host:port/path`, `wss://` (also `tcp:`, `tls:`, `ssl:`). */
  url?: string;
  host?: string;
  port?: number;
  protocol?: TransportProtocol;
  /** 3 = MQTT 3.1, 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  protocolVersion?: ProtocolVersion;
  /**
   * Default: "" (the server assigns one) for 5.0 and for 3.1.1 with clean session; a random
   * "edgemq-…" id otherwise (3.1 needs 1..23 characters, 3.1.1 needs one for a persistent
   * session [MQTT-3.1.3-8]).
   */
  clientId?: string;
  username?: string;
  password?: string | Uint8Array;
  /** Clean Session (3.1.1) / Clean Start (5.0); default true. */
  clean?: boolean;
  /** Seconds; 0 disables PINGREQ. Default 60. The server's Server Keep Alive overrides it. */
  keepAlive?: number;
  /** MQTT 5 Session Expiry Interval (seconds) sent in CONNECT. */
  sessionExpiryInterval?: number;
  will?: WillOptions;
  tls?: TlsOptions;
  /** WebSocket path, default "/mqtt". */
  wsPath?: string;
  /** Milliseconds for the transport and the CONNACK together; default 10000. */
  connectTimeout?: number;
  /** Milliseconds to wait for PINGRESP; default keepAlive seconds (1..30 s). */
  pingTimeout?: number;
  /** MQTT 5 CONNECT properties (Receive Maximum, Maximum Packet Size, Topic Alias Maximum, ...). */
  properties?: Properties;
  /** Acknowledge inbound QoS 1/2 only when `ack(packet)` is called. */
  manualAck?: boolean;
  /**
   * Mark the connection as a bridge the way Mosquitto does (`try_private`): the high bit of the
   * CONNECT protocol level byte (0x84 for 3.1.1, 0x83 for 3.1), so that a Mosquitto upstream
   * does not echo the bridge's own messages back to it. 3.1/3.1.1 only (5.0 has No Local).
   */
  bridgeMode?: boolean;
  /** Cap on unacknowledged QoS 1/2 publishes below the server's Receive Maximum. */
  maxInflight?: number;
  onMessage?: (packet: PublishPacket) => void;
  onClose?: (err: Error | undefined) => void;
  onDisconnect?: (packet: DisconnectPacket) => void;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** Set DUP: a re-send of a message that may have been delivered [MQTT-3.3.1-1]. */
  dup?: boolean;
  /** MQTT 5 PUBLISH properties. */
  properties?: Properties;
}

export interface PublishResult {
  /** Packet identifier used (QoS 1/2). */
  packetId?: number;
  /** 0 on success; the PUBACK / PUBREC / PUBCOMP reason code in 5.0 (>= 0x80 is a failure). */
  reasonCode: number;
  properties?: Properties;
}

export interface SubscriptionRequest {
  topicFilter: string;
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

/** What the server announced in its CONNACK (MQTT 5 §3.2.2.3), with defaults applied. */
export interface ServerLimits {
  /** Receive Maximum, default 65535 [MQTT-3.2.2-… §3.2.2.3.3]. */
  receiveMaximum: number;
  /** Maximum Packet Size; Infinity when absent. */
  maximumPacketSize: number;
  /** Topic Alias Maximum, default 0 (this client never sends aliases on its own). */
  topicAliasMaximum: number;
  maximumQoS: QoS;
  retainAvailable: boolean;
  /** Keep alive actually in use (Server Keep Alive when sent, MQTT-3.2.2-21). */
  keepAlive: number;
}

export interface ClientStats {
  pingsSent: number;
  pingResponses: number;
  packetsReceived: number;
  /** Publishes currently waiting for a Receive Maximum slot. */
  queued: number;
  /** Unacknowledged QoS 1/2 publishes. */
  inflight: number;
}

type State = "idle" | "connecting" | "connected" | "closing" | "closed";

interface OutPublish {
  kind: "publish";
  packet: PublishPacket;
  resolve: (r: PublishResult) => void;
  reject: (e: Error) => void;
  stage: PublishStage;
  /** Writer position where the PUBLISH starts (to tell whether it reached the socket). */
  start: number;
}

interface PendingRequest {
  kind: "subscribe" | "unsubscribe";
  count: number;
  resolve: (codes: number[]) => void;
  reject: (e: Error) => void;
  start: number;
}

const encoder = new TextEncoder();
/** What every QoS 0 publish resolves with (shared, frozen). */
const QOS0_RESULT: PublishResult = Object.freeze({ reasonCode: 0 });

function randomClientId(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return "edgemq-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function toBytes(p: string | Uint8Array): Uint8Array {
  return typeof p === "string" ? encoder.encode(p) : p;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class MqttClient {
  readonly options: Readonly<MqttClientOptions>;
  readonly protocolVersion: ProtocolVersion;
  readonly protocol: TransportProtocol;
  readonly host: string;
  readonly port: number;
  readonly wsPath: string;
  /** The client identifier in use (the server's Assigned Client Identifier once connected). */
  clientId: string;

  /**
   * Inbound PUBLISH (topic aliases already resolved). Small payloads are views into shared
   * decode slabs: keep `compactBytes(packet.payload)` (codec) when storing them for long.
   */
  onMessage: (packet: PublishPacket) => void;
  /** Called once per established connection when it ends: undefined after `disconnect()`. */
  onClose: (err: Error | undefined) => void;
  /** A DISCONNECT from the server (MQTT 5 carries a reason code); `onClose` follows. */
  onDisconnect: (packet: DisconnectPacket) => void;
  /** Errors thrown by `onMessage` (default: console.error). */
  onError: (err: unknown) => void = (e) => console.error("MqttClient onMessage failed:", e);

  /** The last CONNACK received. */
  connack?: ConnackPacket;
  /** Limits announced by the server in the last CONNACK. */
  server: ServerLimits = {
    receiveMaximum: 65535,
    maximumPacketSize: Infinity,
    topicAliasMaximum: 0,
    maximumQoS: 2,
    retainAvailable: true,
    keepAlive: 0,
  };
  readonly stats: ClientStats = {
    pingsSent: 0,
    pingResponses: 0,
    packetsReceived: 0,
    queued: 0,
    inflight: 0,
  };

  #state: State = "idle";
  /** Connection counter: acks for packets of an earlier connection are ignored. */
  #epoch = 0;
  #established = false;
  #transport?: Transport;
  #writer?: BatchedWriter;
  #reader?: PacketReader;
  #closeError: Error | undefined;
  #closedPromise: Promise<Error | undefined> = Promise.resolve(undefined);
  #resolveClosed: (e: Error | undefined) => void = () => {};
  #connectWaiter?: { resolve: (c: ConnackPacket) => void; reject: (e: Error) => void };
  #connectTimer?: ReturnType<typeof setTimeout>;
  #keepAliveTimer?: ReturnType<typeof setTimeout>;
  #pingTimer?: ReturnType<typeof setTimeout>;
  #lastWrite = 0;
  #keepAliveMs = 0;

  /** Outgoing packet identifiers in use: publishes, subscribes, unsubscribes. */
  #ids = new Map<number, OutPublish | PendingRequest>();
  #nextId = 1;
  /** Publishes waiting for a Receive Maximum slot (FIFO; `#queueHead` is the first live one). */
  #queue: OutPublish[] = [];
  #queueHead = 0;
  #inflight = 0;
  /** Inbound QoS 2 packet ids between PUBLISH and PUBREL; `acked` once PUBREC was sent. */
  #inboundQos2 = new Map<number, { acked: boolean }>();
  /** Which connection delivered an inbound packet (and that it still awaits its ack). */
  #unacked = new WeakMap<PublishPacket, number>();
  /** Inbound topic aliases (MQTT 5 §3.3.2.3.4); they live for one connection only. */
  #aliases = new Map<number, string>();
  #qos0Source: Promise<void> | undefined;
  #qos0Result: Promise<PublishResult> | undefined;

  constructor(options: MqttClientOptions) {
    this.options = options;
    let protocol = options.protocol ?? "mqtt";
    let host = options.host ?? "127.0.0.1";
    let port = options.port;
    let wsPath = options.wsPath ?? "/mqtt";
    let username = options.username;
    let password = options.password;
    if (options.url !== undefined) {
      let u: URL;
      try {
        u = new URL(options.url);
      } catch {
        throw new MqttClientError("invalid", `invalid url ${JSON.stringify(options.url)}`);
      }
      const scheme = SCHEMES[u.protocol.replace(/:$/, "")];
      if (scheme === undefined) {
        throw new MqttClientError(
          "invalid",
          `unsupported url scheme ${
            JSON.stringify(u.protocol)
          }: expected mqtt:, mqtts:, ws: or wss:`,
        );
      }
      protocol = scheme;
      host = u.hostname.replace(/^\[(.*)\]$/, "$1") || host;
      if (u.port !== "") port = Number(u.port);
      if ((scheme === "ws" || scheme === "wss") && u.pathname !== "" && u.pathname !== "/") {
        wsPath = u.pathname + u.search;
      }
      if (u.username !== "" && username === undefined) username = decodeURIComponent(u.username);
      if (u.password !== "" && password === undefined) password = decodeURIComponent(u.password);
    }
    if (!(protocol in DEFAULT_PORTS)) {
      throw new MqttClientError("invalid", `unknown protocol ${JSON.stringify(protocol)}`);
    }
    this.protocol = protocol;
    this.host = host;
    this.port = port ?? DEFAULT_PORTS[protocol];
    this.wsPath = wsPath;
    const version = options.protocolVersion ?? 4;
    if (version !== 3 && version !== 4 && version !== 5) {
      throw new MqttClientError("invalid", `protocolVersion must be 3, 4 or 5, got ${version}`);
    }
    if (options.bridgeMode && version === 5) {
      throw new MqttClientError(
        "invalid",
        "bridgeMode marks 3.1/3.1.1 connections only; with MQTT 5 subscribe with noLocal",
      );
    }
    this.protocolVersion = version;
    const clean = options.clean ?? true;
    this.clientId = options.clientId ??
      (version === 3 || (version === 4 && !clean) ? randomClientId() : "");
    this.#username = username;
    this.#password = password;
    this.onMessage = options.onMessage ?? (() => {});
    this.onClose = options.onClose ?? (() => {});
    this.onDisconnect = options.onDisconnect ?? (() => {});
  }

  #username: string | undefined;
  #password: string | Uint8Array | undefined;

  /** True between a successful CONNACK and the end of that connection. */
  get connected(): boolean {
    return this.#state === "connected";
  }

  /** Resolves (never rejects) when the current connection ends, with its error if any. */
  get closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  /** Opens the transport, sends CONNECT and waits for CONNACK. */
  async connect(): Promise<ConnackPacket> {
    if (this.#state === "connecting" || this.#state === "connected" || this.#state === "closing") {
      throw new MqttClientError("invalid", `connect() called while ${this.#state}`);
    }
    const o = this.options;
    this.#state = "connecting";
    this.#established = false;
    this.#closeError = undefined;
    const epoch = ++this.#epoch;
    this.#aliases.clear(); // MQTT-3.3.2-7: aliases belong to one network connection
    for (const [id, e] of this.#inboundQos2) if (!e.acked) this.#inboundQos2.delete(id);
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));

    const timeoutMs = o.connectTimeout ?? 10_000;
    const connackPromise = new Promise<ConnackPacket>((resolve, reject) => {
      this.#connectWaiter = { resolve, reject };
    });
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      this.#close(
        new MqttClientError(
          "connect_timeout",
          `no CONNACK from ${this.#address()} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);

    // Nobody awaits the CONNACK while the transport opens: keep an early rejection handled.
    connackPromise.catch(() => {});
    const opening = openTransport({
      protocol: this.protocol,
      host: this.host,
      port: this.port,
      tls: o.tls,
      wsPath: this.wsPath,
    });
    const opened = await Promise.race([
      opening.then((t) => ({ t }), (e: unknown) => ({ e })),
      connackPromise.then(() => null, () => null),
    ]);
    if (opened === null || this.#epoch !== epoch || this.#state !== "connecting") {
      // Timed out (or closed) while the transport was opening.
      opening.then((t) => t.close(), () => {});
      return await connackPromise;
    }
    if ("e" in opened) {
      this.#close(
        new MqttClientError(
          "transport",
          `cannot connect to ${this.#address()}: ${errorMessage(opened.e)}`,
          undefined,
          opened.e,
        ),
      );
      return await connackPromise;
    }
    const transport = opened.t;
    this.#transport = transport;
    const writer = new BatchedWriter(transport, (e) => this.#onTransportError(e, epoch));
    writer.onWrite = () => (this.#lastWrite = performance.now());
    this.#writer = writer;
    this.#reader = new PacketReader({
      maxPacketSize: this.protocolVersion === 5 ? (o.properties?.maximumPacketSize ?? 0) : 0,
      version: this.protocolVersion,
    });
    transport.start(
      (chunk) => this.#onData(chunk, epoch),
      (err) => this.#onTransportEnd(err, epoch),
    );
    try {
      this.#writeConnect(writer.out);
    } catch (e) {
      this.#close(new MqttClientError("invalid", `cannot encode CONNECT: ${errorMessage(e)}`));
      return await connackPromise;
    }
    writer.schedule();
    return await connackPromise;
  }

  #address(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.protocol}://${h}:${this.port}`;
  }

  #writeConnect(out: ByteWriter): void {
    const o = this.options;
    const v = this.protocolVersion;
    const p: ConnectPacket = {
      type: "connect",
      protocolName: v === 3 ? "MQIsdp" : "MQTT",
      protocolVersion: v,
      clean: o.clean ?? true,
      keepAlive: o.keepAlive ?? 60,
      clientId: this.clientId,
    };
    if (this.#username !== undefined) p.username = this.#username;
    if (this.#password !== undefined) p.password = toBytes(this.#password);
    if (o.will !== undefined) {
      const w: Will = {
        topic: o.will.topic,
        payload: toBytes(o.will.payload),
        qos: o.will.qos ?? 0,
        retain: o.will.retain ?? false,
      };
      if (o.will.properties !== undefined) w.properties = o.will.properties;
      p.will = w;
    }
    if (v === 5) {
      const props: Properties = { ...o.properties };
      if (o.sessionExpiryInterval !== undefined) {
        props.sessionExpiryInterval = o.sessionExpiryInterval;
      }
      if (Object.keys(props).length > 0) p.properties = props;
    }
    const start = out.length;
    encodePacket(p, v, out);
    if (o.bridgeMode) markBridge(out.bytes, start);
  }

  // ---------------------------------------------------------------------------------------
  // Publishing

  /**
   * Publishes a message. QoS 0 resolves once written to the socket; QoS 1 on PUBACK; QoS 2 on
   * PUBCOMP (or on a PUBREC with a failure reason code, which ends the flow in 5.0).
   */
  publish(
    topic: string,
    payload: string | Uint8Array,
    opts: PublishOptions = {},
  ): Promise<PublishResult> {
    const qos = opts.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      return Promise.reject(new MqttClientError("invalid", `QoS must be 0, 1 or 2, got ${qos}`));
    }
    if (this.#state !== "connected") {
      return Promise.reject(
        new MqttClientError("not_connected", `cannot publish to ${topic}: not connected`),
      );
    }
    const alias = this.protocolVersion === 5 ? opts.properties?.topicAlias : undefined;
    if (!(topic === "" && alias !== undefined)) {
      const problem = topicNameProblem(topic);
      if (problem !== undefined) return Promise.reject(new MqttClientError("invalid", problem));
    }
    if (alias !== undefined && (alias < 1 || alias > this.server.topicAliasMaximum)) {
      // MQTT-3.3.2-9: never above the server's Topic Alias Maximum (0: aliases not allowed).
      return Promise.reject(
        new MqttClientError(
          "not_supported",
          `topic alias ${alias} is outside 1..${this.server.topicAliasMaximum} (server's Topic Alias Maximum) [MQTT-3.3.2-9]`,
        ),
      );
    }
    if (qos > this.server.maximumQoS) {
      return Promise.reject(
        new MqttClientError(
          "not_supported",
          `QoS ${qos} exceeds the server's Maximum QoS ${this.server.maximumQoS} [MQTT-3.2.2-11]`,
        ),
      );
    }
    if (opts.retain && !this.server.retainAvailable) {
      return Promise.reject(
        new MqttClientError(
          "not_supported",
          "the server does not support retained messages (Retain Available 0) [MQTT-3.2.2-14]",
        ),
      );
    }
    const packet: PublishPacket = {
      type: "publish",
      topic,
      payload: toBytes(payload),
      qos,
      retain: opts.retain ?? false,
      dup: qos > 0 && (opts.dup ?? false),
    };
    if (opts.properties !== undefined) packet.properties = opts.properties;
    if (qos === 0 && this.#queue.length === this.#queueHead) {
      // Fast path: no promise of its own, shares the batch's.
      const writer = this.#writer!;
      const out = writer.out;
      const before = out.length;
      try {
        encodePacket(packet, this.protocolVersion, out);
      } catch (e) {
        return Promise.reject(this.#encodeError(packet, e));
      }
      if (out.length - before > this.server.maximumPacketSize) {
        const size = out.length - before;
        out.length = before;
        return Promise.reject(this.#tooLarge(packet, size));
      }
      writer.schedule();
      return this.#qos0Written(writer);
    }
    return new Promise<PublishResult>((resolve, reject) => {
      const item: OutPublish = {
        kind: "publish",
        packet,
        resolve,
        reject,
        stage: "queued",
        start: -1,
      };
      if (this.#queue.length > this.#queueHead || !this.#trySend(item)) {
        this.#queue.push(item);
        this.stats.queued++;
      }
    });
  }

  #limit(): number {
    const max = this.options.maxInflight;
    const r = this.server.receiveMaximum;
    return max !== undefined && max > 0 && max < r ? max : r;
  }

  /** Sends `item` now if a slot (and a packet id) is free; false to keep it queued. */
  #trySend(item: OutPublish): boolean {
    const writer = this.#writer!;
    const p = item.packet;
    let id = 0;
    if (p.qos > 0) {
      if (this.#inflight >= this.#limit()) return false;
      id = this.#allocId();
      if (id === 0) return false;
      p.packetId = id;
    }
    const out = writer.out;
    const before = out.length;
    item.start = writer.position();
    try {
      encodePacket(p, this.protocolVersion, out);
    } catch (e) {
      if (id !== 0) delete p.packetId;
      item.reject(this.#encodeError(p, e));
      return true;
    }
    const size = out.length - before;
    if (size > this.server.maximumPacketSize) {
      out.length = before;
      if (id !== 0) delete p.packetId;
      item.reject(this.#tooLarge(p, size));
      return true;
    }
    writer.schedule();
    if (p.qos === 0) {
      this.#qos0Written(writer).then(item.resolve, item.reject);
    } else {
      item.stage = "sent";
      this.#ids.set(id, item);
      this.#inflight++;
      this.stats.inflight = this.#inflight;
    }
    return true;
  }

  /**
   * One promise per write batch for every QoS 0 publish in it: resolves when the batch reached
   * the socket, rejects with ConnectionLost when the connection ends first.
   */
  #qos0Written(writer: BatchedWriter): Promise<PublishResult> {
    const src = writer.written();
    if (src !== this.#qos0Source) {
      this.#qos0Source = src;
      this.#qos0Result = src.then(
        () => QOS0_RESULT,
        (e) => {
          throw new ConnectionLost(
            `connection lost before a QoS 0 PUBLISH was written: ${errorMessage(e)}`,
            false,
            "queued",
            e,
          );
        },
      );
    }
    return this.#qos0Result!;
  }

  #encodeError(p: PublishPacket, e: unknown): MqttClientError {
    return new MqttClientError(
      e instanceof MqttCodecError && e.reasonCode === 0x95 ? "packet_too_large" : "invalid",
      `cannot publish to ${p.topic}: ${errorMessage(e)}`,
      undefined,
      e,
    );
  }

  /** MQTT-3.1.2-24 / §3.2.2.3.6: never send a packet above the server's Maximum Packet Size. */
  #tooLarge(p: PublishPacket, size: number): MqttClientError {
    return new MqttClientError(
      "packet_too_large",
      `PUBLISH to ${p.topic} is ${size} bytes, above the server's Maximum Packet Size ${this.server.maximumPacketSize}; not sent`,
    );
  }

  /** Sends queued publishes while slots are free, in order. */
  #drain(): void {
    const q = this.#queue;
    while (this.#queueHead < q.length && this.#state === "connected") {
      if (!this.#trySend(q[this.#queueHead])) break;
      this.#queueHead++;
      this.stats.queued--;
    }
    if (this.#queueHead === q.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > q.length) {
      this.#queue = q.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** A free packet identifier 1..65535 [MQTT-2.2.1-3], or 0 when all are in use. */
  #allocId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.#nextId;
      this.#nextId = id === 65535 ? 1 : id + 1;
      if (!this.#ids.has(id)) return id;
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------------
  // Subscriptions

  /** Subscribes; resolves with one granted QoS / reason code per filter (>= 0x80 = refused). */
  subscribe(
    subscriptions: string | SubscriptionRequest | (string | SubscriptionRequest)[],
    properties?: Properties,
  ): Promise<number[]> {
    const list = Array.isArray(subscriptions) ? subscriptions : [subscriptions];
    const subs: Subscription[] = [];
    for (const s of list) {
      const r: SubscriptionRequest = typeof s === "string" ? { topicFilter: s } : s;
      const problem = topicFilterProblem(r.topicFilter);
      if (problem !== undefined) return Promise.reject(new MqttClientError("invalid", problem));
      subs.push({
        topicFilter: r.topicFilter,
        qos: r.qos ?? 0,
        noLocal: r.noLocal ?? false,
        retainAsPublished: r.retainAsPublished ?? false,
        retainHandling: r.retainHandling ?? 0,
      });
    }
    if (subs.length === 0) {
      return Promise.reject(
        new MqttClientError("invalid", "SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3]"),
      );
    }
    return this.#request("subscribe", subs.length, (packetId) => {
      const p: Packet = { type: "subscribe", packetId, subscriptions: subs };
      if (properties !== undefined) p.properties = properties;
      return p;
    });
  }

  /** Unsubscribes; resolves with the UNSUBACK reason codes (5.0) or zeros (3.1.1). */
  unsubscribe(topicFilters: string | string[], properties?: Properties): Promise<number[]> {
    const list = Array.isArray(topicFilters) ? topicFilters : [topicFilters];
    for (const f of list) {
      const problem = topicFilterProblem(f);
      if (problem !== undefined) return Promise.reject(new MqttClientError("invalid", problem));
    }
    if (list.length === 0) {
      return Promise.reject(
        new MqttClientError(
          "invalid",
          "UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]",
        ),
      );
    }
    return this.#request("unsubscribe", list.length, (packetId) => {
      const p: Packet = { type: "unsubscribe", packetId, topicFilters: list };
      if (properties !== undefined) p.properties = properties;
      return p;
    });
  }

  #request(
    kind: "subscribe" | "unsubscribe",
    count: number,
    build: (id: number) => Packet,
  ): Promise<number[]> {
    if (this.#state !== "connected") {
      return Promise.reject(new MqttClientError("not_connected", `cannot ${kind}: not connected`));
    }
    const id = this.#allocId();
    if (id === 0) {
      return Promise.reject(
        new MqttClientError("invalid", `cannot ${kind}: all 65535 packet identifiers are in use`),
      );
    }
    const packet = build(id);
    const writer = this.#writer!;
    const out = writer.out;
    const before = out.length;
    const start = writer.position();
    try {
      encodePacket(packet, this.protocolVersion, out);
    } catch (e) {
      return Promise.reject(
        new MqttClientError("invalid", `cannot ${kind}: ${errorMessage(e)}`, undefined, e),
      );
    }
    if (out.length - before > this.server.maximumPacketSize) {
      out.length = before;
      return Promise.reject(
        new MqttClientError(
          "packet_too_large",
          `${kind.toUpperCase()} is above the server's Maximum Packet Size ${this.server.maximumPacketSize}`,
        ),
      );
    }
    writer.schedule();
    return new Promise((resolve, reject) => {
      this.#ids.set(id, { kind, count, resolve, reject, start });
    });
  }

  // ---------------------------------------------------------------------------------------
  // Inbound acknowledgements

  /**
   * Acknowledges an inbound QoS 1 (PUBACK) or QoS 2 (PUBREC) message delivered to `onMessage`
   * with `manualAck`. Returns false when there is nothing to do: QoS 0, already acked, or the
   * message came on an earlier connection (its packet id may now mean another message; the
   * server redelivers it on a persistent session instead). `reasonCode` (5.0) may be a
   * failure code such as 0x97 Quota exceeded.
   */
  ack(packet: PublishPacket, reasonCode = 0, properties?: Properties): boolean {
    const epoch = this.#unacked.get(packet);
    if (epoch === undefined || epoch !== this.#epoch || this.#state !== "connected") return false;
    this.#unacked.delete(packet);
    const id = packet.packetId!;
    if (packet.qos === 1) {
      this.#sendAck("puback", id, reasonCode, properties);
      return true;
    }
    const entry = this.#inboundQos2.get(id);
    if (entry === undefined || entry.acked) return false;
    if (reasonCode >= 0x80) this.#inboundQos2.delete(id); // the flow ends here (MQTT 5 §4.3.3)
    else entry.acked = true;
    this.#sendAck("pubrec", id, reasonCode, properties);
    return true;
  }

  #sendAck(
    type: AckPacket["type"],
    packetId: number,
    reasonCode = 0,
    properties?: Properties,
  ): void {
    const writer = this.#writer;
    if (writer === undefined) return;
    const p: AckPacket = { type, packetId };
    if (this.protocolVersion === 5) {
      if (reasonCode !== 0) p.reasonCode = reasonCode;
      if (properties !== undefined) p.properties = properties;
    }
    encodePacket(p, this.protocolVersion, writer.out);
    writer.schedule();
  }

  // ---------------------------------------------------------------------------------------
  // Disconnecting

  /**
   * Sends DISCONNECT (5.0: with `reasonCode`, e.g. 0x04 to have the will published) and closes
   * the connection. Pending operations reject with `ConnectionLost`. Bounded: at most
   * `timeoutMs` is spent flushing.
   */
  async disconnect(reasonCode = 0, properties?: Properties, timeoutMs = 2000): Promise<void> {
    if (this.#state === "connecting") {
      this.#close(new MqttClientError("connection_lost", "disconnect() called while connecting"));
      await this.#closedPromise;
      return;
    }
    if (this.#state !== "connected") {
      await this.#closedPromise;
      return;
    }
    this.#state = "closing";
    const writer = this.#writer!;
    const p: DisconnectPacket = { type: "disconnect" };
    if (this.protocolVersion === 5) {
      if (reasonCode !== 0) p.reasonCode = reasonCode;
      if (properties !== undefined) p.properties = properties;
    }
    try {
      encodePacket(p, this.protocolVersion, writer.out);
      writer.schedule();
      await this.#bounded(writer.written(), timeoutMs);
    } catch { /* closing anyway */ }
    this.#close(undefined);
    await this.#closedPromise;
  }

  async #bounded(p: Promise<unknown>, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends DISCONNECT with `reasonCode` (5.0) when possible, then closes with `err`. */
  #abort(err: MqttClientError, reasonCode: number): void {
    if (this.#state === "closed") return;
    const writer = this.#writer;
    if (this.protocolVersion !== 5 || writer === undefined || this.#state === "closing") {
      this.#close(err);
      return;
    }
    this.#state = "closing";
    this.#closeError = err;
    try {
      // MQTT-4.13.1-1: a protocol error is answered with DISCONNECT and a reason code.
      encodePacket({ type: "disconnect", reasonCode }, 5, writer.out);
      writer.schedule();
    } catch { /* ignore */ }
    void this.#bounded(writer.written(), 1000).catch(() => {}).finally(() => this.#close(err));
  }

  // ---------------------------------------------------------------------------------------
  // Inbound packets

  #onData(chunk: Uint8Array, epoch: number): void {
    if (epoch !== this.#epoch || this.#state === "closed") return;
    try {
      this.#reader!.push(chunk, (p) => this.#onPacket(p));
    } catch (e) {
      const s = this.#state as State;
      if (s === "closed" || s === "closing") return;
      if (e instanceof MqttClientError) {
        this.#abort(e, e.reasonCode ?? 0x82);
      } else {
        const code = e instanceof MqttCodecError ? e.reasonCode : 0x81;
        this.#abort(
          new MqttClientError(
            "protocol",
            `bad packet from ${this.#address()}: ${errorMessage(e)}`,
            code,
            e,
          ),
          code,
        );
      }
    }
  }

  #onPacket(p: Packet): void {
    if (this.#state === "closed") return;
    this.stats.packetsReceived++;
    if (this.#pingTimer !== undefined) {
      // Any packet proves the server alive; PINGRESP is just the usual one.
      clearTimeout(this.#pingTimer);
      this.#pingTimer = undefined;
    }
    if (this.#state === "connecting") {
      // MQTT-3.2.0-1: the first packet from the server is CONNACK.
      if (p.type !== "connack") {
        throw new MqttClientError(
          "protocol",
          `expected CONNACK, got ${p.type.toUpperCase()}`,
          0x82,
        );
      }
      this.#onConnack(p);
      return;
    }
    switch (p.type) {
      case "publish":
        this.#onPublish(p);
        return;
      case "puback":
        this.#onPuback(p);
        return;
      case "pubrec":
        this.#onPubrec(p);
        return;
      case "pubcomp":
        this.#onPubcomp(p);
        return;
      case "pubrel":
        this.#onPubrel(p);
        return;
      case "suback":
      case "unsuback":
        this.#onSubUnsubAck(p.type, p.packetId, p.reasonCodes);
        return;
      case "pingresp":
        this.stats.pingResponses++;
        return;
      case "disconnect":
        this.#onServerDisconnect(p);
        return;
      default:
        throw new MqttClientError(
          "protocol",
          `unexpected ${p.type.toUpperCase()} from the server`,
          0x82,
        );
    }
  }

  #onConnack(p: ConnackPacket): void {
    if (this.#connectTimer !== undefined) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
    this.connack = p;
    const v = this.protocolVersion;
    if (p.reasonCode !== 0) {
      const reason = p.properties?.reasonString;
      this.#close(
        new MqttClientError(
          "connect_refused",
          `connection refused by ${this.#address()}: ${describeConnackCode(p.reasonCode, v)}${
            reason ? ` — ${reason}` : ""
          }`,
          p.reasonCode,
        ),
      );
      return;
    }
    const props = p.properties ?? {};
    const q = props.maximumQoS;
    this.server = {
      receiveMaximum: props.receiveMaximum ?? 65535,
      maximumPacketSize: props.maximumPacketSize ?? Infinity,
      topicAliasMaximum: props.topicAliasMaximum ?? 0,
      maximumQoS: q === 0 || q === 1 ? q : 2,
      retainAvailable: props.retainAvailable !== 0,
      // MQTT-3.2.2-21: the client uses the Server Keep Alive when the server sends one.
      keepAlive: props.serverKeepAlive ?? this.options.keepAlive ?? 60,
    };
    if (props.assignedClientIdentifier !== undefined) {
      this.clientId = props.assignedClientIdentifier;
    }
    this.#state = "connected";
    this.#established = true;
    this.#keepAliveMs = this.server.keepAlive * 1000;
    this.#lastWrite = performance.now();
    if (this.#keepAliveMs > 0) this.#armKeepAlive(this.#keepAliveMs);
    const w = this.#connectWaiter;
    this.#connectWaiter = undefined;
    w?.resolve(p);
  }

  #onPublish(p: PublishPacket): void {
    if (this.protocolVersion === 5) this.#resolveAlias(p);
    const id = p.packetId;
    const manual = this.options.manualAck === true;
    if (p.qos === 2) {
      const entry = this.#inboundQos2.get(id!);
      if (entry !== undefined) {
        // MQTT-4.3.3-9 (5.0) / MQTT-4.3.3-2 (3.1.1): a re-sent PUBLISH before PUBREL is
        // acknowledged again but not delivered twice.
        if (entry.acked) this.#sendAck("pubrec", id!);
        return;
      }
      this.#inboundQos2.set(id!, { acked: false });
    }
    if (p.qos > 0 && manual) this.#unacked.set(p, this.#epoch);
    try {
      this.onMessage(p);
    } catch (e) {
      this.onError(e);
    }
    if (manual || p.qos === 0 || this.#state !== "connected") return;
    if (p.qos === 1) {
      this.#sendAck("puback", id!); // MQTT-4.3.2-4 (5.0) / MQTT-4.3.2-2 (3.1.1)
    } else {
      this.#inboundQos2.get(id!)!.acked = true;
      this.#sendAck("pubrec", id!); // MQTT-4.3.3-8 (5.0) / MQTT-4.3.3-2 (3.1.1)
    }
  }

  /** Replaces an inbound Topic Alias by its topic (MQTT 5 §3.3.2.3.4). */
  #resolveAlias(p: PublishPacket): void {
    const alias = p.properties?.topicAlias;
    if (alias === undefined) return;
    const max = this.options.properties?.topicAliasMaximum ?? 0;
    if (alias === 0 || alias > max) {
      // MQTT-3.3.2-8 / MQTT-3.3.2-10: 0 and values above our Topic Alias Maximum are invalid.
      throw new MqttClientError(
        "protocol",
        `server sent topic alias ${alias}, outside 1..${max} (our Topic Alias Maximum) [MQTT-3.3.2-10]`,
        0x94,
      );
    }
    if (p.topic !== "") {
      this.#aliases.set(alias, p.topic);
    } else {
      const topic = this.#aliases.get(alias);
      if (topic === undefined) {
        throw new MqttClientError(
          "protocol",
          `server used topic alias ${alias} before mapping it [MQTT 5 §3.3.2.3.4]`,
          0x82,
        );
      }
      p.topic = topic;
    }
  }

  #onPubrel(p: AckPacket): void {
    const known = this.#inboundQos2.delete(p.packetId);
    // MQTT-4.3.3-11 (5.0) / MQTT-4.3.3-2 (3.1.1): answer PUBREL with PUBCOMP; in 5.0 an
    // unknown id is 0x92 Packet Identifier not found.
    this.#sendAck(
      "pubcomp",
      p.packetId,
      !known && this.protocolVersion === 5 ? 0x92 : 0,
    );
  }

  #takePublish(packetId: number, qos: 1 | 2, what: string): OutPublish | undefined {
    const item = this.#ids.get(packetId);
    if (item === undefined || item.kind !== "publish" || item.packet.qos !== qos) {
      if (this.protocolVersion !== 5) return undefined;
      // A stray ack for an id we never used is a protocol violation; ignore it quietly
      // unless it collides with a different operation.
      if (item !== undefined) {
        throw new MqttClientError(
          "protocol",
          `${what} for packet id ${packetId}, which is not a QoS ${qos} PUBLISH`,
          0x82,
        );
      }
      return undefined;
    }
    return item;
  }

  #finishPublish(item: OutPublish, p: AckPacket): void {
    const id = item.packet.packetId!;
    this.#ids.delete(id);
    this.#inflight--;
    this.stats.inflight = this.#inflight;
    const r: PublishResult = { packetId: id, reasonCode: p.reasonCode ?? 0 };
    if (p.properties !== undefined) r.properties = p.properties;
    item.resolve(r);
    this.#drain();
  }

  #onPuback(p: AckPacket): void {
    const item = this.#takePublish(p.packetId, 1, "PUBACK");
    if (item !== undefined) this.#finishPublish(item, p);
  }

  #onPubrec(p: AckPacket): void {
    const item = this.#takePublish(p.packetId, 2, "PUBREC");
    if (item === undefined) {
      // Not ours (any more): release it so that the server can forget it.
      this.#sendAck("pubrel", p.packetId, this.protocolVersion === 5 ? 0x92 : 0);
      return;
    }
    if ((p.reasonCode ?? 0) >= 0x80) {
      this.#finishPublish(item, p); // MQTT 5 §4.3.3: a failed PUBREC ends the flow
      return;
    }
    if (item.stage !== "released") {
      item.stage = "released";
    }
    this.#sendAck("pubrel", p.packetId); // MQTT-4.3.3-3 (5.0) / MQTT-4.3.3-1 (3.1.1)
  }

  #onPubcomp(p: AckPacket): void {
    const item = this.#takePublish(p.packetId, 2, "PUBCOMP");
    if (item !== undefined && item.stage === "released") this.#finishPublish(item, p);
  }

  #onSubUnsubAck(
    type: "suback" | "unsuback",
    packetId: number,
    codes: number[] | undefined,
  ): void {
    const req = this.#ids.get(packetId);
    const want = type === "suback" ? "subscribe" : "unsubscribe";
    if (req === undefined || req.kind !== want) {
      throw new MqttClientError(
        "protocol",
        `${type.toUpperCase()} for packet id ${packetId}, which has no pending ${want.toUpperCase()}`,
        0x82,
      );
    }
    this.#ids.delete(packetId);
    const list = codes ?? new Array<number>(req.count).fill(0);
    if (list.length !== req.count) {
      // MQTT-3.9.3-1 / MQTT-3.11.3-1: one code per topic filter.
      req.reject(
        new MqttClientError(
          "protocol",
          `${type.toUpperCase()} has ${list.length} codes for ${req.count} topic filters`,
        ),
      );
      return;
    }
    req.resolve(list);
  }

  #onServerDisconnect(p: DisconnectPacket): void {
    try {
      this.onDisconnect(p);
    } catch (e) {
      this.onError(e);
    }
    const code = p.reasonCode ?? 0;
    const reason = p.properties?.reasonString;
    const ref = p.properties?.serverReference;
    this.#close(
      new MqttClientError(
        "server_disconnect",
        `server ${this.#address()} sent DISCONNECT: ${describeReasonCode(code, "disconnect")}` +
          (reason ? ` — ${reason}` : "") + (ref ? ` (server reference ${ref})` : ""),
        code,
      ),
    );
  }

  // ---------------------------------------------------------------------------------------
  // Keep alive

  #armKeepAlive(ms: number): void {
    this.#keepAliveTimer = setTimeout(() => this.#onKeepAlive(), ms);
  }

  /** MQTT-3.1.2-20 (5.0) / MQTT-3.1.2-23 (3.1.1): send something within each keep alive. */
  #onKeepAlive(): void {
    this.#keepAliveTimer = undefined;
    if (this.#state !== "connected") return;
    const idle = performance.now() - this.#lastWrite;
    const ka = this.#keepAliveMs;
    const writer = this.#writer!;
    if (idle + 5 < ka && writer.pending === 0) {
      this.#armKeepAlive(ka - idle);
      return;
    }
    if (this.#pingTimer === undefined) {
      encodePacket({ type: "pingreq" }, this.protocolVersion, writer.out);
      writer.schedule();
      this.stats.pingsSent++;
      const timeout = this.options.pingTimeout ?? Math.max(1000, Math.min(ka, 30_000));
      this.#pingTimer = setTimeout(() => {
        this.#pingTimer = undefined;
        this.#close(
          new MqttClientError(
            "keepalive_timeout",
            `no PINGRESP from ${this.#address()} within ${timeout} ms`,
          ),
        );
      }, timeout);
    }
    this.#armKeepAlive(ka);
  }

  // ---------------------------------------------------------------------------------------
  // Closing

  #onTransportError(e: unknown, epoch: number): void {
    if (epoch !== this.#epoch) return;
    this.#close(
      this.#closeError ??
        new MqttClientError(
          "connection_lost",
          `write to ${this.#address()} failed: ${errorMessage(e)}`,
          undefined,
          e,
        ),
    );
  }

  #onTransportEnd(err: unknown, epoch: number): void {
    if (epoch !== this.#epoch) return;
    if (this.#state === "closing" && this.#closeError === undefined) {
      this.#close(undefined); // our own disconnect(): the server closed first
      return;
    }
    this.#close(
      this.#closeError ??
        new MqttClientError(
          "connection_lost",
          err === undefined
            ? `connection to ${this.#address()} closed by the server`
            : `connection to ${this.#address()} lost: ${errorMessage(err)}`,
          undefined,
          err,
        ),
    );
  }

  /** Ends the current connection: timers, socket, pending operations, then `onClose`. */
  #close(err: Error | undefined): void {
    if (this.#state === "closed" || this.#state === "idle") return;
    this.#state = "closed";
    this.#closeError = err;
    for (const t of [this.#connectTimer, this.#keepAliveTimer, this.#pingTimer]) {
      if (t !== undefined) clearTimeout(t);
    }
    this.#connectTimer = this.#keepAliveTimer = this.#pingTimer = undefined;
    const writer = this.#writer;
    const handedOff = writer === undefined ? 0 : writer.handedOff;
    const lost = err ?? new Error("disconnected");
    writer?.fail(lost);
    this.#transport?.close();
    this.#transport = undefined;
    this.#writer = undefined;
    this.#reader = undefined;

    const why = errorMessage(lost);
    const ids = [...this.#ids.values()];
    this.#ids.clear();
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    this.#inflight = 0;
    this.stats.inflight = 0;
    this.stats.queued = 0;
    for (const item of ids) {
      const reached = item.start < handedOff;
      if (item.kind === "publish") {
        const stage: PublishStage = item.stage === "released"
          ? "released"
          : reached
          ? "sent"
          : "queued";
        item.reject(
          new ConnectionLost(
            `connection lost before the QoS ${item.packet.qos} PUBLISH to ${item.packet.topic} ` +
              `(packet id ${item.packet.packetId}) completed: ${why}`,
            stage !== "queued",
            stage,
            err,
          ),
        );
      } else {
        item.reject(
          new ConnectionLost(
            `connection lost before the ${item.kind.toUpperCase()} was acknowledged: ${why}`,
            reached,
            undefined,
            err,
          ),
        );
      }
    }
    for (const item of queued) {
      delete item.packet.packetId;
      item.reject(
        new ConnectionLost(
          `connection lost before the PUBLISH to ${item.packet.topic} was sent: ${why}`,
          false,
          "queued",
          err,
        ),
      );
    }
    const w = this.#connectWaiter;
    this.#connectWaiter = undefined;
    if (w !== undefined) {
      w.reject(
        err instanceof MqttClientError
          ? err
          : new MqttClientError("connection_lost", why, undefined, err),
      );
    }
    this.#resolveClosed(err);
    if (this.#established) {
      this.#established = false;
      try {
        this.onClose(err);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}

/**
 * Sets the high bit of the CONNECT protocol level byte, as Mosquitto's bridges do
 * (`try_private`): 0x84 for 3.1.1, 0x83 for 3.1. Our own codec refuses that byte on decode
 * (MQTT-3.1.2-2); Mosquitto accepts it from bridges and then does not echo their messages.
 */
export function markBridge(bytes: Uint8Array, start: number): void {
  let i = start + 1; // skip the packet type byte
  while (bytes[i] & 0x80) i++; // remaining length (variable byte integer)
  i++;
  const nameLen = (bytes[i] << 8) | bytes[i + 1];
  i += 2 + nameLen;
  bytes[i] |= 0x80;
}
