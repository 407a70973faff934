/**
 * A raw WebSocket client for tests: does the HTTP upgrade by hand and sends frames exactly as
 * told (split MQTT packets across frames, several packets per frame, text frames, pings), and
 * decodes the server's frames into MQTT packets with our PacketReader.
 */
import { encodeToBytes } from "../../src/codec/encode.ts";
import type { Packet, ProtocolVersion } from "../../src/codec/packets.ts";
import { PacketReader } from "../../src/codec/packet_reader.ts";

export interface RawWsOptions {
  port: number;
  path?: string;
  /** Offered subprotocols (Sec-WebSocket-Protocol); [] = header omitted. */
  protocols?: string[];
  origin?: string;
  /** Connect over TLS trusting this CA (PEM). */
  caCert?: string;
  /** Bytes sent before the HTTP request (a PROXY protocol header). */
  prefix?: Uint8Array;
  version?: ProtocolVersion;
}

export interface ServerFrame {
  opcode: number;
  payload: Uint8Array;
}

export class RawWs {
  status = 0;
  headers = new Map<string, string>();
  readonly frames: ServerFrame[] = [];
  readonly packets: Packet[] = [];
  closed = false;
  #buf = new Uint8Array(0);
  #reader: PacketReader;
  #waiters: Array<() => void> = [];
  #loop: Promise<void> | undefined;

  private constructor(readonly conn: Deno.Conn, readonly version: ProtocolVersion) {
    this.#reader = new PacketReader({ maxPacketSize: 1 << 20, version });
  }

  static async connect(o: RawWsOptions): Promise<RawWs> {
    const conn = o.caCert
      ? await Deno.connectTls({ hostname: "localhost", port: o.port, caCerts: [o.caCert] })
      : await Deno.connect({ hostname: "127.0.0.1", port: o.port });
    const ws = new RawWs(conn, o.version ?? 4);
    if (o.prefix) await conn.write(o.prefix);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${o.path ?? "/mqtt"} HTTP/1.1`,
      `Host: localhost:${o.port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
    ];
    const protocols = o.protocols ?? ["mqtt"];
    if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
    if (o.origin) lines.push(`Origin: ${o.origin}`);
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    await ws.#readResponse();
    if (ws.status === 101) ws.#loop = ws.#readFrames();
    return ws;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let n: number | null = null;
    try {
      n = await this.conn.read(chunk);
    } catch { /* reset */ }
    if (n === null) return false;
    const b = new Uint8Array(this.#buf.length + n);
    b.set(this.#buf);
    b.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = b;
    return true;
  }

  async #readResponse(): Promise<void> {
    for (;;) {
      const text = new TextDecoder().decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [status, ...headers] = text.slice(0, end).split("\r\n");
        this.status = Number(status.split(" ")[1]);
        for (const h of headers) {
          const i = h.indexOf(":");
          this.headers.set(h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim());
        }
        this.#buf = this.#buf.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length);
        return;
      }
      if (!(await this.#fill())) {
        this.closed = true;
        return;
      }
    }
  }

  async #readFrames(): Promise<void> {
    for (;;) {
      while (this.#parseFrame());
      if (!(await this.#fill())) break;
    }
    this.closed = true;
    this.#wake();
  }

  #parseFrame(): boolean {
    const b = this.#buf;
    if (b.length < 2) return false;
    let len = b[1] & 0x7f;
    let p = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = (b[2] << 8) | b[3];
      p = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      p = 10;
    }
    if (b.length < p + len) return false;
    const frame = { opcode: b[0] & 0x0f, payload: b.slice(p, p + len) };
    this.#buf = b.subarray(p + len);
    this.frames.push(frame);
    if (frame.opcode === 2 || frame.opcode === 0) {
      this.#reader.push(frame.payload, (pk) => this.packets.push(pk));
    }
    this.#wake();
    return true;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until `cond()` holds or the socket closes (then returns false). */
  async until(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.closed) return cond();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting on the WebSocket");
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, left);
      });
    }
    return true;
  }

  /** Sends one masked frame. */
  async frame(opcode: number, payload: Uint8Array, fin = true): Promise<void> {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const head: number[] = [(fin ? 0x80 : 0) | opcode];
    if (payload.length < 126) head.push(0x80 | payload.length);
    else if (payload.length < 65536) {
      head.push(0x80 | 126, payload.length >> 8, payload.length & 0xff);
    } else throw new Error("test frames are < 64 KB");
    const out = new Uint8Array(head.length + 4 + payload.length);
    out.set(head);
    out.set(mask, head.length);
    for (let i = 0; i < payload.length; i++) out[head.length + 4 + i] = payload[i] ^ mask[i & 3];
    await this.conn.write(out);
  }

  encode(p: Packet): Uint8Array {
    return encodeToBytes(p, this.version);
  }

  /** Sends packets, all in one binary frame. */
  send(...packets: Packet[]): Promise<void> {
    const parts = packets.map((p) => this.encode(p));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) (all.set(p, o), (o += p.length));
    return this.frame(2, all);
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  async done(): Promise<void> {
    await this.#loop;
  }
}
