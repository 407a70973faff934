/**
 * The REST API under `/api/v1` (described by `openapi.ts`), `/metrics` and the dashboard page:
 * one route table of `METHOD path -> handler` with each route's access level.
 *
 * Pure request handling: a handler takes the parsed request and the broker, and returns a
 * Response; no sockets (tests call `HttpApi.handle` directly).
 *
 * @module
 */
import type { BridgeStatus } from "../bridge/bridge.ts";
import { BrokerAdmin } from "../broker/admin.ts";
import type { Broker } from "../broker/broker.ts";
import type { RetainedMessage } from "../broker/retained_index.ts";
import type { Properties } from "../codec/packets.ts";
import { topicNameProblem } from "../codec/topic.ts";
import type { StoreStats } from "../store/store.ts";
import { Authenticator, type AuthSettings, type Principal } from "./auth.ts";
import { DASHBOARD_HTML } from "./dashboard_page.ts";
import { errorResponse, HttpError, json, text } from "./errors.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import {
  boolParam,
  checkTopicFilter,
  paginate,
  parsePublish,
  type PublishLimits,
  queryParams,
  readJson,
} from "./request.ts";
import { type Access, type Method, type Route, Router } from "./router.ts";

/** What POST /reload reports (the same reload as SIGHUP). */
export interface ReloadResult {
  /** False when nothing could be reloaded (no config file, invalid file). */
  ok: boolean;
  message: string;
  /** Keys that changed; `live` ones were applied, the others need a restart. */
  changes?: Array<{ key: string; from: unknown; to: unknown; live: boolean }>;
  /** Validation errors of the file, when it was refused. */
  errors?: string[];
}

export interface ReadyCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ApiDeps {
  broker: Broker;
  auth?: AuthSettings;
  /** Largest request body, in bytes (413 past it). Default 1 MiB. */
  maxBodyBytes?: number;
  /** The durable store, for `/stats`, `/metrics` and `/ready`. */
  store?: { readonly stats: StoreStats };
  /** POST /reload; absent = 409 (nothing to reload). */
  reload?: () => Promise<ReloadResult>;
  /** The bridges' status, in configuration order (`GET /bridges`, `/metrics`, `/stats`). */
  bridges?: () => BridgeStatus[];
  /** Readiness checks (listeners bound, store open) for GET /ready. */
  ready?: () => ReadyCheck[];
  memory?: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
  lag?: { readonly last: number; readonly max: number };
  /** Wall clock (ms); default Date.now. */
  now?: () => number;
}

export interface RequestContext {
  req: Request;
  url: URL;
  params: Record<string, string>;
  principal: Principal;
}

type Handler = (ctx: RequestContext) => Response | Promise<Response>;

export const API_PREFIX = "/api/v1";
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Most messages one POST /publish/batch may carry. */
export const MAX_BATCH = 1000;
/** Payload bytes shown per retained message in a list (the full one: GET /retained/{topic}). */
export const PREVIEW_BYTES = 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** A payload as JSON: text when it is UTF-8, base64 otherwise. */
export function payloadJson(
  payload: Uint8Array,
): { payload: string; encoding: "plain" | "base64" } {
  try {
    const s = utf8.decode(payload);
    // Control characters other than whitespace: show the bytes instead.
    // deno-lint-ignore no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(s)) return { payload: s, encoding: "plain" };
  } catch { /* not UTF-8 */ }
  return { payload: toBase64(payload), encoding: "base64" };
}

function propertiesJson(p: Properties | undefined): Record<string, unknown> | undefined {
  if (p === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v instanceof Uint8Array) out[k] = payloadJson(v).payload;
    else out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export class HttpApi {
  readonly broker: Broker;
  readonly admin: BrokerAdmin;
  readonly auth: Authenticator;
  readonly router: Router<Handler>;
  readonly #deps: ApiDeps;
  readonly #maxBody: number;
  readonly #now: () => number;
  #reloading: Promise<unknown> = Promise.resolve();

  constructor(deps: ApiDeps) {
    this.#deps = deps;
    this.broker = deps.broker;
    this.admin = new BrokerAdmin(deps.broker);
    this.auth = new Authenticator(deps.auth);
    this.#maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#now = deps.now ?? Date.now;
    this.router = new Router<Handler>(this.#routes());
  }

  /** Answers one request; never throws. */
  async handle(req: Request): Promise<Response> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return errorResponse(400, "bad request URL");
    }
    try {
      const { route, params } = this.router.match(req.method, url.pathname);
      this.#checkOrigin(req, route.access);
      const challenge = req.headers.has("x-requested-with") ? "bearer" : "basic";
      const principal = this.auth.check(req.headers, route.access, challenge);
      const res = await route.handler({ req, url, params, principal });
      if (req.method === "HEAD") {
        return new Response(null, { status: res.status, headers: res.headers });
      }
      return res;
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e.status, e.message, e.headers);
      this.broker.log.error("HTTP {method} {path} failed: {error}", {
        method: req.method,
        path: url.pathname,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
      return errorResponse(500, "internal error (see the broker log)");
    }
  }

  /**
   * Cross-site request protection for anything that changes state: a browser page of another
   * origin may not call it (its Origin differs from Host, or Sec-Fetch-Site says cross-site).
   */
  #checkOrigin(req: Request, access: Access): void {
    if (access !== "write") return;
    const site = req.headers.get("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") {
      throw new HttpError(403, "cross-site requests may not change the broker");
    }
    const origin = req.headers.get("origin");
    const host = req.headers.get("host");
    if (origin !== null && host !== null) {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch { /* "null" origin */ }
      if (originHost !== host) {
        throw new HttpError(403, `cross-origin request from ${origin} refused`);
      }
    }
  }

  #routes(): Route<Handler>[] {
    const r = (method: Method, path: string, access: Access, handler: Handler): Route<Handler> => ({
      method,
      path,
      access,
      handler,
    });
    const p = API_PREFIX;
    return [
      r("GET", "/", "public", ({ url }) => {
        queryParams(url, []);
        return new Response(DASHBOARD_HTML, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; " +
              "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; " +
              "form-action 'none'; frame-ancestors 'none'",
          },
        });
      }),
      r("GET", "/metrics", "read", ({ url }) => {
        queryParams(url, []);
        return text(this.metrics(), METRICS_CONTENT_TYPE);
      }),
      r("GET", `${p}/openapi.json`, "public", ({ url }) => {
        queryParams(url, []);
        return json(openApiDocument(this.broker.version));
      }),
      r("GET", `${p}/health`, "public", () => json({ status: "ok" })),
      r("GET", `${p}/ready`, "public", () => this.#ready()),
      r("GET", `${p}/stats`, "read", ({ url }) => {
        queryParams(url, []);
        return json(this.stats());
      }),
      r("GET", `${p}/clients`, "read", ({ url }) => {
        const q = queryParams(url, ["prefix", "username", "connected", "page", "limit"]);
        const list = this.admin.listClients({
          prefix: q.get("prefix"),
          username: q.get("username"),
          connected: boolParam(q, "connected"),
        });
        return json(paginate(list, q));
      }),
      r("GET", `${p}/clients/{id}`, "read", ({ url, params }) => {
        queryParams(url, []);
        const c = this.admin.client(params.id);
        if (c === undefined) throw new HttpError(404, `no client ${JSON.stringify(params.id)}`);
        return json(c);
      }),
      r("DELETE", `${p}/clients/{id}`, "write", ({ url, params }) => {
        const q = queryParams(url, ["session"]);
        const session = q.get("session") ?? "keep";
        if (session !== "keep" && session !== "discard") {
          throw new HttpError(
            400,
            `session must be keep or discard, got ${JSON.stringify(session)}`,
          );
        }
        const result = this.admin.disconnect(params.id, { discardSession: session === "discard" });
        if (result === undefined) {
          throw new HttpError(404, `no client ${JSON.stringify(params.id)}`);
        }
        if (result === "not_connected") {
          throw new HttpError(
            409,
            `client ${JSON.stringify(params.id)} is not connected; its session is kept ` +
              "(add ?session=discard to remove it)",
          );
        }
        return json({ clientId: params.id, result });
      }),
      r("GET", `${p}/subscriptions`, "read", ({ url }) => {
        const q = queryParams(url, ["clientid", "filter", "share", "page", "limit"]);
        const filter = q.get("filter");
        if (filter !== undefined) checkTopicFilter(filter);
        return json(paginate(
          this.admin.listSubscriptions({
            clientId: q.get("clientid"),
            filter,
            share: q.get("share"),
          }),
          q,
        ));
      }),
      r("GET", `${p}/topics`, "read", ({ url }) => {
        const q = queryParams(url, ["sys"]);
        return json(this.admin.topicTree(boolParam(q, "sys") ?? false));
      }),
      r("GET", `${p}/retained`, "read", ({ url }) => {
        const q = queryParams(url, ["topic", "page", "limit"]);
        const filter = q.get("topic") ?? "#";
        checkTopicFilter(filter);
        const page = paginate(this.admin.listRetained(filter), q);
        return json({
          data: page.data.map((m) => retainedJson(m, PREVIEW_BYTES)),
          meta: page.meta,
        });
      }),
      r("GET", `${p}/retained/{topic+}`, "read", ({ url, params }) => {
        queryParams(url, []);
        checkTopicName(params.topic);
        const m = this.admin.getRetained(params.topic);
        if (m === undefined) {
          throw new HttpError(404, `no retained message on ${JSON.stringify(params.topic)}`);
        }
        return json(retainedJson(m));
      }),
      r("DELETE", `${p}/retained/{topic+}`, "write", ({ url, params }) => {
        queryParams(url, []);
        checkTopicName(params.topic);
        if (!this.admin.deleteRetained(params.topic)) {
          throw new HttpError(404, `no retained message on ${JSON.stringify(params.topic)}`);
        }
        return json({ deleted: params.topic });
      }),
      r("GET", `${p}/bridges`, "read", ({ url }) => {
        const q = queryParams(url, ["page", "limit"]);
        return json(paginate(this.#bridges(), q));
      }),
      r("GET", `${p}/bridges/{name}`, "read", ({ url, params }) => {
        queryParams(url, []);
        const b = this.#bridges().find((b) => b.name === params.name);
        if (b === undefined) throw new HttpError(404, `no bridge ${JSON.stringify(params.name)}`);
        return json(b);
      }),
      r("POST", `${p}/publish`, "write", async ({ req, url }) => {
        queryParams(url, []);
        const msg = parsePublish(await readJson(req, this.#maxBody), this.#limits());
        const delivered = this.admin.publish(msg);
        return json({ topic: msg.topic, qos: msg.qos, retain: msg.retain, delivered });
      }),
      r("POST", `${p}/publish/batch`, "write", async ({ req, url }) => {
        queryParams(url, []);
        const body = await readJson(req, this.#maxBody);
        if (!Array.isArray(body)) {
          throw new HttpError(400, "the body must be a JSON array of publish objects");
        }
        if (body.length === 0) throw new HttpError(400, "the batch is empty");
        if (body.length > MAX_BATCH) {
          throw new HttpError(
            413,
            `a batch may hold at most ${MAX_BATCH} messages, got ${body.length}`,
          );
        }
        const limits = this.#limits();
        // All or nothing: every message is checked before any is published.
        const messages = body.map((m, i) => parsePublish(m, limits, `[${i}].`));
        const results = messages.map((m) => ({ topic: m.topic, delivered: this.admin.publish(m) }));
        return json({ count: results.length, results });
      }),
      r("POST", `${p}/reload`, "write", async ({ req, url }) => {
        queryParams(url, []);
        await req.body?.cancel();
        if (this.#deps.reload === undefined) {
          throw new HttpError(
            409,
            "nothing to reload: the broker was not started from a config file",
          );
        }
        // One reload at a time, in order (like SIGHUP).
        const run = this.#reloading.then(() => this.#deps.reload!());
        this.#reloading = run.catch(() => {});
        const result = await run;
        if (!result.ok) {
          return json({
            error: { status: 409, message: result.message },
            errors: result.errors ?? [],
          }, 409);
        }
        return json(result);
      }),
    ];
  }

  #bridges(): BridgeStatus[] {
    return this.#deps.bridges?.() ?? [];
  }

  #limits(): PublishLimits {
    const o = this.broker.options;
    return {
      maximumQoS: o.maximumQoS,
      retainAvailable: o.retainAvailable,
      maxPayload: o.maxPacketSize,
    };
  }

  #ready(): Response {
    const checks = this.#deps.ready?.() ?? [];
    const ok = checks.every((c) => c.ok);
    if (ok) return json({ status: "ready", checks });
    const failing = checks.filter((c) => !c.ok).map((c) => c.name).join(", ");
    return json({ error: { status: 503, message: `not ready: ${failing}` }, checks }, 503);
  }

  /** The Prometheus exposition. */
  metrics(): string {
    return renderMetrics({
      broker: this.broker,
      admin: this.admin,
      store: this.#deps.store,
      memory: this.#deps.memory,
      lag: this.#deps.lag,
      bridges: this.#bridges(),
      now: this.#now,
    });
  }

  /** GET /stats: counters and gauges as JSON (the dashboard's overview). */
  stats(): Record<string, unknown> {
    const b = this.broker;
    const s = b.stats;
    const q = this.admin.queueTotals();
    const now = this.#now();
    const mem = this.#deps.memory?.();
    const out: Record<string, unknown> = {
      version: b.version,
      node: b.options.nodeName,
      time: now,
      startedAt: b.startedAt,
      uptimeSeconds: Math.max(0, Math.floor((now - b.startedAt) / 1000)),
      clients: {
        connected: b.connectedCount,
        disconnected: b.disconnectedCount,
        maximum: s.clientsMaximum,
        expired: s.clientsExpired,
      },
      connections: { open: b.connections.size, total: s.connectionsTotal },
      subscriptions: b.subscriptions.size,
      retained: b.retained.size,
      messages: {
        received: s.publishReceived,
        sent: s.publishSent,
        dropped: s.publishDropped,
        expired: s.expiredDropped,
        queued: q.queued,
        queuedBytes: q.queuedBytes,
        inflight: q.inflight,
      },
      packets: { received: s.messagesReceived, sent: s.messagesSent },
      bytes: { received: s.bytesReceived, sent: s.bytesSent },
      internalErrors: s.internalErrors,
    };
    if (mem !== undefined) {
      out.memory = { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal };
    }
    if (this.#deps.lag !== undefined) {
      out.eventLoopLagSeconds = { last: this.#deps.lag.last, max: this.#deps.lag.max };
    }
    if (this.#deps.store !== undefined) out.store = { ...this.#deps.store.stats };
    if (this.#deps.bridges !== undefined) {
      const list = this.#deps.bridges();
      out.bridges = {
        total: list.length,
        connected: list.filter((b) => b.connected).length,
        queued: list.reduce((n, b) => n + b.queued, 0),
        dropped: list.reduce((n, b) => n + b.dropped, 0),
      };
    }
    return out;
  }
}

function checkTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem !== undefined) throw new HttpError(400, `bad topic: ${problem}`);
}

function retainedJson(m: RetainedMessage, previewBytes?: number): Record<string, unknown> {
  const truncated = previewBytes !== undefined && m.payload.length > previewBytes;
  let cut = truncated ? previewBytes : m.payload.length;
  // Cut at a UTF-8 character boundary (not inside a multi-byte sequence).
  while (truncated && cut > 0 && (m.payload[cut] & 0xc0) === 0x80) cut--;
  const shown = m.payload.subarray(0, cut);
  const out: Record<string, unknown> = {
    topic: m.topic,
    ...payloadJson(shown),
    size: m.payload.length,
    qos: m.qos,
    storedAt: m.storedAt,
    expiresAt: m.expiresAt ?? null,
  };
  if (truncated) out.truncated = true;
  const props = propertiesJson(m.properties);
  if (props !== undefined) out.properties = props;
  return out;
}
