/**
 * In-memory test harness for the broker core: a fake link per client (it encodes every packet
 * the broker sends with the real codec, so malformed output fails the test), a fake clock, and
 * a small client API. No sockets, no sleeping: time moves with `h.advance(ms)`.
 */
import { encodeToBytes } from "../../src/codec/encode.ts";
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
  UnsubackPacket,
  Will,
} from "../../src/codec/packets.ts";
import { Broker, type BrokerDeps } from "../../src/broker/broker.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { type ClientLink, FakeClock, type LinkHandler } from "../../src/broker/types.ts";

export class FakeLink implements ClientLink {
  readonly remoteAddress = "127.0.0.1";
  readonly listenerName = "test";
  readonly remotePort: number;
  version: ProtocolVersion = 4;
  maxPacketSize?: number;
  received: Packet[] = [];
  closed = false;
  pendingBytes = 0;

  constructor(port: number) {
    this.remotePort = port;
  }

  send(packet: Packet): boolean {
    if (this.closed) return false;
    const bytes = encodeToBytes(packet, this.version); // throws on anything the codec rejects
    if (this.maxPacketSize !== undefined && bytes.length > this.maxPacketSize) return false;
    this.received.push(packet);
    return true;
  }

  setProtocol(version: ProtocolVersion, clientMaxPacketSize?: number): void {
    this.version = version;
    this.maxPacketSize = clientMaxPacketSize;
  }

  close(): void {
    this.closed = true;
  }
}

export interface ConnectOptions {
  clientId?: string;
  version?: ProtocolVersion;
  clean?: boolean;
  keepAlive?: number;
  will?: Will;
  username?: string;
  properties?: Properties;
}

let nextPort = 40000;

export class TestClient {
  readonly link: FakeLink;
  readonly handler: LinkHandler;
  version: ProtocolVersion = 4;
  #nextId = 1;

  constructor(readonly h: Harness) {
    this.link = new FakeLink(nextPort++);
    this.handler = h.broker.accept(this.link);
  }

  get closed(): boolean {
    return this.link.closed;
  }

  /** Delivers a packet to the broker as if it came from this client. */
  send(p: Packet): void {
    this.handler.onPacket(p);
  }

  /** Takes everything the broker sent since the last call. */
  take(): Packet[] {
    const r = this.link.received;
    this.link.received = [];
    return r;
  }

  /** Takes received packets of one type. */
  takeType<T extends Packet["type"]>(type: T): Extract<Packet, { type: T }>[] {
    return this.take().filter((p) => p.type === type) as Extract<Packet, { type: T }>[];
  }

  publishes(): PublishPacket[] {
    return this.takeType("publish");
  }

  connect(o: ConnectOptions = {}): ConnackPacket {
    this.version = o.version ?? 4;
    const p: ConnectPacket = {
      type: "connect",
      protocolName: this.version === 3 ? "MQIsdp" : "MQTT",
      protocolVersion: this.version,
      clean: o.clean ?? true,
      keepAlive: o.keepAlive ?? 0,
      clientId: o.clientId ?? "",
    };
    if (o.will) p.will = o.will;
    if (o.username !== undefined) p.username = o.username;
    if (o.properties) p.properties = o.properties;
    this.send(p);
    const r = this.take();
    const connack = r.find((x) => x.type === "connack") as ConnackPacket | undefined;
    if (!connack) throw new Error(`no CONNACK, got ${JSON.stringify(r.map((x) => x.type))}`);
    // keep anything after the CONNACK (re-sent messages) for the test
    this.link.received = r.slice(r.indexOf(connack) + 1);
    return connack;
  }

  nextId(): number {
    const id = this.#nextId;
    this.#nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  publish(
    topic: string,
    payload: string | Uint8Array,
    qos: QoS = 0,
    o: { retain?: boolean; properties?: Properties; packetId?: number; dup?: boolean } = {},
  ): number | undefined {
    const p: PublishPacket = {
      type: "publish",
      topic,
      payload: typeof payload === "string" ? new TextEncoder().encode(payload) : payload,
      qos,
      retain: o.retain ?? false,
      dup: o.dup ?? false,
    };
    if (qos > 0) p.packetId = o.packetId ?? this.nextId();
    if (o.properties) p.properties = o.properties;
    this.send(p);
    return p.packetId;
  }

  subscribe(
    filters: string | Array<string | Partial<Subscription> & { topicFilter: string }>,
    qos: QoS = 0,
    properties?: Properties,
  ): SubackPacket {
    const list = typeof filters === "string" ? [filters] : filters;
    const subscriptions: Subscription[] = list.map((f) =>
      typeof f === "string"
        ? { topicFilter: f, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }
        : { qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...f }
    );
    const packetId = this.nextId();
    this.send({ type: "subscribe", packetId, subscriptions, properties });
    const r = this.take();
    const suback = r.find((x) => x.type === "suback") as SubackPacket | undefined;
    if (!suback) throw new Error(`no SUBACK, got ${JSON.stringify(r.map((x) => x.type))}`);
    if (suback.packetId !== packetId) throw new Error("SUBACK packet id mismatch");
    this.link.received = r.filter((x) => x !== suback);
    return suback;
  }

  unsubscribe(filters: string[]): UnsubackPacket {
    const packetId = this.nextId();
    this.send({ type: "unsubscribe", packetId, topicFilters: filters });
    const r = this.take();
    const unsuback = r.find((x) => x.type === "unsuback") as UnsubackPacket | undefined;
    if (!unsuback) throw new Error(`no UNSUBACK, got ${JSON.stringify(r.map((x) => x.type))}`);
    this.link.received = r.filter((x) => x !== unsuback);
    return unsuback;
  }

  ack(type: AckPacket["type"], packetId: number, reasonCode?: number): void {
    const p: AckPacket = { type, packetId };
    if (reasonCode !== undefined) p.reasonCode = reasonCode;
    this.send(p);
  }

  disconnect(reasonCode?: number, properties?: Properties): void {
    this.send({ type: "disconnect", reasonCode, properties });
  }

  /** The socket drops without DISCONNECT. */
  drop(): void {
    this.link.close();
    this.handler.onClose();
  }
}

export class Harness {
  readonly clock = new FakeClock();
  readonly broker: Broker;

  constructor(options: Partial<BrokerOptions> = {}, deps: BrokerDeps = {}) {
    this.broker = new Broker({ sysInterval: 0, ...options }, { clock: this.clock, ...deps });
  }

  client(): TestClient {
    return new TestClient(this);
  }

  /** A connected client (asserts CONNACK success). */
  connected(o: ConnectOptions = {}): TestClient {
    const c = this.client();
    const ack = c.connect(o);
    if (ack.reasonCode !== 0) throw new Error(`CONNECT refused: ${ack.reasonCode}`);
    return c;
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.broker.tick();
  }
}

export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
