/**
 * TCP listener on Deno's native sockets (`Deno.listen`, `conn.read`/`conn.write`; not node:net,
 * see ARCHITECTURE.md). Serves plain MQTT (`type: tcp`) and MQTT over WebSocket (`type: ws`),
 * optionally behind a PROXY protocol header. The per-connection read/flush loop is
 * `StreamLink` (connection.ts), shared with the TLS listeners.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Broker } from "../broker/broker.ts";
import { type ConnectionLimit, type LinkSettings, ListenerBase, preamble } from "./connection.ts";

const log = getLogger(["edgemq", "transport"]);

export interface TcpListenerOptions {
  host?: string;
  port?: number;
  /** Listener name in logs and hooks; default `tcp:<host>:<port>` (`ws:` for WebSocket). */
  name?: string;
  /** Per-listener connection limit; 0 = unlimited. */
  maxConnections?: number;
}

/** A TCP (or plain WebSocket) listener feeding one broker. */
export class TcpListener extends ListenerBase {
  readonly #listener: Deno.TcpListener;
  readonly host: string;
  readonly port: number;
  readonly name: string;
  #acceptLoop: Promise<void>;

  constructor(
    broker: Broker,
    opts: TcpListenerOptions = {},
    settings: Omit<LinkSettings, "listenerName"> = {},
    global?: ConnectionLimit,
  ) {
    const listener = Deno.listen({
      hostname: opts.host ?? "127.0.0.1",
      port: opts.port ?? 1883,
      transport: "tcp",
    });
    const addr = listener.addr as Deno.NetAddr;
    const name = opts.name ?? `${settings.ws ? "ws" : "tcp"}:${addr.hostname}:${addr.port}`;
    super(broker, { ...settings, listenerName: name }, opts.maxConnections ?? 0, global);
    this.#listener = listener;
    this.host = addr.hostname;
    this.port = addr.port;
    this.name = name;
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
      const remote = conn.remoteAddr;
      if (!this.admit(conn, `${remote.hostname}:${remote.port}`)) continue;
      try {
        conn.setNoDelay(true);
      } catch { /* not fatal */ }
      const settings = this.settings;
      if (!settings.proxyProtocol && !settings.ws) {
        this.open(conn, { remoteAddress: remote.hostname, remotePort: remote.port }, true);
      } else {
        this.serve(conn, remote, (buf) => preamble(conn, settings, remote, buf), true);
      }
    }
  }

  protected async stopAccepting(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
  }
}
