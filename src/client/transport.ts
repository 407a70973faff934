/**
 * Client transports: TCP (`Deno.connect`), TLS (`Deno.connectTls`, or `Deno.connect` +
 * `Deno.startTls` when the SNI/verification name differs from the address dialled) and
 * WebSocket (Deno's global `WebSocket`, sub-protocol "mqtt", binary frames; an MQTT packet may
 * span frames and a frame may hold several packets — the frame parser does not care).
 *
 * `BatchedWriter` is the write side shared by all of them: packets are encoded into a reused
 * `ByteWriter`, flushed once per event-loop turn (a microtask) with at most one write in flight,
 * double-buffered so encoding continues while a write is pending (see ARCHITECTURE.md).
 *
 * @module
 */
import { ByteWriter } from "../codec/writer.ts";

export type TransportProtocol = "mqtt" | "mqtts" | "ws" | "wss";

/** Port used when an address names none, per transport. */
export const DEFAULT_PORTS: Readonly<Record<TransportProtocol, number>> = {
  mqtt: 1883,
  mqtts: 8883,
  ws: 80,
  wss: 443,
};
/** URL schemes accepted in an address, and the transport each means. */
export const SCHEMES: Readonly<Record<string, TransportProtocol>> = {
  mqtt: "mqtt",
  tcp: "mqtt",
  mqtts: "mqtts",
  tls: "mqtts",
  ssl: "mqtts",
  ws: "ws",
  wss: "wss",
};

export interface TlsOptions {
  /** PEM CA certificate(s) trusted in addition to the default roots. */
  ca?: string | string[];
  /** PEM client certificate (mutual TLS); needs `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Name sent as SNI and checked against the server certificate (default: the host). */
  serverName?: string;
  /** ALPN protocols to offer (e.g. ["mqtt"] for AWS IoT on port 443). */
  alpn?: string[];
  /**
   * Must be true or absent: Deno's native TLS always verifies the certificate chain (the only
   * way around it is the `--unsafely-ignore-certificate-errors` runtime flag). Passing false
   * is an error rather than a silent no-op.
   */
  rejectUnauthorized?: boolean;
}

export interface TransportOptions {
  protocol: TransportProtocol;
  host: string;
  port: number;
  tls?: TlsOptions;
  /** WebSocket path (default "/mqtt"). */
  wsPath?: string;
}

/** A byte stream to the server. One `write` in flight at a time (BatchedWriter ensures it). */
export interface Transport {
  /** Starts delivering inbound bytes. `onData` gets a view valid only during the call. */
  start(onData: (chunk: Uint8Array) => void, onEnd: (err?: unknown) => void): void;
  /** Writes all of `data` (which may be a view into a reused buffer). */
  write(data: Uint8Array): Promise<void>;
  /** Closes the connection; `onEnd` follows. Idempotent. */
  close(): void;
}

/** Opens a transport. Errors carry the reason (refused, TLS failure, WebSocket handshake). */
export async function openTransport(opts: TransportOptions): Promise<Transport> {
  switch (opts.protocol) {
    case "mqtt": {
      const conn = await Deno.connect({ hostname: opts.host, port: opts.port, transport: "tcp" });
      try {
        conn.setNoDelay(true);
      } catch { /* not fatal */ }
      return new ConnTransport(conn);
    }
    case "mqtts":
      return new ConnTransport(await connectTls(opts));
    case "ws":
    case "wss":
      return await openWebSocket(opts);
    default:
      throw new Error(`unknown transport protocol ${JSON.stringify(opts.protocol)}`);
  }
}

function caList(tls: TlsOptions | undefined): string[] | undefined {
  if (tls?.ca === undefined) return undefined;
  return Array.isArray(tls.ca) ? tls.ca : [tls.ca];
}

function checkTlsOptions(tls: TlsOptions | undefined): void {
  if (tls?.rejectUnauthorized === false) {
    throw new Error(
      "tls.rejectUnauthorized=false is not supported by Deno's native TLS: pass tls.ca with " +
        "the server's CA instead (or run with --unsafely-ignore-certificate-errors)",
    );
  }
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    throw new Error("tls.cert and tls.key must be given together (mutual TLS)");
  }
}

async function connectTls(opts: TransportOptions): Promise<Deno.TlsConn> {
  const tls = opts.tls;
  checkTlsOptions(tls);
  const caCerts = caList(tls);
  const serverName = tls?.serverName;
  let conn: Deno.TlsConn;
  if (serverName === undefined || serverName === opts.host) {
    const o: Deno.ConnectTlsOptions & Partial<Deno.TlsCertifiedKeyPem> = {
      hostname: opts.host,
      port: opts.port,
    };
    if (caCerts) o.caCerts = caCerts;
    if (tls?.alpn) o.alpnProtocols = tls.alpn;
    if (tls?.cert !== undefined && tls.key !== undefined) {
      o.cert = tls.cert;
      o.key = tls.key;
    }
    conn = await Deno.connectTls(o as Deno.ConnectTlsOptions);
  } else {
    // Dial the address, then handshake with `serverName` as SNI and verification name.
    const tcp = await Deno.connect({ hostname: opts.host, port: opts.port, transport: "tcp" });
    try {
      tcp.setNoDelay(true);
      const o: Deno.StartTlsOptions & Partial<Deno.TlsCertifiedKeyPem> = { hostname: serverName };
      if (caCerts) o.caCerts = caCerts;
      if (tls?.alpn) o.alpnProtocols = tls.alpn;
      if (tls?.cert !== undefined && tls.key !== undefined) {
        o.cert = tls.cert;
        o.key = tls.key;
      }
      conn = await Deno.startTls(tcp, o as Deno.StartTlsOptions);
    } catch (e) {
      try {
        tcp.close();
      } catch { /* already closed */ }
      throw e;
    }
  }
  try {
    // Surface certificate errors now, not on the first read.
    await conn.handshake();
  } catch (e) {
    try {
      conn.close();
    } catch { /* already closed */ }
    throw e;
  }
  return conn;
}

const READ_BUFFER_START = 4096;
const READ_BUFFER_MAX = 64 * 1024;

/** TCP or TLS: one reusable read buffer (4 KB, grown on demand up to 64 KB). */
class ConnTransport implements Transport {
  readonly #conn: Deno.Conn;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  start(onData: (chunk: Uint8Array) => void, onEnd: (err?: unknown) => void): void {
    void this.#readLoop(onData, onEnd);
  }

  async #readLoop(
    onData: (chunk: Uint8Array) => void,
    onEnd: (err?: unknown) => void,
  ): Promise<void> {
    let buf = new Uint8Array(READ_BUFFER_START);
    let error: unknown;
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        onData(buf.subarray(0, n));
        if (n === buf.length && buf.length < READ_BUFFER_MAX) buf = new Uint8Array(buf.length * 2);
      }
    } catch (e) {
      if (!this.#closed) error = e;
    }
    this.close();
    onEnd(error);
  }

  async write(data: Uint8Array): Promise<void> {
    while (data.length > 0) {
      const n = await this.#conn.write(data);
      data = data.subarray(n);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** How much may sit in the WebSocket's send buffer before `write` waits. */
const WS_HIGH_WATER = 1024 * 1024;

function openWebSocket(opts: TransportOptions): Promise<Transport> {
  const scheme = opts.protocol;
  let path = opts.wsPath ?? "/mqtt";
  if (!path.startsWith("/")) path = "/" + path;
  const host = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host;
  const url = `${scheme}://${host}:${opts.port}${path}`;
  const init: WebSocketOptions = { protocols: ["mqtt"] };
  let httpClient: Deno.HttpClient | undefined;
  if (scheme === "wss" && opts.tls !== undefined) {
    const tls = opts.tls;
    checkTlsOptions(tls);
    if (tls.serverName !== undefined && tls.serverName !== opts.host) {
      throw new Error("tls.serverName different from the host is not supported over wss");
    }
    if (tls.alpn !== undefined) throw new Error("tls.alpn is not supported over wss");
    const o: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
    const caCerts = caList(tls);
    if (caCerts) o.caCerts = caCerts;
    if (tls.cert !== undefined && tls.key !== undefined) {
      o.cert = tls.cert;
      o.key = tls.key;
    }
    httpClient = Deno.createHttpClient(o as Deno.CreateHttpClientOptions);
    init.client = httpClient;
  }
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, init);
    } catch (e) {
      httpClient?.close();
      reject(e);
      return;
    }
    ws.binaryType = "arraybuffer";
    const fail = (what: string) => {
      cleanup();
      httpClient?.close();
      try {
        ws.close();
      } catch { /* ignore */ }
      reject(new Error(`WebSocket ${url}: ${what}`));
    };
    const onOpen = () => {
      cleanup();
      resolve(new WsTransport(ws, httpClient));
    };
    const onError = (ev: Event) => {
      const msg = (ev as ErrorEvent).message;
      fail(msg ? msg : "connection failed");
    };
    const onClose = (ev: CloseEvent) => fail(`closed during the handshake (code ${ev.code})`);
    const cleanup = () => {
      ws.removeEventListener("open", onOpen);
      ws.removeEventListener("error", onError);
      ws.removeEventListener("close", onClose);
    };
    ws.addEventListener("open", onOpen);
    ws.addEventListener("error", onError);
    ws.addEventListener("close", onClose);
  });
}

class WsTransport implements Transport {
  readonly #ws: WebSocket;
  readonly #httpClient: Deno.HttpClient | undefined;
  #ended = false;
  #onEnd: (err?: unknown) => void = () => {};

  constructor(ws: WebSocket, httpClient: Deno.HttpClient | undefined) {
    this.#ws = ws;
    this.#httpClient = httpClient;
  }

  start(onData: (chunk: Uint8Array) => void, onEnd: (err?: unknown) => void): void {
    this.#onEnd = onEnd;
    const ws = this.#ws;
    ws.onmessage = (ev: MessageEvent) => {
      const d = ev.data;
      if (d instanceof ArrayBuffer) onData(new Uint8Array(d));
      else {
        // MQTT over WebSocket is binary only [MQTT-6.0.0-1]: a text frame ends the connection.
        this.#end(new Error("received a text WebSocket frame (MQTT requires binary frames)"));
      }
    };
    ws.onerror = (ev: Event) => {
      const msg = (ev as ErrorEvent).message;
      this.#end(new Error(`WebSocket error${msg ? ": " + msg : ""}`));
    };
    ws.onclose = () => this.#end();
    if (ws.readyState >= WebSocket.CLOSING) this.#end();
  }

  #end(err?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#ws.close();
    } catch { /* ignore */ }
    this.#httpClient?.close();
    this.#onEnd(err);
  }

  async write(data: Uint8Array): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) throw new Error("WebSocket is not open");
    // One binary message per flush (all packets of the turn); a copy, as `data` is reused.
    ws.send(data.slice());
    while (ws.bufferedAmount > WS_HIGH_WATER && ws.readyState === WebSocket.OPEN) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    if (this.#ended) return;
    try {
      this.#ws.close(1000);
    } catch { /* ignore */ }
    // onclose follows and calls #end; if the socket never opened properly, end now.
    if (this.#ws.readyState === WebSocket.CLOSED) this.#end();
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The write side: encode into `out`, then `schedule()`. Bytes are written once per event-loop
 * turn with one write in flight. `written()` resolves once everything encoded so far has been
 * handed to the socket; all callers within one batch share one promise (a QoS 0 publish costs
 * no promise of its own).
 */
export class BatchedWriter {
  /** Encode packets here, then call `schedule()`. */
  out: ByteWriter = new ByteWriter(1024);
  #spare: ByteWriter = new ByteWriter(1024);
  readonly #transport: Transport;
  readonly #onError: (err: unknown) => void;
  #writing = false;
  #queued = false;
  #failed: unknown = undefined;
  /** Bytes taken out of `out` so far (moved into a write). */
  #taken = 0;
  /** Bytes fully written so far. */
  #written = 0;
  /** Waiters for the bytes now in `out` / in the write in flight. */
  #outWaiter: Deferred | undefined;
  #flightWaiter: Deferred | undefined;
  /** Called after each completed write (the client's keep-alive clock). */
  onWrite: () => void = () => {};

  constructor(transport: Transport, onError: (err: unknown) => void) {
    this.#transport = transport;
    this.#onError = onError;
  }

  /** Bytes encoded so far (written or not): a mark for `written()`. */
  position(): number {
    return this.#taken + this.out.length;
  }

  /** Bytes handed to the transport so far (a packet starting below this may have arrived). */
  get handedOff(): number {
    return this.#taken;
  }

  /** Bytes encoded but not yet written. */
  get pending(): number {
    return this.position() - this.#written;
  }

  schedule(): void {
    if (this.#queued || this.#writing || this.#failed !== undefined) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      void this.#flush();
    });
  }

  /**
   * Resolves when all bytes up to `mark` (at most `position()`, the default) are written;
   * rejects if the transport fails first.
   */
  written(mark: number = this.position()): Promise<void> {
    if (this.#written >= mark) return Promise.resolve();
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (mark <= this.#taken) return (this.#flightWaiter ??= deferred()).promise;
    return (this.#outWaiter ??= deferred()).promise;
  }

  /** Rejects every waiter (the connection is gone); later writes are dropped. */
  fail(err: unknown): void {
    if (this.#failed === undefined) this.#failed = err ?? new Error("connection closed");
    const waiters = [this.#flightWaiter, this.#outWaiter];
    this.#flightWaiter = this.#outWaiter = undefined;
    for (const w of waiters) w?.reject(this.#failed);
    this.out.reset();
  }

  async #flush(): Promise<void> {
    if (this.#writing || this.#failed !== undefined) return;
    this.#writing = true;
    try {
      while (this.out.length > 0 && this.#failed === undefined) {
        const buf = this.out;
        this.out = this.#spare;
        this.#spare = buf;
        const n = buf.length;
        this.#taken += n;
        this.#flightWaiter = this.#outWaiter;
        this.#outWaiter = undefined;
        await this.#transport.write(buf.view());
        this.#written += n;
        buf.reset();
        if (buf.bytes.length > 1024 * 1024) this.#spare = new ByteWriter(1024);
        const w = this.#flightWaiter;
        this.#flightWaiter = undefined;
        w?.resolve();
        this.onWrite();
      }
    } catch (e) {
      this.fail(e);
      this.#onError(e);
    } finally {
      this.#writing = false;
    }
  }
}
