/**
 * The HTTP listener: `Deno.serve` on its own port (default 127.0.0.1:18083, like EMQX's
 * dashboard; clear of the MQTT ports 1883, 8883, 8083 and 8084), optionally TLS, serving the
 * REST API, `/metrics` and the dashboard (`api.ts`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Broker } from "../broker/broker.ts";
import { ApiDeps, HttpApi } from "./api.ts";
import { type ApiKey, type HttpUser, isLoopbackHost } from "./auth.ts";
import { EventLoopLag } from "./loop_lag.ts";

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 18083;

export interface HttpServerOptions {
  /** Default 127.0.0.1. A non-loopback host needs `apiKeys` or `users`. */
  host?: string;
  /** Default 18083; 0 picks a free port. */
  port?: number;
  /** TLS: PEM text, or files read at start. */
  tls?: { cert: string; key: string } | { certFile: string; keyFile: string };
  /** Bearer tokens. */
  apiKeys?: ApiKey[];
  /** Basic-auth users. */
  users?: HttpUser[];
  /** Largest request body, bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** What the HTTP server reads besides the broker. */
export type HttpServerDeps = Pick<ApiDeps, "store" | "reload" | "ready" | "bridges">;

export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** e.g. `http://127.0.0.1:18083`. */
  readonly url: string;
  readonly api: HttpApi;
  close(): Promise<void>;
}

/** Thrown for options that must not start (e.g. an open API on a public address). */
export class HttpConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpConfigError";
  }
}

/** Why these options must not start, or undefined. */
export function httpOptionsProblem(options: HttpServerOptions): string | undefined {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const hasAuth = (options.apiKeys?.length ?? 0) > 0 || (options.users?.length ?? 0) > 0;
  if (!isLoopbackHost(host) && !hasAuth) {
    return `http.host ${host} is not a loopback address: configure http.api_keys or http.users ` +
      "(anyone who can reach the port could otherwise control the broker), or bind to 127.0.0.1";
  }
  return undefined;
}

export async function startHttpServer(
  broker: Broker,
  options: HttpServerOptions = {},
  deps: HttpServerDeps = {},
): Promise<HttpServer> {
  const problem = httpOptionsProblem(options);
  if (problem !== undefined) throw new HttpConfigError(problem);
  const log = getLogger(["edgemq", "http"]);
  let tls: { cert: string; key: string } | undefined;
  if (options.tls !== undefined) {
    tls = "certFile" in options.tls
      ? {
        cert: await Deno.readTextFile(options.tls.certFile),
        key: await Deno.readTextFile(options.tls.keyFile),
      }
      : options.tls;
  }
  const lag = new EventLoopLag();
  const api = new HttpApi({
    broker,
    auth: { apiKeys: options.apiKeys, users: options.users },
    maxBodyBytes: options.maxBodyBytes,
    store: deps.store,
    reload: deps.reload,
    ready: deps.ready,
    bridges: deps.bridges,
    memory: () => Deno.memoryUsage(),
    lag,
  });
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const server = Deno.serve({
    hostname: host,
    port: options.port ?? DEFAULT_HTTP_PORT,
    ...(tls ?? {}),
    onListen: () => {},
    onError: (e) => {
      log.error("HTTP request failed: {error}", { error: (e as Error)?.message ?? String(e) });
      return new Response(
        JSON.stringify({ error: { status: 500, message: "internal error" } }),
        { status: 500, headers: { "content-type": "application/json" } },
      );
    },
  }, (req) => api.handle(req));
  lag.start();
  const addr = server.addr as Deno.NetAddr;
  const shownHost = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `${tls ? "https" : "http"}://${shownHost}:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    host: addr.hostname,
    port: addr.port,
    url,
    api,
    close(): Promise<void> {
      closing ??= (async () => {
        lag.stop();
        await server.shutdown();
      })();
      return closing;
    },
  };
}
