/**
 * One network connection as the broker sees it (a `ClientLink`), shared by every listener type:
 * tcp and tls (`Deno.listen` / `Deno.listenTls` conns, or the node:tls adapter for mTLS), with
 * optional WebSocket framing (ws, wss) and an optional PROXY protocol header in front.
 *
 * Performance rules (ARCHITECTURE.md): one reusable read buffer per connection (4 KB, grown on
 * demand); no `await` inside the per-packet loop; `send()` only encodes into a double-buffered
 * ByteWriter, flushed once per event-loop turn (a microtask) with at most one write in flight;
 * over WebSocket all packets of one flush go out as one binary frame, whose header is written
 * into room reserved in front of the batch (no copy).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
// setImmediate, not setTimeout(0): nested zero timeouts are clamped to ~2 ms (measured), an
// immediate costs ~10 µs and still lets the event loop poll sockets.
import { setImmediate } from "node:timers";
import { encodePacket } from "../codec/encode.ts";
import { asCodecError } from "../codec/errors.ts";
import type { ConnackPacket, ConnectPacket, Packet, ProtocolVersion } from "../codec/packets.ts";
import { PacketReader } from "../codec/packet_reader.ts";
import { ByteWriter } from "../codec/writer.ts";
import type { Broker } from "../broker/broker.ts";
import type { ClientLink, LinkHandler } from "../broker/types.ts";
import {
  closeFrame,
  endOfHeaders,
  MAX_HANDSHAKE_BYTES,
  writeBinaryHeader,
  WS_HEADER_RESERVE,
  WsFrameDecoder,
  wsHandshake,
  type WsHandshakeOptions,
  WsProtocolError,
} from "./websocket.ts";
import { parseProxyHeader, type ProxyInfo } from "./proxy_protocol.ts";

const log = getLogger(["edgemq", "transport"]);

export const READ_BUFFER_START = 4096;
const READ_BUFFER_MAX = 64 * 1024;
/** Reads in a row after which the read loop yields to the event loop (macrotask). */
const YIELD_EVERY_READS = 8;
/** How long a closing connection may take to flush before the socket is closed anyway. */
const CLOSE_FLUSH_TIMEOUT_MS = 2000;

/** The byte stream under a link: `Deno.TcpConn`, `Deno.TlsConn`, or the node:tls adapter. */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** The verified client certificate of a TLS connection (or as a TLS terminator reported it). */
export interface PeerCertificate {
  /** Subject Common Name. */
  cn?: string;
  /** Subject distinguished name, RFC 2253 order ("CN=device-1,O=edge"), as Mosquitto prints it. */
  subject?: string;
}

/** What a listener hands each of its connections. */
export interface LinkSettings {
  listenerName: string;
  /** Allowed MQTT protocol levels (3 = 3.1, 4 = 3.1.1, 5 = 5.0); undefined = all. */
  protocols?: readonly ProtocolVersion[];
  /** Replace the CONNECT username with the client certificate's CN or subject (mTLS). */
  useIdentityAsUsername?: "cn" | "subject" | false;
  /** WebSocket framing: the handshake options. */
  ws?: WsHandshakeOptions;
  /** Expect a PROXY protocol v1/v2 header first. */
  proxyProtocol?: boolean;
}

/** Per-connection facts learned before MQTT starts. */
export interface LinkInfo {
  remoteAddress: string;
  remotePort: number;
  peerCertificate?: PeerCertificate;
  /** Bytes already read past the PROXY header / WebSocket handshake. */
  initial?: Uint8Array;
}

/** A shared connection counter (per listener, or global across listeners). 0 = unlimited. */
export class ConnectionLimit {
  count = 0;
  constructor(public max = 0) {}
  get full(): boolean {
    return this.max > 0 && this.count >= this.max;
  }
}

/** One accepted connection: the `ClientLink` the broker core talks to. */
export class StreamLink implements ClientLink {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listenerName: string;
  /** The verified client certificate (mTLS listeners, or a PROXY v2 SSL TLV). */
  readonly peerCertificate?: PeerCertificate;
  readonly #stream: ByteStream;
  readonly #broker: Broker;
  readonly #settings: LinkSettings;
  readonly #ws: boolean;
  /** Bytes reserved in front of each output batch (the WebSocket frame header). */
  readonly #reserve: number;
  #handler!: LinkHandler;
  #version: ProtocolVersion = 4;
  #clientMax = 0;
  #out: ByteWriter;
  #spare: ByteWriter;
  #inFlight = 0;
  #writing = false;
  #flushQueued = false;
  #closeRequested = false;
  #closed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #wasCongested = false;
  /** The first packet (CONNECT) passes the listener's checks before the broker sees it. */
  #gate: boolean;
  readonly done: Promise<void>;

  constructor(
    stream: ByteStream,
    broker: Broker,
    settings: LinkSettings,
    info: LinkInfo,
    readBuffer?: Uint8Array,
  ) {
    this.#stream = stream;
    this.#broker = broker;
    this.#settings = settings;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.listenerName = settings.listenerName;
    if (info.peerCertificate) this.peerCertificate = info.peerCertificate;
    this.#ws = settings.ws !== undefined;
    this.#reserve = this.#ws ? WS_HEADER_RESERVE : 0;
    this.#out = this.#newWriter();
    this.#spare = this.#newWriter();
    this.#gate = settings.protocols !== undefined || !!settings.useIdentityAsUsername;
    this.#handler = broker.accept(this);
    this.done = this.#readLoop(info.initial, readBuffer);
  }

  #newWriter(): ByteWriter {
    const w = new ByteWriter(1024);
    w.length = this.#reserve;
    return w;
  }

  get pendingBytes(): number {
    return this.#out.length - this.#reserve + this.#inFlight;
  }

  setProtocol(version: ProtocolVersion, clientMaxPacketSize?: number): void {
    this.#version = version;
    this.#clientMax = clientMaxPacketSize ?? 0;
  }

  send(packet: Packet): boolean {
    if (this.#closed || this.#closeRequested) return false;
    const out = this.#out;
    const start = out.length;
    try {
      encodePacket(packet, this.#version, out);
    } catch (e) {
      log.error("cannot encode {type} for {addr}: {error}", {
        type: packet.type,
        addr: `${this.remoteAddress}:${this.remotePort}`,
        error: e instanceof Error ? e.message : String(e),
      });
      out.length = start;
      return false;
    }
    if (this.#clientMax > 0 && out.length - start > this.#clientMax) {
      // MQTT-3.1.2-24 (5.0): never send a packet larger than the client's Maximum Packet Size.
      out.length = start;
      return false;
    }
    this.#scheduleFlush();
    return true;
  }

  close(): void {
    if (this.#closed || this.#closeRequested) return;
    this.#closeRequested = true;
    if (!this.#writing && this.#out.length === this.#reserve) {
      this.#shutdown(1000);
      return;
    }
    this.#scheduleFlush();
    this.#closeTimer = setTimeout(() => this.#shutdown(1000), CLOSE_FLUSH_TIMEOUT_MS);
  }

  /**
   * Closes the socket now. Over WebSocket, a close frame with `wsCode` goes first (best effort;
   * never when a write is in flight, which would interleave frames).
   */
  #shutdown(wsCode?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    if (this.#ws && wsCode !== undefined && !this.#writing) {
      const stream = this.#stream;
      const timer = setTimeout(() => closeQuietly(stream), 500);
      stream.write(closeFrame(wsCode)).catch(() => {}).finally(() => {
        clearTimeout(timer);
        closeQuietly(stream);
      });
      return;
    }
    closeQuietly(this.#stream);
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#writing) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      void this.#flush();
    });
  }

  /** Writes everything encoded so far; one write in flight, buffers swapped between writes. */
  async #flush(): Promise<void> {
    if (this.#writing || this.#closed) return;
    this.#writing = true;
    const reserve = this.#reserve;
    try {
      while (this.#out.length > reserve && !this.#closed) {
        const buf = this.#out;
        this.#out = this.#spare;
        this.#spare = buf;
        let data: Uint8Array;
        if (this.#ws) {
          const start = writeBinaryHeader(buf.bytes, reserve, buf.length - reserve);
          data = buf.bytes.subarray(start, buf.length);
        } else data = buf.view();
        this.#inFlight = data.length;
        while (data.length > 0) {
          const n = await this.#stream.write(data);
          this.#broker.stats.bytesSent += n;
          data = data.subarray(n);
          this.#inFlight = data.length;
        }
        buf.length = reserve;
        if (buf.bytes.length > 1024 * 1024) this.#spare = this.#newWriter();
        this.#checkDrain();
      }
    } catch {
      // The peer went away; the read loop sees it and reports the close.
      this.#shutdown();
    } finally {
      this.#writing = false;
      this.#inFlight = 0;
    }
    if (this.#closeRequested) {
      if (this.#out.length === reserve || this.#closed) this.#shutdown(1000);
      else this.#scheduleFlush();
    }
  }

  #checkDrain(): void {
    const limit = this.#broker.options.maxPendingOutputBytes;
    if (this.pendingBytes > limit) {
      this.#wasCongested = true;
    } else if (this.#wasCongested) {
      this.#wasCongested = false;
      this.#handler.onDrain();
    }
  }

  /**
   * The listener's checks on CONNECT, before the broker sees it: the allowed protocol levels
   * (`protocols`), and the certificate identity as username (`use_identity_as_username`).
   * Returns false when the CONNECT was answered here.
   */
  #checkConnect(p: ConnectPacket): boolean {
    const allowed = this.#settings.protocols;
    if (allowed !== undefined && !allowed.includes(p.protocolVersion)) {
      // MQTT-3.1.2-2 (3.1.1): unacceptable protocol level -> CONNACK return code 0x01; MQTT 5:
      // reason code 0x84 Unsupported Protocol Version (MQTT 5 §3.1.2.2), then close. Answered in
      // the client's own format (it sent a level we can encode, just not one this listener takes).
      this.setProtocol(p.protocolVersion);
      const connack: ConnackPacket = {
        type: "connack",
        sessionPresent: false,
        reasonCode: p.protocolVersion === 5 ? 0x84 : 0x01,
      };
      this.send(connack);
      log.info("refused CONNECT from {addr} on {listener}: MQTT level {level} not allowed here", {
        addr: `${this.remoteAddress}:${this.remotePort}`,
        listener: this.listenerName,
        level: p.protocolVersion,
      });
      this.close();
      return false;
    }
    const from = this.#settings.useIdentityAsUsername;
    if (from) {
      const id = from === "cn" ? this.peerCertificate?.cn : this.peerCertificate?.subject;
      if (id === undefined || id === "") {
        // Like Mosquitto: a listener that takes the username from the certificate refuses a
        // client whose certificate has none (0x87 Not authorized / 3.1.1 return code 5).
        this.setProtocol(p.protocolVersion);
        this.send({
          type: "connack",
          sessionPresent: false,
          reasonCode: p.protocolVersion === 5 ? 0x87 : 0x05,
        });
        this.close();
        return false;
      }
      // Mosquitto's use_identity_as_username: the CONNECT's username is replaced by the
      // certificate's identity and its password is not used (the certificate authenticated).
      p.username = id;
      p.password = undefined;
    }
    return true;
  }

  async #readLoop(initial: Uint8Array | undefined, buf?: Uint8Array): Promise<void> {
    const reader = new PacketReader({ maxPacketSize: this.#broker.options.maxPacketSize });
    if (buf === undefined) buf = new Uint8Array(READ_BUFFER_START);
    const handler = this.#handler;
    const onPacket = (p: Packet) => {
      if (this.#gate) {
        if (this.#closeRequested) return;
        this.#gate = false;
        if (p.type === "connect" && !this.#checkConnect(p)) return;
      }
      handler.onPacket(p);
    };
    const decoder = this.#ws ? new WsFrameDecoder() : undefined;
    let wsClose: number | undefined;
    const wsEvents = decoder && {
      data: (bytes: Uint8Array) => reader.push(bytes, onPacket),
      reply: (frame: Uint8Array) => {
        // Pongs are rare; written directly unless a batch is in flight (then dropped: the
        // client's ping only checks liveness, and MQTT has PINGREQ for that).
        if (!this.#writing && !this.#closed) this.#stream.write(frame).catch(() => {});
      },
      close: (code: number) => {
        wsClose = code === 1005 ? 1000 : code;
      },
    };
    const feed = (chunk: Uint8Array): boolean => {
      try {
        if (decoder) decoder.push(chunk, wsEvents!);
        else reader.push(chunk, onPacket);
      } catch (e) {
        if (e instanceof WsProtocolError) {
          log.info("closing {addr}: WebSocket: {error}", {
            addr: `${this.remoteAddress}:${this.remotePort}`,
            error: e.message,
          });
          this.#closeRequested = true;
          this.#shutdown(e.code);
        } else handler.onCodecError(asCodecError(e));
        return false;
      }
      if (wsClose !== undefined) {
        this.#closeRequested = true;
        this.#shutdown(wsClose);
        return false;
      }
      return true;
    };
    try {
      if (initial !== undefined && initial.length > 0) {
        this.#broker.stats.bytesReceived += initial.length;
        if (!feed(initial)) return;
      }
      let streak = 0;
      while (!this.#closed && !this.#closeRequested) {
        let n: number | null;
        if (++streak === YIELD_EVERY_READS) {
          // A TLS read served from rustls's buffer can resolve without a trip through the event
          // loop: a client that keeps it full would starve every other socket (and our own
          // writes). Give the loop a turn now and then.
          streak = 0;
          await new Promise((r) => setImmediate(r));
        }
        try {
          n = await this.#stream.read(buf);
        } catch {
          break;
        }
        if (n === null) break;
        this.#broker.stats.bytesReceived += n;
        if (!feed(buf.subarray(0, n))) break;
        if (this.pendingBytes > this.#broker.options.maxPendingOutputBytes) {
          this.#wasCongested = true;
        }
        if (n === buf.length && buf.length < READ_BUFFER_MAX) buf = new Uint8Array(buf.length * 2);
      }
    } finally {
      handler.onClose();
      if (!this.#closeRequested) this.close();
    }
  }
}

export function closeQuietly(stream: { close(): void }): void {
  try {
    stream.close();
  } catch { /* already closed */ }
}

/** Rejects after `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Reads what comes before MQTT on a fresh connection: the PROXY header, then the WebSocket
 * upgrade request (answered with 101 or an HTTP error). Returns the remote address and the
 * bytes already read past them, or throws (the caller closes the connection).
 */
export async function preamble(
  stream: ByteStream,
  settings: LinkSettings,
  socketAddr: { hostname: string; port: number },
  buf: Uint8Array,
): Promise<{ info: LinkInfo; buf: Uint8Array; proxy?: ProxyInfo }> {
  let have = 0;
  const readMore = async (limit: number, what: string) => {
    if (have === buf.length) {
      if (buf.length >= limit) throw new Error(`${what} longer than ${limit} bytes`);
      const bigger = new Uint8Array(Math.min(buf.length * 2, limit));
      bigger.set(buf.subarray(0, have));
      buf = bigger;
    }
    const n = await stream.read(buf.subarray(have));
    if (n === null) throw new Error(`connection closed during the ${what}`);
    have += n;
  };
  const info: LinkInfo = { remoteAddress: socketAddr.hostname, remotePort: socketAddr.port };
  let offset = 0;
  let proxy: ProxyInfo | undefined;
  if (settings.proxyProtocol) {
    for (;;) {
      const r = parseProxyHeader(buf.subarray(0, have));
      if (r !== undefined) {
        proxy = r.info;
        offset = r.length;
        break;
      }
      await readMore(4096 + 16, "PROXY protocol header");
    }
    if (proxy.command === "PROXY" && proxy.sourceAddress !== undefined) {
      info.remoteAddress = proxy.sourceAddress;
      info.remotePort = proxy.sourcePort ?? 0;
    }
    if (proxy.ssl?.certVerified && proxy.ssl.cn !== undefined) {
      info.peerCertificate = { cn: proxy.ssl.cn };
    }
  }
  if (settings.ws) {
    let end: number;
    for (;;) {
      end = endOfHeaders(buf.subarray(offset, have));
      if (end >= 0) break;
      await readMore(offset + MAX_HANDSHAKE_BYTES, "WebSocket handshake");
    }
    const result = await wsHandshake(buf.subarray(offset, offset + end), end, settings.ws);
    await stream.write(result.response);
    if (!result.ok) throw new Error(`WebSocket handshake refused: ${result.reason}`);
    offset += end;
  }
  if (have > offset) info.initial = buf.slice(offset, have);
  return { info, buf, proxy };
}

/** Common part of every listener: the links, the connection limits, close and drain. */
export abstract class ListenerBase {
  readonly #links = new Set<StreamLink>();
  readonly #pending = new Set<Promise<void>>();
  /** Sockets still in their preamble: closed with the listener. */
  readonly #preamble = new Set<ByteStream>();
  readonly broker: Broker;
  readonly settings: LinkSettings;
  readonly limit: ConnectionLimit;
  readonly global: ConnectionLimit | undefined;
  #closed = false;

  constructor(
    broker: Broker,
    settings: LinkSettings,
    maxConnections = 0,
    global?: ConnectionLimit,
  ) {
    this.broker = broker;
    this.settings = settings;
    this.limit = new ConnectionLimit(maxConnections);
    this.global = global;
  }

  abstract readonly name: string;
  abstract readonly host: string;
  abstract readonly port: number;

  get closed(): boolean {
    return this.#closed;
  }

  /** Open connections (including those still in the TLS / WebSocket / PROXY preamble). */
  get connectionCount(): number {
    return this.limit.count;
  }

  /**
   * Admits a new socket, or closes it at once when this listener's or the global
   * `max_connections` is reached. Like Mosquitto (`net__socket_accept`: "Client connection from
   * … denied: max_connections exceeded"), the socket is closed before any byte is read: an MQTT 5
   * client could be told CONNACK 0x97 Quota exceeded / 0x9F Connection rate exceeded, but that
   * means completing a TLS handshake and reading a CONNECT for every excess connection — the
   * very load the limit is there to shed.
   */
  protected admit(socket: { close(): void }, remote: string): (() => void) | undefined {
    if (this.#closed || this.limit.full || this.global?.full) {
      log.warning("connection from {addr} on {listener} denied: max_connections reached", {
        addr: remote,
        listener: this.name,
      });
      closeQuietly(socket);
      return undefined;
    }
    this.limit.count++;
    if (this.global) this.global.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.limit.count--;
      if (this.global) this.global.count--;
    };
  }

  /**
   * Runs the preamble (`prepare`: TLS handshake, PROXY header, WebSocket upgrade) of an
   * admitted socket, then hands it to the broker. Never throws.
   */
  protected serve(
    stream: ByteStream,
    remote: { hostname: string; port: number },
    prepare: (buf: Uint8Array) => Promise<{ info: LinkInfo; buf: Uint8Array }>,
    release: () => void,
  ): void {
    const task = (async () => {
      let link: StreamLink;
      this.#preamble.add(stream);
      try {
        const buf = new Uint8Array(READ_BUFFER_START);
        const timeout = this.broker.options.connectTimeout * 1000;
        const { info, buf: readBuf } = await withDeadline(
          prepare(buf),
          timeout,
          "connection setup",
        );
        if (this.#closed) throw new Error("listener closed");
        link = new StreamLink(stream, this.broker, this.settings, info, readBuf);
      } catch (e) {
        log.info("connection from {addr} on {listener} closed before MQTT: {error}", {
          addr: `${remote.hostname}:${remote.port}`,
          listener: this.name,
          error: e instanceof Error ? e.message : String(e),
        });
        closeQuietly(stream);
        release();
        return;
      } finally {
        this.#preamble.delete(stream);
      }
      this.#links.add(link);
      await link.done;
      this.#links.delete(link);
      release();
    })();
    this.#pending.add(task);
    task.finally(() => this.#pending.delete(task));
  }

  /** Stops accepting. Connections are closed by the broker (`broker.close()`). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#preamble) closeQuietly(s);
    await this.stopAccepting();
  }

  protected abstract stopAccepting(): Promise<void>;

  /** Waits until every connection of this listener has finished. */
  async drained(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}
