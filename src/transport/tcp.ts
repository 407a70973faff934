/**
 * TCP listener on Deno's native sockets (`Deno.listen`, `conn.read`/`conn.write`; not node:net,
 * see ARCHITECTURE.md). Per connection: one reusable read buffer (4 KB, grown on demand), one
 * PacketReader, and a double-buffered ByteWriter output. `send()` only encodes; the output is
 * flushed once per event-loop turn (a microtask) with at most one `conn.write` in flight, and
 * there is no `await` inside the per-packet loop.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { encodePacket } from "../codec/encode.ts";
import { asCodecError } from "../codec/errors.ts";
import type { Packet, ProtocolVersion } from "../codec/packets.ts";
import { PacketReader } from "../codec/packet_reader.ts";
import { ByteWriter } from "../codec/writer.ts";
import type { Broker } from "../broker/broker.ts";
import type { ClientLink, LinkHandler } from "../broker/types.ts";

const log = getLogger(["edgemq", "transport"]);

const READ_BUFFER_START = 4096;
const READ_BUFFER_MAX = 64 * 1024;
/** How long a closing connection may take to flush before the socket is closed anyway. */
const CLOSE_FLUSH_TIMEOUT_MS = 2000;

export interface TcpListenerOptions {
  host?: string;
  port?: number;
}

/** One accepted TCP connection: the `ClientLink` the broker core talks to. */
class TcpLink implements ClientLink {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listenerName: string;
  readonly #conn: Deno.TcpConn;
  readonly #broker: Broker;
  #handler!: LinkHandler;
  #version: ProtocolVersion = 4;
  #clientMax = 0;
  #out = new ByteWriter(1024);
  #spare = new ByteWriter(1024);
  #inFlight = 0;
  #writing = false;
  #flushQueued = false;
  #closeRequested = false;
  #closed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #wasCongested = false;
  readonly done: Promise<void>;

  constructor(conn: Deno.TcpConn, broker: Broker, listenerName: string) {
    this.#conn = conn;
    this.#broker = broker;
    const addr = conn.remoteAddr;
    this.remoteAddress = addr.hostname;
    this.remotePort = addr.port;
    this.listenerName = listenerName;
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    this.#handler = broker.accept(this);
    this.done = this.#readLoop();
  }

  get pendingBytes(): number {
    return this.#out.length + this.#inFlight;
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
    if (!this.#writing && this.#out.length === 0) {
      this.#shutdown();
      return;
    }
    this.#scheduleFlush();
    this.#closeTimer = setTimeout(() => this.#shutdown(), CLOSE_FLUSH_TIMEOUT_MS);
  }

  /** Closes the socket now. */
  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
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
    try {
      while (this.#out.length > 0 && !this.#closed) {
        const buf = this.#out;
        this.#out = this.#spare;
        this.#spare = buf;
        let data = buf.view();
        this.#inFlight = data.length;
        while (data.length > 0) {
          const n = await this.#conn.write(data);
          this.#broker.stats.bytesSent += n;
          data = data.subarray(n);
          this.#inFlight = data.length;
        }
        buf.reset();
        if (buf.bytes.length > 1024 * 1024) this.#spare = new ByteWriter(1024);
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
      if (this.#out.length === 0 || this.#closed) this.#shutdown();
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

  async #readLoop(): Promise<void> {
    const reader = new PacketReader({ maxPacketSize: this.#broker.options.maxPacketSize });
    let buf = new Uint8Array(READ_BUFFER_START);
    const handler = this.#handler;
    const onPacket = (p: Packet) => handler.onPacket(p);
    try {
      while (!this.#closed && !this.#closeRequested) {
        let n: number | null;
        try {
          n = await this.#conn.read(buf);
        } catch {
          break;
        }
        if (n === null) break;
        this.#broker.stats.bytesReceived += n;
        try {
          reader.push(buf.subarray(0, n), onPacket);
        } catch (e) {
          handler.onCodecError(asCodecError(e));
          break;
        }
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

/** A TCP listener feeding one broker. */
export class TcpListener {
  readonly #listener: Deno.TcpListener;
  readonly #broker: Broker;
  readonly #links = new Set<TcpLink>();
  readonly host: string;
  readonly port: number;
  readonly name: string;
  #acceptLoop: Promise<void>;

  constructor(broker: Broker, opts: TcpListenerOptions = {}) {
    this.#broker = broker;
    this.#listener = Deno.listen({
      hostname: opts.host ?? "127.0.0.1",
      port: opts.port ?? 1883,
      transport: "tcp",
    });
    const addr = this.#listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.name = `tcp:${this.host}:${this.port}`;
    this.#acceptLoop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        log.error("accept failed on {name}: {error}", { name: this.name, error: String(e) });
        return;
      }
      const link = new TcpLink(conn, this.#broker, this.name);
      this.#links.add(link);
      link.done.finally(() => this.#links.delete(link));
    }
  }

  /** Stops accepting. Connections are closed by the broker (`broker.close()`). */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
  }

  /** Waits until every connection of this listener has finished. */
  async drained(): Promise<void> {
    await Promise.all([...this.#links].map((l) => l.done));
  }
}
