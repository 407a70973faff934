/**
 * A scripted MQTT server for client tests that need server behaviour mosquitto does not show
 * (topic aliases towards the client, DISCONNECT with reason codes, duplicate QoS 2 PUBLISH,
 * malformed packets). One connection, driven step by step by the test; every wait is bounded.
 */
import {
  encodeToBytes,
  type Packet,
  PacketReader,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { within } from "./harness.ts";

export class FakePeer {
  readonly #conn: Deno.Conn;
  readonly #reader = new PacketReader({ maxPacketSize: 0 });
  readonly #inbox: Packet[] = [];
  #wake: () => void = () => {};
  #ended = false;
  readonly done: Promise<void>;
  version: ProtocolVersion = 4;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n), (p) => {
          if (p.type === "connect") this.version = p.protocolVersion;
          this.#inbox.push(p);
        });
        this.#wake();
      }
    } catch { /* closed */ }
    this.#ended = true;
    this.#wake();
  }

  /** The next packet from the client (bounded wait). */
  async next(ms = 3000): Promise<Packet> {
    const deadline = Date.now() + ms;
    while (this.#inbox.length === 0) {
      if (this.#ended) throw new Error("client closed the connection");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet from the client within ${ms} ms`);
      await within(new Promise<void>((r) => (this.#wake = r)), left, "next packet")
        .catch(() => {});
    }
    return this.#inbox.shift()!;
  }

  /** Packets received so far and not yet taken. */
  get pending(): Packet[] {
    return this.#inbox;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async send(p: Packet | Uint8Array): Promise<void> {
    const bytes = p instanceof Uint8Array ? p : encodeToBytes(p, this.version);
    await this.#conn.write(bytes);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  /** Resolves once the client has closed the connection (bounded). */
  async closedByClient(ms = 3000): Promise<void> {
    await within(this.done, ms, "the client to close the connection");
  }
}

export class FakeServer {
  readonly #listener: Deno.Listener;
  readonly port: number;
  readonly #peers: FakePeer[] = [];

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
  }

  async accept(ms = 3000): Promise<FakePeer> {
    const conn = await within(this.#listener.accept(), ms, "a client connection");
    const peer = new FakePeer(conn);
    this.#peers.push(peer);
    return peer;
  }

  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const p of this.#peers) p.close();
    await Promise.all(this.#peers.map((p) => p.done));
  }
}
