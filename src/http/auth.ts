/**
 * Authentication of HTTP requests: API keys (`Authorization: Bearer <key>`) and users
 * (`Authorization: Basic …`) from the config, each with a role: `admin` may do everything,
 * `viewer` only reads (GET). Without any key or user the API is open — allowed on loopback
 * binds only (checked at start-up), and then requests must name a loopback Host (a DNS
 * rebinding page cannot).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import { HttpError } from "./errors.ts";
import type { Access } from "./router.ts";

export type Role = "admin" | "viewer";

export interface ApiKey {
  /** Shown in logs (never the key). */
  name?: string;
  key: string;
  role?: Role;
}

export interface HttpUser {
  username: string;
  password: string;
  role?: Role;
}

export interface AuthSettings {
  apiKeys?: ApiKey[];
  users?: HttpUser[];
}

export interface Principal {
  name: string;
  role: Role;
  kind: "api_key" | "user" | "anonymous";
}

const encoder = new TextEncoder();

/** Compares in time that depends only on the lengths, not on where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (with or without brackets). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (/^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return false;
}

/** The host part of a Host header value (`[::1]:18083` -> `::1`, `a:1` -> `a`). */
export function hostOf(hostHeader: string): string {
  const v = hostHeader.trim();
  if (v.startsWith("[")) {
    const end = v.indexOf("]");
    return end > 0 ? v.slice(1, end) : v;
  }
  const colon = v.lastIndexOf(":");
  return colon >= 0 && v.indexOf(":") === colon ? v.slice(0, colon) : v;
}

export class Authenticator {
  readonly #keys: ApiKey[];
  readonly #users: HttpUser[];

  constructor(settings: AuthSettings = {}) {
    this.#keys = settings.apiKeys ?? [];
    this.#users = settings.users ?? [];
  }

  /** False when no key or user is configured: the API is open (loopback only). */
  get enabled(): boolean {
    return this.#keys.length > 0 || this.#users.length > 0;
  }

  /**
   * Who sent the request, checked against the route's access; throws 401 (no or wrong
   * credentials) or 403 (a viewer asking to change something, or a non-loopback Host on an
   * open API).
   */
  check(headers: Headers, access: Access, challenge: "basic" | "bearer"): Principal {
    if (access === "public") return { name: "anonymous", role: "viewer", kind: "anonymous" };
    if (!this.enabled) {
      const host = headers.get("host");
      if (host !== null && !isLoopbackHost(hostOf(host))) {
        throw new HttpError(
          403,
          `host ${hostOf(host)} is not allowed: without api_keys or users the HTTP API answers ` +
            "loopback host names only (DNS rebinding protection)",
        );
      }
      return { name: "anonymous", role: "admin", kind: "anonymous" };
    }
    const principal = this.#identify(headers.get("authorization"), challenge);
    if (access === "write" && principal.role !== "admin") {
      throw new HttpError(
        403,
        `${principal.kind === "user" ? "user" : "API key"} ${principal.name} has the viewer ` +
          "role, which may only read",
      );
    }
    return principal;
  }

  #identify(authorization: string | null, challenge: "basic" | "bearer"): Principal {
    const wwwAuthenticate = challenge === "basic"
      ? 'Basic realm="edgemq", charset="UTF-8"'
      : 'Bearer realm="edgemq"';
    const fail = (message: string) =>
      new HttpError(401, message, { "www-authenticate": wwwAuthenticate });
    if (authorization === null || authorization.trim() === "") {
      throw fail(
        "authentication required: send an API key (Authorization: Bearer <key>) or " +
          "a user (Authorization: Basic)",
      );
    }
    const space = authorization.indexOf(" ");
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? "" : authorization.slice(space + 1).trim();
    if (scheme === "bearer") {
      for (const k of this.#keys) {
        if (timingSafeEqual(k.key, value)) {
          return { name: k.name ?? "api-key", role: k.role ?? "admin", kind: "api_key" };
        }
      }
      throw fail("invalid API key");
    }
    if (scheme === "basic") {
      let decoded: string;
      try {
        decoded = new TextDecoder("utf-8", { fatal: true }).decode(
          Uint8Array.from(atob(value), (c) => c.charCodeAt(0)),
        );
      } catch {
        throw fail("malformed Basic credentials");
      }
      const colon = decoded.indexOf(":");
      if (colon < 0) throw fail("malformed Basic credentials");
      const username = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      let found: HttpUser | undefined;
      for (const u of this.#users) {
        // Every user is compared, so the time does not tell whether the name exists.
        const ok = Number(timingSafeEqual(u.username, username)) &
          Number(timingSafeEqual(u.password, password));
        if (ok && found === undefined) found = u;
      }
      if (found !== undefined) {
        return { name: found.username, role: found.role ?? "admin", kind: "user" };
      }
      throw fail("invalid username or password");
    }
    throw fail(`unsupported authorization scheme ${scheme}: use Bearer or Basic`);
  }
}
