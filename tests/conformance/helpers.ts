/**
 * The conformance battery's harness: the real broker (`startBroker` from mod.ts) on an ephemeral
 * 127.0.0.1 port, and raw TCP peers that speak through edgemq's own codec (`encodeToBytes`,
 * `PacketReader`), so that a test controls every byte and sees every packet the broker sends, in
 * order. Every wait is bounded; `withBroker` closes every peer and the broker in `finally`.
 */
import assert from "node:assert/strict";
import {
  type AckPacket,
  type ConnackPacket,
  type ConnectPacket,
  type DisconnectPacket,
  encodeToBytes,
  type Packet,
  PacketReader,
  type PacketTypeName,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type SubackPacket,
  type Subscription,
  type UnsubackPacket,
  type Will,
} from "../../src/codec/mod.ts";
import { FakeClock, type RunningBroker, startBroker, type StartOptions } from "../../mod.ts";

export { FakeClock };
export type {
  AckPacket,
  ConnackPacket,
  DisconnectPacket,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  SubackPacket,
  UnsubackPacket,
};

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 bytes of a string. */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/** A payload as text. */
export function text(p: { payload: Uint8Array }): string {
  return dec.decode(p.payload);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Encodes a Variable Byte Integer (MQTT §1.5.5). */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A length-prefixed UTF-8 string (MQTT §1.5.4). */
export function str(s: string): number[] {
  const b = enc.encode(s);
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** A hand-made frame: first byte, remaining length, body. */
export function frame(first: number, body: number[]): Uint8Array {
  return new Uint8Array([first, ...varint(body.length), ...body]);
}

/**
 * A raw MQTT peer over TCP. `next()` returns the broker's packets one by one, in the order they
 * arrived; `closed` tells whether the broker closed the connection.
 */
export class Peer {
  readonly version: ProtocolVersion;
  /** Every packet received, in order. */
  readonly received: Packet[] = [];
  /** Codec errors while decoding what the broker sent (a broker bug: should stay empty). */
  readonly decodeErrors: Error[] = [];
  #cursor = 0;
  #closed = false;
  #conn: Deno.TcpConn;
  #reader: PacketReader;
  #loop: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(conn: Deno.TcpConn, version: ProtocolVersion) {
    this.#conn = conn;
    this.version = version;
    this.#reader = new PacketReader({ maxPacketSize: 268_435_460, version });
    this.#loop = this.#read();
  }

  static async open(port: number, version: ProtocolVersion = 4): Promise<Peer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new Peer(conn, version);
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(16384);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        try {
          this.#reader.push(buf.subarray(0, n), (p) => this.received.push(p));
        } catch (e) {
          this.decodeErrors.push(e as Error);
          break;
        }
        this.#notify();
      }
    } catch {
      // Reset by the broker: counts as closed.
    } finally {
      this.#closed = true;
      this.#notify();
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Resolves when something arrives or the connection closes, or after `ms`. */
  #changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** True once the broker has closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes raw bytes (one write); false if the socket is already gone. */
  async sendRaw(data: Uint8Array | number[]): Promise<boolean> {
    const b = data instanceof Uint8Array ? data : new Uint8Array(data);
    try {
      let off = 0;
      while (off < b.length) off += await this.#conn.write(b.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  /** Encodes the packets with this peer's protocol level and writes them in ONE write. */
  send(...packets: Packet[]): Promise<boolean> {
    const parts = packets.map((p) => encodeToBytes(p, this.version));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return this.sendRaw(all);
  }

  /** The next packet not yet consumed; rejects after `timeoutMs` or when the broker closed. */
  async next(timeoutMs = 2000, what = "a packet"): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.#cursor >= this.received.length) {
      if (this.#closed) {
        throw new Error(`connection closed while waiting for ${what}; saw ${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; saw ${this.describe()}`,
        );
      }
      await this.#changed(left);
    }
    return this.received[this.#cursor++];
  }

  /** The next packet, which must be of `type`. */
  async expect<T extends Packet = Packet>(type: PacketTypeName, timeoutMs = 2000): Promise<T> {
    const p = await this.next(timeoutMs, type.toUpperCase());
    assert.equal(p.type, type, `expected ${type.toUpperCase()}, got ${JSON.stringify(brief(p))}`);
    return p as T;
  }

  /** Skips packets until one of `type` (and matching `pred`) arrives. */
  async waitFor<T extends Packet = Packet>(
    type: PacketTypeName,
    pred: (p: T) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const p = await this.next(Math.max(1, deadline - Date.now()), type.toUpperCase());
      if (p.type === type && pred(p as T)) return p as T;
    }
  }

  /** Asserts that no packet arrives within `ms` (the connection may stay open or not). */
  async nothing(ms = 150, what = "no packet"): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.#cursor >= this.received.length && !this.#closed) {
      await this.#changed(deadline - Date.now());
    }
    assert.equal(
      this.received.length - this.#cursor,
      0,
      `expected ${what}, got ${JSON.stringify(this.received.slice(this.#cursor).map(brief))}`,
    );
  }

  /** Waits for the broker to close the connection (bounded). */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for the broker to close; saw ${this.describe()}`,
        );
      }
      await this.#changed(left);
    }
  }

  /** Expects the broker's DISCONNECT (MQTT 5) with `reasonCode`, then the close. */
  async expectDisconnect(reasonCode: number, timeoutMs = 2000): Promise<DisconnectPacket> {
    const d = await this.expect<DisconnectPacket>("disconnect", timeoutMs);
    assert.equal(
      d.reasonCode ?? 0,
      reasonCode,
      `DISCONNECT reason 0x${(d.reasonCode ?? 0).toString(16)}, expected 0x${
        reasonCode.toString(16)
      } (${d.properties?.reasonString ?? ""})`,
    );
    await this.waitClosed(timeoutMs);
    return d;
  }

  /** Expects the connection to close with nothing (3.1.1) or only a DISCONNECT (5.0) before. */
  async expectClosedByBroker(reasonCode?: number, timeoutMs = 2000): Promise<void> {
    if (this.version === 5 && reasonCode !== undefined) {
      await this.expectDisconnect(reasonCode, timeoutMs);
      return;
    }
    await this.waitClosed(timeoutMs);
    const rest = this.received.slice(this.#cursor);
    assert.deepEqual(rest.map(brief), [], "nothing sent before the close");
  }

  describe(): string {
    return JSON.stringify(this.received.map(brief)) + (this.#closed ? " (closed)" : "");
  }

  /** Closes our side (idempotent) and waits for the read loop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#loop;
  }

  // --- convenience senders

  publish(
    topic: string,
    payload: string | Uint8Array,
    opts: {
      qos?: QoS;
      retain?: boolean;
      dup?: boolean;
      packetId?: number;
      properties?: Properties;
    } = {},
  ): Promise<boolean> {
    const qos = opts.qos ?? 0;
    const p: PublishPacket = {
      type: "publish",
      topic,
      payload: typeof payload === "string" ? bytes(payload) : payload,
      qos,
      retain: opts.retain ?? false,
      dup: opts.dup ?? false,
    };
    if (qos > 0) p.packetId = opts.packetId ?? 1;
    if (opts.properties !== undefined) p.properties = opts.properties;
    return this.send(p);
  }

  ack(type: AckPacket["type"], packetId: number, reasonCode?: number): Promise<boolean> {
    const p: AckPacket = { type, packetId };
    if (reasonCode !== undefined) p.reasonCode = reasonCode;
    return this.send(p);
  }

  /** SUBSCRIBE and wait for its SUBACK. */
  async subscribe(
    filters: string | Array<string | Partial<Subscription> & { topicFilter: string }>,
    qos: QoS = 2,
    opts: { packetId?: number; properties?: Properties } = {},
  ): Promise<SubackPacket> {
    const list = typeof filters === "string" ? [filters] : filters;
    const packetId = opts.packetId ?? 77;
    await this.send({
      type: "subscribe",
      packetId,
      subscriptions: list.map((f) => sub(f, qos)),
      properties: opts.properties,
    });
    const s = await this.waitFor<SubackPacket>("suback", (s) => s.packetId === packetId);
    return s;
  }
}

/** A subscription with defaults (no local 0, retain as published 0, retain handling 0). */
export function sub(
  f: string | Partial<Subscription> & { topicFilter: string },
  qos: QoS = 2,
): Subscription {
  const s = typeof f === "string" ? { topicFilter: f } : f;
  return {
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    ...s,
  };
}

/** A short, JSON-friendly view of a packet for failure messages. */
export function brief(p: Packet): unknown {
  if (p.type === "publish") {
    return {
      type: p.type,
      topic: p.topic,
      payload: dec.decode(p.payload.subarray(0, 40)),
      qos: p.qos,
      retain: p.retain,
      dup: p.dup,
      id: p.packetId,
    };
  }
  const o: Record<string, unknown> = { ...p };
  delete o.properties;
  return o;
}

export interface ConnectOptions {
  version?: ProtocolVersion;
  clean?: boolean;
  keepAlive?: number;
  will?: Will;
  username?: string;
  password?: Uint8Array;
  properties?: Properties;
}

/** A CONNECT packet ("MQIsdp" for level 3, "MQTT" otherwise). */
export function connectPacket(clientId: string, o: ConnectOptions = {}): ConnectPacket {
  const version = o.version ?? 4;
  const p: ConnectPacket = {
    type: "connect",
    protocolName: version === 3 ? "MQIsdp" : "MQTT",
    protocolVersion: version,
    clean: o.clean ?? true,
    keepAlive: o.keepAlive ?? 60,
    clientId,
  };
  if (o.will !== undefined) p.will = o.will;
  if (o.username !== undefined) p.username = o.username;
  if (o.password !== undefined) p.password = o.password;
  if (o.properties !== undefined) p.properties = o.properties;
  return p;
}

export interface Ctx {
  readonly port: number;
  readonly running: RunningBroker;
  /** The fake clock, when the test asked for one (`fakeClock: true`). */
  readonly clock: FakeClock;
  /** Opens a raw peer (closed at the end of the test). */
  open(version?: ProtocolVersion): Promise<Peer>;
  /** Opens a peer, sends CONNECT and waits for CONNACK (which must be a success). */
  connect(clientId: string, o?: ConnectOptions): Promise<Peer & { connack: ConnackPacket }>;
  /** Moves the fake clock and runs the broker's timers once. */
  advance(ms: number): void;
}

/**
 * Runs `fn` against a fresh broker on 127.0.0.1:0 and always closes every peer and the broker.
 * With `fakeClock`, the broker's clock is a FakeClock and its timer effectively never fires on
 * its own (`ctx.advance` moves time and ticks).
 */
export async function withBroker(
  options: StartOptions & { fakeClock?: boolean },
  fn: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const { fakeClock, ...rest } = options;
  const clock = new FakeClock();
  const running = await startBroker({
    listeners: [{ host: "127.0.0.1", port: 0 }],
    ...(fakeClock ? { clock, tickInterval: 3_600_000 } : {}),
    ...rest,
  });
  const peers: Peer[] = [];
  const ctx: Ctx = {
    port: running.port,
    running,
    clock,
    async open(version: ProtocolVersion = 4) {
      const p = await Peer.open(running.port, version);
      peers.push(p);
      return p;
    },
    async connect(clientId: string, o: ConnectOptions = {}) {
      const version = o.version ?? 4;
      const p = await ctx.open(version);
      await p.send(connectPacket(clientId, { ...o, version }));
      const connack = await p.expect<ConnackPacket>("connack");
      assert.equal(
        connack.reasonCode,
        0,
        `CONNACK for ${clientId}: 0x${connack.reasonCode.toString(16)} ${
          connack.properties?.reasonString ?? ""
        }`,
      );
      return Object.assign(p, { connack });
    },
    advance(ms: number) {
      clock.advance(ms);
      running.broker.tick();
    },
  };
  try {
    await fn(ctx);
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await running.close();
  }
}

/** Options every conformance test may spread into `Deno.test` (no leaked ops/resources). */
export const T = { sanitizeOps: true, sanitizeResources: true } as const;
