/**
 * One network connection as the broker sees it (a `ClientLink`), shared by every listener type:
 * tcp and tls (`Deno.listen` / `Deno.listenTls` conns, or the node:tls adapter for mTLS), with
 * optional WebSocket framing (ws, wss) and an optional PROXY protocol header in front.
 *
 * Performance rules (ARCHITECTURE.md): an idle connection waits with its read in a 256-byte slab
 * slot and holds no output buffer; a busy one borrows pooled buffers (buffers.ts); no `await`
 * inside the per-packet loop; `send()` only encodes into a pooled ByteWriter, flushed once per
 * event-loop turn (one shared microtask) with at most one write in flight; no timer, closure or
 * promise chain per connection beyond the pending read. Over WebSocket all packets of one flush
 * go out as one binary frame, whose header is written into room reserved in front of the batch
 * (no copy).
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
import type { ByteWriter } from "../codec/writer.ts";
import type { Broker } from "../broker/broker.ts";
import type { ClientLink, LinkHandler } from "../broker/types.ts";
import {
  closeFrame,
  endOfHeaders,
  MAX_HANDSHAKE_BYTES,
  writeBinaryHeader,
  WS_HEADER_RESERVE,
  WsFrameDecoder,
  type WsFrameEvents,
  wsHandshake,
  type WsHandshakeOptions,
  WsProtocolError,
} from "./websocket.ts";
import { parseProxyHeader, type ProxyInfo } from "./proxy_protocol.ts";
import {
  BIG_READ_MAX,
  BIG_READ_START,
  releaseBigRead,
  releaseSmallRead,
  releaseWriter,
  SMALL_READ,
  takeBigRead,
  takeSmallRead,
  takeWriter,
} from "./buffers.ts";

const log = getLogger(["edgemq", "transport"]);

/** First size of the buffer a preamble (PROXY header, WebSocket upgrade) is read into. */
const PREAMBLE_BUFFER_START = 1024;
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
  /** The listener told when the link is done (and whether it counts against its limit). */
  readonly #owner: ListenerBase | undefined;
  readonly #counted: boolean;
  /** Bytes reserved in front of each output batch (the WebSocket frame header); 0 = not ws. */
  readonly #reserve: number;
  readonly #reader: PacketReader;
  /** WebSocket framing (ws / wss listeners). */
  readonly #ws: WsLinkState | undefined;
  #handler: LinkHandler;
  #version: ProtocolVersion = 4;
  #clientMax = 0;
  /** Output encoded since the last flush: a pooled writer, taken on the first send. */
  #out: ByteWriter | undefined;
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
    owner?: ListenerBase,
    counted = false,
  ) {
    this.#stream = stream;
    this.#broker = broker;
    this.#settings = settings;
    this.#owner = owner;
    this.#counted = counted;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.listenerName = settings.listenerName;
    if (info.peerCertificate) this.peerCertificate = info.peerCertificate;
    this.#reserve = settings.ws !== undefined ? WS_HEADER_RESERVE : 0;
    if (settings.ws !== undefined) {
      const state: WsLinkState = {
        decoder: new WsFrameDecoder(),
        events: undefined as unknown as WsFrameEvents,
        closeCode: undefined,
      };
      state.events = this.#wsEvents(state);
      this.#ws = state;
    }
    this.#reader = new PacketReader({ maxPacketSize: broker.options.maxPacketSize });
    this.#gate = settings.protocols !== undefined || !!settings.useIdentityAsUsername;
    this.#handler = broker.accept(this);
    this.done = this.#readLoop(info.initial);
  }

  get pendingBytes(): number {
    const out = this.#out;
    return (out === undefined ? 0 : out.length - this.#reserve) + this.#inFlight;
  }

  setProtocol(version: ProtocolVersion, clientMaxPacketSize?: number): void {
    this.#version = version;
    this.#clientMax = clientMaxPacketSize ?? 0;
  }

  send(packet: Packet): boolean {
    if (this.#closed || this.#closeRequested) return false;
    const out = this.#out ??= takeWriter(this.#reserve);
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
    if (!this.#writing && this.#out === undefined) {
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
    if (this.#out !== undefined && !this.#writing) {
      releaseWriter(this.#out);
      this.#out = undefined;
    }
    if (this.#ws !== undefined && wsCode !== undefined && !this.#writing) {
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
    flushSoon(this);
  }

  /** Runs from the shared flush microtask (`flushSoon`). */
  runFlush(): void {
    this.#flushQueued = false;
    void this.#flush();
  }

  /**
   * Writes everything encoded so far: one write in flight; packets sent meanwhile go into
   * another pooled writer. A writer goes back to the pool once its write is complete.
   */
  async #flush(): Promise<void> {
    if (this.#writing || this.#closed) return;
    this.#writing = true;
    const reserve = this.#reserve;
    const stats = this.#broker.stats;
    let buf: ByteWriter | undefined;
    try {
      while ((buf = this.#out) !== undefined && !this.#closed) {
        this.#out = undefined;
        if (buf.length === reserve) {
          releaseWriter(buf);
          continue;
        }
        let data: Uint8Array;
        if (reserve > 0) {
          const start = writeBinaryHeader(buf.bytes, reserve, buf.length - reserve);
          data = buf.bytes.subarray(start, buf.length);
        } else data = buf.view();
        this.#inFlight = data.length;
        while (data.length > 0) {
          const n = await this.#stream.write(data);
          stats.bytesSent += n;
          data = data.subarray(n);
          this.#inFlight = data.length;
        }
        releaseWriter(buf);
        buf = undefined;
        this.#checkDrain();
      }
    } catch {
      // The peer went away; the read loop sees it and reports the close. (`buf` is dropped,
      // not pooled: the failed write may still reference it.)
      this.#shutdown();
    } finally {
      this.#writing = false;
      this.#inFlight = 0;
    }
    if (this.#closed && this.#out !== undefined) {
      releaseWriter(this.#out);
      this.#out = undefined;
    }
    if (this.#closeRequested) {
      if (this.#out === undefined || this.#closed) this.#shutdown(1000);
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

  async #readLoop(initial: Uint8Array | undefined): Promise<void> {
    const stats = this.#broker.stats;
    // The read of an idle connection waits in a small slab slot; a read that fills its buffer
    // borrows a bigger one, given back once a read returns little (see buffers.ts).
    const small = takeSmallRead();
    let buf = small;
    try {
      if (initial !== undefined && initial.length > 0) {
        stats.bytesReceived += initial.length;
        if (!this.#feed(initial)) return;
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
        stats.bytesReceived += n;
        if (!this.#feed(buf.subarray(0, n))) break;
        if (this.pendingBytes > this.#broker.options.maxPendingOutputBytes) {
          this.#wasCongested = true;
        }
        if (n === buf.length) {
          if (buf === small) buf = takeBigRead(BIG_READ_START);
          else if (buf.length < BIG_READ_MAX) {
            releaseBigRead(buf);
            buf = takeBigRead(buf.length * 2);
          }
        } else if (buf !== small && n < SMALL_READ) {
          releaseBigRead(buf);
          buf = small;
        }
      }
    } finally {
      // No read is pending any more: the buffers can go back.
      if (buf !== small) releaseBigRead(buf);
      releaseSmallRead(small);
      try {
        this.#handler.onClose();
      } finally {
        if (!this.#closeRequested) this.close();
        this.#owner?.linkDone(this, this.#counted);
      }
    }
  }

  /** The parser's per-packet callback (bound once per link). */
  readonly #onPacket = (p: Packet): void => {
    if (this.#gate) {
      if (this.#closeRequested) return;
      this.#gate = false;
      if (p.type === "connect" && !this.#checkConnect(p)) return;
    }
    this.#handler.onPacket(p);
  };

  /** Parses one chunk; false when the connection is to close. */
  #feed(chunk: Uint8Array): boolean {
    const ws = this.#ws;
    try {
      if (ws !== undefined) ws.decoder.push(chunk, ws.events);
      else this.#reader.push(chunk, this.#onPacket);
    } catch (e) {
      if (e instanceof WsProtocolError) {
        log.info("closing {addr}: WebSocket: {error}", {
          addr: `${this.remoteAddress}:${this.remotePort}`,
          error: e.message,
        });
        this.#closeRequested = true;
        this.#shutdown(e.code);
      } else this.#handler.onCodecError(asCodecError(e));
      return false;
    }
    if (ws !== undefined && ws.closeCode !== undefined) {
      this.#closeRequested = true;
      this.#shutdown(ws.closeCode);
      return false;
    }
    return true;
  }

  /** WebSocket frame events of this link (ws / wss only). */
  #wsEvents(state: WsLinkState): WsFrameEvents {
    return {
      data: (bytes) => this.#reader.push(bytes, this.#onPacket),
      reply: (frame) => {
        // Pongs are rare; written directly unless a batch is in flight (then dropped: the
        // client's ping only checks liveness, and MQTT has PINGREQ for that).
        if (!this.#writing && !this.#closed) this.#stream.write(frame).catch(() => {});
      },
      close: (code) => {
        state.closeCode = code === 1005 ? 1000 : code;
      },
    };
  }
}

/** The WebSocket decoding state of a ws / wss link. */
interface WsLinkState {
  readonly decoder: WsFrameDecoder;
  events: WsFrameEvents;
  /** Set when the peer sent a close frame. */
  closeCode: number | undefined;
}

/** Links with output to flush, all flushed from one microtask (no closure per flush). */
let flushList: StreamLink[] = [];

function flushSoon(link: StreamLink): void {
  if (flushList.push(link) === 1) queueMicrotask(runFlushes);
}

function runFlushes(): void {
  const list = flushList;
  flushList = [];
  for (let i = 0; i < list.length; i++) list[i].runFlush();
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
  /** Connections in their preamble (TLS handshake, PROXY header, WebSocket upgrade). */
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
   * Admits a new socket (counted until `release()`), or closes it at once when this listener's
   * or the global `max_connections` is reached. Like Mosquitto (`net__socket_accept`: "Client
   * connection from … denied: max_connections exceeded"), the socket is closed before any byte
   * is read: an MQTT 5 client could be told CONNACK 0x97 Quota exceeded / 0x9F Connection rate
   * exceeded, but that means completing a TLS handshake and reading a CONNECT for every excess
   * connection — the very load the limit is there to shed.
   */
  protected admit(socket: { close(): void }, remote: string): boolean {
    if (this.#closed || this.limit.full || this.global?.full) {
      log.warning("connection from {addr} on {listener} denied: max_connections reached", {
        addr: remote,
        listener: this.name,
      });
      closeQuietly(socket);
      return false;
    }
    this.limit.count++;
    if (this.global) this.global.count++;
    return true;
  }

  /** Un-counts a socket admitted by `admit` (exactly once per admitted socket). */
  protected release(): void {
    this.limit.count--;
    if (this.global) this.global.count--;
  }

  /**
   * Hands a socket with nothing before MQTT (plain tcp) to the broker at once: no preamble
   * task, no timer (the broker's tick enforces the CONNECT timeout). `counted`: admitted by
   * `admit`, released when the link is done.
   */
  protected open(stream: ByteStream, info: LinkInfo, counted: boolean): void {
    this.#links.add(new StreamLink(stream, this.broker, this.settings, info, this, counted));
  }

  /** Called by a link when its read loop has ended. */
  linkDone(link: StreamLink, counted: boolean): void {
    this.#links.delete(link);
    if (counted) this.release();
  }

  /**
   * Runs the preamble (`prepare`: TLS handshake, PROXY header, WebSocket upgrade) of a socket,
   * within the connect timeout, then hands it to the broker. Never throws. `counted`: admitted
   * by `admit`, released when the connection ends.
   */
  protected serve(
    stream: ByteStream,
    remote: { hostname: string; port: number },
    prepare: (buf: Uint8Array) => Promise<{ info: LinkInfo; buf: Uint8Array }>,
    counted: boolean,
  ): void {
    const task = (async () => {
      this.#preamble.add(stream);
      let info: LinkInfo;
      try {
        const buf = new Uint8Array(PREAMBLE_BUFFER_START);
        const timeout = this.broker.options.connectTimeout * 1000;
        info = (await withDeadline(prepare(buf), timeout, "connection setup")).info;
        if (this.#closed) throw new Error("listener closed");
      } catch (e) {
        log.info("connection from {addr} on {listener} closed before MQTT: {error}", {
          addr: `${remote.hostname}:${remote.port}`,
          listener: this.name,
          error: e instanceof Error ? e.message : String(e),
        });
        closeQuietly(stream);
        if (counted) this.release();
        return;
      } finally {
        this.#preamble.delete(stream);
      }
      this.open(stream, info, counted);
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
    await Promise.all([...this.#links].map((l) => l.done));
  }
}
