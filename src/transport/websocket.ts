/**
 * MQTT over WebSocket (MQTT 5 §6, MQTT 3.1.1 §6) on our own native sockets: the HTTP/1.1
 * upgrade (RFC 6455 §4) and the frame codec (RFC 6455 §5), server side.
 *
 * Why not `Deno.serve` + `Deno.upgradeWebSocket`: measured on Deno 2.9.6, `server.shutdown()`
 * closes every upgraded WebSocket, so a `wss` listener could not swap its certificate on SIGHUP
 * without dropping its clients; `Deno.serve` owns the accept loop, so a PROXY protocol header
 * cannot be read before the HTTP request; and each message arrives as a fresh ArrayBuffer. On a
 * `Deno.listen` / `Deno.listenTls` socket the WebSocket framing costs a 2–10 byte header per
 * flush (all MQTT packets of one flush go into one binary frame), the read path unmasks in place
 * in the connection's reusable read buffer, and tcp, tls, ws and wss share one connection type.
 *
 * - Subprotocol: the client must offer `mqtt` (MQTT-6.0.0-3, 5.0) or, for old 3.1 clients,
 *   `mqttv3.1`; we answer with the one chosen (MQTT-6.0.0-4). No offer, or none of these: HTTP 400.
 * - Data: binary frames only; a text frame closes the connection (MQTT-6.0.0-1). MQTT packets may
 *   span frames, and frames may hold several packets (MQTT-6.0.0-2): payloads are fed to the
 *   PacketReader as one byte stream.
 *
 * @module
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest HTTP upgrade request accepted (request line + headers). */
export const MAX_HANDSHAKE_BYTES = 8192;

/** MQTT WebSocket subprotocols we accept, preferred first. */
export const MQTT_SUBPROTOCOLS = ["mqtt", "mqttv3.1"] as const;

export interface WsHandshakeOptions {
  /** Request path that upgrades (query string ignored); default "/mqtt". */
  path: string;
  /** Origins allowed (browser clients); empty/undefined = any. Requests without Origin pass. */
  allowedOrigins?: readonly string[];
}

export type WsHandshakeResult =
  | { ok: true; response: Uint8Array; protocol: string; length: number; origin?: string }
  | { ok: false; response: Uint8Array; reason: string };

function httpError(status: number, text: string, reason: string, extra = ""): WsHandshakeResult {
  const body = `${reason}\n`;
  const response = new TextEncoder().encode(
    `HTTP/1.1 ${status} ${text}\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  return { ok: false, response, reason };
}

/** Index just past "\r\n\r\n", or -1. */
export function endOfHeaders(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 0x0a && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) {
      return i + 1;
    }
  }
  return -1;
}

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  let s = "";
  for (const b of new Uint8Array(digest)) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * Answers the HTTP upgrade request in `buf[0..end)` (end = `endOfHeaders(buf)`): the 101
 * response to write, or the HTTP error to write before closing.
 */
export async function wsHandshake(
  buf: Uint8Array,
  end: number,
  opts: WsHandshakeOptions,
): Promise<WsHandshakeResult> {
  const text = new TextDecoder().decode(buf.subarray(0, end));
  const lines = text.split("\r\n");
  const [method, target, version] = lines[0].split(" ");
  if (method !== "GET" || !target || !version?.startsWith("HTTP/1.")) {
    return httpError(400, "Bad Request", "expected an HTTP/1.1 GET request");
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return httpError(400, "Bad Request", "malformed header line");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  const path = target.split("?")[0];
  if (path !== opts.path) return httpError(404, "Not Found", `no MQTT endpoint at ${path}`);
  const tokens = (name: string) =>
    (headers.get(name) ?? "").split(",").map((t) => t.trim().toLowerCase()).filter((t) => t);
  if (!tokens("upgrade").includes("websocket") || !tokens("connection").includes("upgrade")) {
    return httpError(
      426,
      "Upgrade Required",
      "this endpoint speaks MQTT over WebSocket only",
      "Upgrade: websocket\r\nConnection: Upgrade\r\n",
    );
  }
  if (headers.get("sec-websocket-version") !== "13") {
    return httpError(
      426,
      "Upgrade Required",
      "unsupported WebSocket version",
      "Sec-WebSocket-Version: 13\r\n",
    );
  }
  const key = headers.get("sec-websocket-key");
  if (!key || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return httpError(400, "Bad Request", "missing or invalid Sec-WebSocket-Key");
  }
  const origin = headers.get("origin");
  if (opts.allowedOrigins && opts.allowedOrigins.length > 0 && origin !== undefined) {
    const o = origin.toLowerCase();
    if (!opts.allowedOrigins.some((a) => a.toLowerCase() === o)) {
      return httpError(403, "Forbidden", `origin ${origin} is not allowed`);
    }
  }
  // MQTT-6.0.0-3/4: the client offers "mqtt"; we select it. "mqttv3.1" for old 3.1 clients.
  const offered = (headers.get("sec-websocket-protocol") ?? "").split(",").map((t) => t.trim());
  const protocol = MQTT_SUBPROTOCOLS.find((p) => offered.includes(p));
  if (protocol === undefined) {
    return httpError(
      400,
      "Bad Request",
      offered.join("") === ""
        ? "missing Sec-WebSocket-Protocol: mqtt [MQTT-6.0.0-3]"
        : `unsupported WebSocket subprotocol ${offered.join(", ")} (expected mqtt) [MQTT-6.0.0-3]`,
    );
  }
  const response = new TextEncoder().encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${await acceptKey(
        key,
      )}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );
  return { ok: true, response, protocol, length: end, origin };
}

// ---------------------------------------------------------------------------------------------
// Frames

/** Room reserved in front of each output batch for the largest server frame header. */
export const WS_HEADER_RESERVE = 10;

/**
 * Writes the header of one unmasked binary frame (FIN, opcode 2) of `payloadLength` bytes so
 * that it ends at `bytes[end]`; returns where it starts.
 */
export function writeBinaryHeader(bytes: Uint8Array, end: number, payloadLength: number): number {
  if (payloadLength < 126) {
    bytes[end - 2] = 0x82;
    bytes[end - 1] = payloadLength;
    return end - 2;
  }
  if (payloadLength < 65536) {
    bytes[end - 4] = 0x82;
    bytes[end - 3] = 126;
    bytes[end - 2] = payloadLength >>> 8;
    bytes[end - 1] = payloadLength & 0xff;
    return end - 4;
  }
  const start = end - 10;
  bytes[start] = 0x82;
  bytes[start + 1] = 127;
  new DataView(bytes.buffer, bytes.byteOffset + start + 2, 8).setBigUint64(
    0,
    BigInt(payloadLength),
  );
  return start;
}

/** A close frame (server → client, unmasked) with a status code. */
export function closeFrame(code: number): Uint8Array {
  return new Uint8Array([0x88, 2, code >>> 8, code & 0xff]);
}

/** A pong answering a ping's payload (≤ 125 bytes). */
function pongFrame(payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(2 + payload.length);
  f[0] = 0x8a;
  f[1] = payload.length;
  f.set(payload, 2);
  return f;
}

/** A protocol violation: close with this status code (RFC 6455 §7.4.1). */
export class WsProtocolError extends Error {
  override name = "WsProtocolError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export interface WsFrameEvents {
  /** Payload bytes of binary / continuation frames, unmasked in place (a view of the chunk). */
  data(bytes: Uint8Array): void;
  /** A control frame to send back (pong). */
  reply(frame: Uint8Array): void;
  /** The peer sent a close frame (its status code, 1005 when absent). */
  close(code: number): void;
}

/**
 * Streaming decoder of client frames. Headers may split across reads; payloads are unmasked in
 * place and handed on as they arrive, so an MQTT packet may span frames and a frame may carry
 * several packets. Throws WsProtocolError on a violation.
 */
export class WsFrameDecoder {
  /** Partial header bytes (max 14). */
  #head = new Uint8Array(14);
  #headLen = 0;
  /** Payload bytes left in the current frame. */
  #remaining = 0;
  #mask = new Uint8Array(4);
  #maskPos = 0;
  #opcode = 0;
  /** Control frame payload being collected (≤ 125 bytes). */
  #control: Uint8Array | undefined;
  #controlLen = 0;
  /** Inside a fragmented binary message (continuations allowed). */
  #fragmented = false;
  #closed = false;

  constructor(readonly maxFrameSize = 268435460 + 16) {}

  push(chunk: Uint8Array, ev: WsFrameEvents): void {
    let p = 0;
    const n = chunk.length;
    while (p < n && !this.#closed) {
      if (this.#remaining === 0 && this.#control === undefined) {
        // Header: collect until complete.
        const need = this.#headerNeed();
        while (this.#headLen < need && p < n) this.#head[this.#headLen++] = chunk[p++];
        const full = this.#headerNeed();
        if (this.#headLen < full) {
          while (this.#headLen < full && p < n) this.#head[this.#headLen++] = chunk[p++];
          if (this.#headLen < full) return;
        }
        this.#startFrame(ev);
        if (this.#remaining === 0 && this.#control === undefined) continue;
        if (p >= n) return;
      }
      const take = Math.min(this.#remaining, n - p);
      const slice = chunk.subarray(p, p + take);
      this.#unmask(slice);
      p += take;
      this.#remaining -= take;
      if (this.#control !== undefined) {
        this.#control.set(slice, this.#controlLen);
        this.#controlLen += take;
        if (this.#remaining === 0) this.#endControl(ev);
      } else if (take > 0) {
        ev.data(slice);
      }
    }
  }

  /** Header bytes needed given what we have: 2, then 2 + ext length + 4 (mask). */
  #headerNeed(): number {
    if (this.#headLen < 2) return 2;
    const len7 = this.#head[1] & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + ext + ((this.#head[1] & 0x80) !== 0 ? 4 : 0);
  }

  #startFrame(ev: WsFrameEvents): void {
    const b0 = this.#head[0];
    const b1 = this.#head[1];
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) {
      throw new WsProtocolError(1002, "reserved bits set (no extension was negotiated)");
    }
    const opcode = b0 & 0x0f;
    // RFC 6455 §5.1: every client frame is masked.
    if ((b1 & 0x80) === 0) throw new WsProtocolError(1002, "client frames must be masked");
    const len7 = b1 & 0x7f;
    let len: number;
    let q = 2;
    if (len7 === 126) {
      len = (this.#head[2] << 8) | this.#head[3];
      q = 4;
    } else if (len7 === 127) {
      const dv = new DataView(this.#head.buffer, 2, 8);
      const hi = dv.getUint32(0);
      if (hi > 0x1fffff) throw new WsProtocolError(1009, "frame too large");
      len = hi * 0x100000000 + dv.getUint32(4);
      q = 10;
    } else len = len7;
    this.#mask.set(this.#head.subarray(q, q + 4));
    this.#maskPos = 0;
    this.#headLen = 0;
    this.#opcode = opcode;
    if (opcode >= 0x8) {
      if (!fin || len > 125) throw new WsProtocolError(1002, "invalid control frame");
      if (opcode !== 0x8 && opcode !== 0x9 && opcode !== 0xa) {
        throw new WsProtocolError(1002, `unknown control opcode ${opcode}`);
      }
      this.#control = new Uint8Array(len);
      this.#controlLen = 0;
      this.#remaining = len;
      if (len === 0) this.#endControl(ev);
      return;
    }
    if (opcode === 0x1) {
      // MQTT-6.0.0-1: MQTT data is sent in binary frames; a text frame closes the connection.
      throw new WsProtocolError(
        1003,
        "text frame received; MQTT uses binary frames [MQTT-6.0.0-1]",
      );
    }
    if (opcode === 0x2) {
      if (this.#fragmented) throw new WsProtocolError(1002, "new message inside a fragmented one");
    } else if (opcode === 0x0) {
      if (!this.#fragmented) throw new WsProtocolError(1002, "continuation without a message");
    } else throw new WsProtocolError(1002, `unknown opcode ${opcode}`);
    if (len > this.maxFrameSize) throw new WsProtocolError(1009, "frame too large");
    this.#fragmented = !fin;
    this.#remaining = len;
  }

  #unmask(b: Uint8Array): void {
    const m = this.#mask;
    let k = this.#maskPos;
    for (let i = 0; i < b.length; i++) {
      b[i] ^= m[k];
      k = (k + 1) & 3;
    }
    this.#maskPos = k;
  }

  #endControl(ev: WsFrameEvents): void {
    const payload = this.#control!;
    this.#control = undefined;
    switch (this.#opcode) {
      case 0x9:
        ev.reply(pongFrame(payload));
        break;
      case 0xa:
        break;
      case 0x8: {
        this.#closed = true;
        ev.close(payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005);
        break;
      }
    }
  }
}
