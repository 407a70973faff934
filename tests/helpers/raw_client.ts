/**
 * A raw TCP MQTT peer for tests that must send exact bytes (malformed frames, unacknowledged
 * QoS flows): `Deno.connect` plus mqtt-packet's parser for what the broker sends back.
 */
import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { waitFor } from "./wait.ts";

export type { Packet };

const encoder = new TextEncoder();

/** Encodes a Two Byte Integer length-prefixed UTF-8 string (MQTT §1.5.4). */
export function str(s: string): number[] {
  const b = encoder.encode(s);
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** Encodes a Variable Byte Integer (MQTT §1.5.5 / §2.2.3). */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** A fixed header (type/flags byte + Remaining Length) followed by `body`. */
export function frame(firstByte: number, body: number[]): Uint8Array {
  return new Uint8Array([firstByte, ...varint(body.length), ...body]);
}

/** A hand-written CONNECT: protocol "MQTT", level 4 or 5, clean start, no will, no auth. */
export function connectFrame(
  clientId: string,
  { version = 4, keepAlive = 60, cleanStart = true }: {
    version?: 4 | 5;
    keepAlive?: number;
    cleanStart?: boolean;
  } = {},
): Uint8Array {
  const flags = cleanStart ? 0x02 : 0x00;
  const body = [
    ...str("MQTT"),
    version,
    flags,
    keepAlive >> 8,
    keepAlive & 0xff,
    ...(version === 5 ? [0x00] : []), // empty CONNECT properties
    ...str(clientId),
  ];
  return frame(0x10, body);
}

/** A raw connection to the broker that records every packet and notices the close. */
export class RawClient {
  readonly packets: Packet[] = [];
  /** Parse errors from what the broker sent (should stay empty). */
  readonly parseErrors: Error[] = [];
  #closed = false;
  #conn: Deno.TcpConn;
  #reader: Promise<void>;

  private constructor(conn: Deno.TcpConn, protocolVersion: 4 | 5) {
    this.#conn = conn;
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on("packet", (p: Packet) => this.packets.push(p));
    parser.on("error", (e: Error) => this.parseErrors.push(e));
    this.#reader = (async () => {
      const buf = new Uint8Array(4096);
      try {
        while (true) {
          const n = await conn.read(buf);
          if (n === null) break;
          parser.parse(Buffer.from(buf.subarray(0, n)));
        }
      } catch {
        // ECONNRESET and friends: the broker closed on us, which is what some tests expect.
      } finally {
        this.#closed = true;
      }
    })();
  }

  static async connect(port: number, protocolVersion: 4 | 5 = 4): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    return new RawClient(conn, protocolVersion);
  }

  /** True once the broker has closed the connection (EOF or reset). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes raw bytes; resolves false when the socket is already closed. */
  async send(bytes: Uint8Array | number[]): Promise<boolean> {
    const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    try {
      let off = 0;
      while (off < data.length) off += await this.#conn.write(data.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  /** Encodes `packet` with mqtt-packet and writes it. */
  sendPacket(packet: Packet, protocolVersion: 4 | 5 = 4): Promise<boolean> {
    return this.send(new Uint8Array(mqttPacket.generate(packet, { protocolVersion })));
  }

  /** Waits for the first received packet (after index `from`) that matches. */
  async waitForPacket<T extends Packet = Packet>(
    predicate: (p: Packet) => boolean,
    timeoutMs = 3000,
    what = "a packet",
    from = 0,
  ): Promise<T> {
    const find = () => this.packets.slice(from).find(predicate);
    await waitFor(
      () => find() !== undefined,
      timeoutMs,
      what,
      () => JSON.stringify(this.packets.map((p) => p.cmd)) + (this.#closed ? " (closed)" : ""),
    );
    return find() as T;
  }

  /** Waits for the broker to close the connection. */
  async waitForClose(timeoutMs = 3000, what = "the broker to close the connection"): Promise<void> {
    await waitFor(() => this.#closed, timeoutMs, what);
  }

  /** Closes our side (idempotent) and waits for the read loop to finish. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reader;
  }
}
