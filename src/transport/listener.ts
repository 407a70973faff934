/**
 * Listener options (`startBroker({ listeners })`, the config file's `listeners:`) and the factory
 * that opens the right listener for each: tcp and ws on `Deno.listen`, tls and wss on
 * `Deno.listenTls` (or node:tls for mTLS, see tls.ts).
 *
 * @module
 */
import type { ProtocolVersion } from "../codec/packets.ts";
import type { Broker } from "../broker/broker.ts";
import { ConnectionLimit, type LinkSettings, type ListenerBase } from "./connection.ts";
import { TcpListener } from "./tcp.ts";
// tls.ts (and node:tls, +5 MB RSS) is imported when a tls / wss listener is opened.
import type { TlsOptions } from "./tls.ts";

export type ListenerType = "tcp" | "tls" | "ws" | "wss";

export const DEFAULT_PORTS: Record<ListenerType, number> = {
  tcp: 1883,
  tls: 8883,
  ws: 8083,
  wss: 8084,
};
export const DEFAULT_WS_PATH = "/mqtt";

export interface ListenerOptions {
  /** Name in logs, hooks and $SYS; default `<type>:<host>:<port>`. */
  name?: string;
  /** Default "tcp". */
  type?: ListenerType;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 1883 (tcp), 8883 (tls), 8083 (ws), 8084 (wss); 0 = ephemeral. */
  port?: number;
  /** MQTT levels accepted (3 = 3.1, 4 = 3.1.1, 5 = 5.0); others get the version-refusal CONNACK. */
  protocols?: ProtocolVersion[];
  /** Connections at once on this listener; 0 = unlimited (default). */
  maxConnections?: number;
  /**
   * tls / wss: certificate files and client-certificate policy. On tcp / ws listeners with
   * `proxyProtocol`, only `useIdentityAsUsername` (the CN a TLS terminator sends in a PROXY v2
   * SSL TLV) may be given.
   */
  tls?: Partial<TlsOptions> & {
    /** Take the username from the verified client certificate (Mosquitto's use_identity_as_username / use_subject_as_username). */
    useIdentityAsUsername?: "cn" | "subject" | false;
  };
  /** ws / wss: path (default "/mqtt") and allowed browser origins (default any). */
  ws?: { path?: string; allowedOrigins?: string[] };
  /** Expect a PROXY protocol v1/v2 header on every connection (tcp and ws only). */
  proxyProtocol?: boolean;
}

/** An open listener. */
export interface Listener extends ListenerBase {
  readonly type: ListenerType;
  /** tls / wss: re-read the certificate files (SIGHUP); existing connections are kept. */
  reload?(): Promise<void>;
  /** tls / wss: "native" (Deno.listenTls) or "node:tls" (mTLS / TLS 1.3 only). */
  readonly implementation?: "native" | "node:tls";
}

/** Checks the options that do not depend on files; throws TypeError naming the listener. */
export function validateListenerOptions(o: ListenerOptions, index = 0): void {
  const type = o.type ?? "tcp";
  const where = `listeners[${index}]${o.name ? ` (${o.name})` : ""}`;
  if (!(type in DEFAULT_PORTS)) throw new TypeError(`${where}: unknown listener type "${type}"`);
  const secure = type === "tls" || type === "wss";
  if (secure && (!o.tls?.cert || !o.tls?.key)) {
    throw new TypeError(`${where}: a ${type} listener needs tls.cert and tls.key`);
  }
  if (!secure && o.tls !== undefined) {
    const keys = Object.keys(o.tls).filter((k) =>
      (o.tls as Record<string, unknown>)[k] !== undefined
    );
    if (keys.some((k) => k !== "useIdentityAsUsername") || !o.proxyProtocol) {
      throw new TypeError(
        `${where}: tls options need type tls or wss (on ${type}, only useIdentityAsUsername ` +
          "with proxyProtocol, for the certificate a TLS terminator verified)",
      );
    }
  }
  if (secure && o.proxyProtocol) {
    throw new TypeError(
      `${where}: proxyProtocol is supported on tcp and ws listeners (terminate TLS at the proxy)`,
    );
  }
  if (secure && o.tls?.useIdentityAsUsername && !o.tls.requireClientCert) {
    throw new TypeError(`${where}: tls.useIdentityAsUsername needs tls.requireClientCert`);
  }
  if (o.ws !== undefined && type !== "ws" && type !== "wss") {
    throw new TypeError(`${where}: ws options need type ws or wss`);
  }
  if (o.ws?.path !== undefined && !o.ws.path.startsWith("/")) {
    throw new TypeError(`${where}: ws.path must start with "/"`);
  }
  if (o.protocols !== undefined) {
    if (o.protocols.length === 0 || o.protocols.some((v) => v !== 3 && v !== 4 && v !== 5)) {
      throw new TypeError(`${where}: protocols must list some of 3, 4, 5`);
    }
  }
}

/** Opens one listener. `global` is the broker-wide connection limit (shared). */
export async function openListener(
  broker: Broker,
  o: ListenerOptions,
  global?: ConnectionLimit,
  index = 0,
): Promise<Listener> {
  validateListenerOptions(o, index);
  const type = o.type ?? "tcp";
  const ws = type === "ws" || type === "wss";
  const settings: Omit<LinkSettings, "listenerName"> = {
    protocols: o.protocols,
    useIdentityAsUsername: o.tls?.useIdentityAsUsername || undefined,
    proxyProtocol: o.proxyProtocol === true,
    ws: ws
      ? { path: o.ws?.path ?? DEFAULT_WS_PATH, allowedOrigins: o.ws?.allowedOrigins }
      : undefined,
  };
  const common = {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? DEFAULT_PORTS[type],
    name: o.name,
    maxConnections: o.maxConnections ?? 0,
  };
  let l: ListenerBase;
  if (type === "tcp" || type === "ws") {
    l = new TcpListener(broker, common, settings, global);
  } else {
    const { openTlsListener } = await import("./tls.ts");
    l = await openTlsListener(
      broker,
      { ...common, tls: o.tls as TlsOptions },
      settings,
      global,
    );
  }
  return Object.assign(l, { type }) as Listener;
}

/** Opens every listener, or none (closing those already open when one fails). */
export async function openListeners(
  broker: Broker,
  options: ListenerOptions[],
  maxConnections = 0,
): Promise<Listener[]> {
  const global = new ConnectionLimit(maxConnections);
  const out: Listener[] = [];
  try {
    for (let i = 0; i < options.length; i++) {
      out.push(await openListener(broker, options[i], global, i));
    }
  } catch (e) {
    await Promise.all(out.map((l) => l.close()));
    throw e;
  }
  return out;
}

/** The outcome of reloading one TLS listener's certificate. */
export interface TlsReloadResult {
  listener: string;
  ok: boolean;
  error?: string;
}

/** Reloads the certificates of every tls / wss listener; a failure keeps that listener's old ones. */
export async function reloadTls(listeners: readonly Listener[]): Promise<TlsReloadResult[]> {
  const out: TlsReloadResult[] = [];
  for (const l of listeners) {
    if (l.reload === undefined) continue;
    try {
      await l.reload();
      out.push({ listener: l.name, ok: true });
    } catch (e) {
      out.push({ listener: l.name, ok: false, error: (e as Error).message });
    }
  }
  return out;
}
