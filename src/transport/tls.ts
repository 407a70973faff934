/**
 * TLS listeners (`type: tls`, and `type: wss` with WebSocket framing on top).
 *
 * - **Native** (`Deno.listenTls`, rustls): the fast path, used unless the listener needs what
 *   Deno's TLS server cannot do. Deno 2.9 `ListenTlsOptions` has cert, key and ALPN only: no
 *   client certificates (denoland/deno#26825, open), no minimum version (rustls offers TLS 1.2
 *   and 1.3 — nothing older, so `min_version: "1.2"` is what it does anyway) and no way to
 *   replace the certificate of a listening socket. Certificate reload (SIGHUP) therefore opens
 *   a new listening socket with the new certificate in place of the old one: accepted
 *   connections are separate sockets and keep running on the old keys.
 * - **node:tls** (`tls.createServer({ requestCert, ca, rejectUnauthorized, minVersion })`, also
 *   rustls inside Deno since denoland/deno#33439): used for `require_client_cert: true` (mTLS) and
 *   `min_version: "1.3"`. The handshake verifies the client certificate against `ca`; its
 *   subject becomes `link.peerCertificate` (and the username with `use_identity_as_username`).
 *   Reload: `server.setSecureContext()`. Its sockets are adapted to the `ByteStream` the rest of
 *   the transport reads with (one copy per read chunk). At paced rates it costs about what the
 *   native path costs (fan-in 400k msgs/s: 84% vs 82% of a core), but it cannot slow a sender
 *   down (no read backpressure in Deno 2.9's node:tls): a connection that sends faster than the
 *   broker consumes is closed past NODE_TLS_MAX_QUEUED. For high-rate devices, terminate mTLS
 *   in a proxy and pass the CN in a PROXY v2 header (tcp listener, `proxy_protocol: true`).
 *
 * Both verify the new certificate and key before using them: a reload with a bad file keeps
 * the old ones and reports the error.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
// Types only: node:tls (+5 MB RSS) is imported when a listener needs it (NodeTlsListener.open).
import type tls from "node:tls";
import type { Broker } from "../broker/broker.ts";
import {
  type ByteStream,
  closeQuietly,
  type ConnectionLimit,
  type LinkInfo,
  type LinkSettings,
  ListenerBase,
  type PeerCertificate,
  preamble,
} from "./connection.ts";

const log = getLogger(["edgemq", "transport"]);

/** ALPN protocol announced (clients that send ALPN must offer it; none is fine). */
export const MQTT_ALPN = "mqtt";

export interface TlsOptions {
  /** PEM certificate chain file. */
  cert: string;
  /** PEM private key file. */
  key: string;
  /** PEM CA bundle file that client certificates must chain to (require_client_cert). */
  ca?: string;
  /** Lowest TLS version accepted; default "1.2". */
  minVersion?: "1.2" | "1.3";
  /** Require and verify a client certificate (mTLS). */
  requireClientCert?: boolean;
}

export interface TlsListenerOptions {
  host?: string;
  port?: number;
  name?: string;
  maxConnections?: number;
  tls: TlsOptions;
}

interface Pem {
  cert: string;
  key: string;
  ca?: string;
}

/** Reads and checks the PEM files (a throwaway `Deno.listenTls` parses cert and key). */
export async function loadPem(opts: TlsOptions): Promise<Pem> {
  const read = async (what: string, file: string) => {
    try {
      return await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`cannot read TLS ${what} ${file}: ${(e as Error).message}`);
    }
  };
  const pem: Pem = { cert: await read("cert", opts.cert), key: await read("key", opts.key) };
  if (opts.ca !== undefined) {
    pem.ca = await read("ca", opts.ca);
    if (!pem.ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new Error(`TLS ca ${opts.ca}: no PEM certificate found`);
    }
  }
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: pem.cert, key: pem.key }).close();
  } catch (e) {
    throw new Error(`TLS cert ${opts.cert} / key ${opts.key}: ${(e as Error).message}`);
  }
  return pem;
}

/** True when the listener needs node:tls (what Deno.listenTls cannot do). */
export function needsNodeTls(opts: TlsOptions): boolean {
  return opts.requireClientCert === true || opts.minVersion === "1.3";
}

/** A TLS listener: the native or the node:tls implementation, chosen by `needsNodeTls`. */
export interface TlsListenerLike extends ListenerBase {
  /** Re-reads the certificate files; existing connections keep running. */
  reload(): Promise<void>;
  readonly implementation: "native" | "node:tls";
}

export async function openTlsListener(
  broker: Broker,
  opts: TlsListenerOptions,
  settings: Omit<LinkSettings, "listenerName">,
  global?: ConnectionLimit,
): Promise<TlsListenerLike> {
  const pem = await loadPem(opts.tls);
  if (needsNodeTls(opts.tls)) {
    return await NodeTlsListener.open(broker, opts, pem, settings, global);
  }
  return new NativeTlsListener(broker, opts, pem, settings, global);
}

function defaultName(settings: Omit<LinkSettings, "listenerName">, host: string, port: number) {
  return `${settings.ws ? "wss" : "tls"}:${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Native

class NativeTlsListener extends ListenerBase implements TlsListenerLike {
  readonly implementation = "native" as const;
  #listener: Deno.TlsListener;
  readonly #opts: TlsListenerOptions;
  readonly host: string;
  readonly port: number;
  readonly name: string;
  #acceptLoop: Promise<void>;

  constructor(
    broker: Broker,
    opts: TlsListenerOptions,
    pem: Pem,
    settings: Omit<LinkSettings, "listenerName">,
    global?: ConnectionLimit,
  ) {
    const listener = NativeTlsListener.#listen(opts.host ?? "127.0.0.1", opts.port ?? 8883, pem);
    const addr = listener.addr as Deno.NetAddr;
    const name = opts.name ?? defaultName(settings, addr.hostname, addr.port);
    super(broker, { ...settings, listenerName: name }, opts.maxConnections ?? 0, global);
    this.#listener = listener;
    this.#opts = opts;
    this.host = addr.hostname;
    this.port = addr.port;
    this.name = name;
    this.#acceptLoop = this.#accept(listener);
  }

  static #listen(hostname: string, port: number, pem: Pem): Deno.TlsListener {
    return Deno.listenTls({
      hostname,
      port,
      cert: pem.cert,
      key: pem.key,
      alpnProtocols: [MQTT_ALPN],
    });
  }

  async reload(): Promise<void> {
    const pem = await loadPem(this.#opts.tls);
    if (this.closed) return;
    // Deno cannot change the certificate of a listening socket: close it and listen again on
    // the same address. Accepted connections are untouched. A client connecting in the moment
    // between the two (about a millisecond) is refused and retries.
    closeQuietly(this.#listener);
    // The port is free once the pending accept() has let go of the old socket.
    await this.#acceptLoop;
    let listener: Deno.TlsListener | undefined;
    for (let attempt = 0; listener === undefined; attempt++) {
      try {
        listener = NativeTlsListener.#listen(this.host, this.port, pem);
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse) || attempt >= 50) {
          log.error("cannot listen again on {name}: {error}", {
            name: this.name,
            error: String(e),
          });
          throw e;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    this.#listener = listener;
    this.#acceptLoop = this.#accept(listener);
    log.info("reloaded TLS certificate of {name} from {cert}", {
      name: this.name,
      cert: this.#opts.tls.cert,
    });
  }

  async #accept(listener: Deno.TlsListener): Promise<void> {
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        log.error("accept failed on {name}: {error}", { name: this.name, error: String(e) });
        return;
      }
      const remote = conn.remoteAddr;
      if (!this.admit(conn, `${remote.hostname}:${remote.port}`)) continue;
      const settings = this.settings;
      this.serve(conn, remote, async (buf) => {
        await conn.handshake();
        if (settings.ws) return preamble(conn, settings, remote, buf);
        const info: LinkInfo = { remoteAddress: remote.hostname, remotePort: remote.port };
        return { info, buf };
      }, true);
    }
  }

  protected async stopAccepting(): Promise<void> {
    closeQuietly(this.#listener);
    await this.#acceptLoop;
  }
}

// ---------------------------------------------------------------------------------------------
// node:tls (mTLS, TLS 1.3 only)

/**
 * Input bytes a node:tls connection may have waiting for the broker before it is closed.
 * Deno 2.9's node:tls server has no read backpressure: `socket.pause()` stops the 'data'
 * events but not the socket reads, and what arrives piles up in native memory (measured: a
 * paused socket held 1.5 GB after 3 s of a fast sender). So we never pause; we keep taking the
 * data and close a connection that sends faster than the broker consumes for this long.
 */
export const NODE_TLS_MAX_QUEUED = 8 * 1024 * 1024;

/** A node:tls socket as a `ByteStream` (pull reads into the caller's buffer). */
class NodeSocketStream implements ByteStream {
  readonly #sock: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  #failWrites = new Set<(e: Error) => void>();

  constructor(sock: tls.TLSSocket) {
    this.#sock = sock;
    sock.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#queued += d.length;
      if (this.#queued > NODE_TLS_MAX_QUEUED) {
        log.warning(
          "closing {addr}: {bytes} bytes received and not yet processed (node:tls cannot " +
            "slow a sender down; see NODE_TLS_MAX_QUEUED)",
          { addr: `${sock.remoteAddress}:${sock.remotePort}`, bytes: this.#queued },
        );
        this.#chunks = [];
        this.#queued = 0;
        sock.destroy();
      }
      this.#signal();
    });
    const end = () => {
      this.#ended = true;
      this.#signal();
      for (const fail of this.#failWrites) fail(new Error("socket closed"));
      this.#failWrites.clear();
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", end);
  }

  #signal(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, p.length - n);
      p.set(take === c.length ? c : c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#queued -= n;
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#ended) return Promise.reject(new Error("socket closed"));
    return new Promise((resolve, reject) => {
      this.#failWrites.add(reject);
      this.#sock.write(p, (err?: Error | null) => {
        this.#failWrites.delete(reject);
        if (err) reject(err);
        else resolve(p.length);
      });
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}

/** Escapes an RFC 2253 attribute value. */
function rfc2253Value(v: string): string {
  return v.replace(/([,+"\\<>;])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
}

/** The subject of a verified client certificate, from node's `getPeerCertificate()`. */
export function peerCertificateOf(sock: tls.TLSSocket): PeerCertificate | undefined {
  const cert = sock.getPeerCertificate();
  const subject = cert?.subject as unknown as Record<string, string | string[]> | undefined;
  if (!subject || Object.keys(subject).length === 0) return undefined;
  const rdns: string[] = [];
  for (const [k, v] of Object.entries(subject)) {
    for (const one of Array.isArray(v) ? v : [v]) rdns.push(`${k}=${rfc2253Value(one)}`);
  }
  const cn = subject.CN;
  return {
    cn: Array.isArray(cn) ? cn[cn.length - 1] : cn,
    // RFC 2253 lists the most specific RDN first (the reverse of the certificate's order).
    subject: rdns.reverse().join(","),
  };
}

class NodeTlsListener extends ListenerBase implements TlsListenerLike {
  readonly implementation = "node:tls" as const;
  readonly #server: tls.Server;
  readonly #opts: TlsListenerOptions;
  readonly host: string;
  readonly port: number;
  readonly name: string;

  private constructor(
    broker: Broker,
    server: tls.Server,
    opts: TlsListenerOptions,
    settings: Omit<LinkSettings, "listenerName">,
    host: string,
    port: number,
    global?: ConnectionLimit,
  ) {
    const name = opts.name ?? defaultName(settings, host, port);
    super(broker, { ...settings, listenerName: name }, opts.maxConnections ?? 0, global);
    this.#server = server;
    this.#opts = opts;
    this.host = host;
    this.port = port;
    this.name = name;
  }

  static contextOptions(opts: TlsOptions, pem: Pem): tls.SecureContextOptions {
    return {
      cert: pem.cert,
      key: pem.key,
      ca: pem.ca,
      minVersion: opts.minVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
    };
  }

  static async open(
    broker: Broker,
    opts: TlsListenerOptions,
    pem: Pem,
    settings: Omit<LinkSettings, "listenerName">,
    global?: ConnectionLimit,
  ): Promise<NodeTlsListener> {
    const requireCert = opts.tls.requireClientCert === true;
    const { createServer } = await import("node:tls");
    const server = createServer({
      ...NodeTlsListener.contextOptions(opts.tls, pem),
      requestCert: requireCert,
      rejectUnauthorized: requireCert,
      ALPNProtocols: [MQTT_ALPN],
      handshakeTimeout: broker.options.connectTimeout * 1000,
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 8883, opts.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as { address: string; port: number };
    const l = new NodeTlsListener(broker, server, opts, settings, addr.address, addr.port, global);
    l.#wire();
    return l;
  }

  #wire(): void {
    const server = this.#server;
    // The connection limit counts raw sockets: admitted at accept (before the handshake),
    // released when the raw socket closes, whatever closed it.
    server.on("connection", (raw) => {
      const remote = `${raw.remoteAddress}:${raw.remotePort}`;
      if (this.admit({ close: () => raw.destroy() }, remote)) {
        raw.once("close", () => this.release());
      }
    });
    server.on("tlsClientError", (e: Error, sock: tls.TLSSocket) => {
      log.info("TLS handshake from {addr} on {listener} failed: {error}", {
        addr: `${sock?.remoteAddress}:${sock?.remotePort}`,
        listener: this.name,
        error: e.message,
      });
    });
    server.on("secureConnection", (sock: tls.TLSSocket) => {
      if (this.closed) return void sock.destroy();
      sock.setNoDelay(true);
      const remote = { hostname: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
      const stream = new NodeSocketStream(sock);
      const settings = this.settings;
      const peer = peerCertificateOf(sock);
      this.serve(stream, remote, async (buf) => {
        const r = settings.ws
          ? await preamble(stream, settings, remote, buf)
          : { info: { remoteAddress: remote.hostname, remotePort: remote.port } as LinkInfo, buf };
        if (peer) r.info.peerCertificate = peer;
        return r;
      }, false);
    });
  }

  async reload(): Promise<void> {
    const pem = await loadPem(this.#opts.tls);
    if (this.closed) return;
    this.#server.setSecureContext(NodeTlsListener.contextOptions(this.#opts.tls, pem));
    log.info("reloaded TLS certificate of {name} from {cert}", {
      name: this.name,
      cert: this.#opts.tls.cert,
    });
  }

  protected async stopAccepting(): Promise<void> {
    // Not awaiting the callback: node's close() calls it only once every connection has ended,
    // and those are closed by the broker after the listeners stop.
    this.#server.close();
    await Promise.resolve();
  }
}
