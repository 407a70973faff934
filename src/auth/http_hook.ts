/**
 * HTTP authentication and authorization (`auth_http:`): the broker asks a web service.
 *
 * Contract (edgemq → service):
 *
 * - `POST <authenticate_url>` with `Content-Type: application/json` and the body
 *   `{"action":"connect","clientid":"…","username":"…","password":"…","address":"10.1.2.3",
 *   "listener":"tcp:0.0.0.0:1883","protocol":5}` (password as UTF-8 text; `username`/`password`
 *   absent when the client sent none).
 * - `POST <acl_url>` with `{"action":"publish"|"subscribe","clientid":"…","username":"…",
 *   "address":"…","topic":"…"}` (the topic name for publish, the topic filter for subscribe,
 *   `$share/group/` included).
 * - The service answers `200` with `{"result":"allow"}`, `{"result":"deny"}` or
 *   `{"result":"ignore"}` (no opinion: the next source decides — the password file / ACL, then
 *   the default). Anything else — another status, a body that is not such JSON, no answer within
 *   `timeout_ms`, a refused connection — is an error, handled as `on_error` says: `deny`
 *   (refuse: CONNACK 0x88 Server unavailable / 3.1.1 code 3, or not authorized for a topic),
 *   `allow`, or `next` (as if the service said ignore).
 * - Answers `allow`/`deny` are cached for `cache_ttl_s` seconds per distinct request (for
 *   CONNECT keyed by a SHA-256 of client id, user name and password, never the password
 *   itself); errors are not cached. 0 disables the cache.
 * - Deliveries to subscribers are not checked over HTTP (one request per message per subscriber
 *   is not workable): subscriptions are, like EMQX's HTTP authorizer.
 *
 * @module
 */
export type HttpOnError = "deny" | "allow" | "next";
export const HTTP_ON_ERROR: readonly HttpOnError[] = ["deny", "allow", "next"];

export interface HttpAuthSettings {
  authenticateUrl: string | null;
  aclUrl: string | null;
  timeoutMs: number;
  cacheTtlS: number;
  onError: HttpOnError;
}

export const DEFAULT_HTTP_AUTH: Readonly<Omit<HttpAuthSettings, "authenticateUrl" | "aclUrl">> =
  Object.freeze({ timeoutMs: 5000, cacheTtlS: 60, onError: "deny" });

/** What a source says: allow, deny, or no opinion. `error` marks an on_error answer. */
export type HttpVerdict = { result: "allow" | "deny" | "next"; error?: string };

export interface HttpConnectRequest {
  clientid: string;
  username?: string;
  password?: Uint8Array;
  address: string;
  listener: string;
  protocol: number;
}

export interface HttpAclRequest {
  action: "publish" | "subscribe";
  clientid: string;
  username?: string;
  address: string;
  topic: string;
}

const CACHE_MAX = 10_000;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The cache key of a CONNECT: a SHA-256 of the request body (WebCrypto: node:crypto would cost
 * every broker ~5 MB of RSS at start-up, HTTP hook or not), never the password itself.
 */
async function connectKey(body: unknown): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify(body))),
  );
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return "c\0" + btoa(bin);
}

/** Parses and checks the `auth_http:` mapping; throws an Error naming the bad key. */
export function parseHttpAuthSettings(value: unknown, key = "auth_http"): HttpAuthSettings | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${key}: expected a mapping with authenticate_url, acl_url, timeout_ms, ...`);
  }
  const v = value as Record<string, unknown>;
  const known = ["authenticate_url", "acl_url", "timeout_ms", "cache_ttl_s", "on_error"];
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      throw new Error(`${key}: unknown key \`${k}\` (expected ${known.join(", ")})`);
    }
  }
  const url = (k: string): string | null => {
    const u = v[k];
    if (u === undefined || u === null) return null;
    if (typeof u !== "string") throw new Error(`${key}.${k}: expected an http(s) URL`);
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`${key}.${k}: expected an http(s) URL, got \`${u}\``);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(`${key}.${k}: expected an http(s) URL, got \`${u}\``);
    }
    return u;
  };
  const int = (k: string, min: number, max: number, def: number): number => {
    const n = v[k];
    if (n === undefined) return def;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${key}.${k}: expected an integer from ${min} to ${max}`);
    }
    return n;
  };
  const onError = v.on_error ?? DEFAULT_HTTP_AUTH.onError;
  if (typeof onError !== "string" || !(HTTP_ON_ERROR as readonly string[]).includes(onError)) {
    throw new Error(`${key}.on_error: expected deny, allow or next`);
  }
  const settings: HttpAuthSettings = {
    authenticateUrl: url("authenticate_url"),
    aclUrl: url("acl_url"),
    timeoutMs: int("timeout_ms", 1, 600_000, DEFAULT_HTTP_AUTH.timeoutMs),
    cacheTtlS: int("cache_ttl_s", 0, 86_400 * 365, DEFAULT_HTTP_AUTH.cacheTtlS),
    onError: onError as HttpOnError,
  };
  if (settings.authenticateUrl === null && settings.aclUrl === null) {
    throw new Error(`${key}: give authenticate_url, acl_url or both`);
  }
  return settings;
}

export interface HttpAuthDeps {
  fetch?: typeof fetch;
  now?: () => number;
}

/** The client side of the contract above. */
export class HttpAuthClient {
  readonly settings: HttpAuthSettings;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #cache = new Map<string, { result: "allow" | "deny" | "next"; until: number }>();
  /** Requests sent (tests and metrics). */
  requests = 0;

  constructor(settings: HttpAuthSettings, deps: HttpAuthDeps = {}) {
    this.settings = settings;
    this.#fetch = deps.fetch ?? fetch;
    this.#now = deps.now ?? Date.now;
  }

  /** Asks authenticate_url; undefined when no such URL is configured. */
  authenticate(req: HttpConnectRequest): Promise<HttpVerdict> | undefined {
    const url = this.settings.authenticateUrl;
    if (url === null) return undefined;
    const body: Record<string, unknown> = {
      action: "connect",
      clientid: req.clientid,
      address: req.address,
      listener: req.listener,
      protocol: req.protocol,
    };
    if (req.username !== undefined) body.username = req.username;
    if (req.password !== undefined) body.password = decoder.decode(req.password);
    return connectKey(body).then((key) => this.#cached(key) ?? this.#ask(url, body, key));
  }

  /** Asks acl_url; undefined when none is configured; sync when the answer is cached. */
  authorize(req: HttpAclRequest): HttpVerdict | Promise<HttpVerdict> | undefined {
    const url = this.settings.aclUrl;
    if (url === null) return undefined;
    const body: Record<string, unknown> = {
      action: req.action,
      clientid: req.clientid,
      address: req.address,
      topic: req.topic,
    };
    if (req.username !== undefined) body.username = req.username;
    const key = "a\0" + JSON.stringify(body);
    return this.#cached(key) ?? this.#ask(url, body, key);
  }

  #cached(key: string): HttpVerdict | undefined {
    const hit = this.#cache.get(key);
    if (hit === undefined) return undefined;
    if (this.#now() >= hit.until) {
      this.#cache.delete(key);
      return undefined;
    }
    return { result: hit.result };
  }

  async #ask(url: string, body: unknown, key: string): Promise<HttpVerdict> {
    this.requests++;
    let result: "allow" | "deny" | "next";
    try {
      const res = await this.#fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error("answer is not JSON");
      }
      const r = (parsed as { result?: unknown } | null)?.result;
      if (r === "allow" || r === "deny") result = r;
      else if (r === "ignore") result = "next";
      else {throw new Error(
          `expected {"result": "allow"|"deny"|"ignore"}, got ${text.slice(0, 80)}`,
        );}
    } catch (e) {
      const why = e instanceof DOMException && e.name === "TimeoutError"
        ? `no answer within ${this.settings.timeoutMs} ms`
        : (e as Error).message;
      return {
        result: this.settings.onError === "next" ? "next" : this.settings.onError,
        error: why,
      };
    }
    if (this.settings.cacheTtlS > 0) {
      if (this.#cache.size >= CACHE_MAX) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(key, { result, until: this.#now() + this.settings.cacheTtlS * 1000 });
    }
    return { result };
  }
}
