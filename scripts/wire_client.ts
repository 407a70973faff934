/**
 * A minimal MQTT client on edgemq's own codec over a raw Deno TCP socket, for scripts and tests
 * that must see and control every packet (the crash test, the restart tests): the caller
 * handles each received packet itself (acks included). Writes are batched per microtask.
 */
import { encodeToBytes } from "../src/codec/encode.ts";
import type { ConnackPacket, Packet, Properties, ProtocolVersion } from "../src/codec/packets.ts";
import { PacketReader } from "../src/codec/packet_reader.ts";

export interface WireConnectOptions {
  clientId: string;
  version?: ProtocolVersion;
  clean?: boolean;
  keepAlive?: number;
  properties?: Properties;
  /** ms to wait for CONNACK. Default 5000. */
  timeout?: number;
}

export class WireClient {
  readonly version: ProtocolVersion;
  #onPacket: ((p: Packet) => void) | undefined;
  /** Packets that came before a handler was set (e.g. re-sends right behind CONNACK). */
  #early: Packet[] = [];
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  #conn: Deno.TcpConn;
  #out: Uint8Array[] = [];
  #flushing = false;
  #isClosed = false;
  #connack: PromiseWithResolvers<ConnackPacket> = Promise.withResolvers();

  private constructor(conn: Deno.TcpConn, version: ProtocolVersion) {
    this.#conn = conn;
    this.version = version;
    this.closed = this.#readLoop();
  }

  /** Connects and waits for CONNACK; throws if the connection fails or is refused. */
  static async connect(
    port: number,
    o: WireConnectOptions,
  ): Promise<{ client: WireClient; connack: ConnackPacket }> {
    const version = o.version ?? 4;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new WireClient(conn, version);
    client.send({
      type: "connect",
      protocolName: version === 3 ? "MQIsdp" : "MQTT",
      protocolVersion: version,
      clean: o.clean ?? true,
      keepAlive: o.keepAlive ?? 0,
      clientId: o.clientId,
      properties: version === 5 ? o.properties : undefined,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const connack = await Promise.race([
        client.#connack.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no CONNACK for ${o.clientId}`)),
            o.timeout ?? 5000,
          );
        }),
      ]);
      if (connack.reasonCode !== 0) throw new Error(`CONNECT refused: ${connack.reasonCode}`);
      return { client, connack };
    } catch (e) {
      client.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The handler of every packet after CONNACK; packets that arrived before it get it first. */
  set onPacket(handler: (p: Packet) => void) {
    this.#onPacket = handler;
    const early = this.#early;
    this.#early = [];
    for (const p of early) handler(p);
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  async #readLoop(): Promise<void> {
    const reader = new PacketReader({ maxPacketSize: 16 * 1024 * 1024, version: this.version });
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n), (p) => {
          if (p.type === "connack") this.#connack.resolve(p);
          else if (this.#onPacket !== undefined) this.#onPacket(p);
          else this.#early.push(p);
        });
      }
    } catch {
      // reset by the peer (a killed broker): closed
    } finally {
      this.#isClosed = true;
      this.#connack.reject(new Error("connection closed before CONNACK"));
      this.#connack.promise.catch(() => {});
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
  }

  /** Encodes and queues a packet (written at the end of this microtask with the others). */
  send(p: Packet): void {
    if (this.#isClosed) return;
    this.#out.push(encodeToBytes(p, this.version));
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#out.length > 0 && !this.#isClosed) {
        const parts = this.#out;
        this.#out = [];
        let size = 0;
        for (const p of parts) size += p.length;
        const all = new Uint8Array(size);
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        off = 0;
        while (off < all.length) off += await this.#conn.write(all.subarray(off));
      }
    } catch {
      this.destroy();
    } finally {
      this.#flushing = false;
    }
  }

  /** Closes the socket at once (no DISCONNECT). */
  destroy(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
