/**
 * The `http:` section of the config file: the HTTP listener of the REST API, `/metrics` and the
 * dashboard. Read from the YAML nodes (so that errors point at file:line:col), checked against
 * the listeners once everything is loaded, and written back (secrets redacted) for
 * `check-config` and reload diffs.
 *
 * ```yaml
 * http:
 *   enabled: true
 *   host: 127.0.0.1          # a non-loopback host needs api_keys or users
 *   port: 18083
 *   tls: { cert: /etc/edgemq/http.crt, key: /etc/edgemq/http.key }
 *   api_keys:
 *     - { name: prometheus, key: "…at least 16 characters…", role: viewer }
 *   users:
 *     - { username: admin, password: "…", role: admin }
 *   max_body_size: 1MB
 * ```
 */
import type { Node, YAMLMap } from "yaml";
import { isMap, isScalar, isSeq } from "./yaml.ts";
import { isLoopbackHost } from "../http/auth.ts";
import type { HttpServerOptions } from "../http/server.ts";
import type { ConfigIssue } from "./errors.ts";
import { describeValue } from "./errors.ts";
import { suggest } from "./suggest.ts";
import { formatSize, parseSize } from "./units.ts";

export type HttpRole = "admin" | "viewer";

export interface HttpConfig {
  /** Off by default. */
  enabled: boolean;
  host: string;
  port: number;
  /** PEM files; null = plain HTTP. */
  tls: { cert: string; key: string } | null;
  apiKeys: Array<{ name?: string; key: string; role: HttpRole }>;
  users: Array<{ username: string; password: string; role: HttpRole }>;
  /** Largest request body, bytes. */
  maxBodySize: number;
}

export const DEFAULT_HTTP_CONFIG: Readonly<HttpConfig> = Object.freeze({
  enabled: false,
  host: "127.0.0.1",
  port: 18083,
  tls: null,
  apiKeys: [],
  users: [],
  maxBodySize: 1024 * 1024,
});

export function defaultHttpConfig(): HttpConfig {
  return { ...DEFAULT_HTTP_CONFIG, apiKeys: [], users: [] };
}

export const HTTP_KEYS = [
  "enabled",
  "host",
  "port",
  "tls",
  "api_keys",
  "users",
  "max_body_size",
] as const;
const ROLES = ["admin", "viewer"];
/** Shortest API key accepted: a short one is guessable. */
export const MIN_API_KEY_LENGTH = 16;

type Located = { line?: number; col?: number };
type Push = (loc: Located, path: string, message: string) => void;

/** Reads `http:`; undefined (and issues pushed) when something is wrong. */
export function readHttp(
  node: Node | null,
  loc: Located,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  push: Push,
): HttpConfig | undefined {
  if (!isMap(node)) {
    push(
      loc,
      "http",
      `expected a mapping (enabled, host, port, …), got ${describeValue(jsonOf(node))}`,
    );
    return undefined;
  }
  const out = defaultHttpConfig();
  let ok = true;
  const fail = (l: Located, path: string, message: string) => {
    push(l, path, message);
    ok = false;
  };
  for (const pair of (node as YAMLMap<unknown, unknown>).items) {
    const keyNode = resolve(pair.key);
    const valueNode = resolve(pair.value);
    const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
    const value = jsonOf(valueNode);
    const vloc = valueNode?.range ? at(valueNode) : at(keyNode);
    const path = `http.${key}`;
    switch (key) {
      case "enabled":
        if (typeof value === "boolean") out.enabled = value;
        else fail(vloc, path, `expected true or false, got ${describeValue(value)}`);
        break;
      case "host":
        if (typeof value === "string" && value !== "") out.host = value;
        else fail(vloc, path, `expected a non-empty string, got ${describeValue(value)}`);
        break;
      case "port":
        if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 65535) {
          out.port = value;
        } else fail(vloc, path, `expected an integer from 0 to 65535, got ${describeValue(value)}`);
        break;
      case "max_body_size": {
        const n = typeof value === "string" ? parseSize(value) : value;
        const max = 64 * 1024 * 1024;
        if (typeof n === "number" && Number.isInteger(n) && n >= 1024 && n <= max) {
          out.maxBodySize = n;
        } else {
          fail(
            vloc,
            path,
            `expected a size from 1KB to 64MB (a number, or a string like "1MB"), got ${
              describeValue(value)
            }`,
          );
        }
        break;
      }
      case "tls": {
        if (value === null) break;
        const v = value as Record<string, unknown>;
        if (!isPlainObject(value)) {
          fail(
            vloc,
            path,
            `expected { cert: FILE, key: FILE } or null, got ${describeValue(value)}`,
          );
          break;
        }
        const unknown = Object.keys(v).filter((k) => k !== "cert" && k !== "key");
        for (const k of unknown) {
          fail(vloc, `${path}.${k}`, `unknown key \`${k}\` (expected cert and key)`);
        }
        for (const k of ["cert", "key"]) {
          if (typeof v[k] !== "string" || v[k] === "") {
            fail(
              vloc,
              `${path}.${k}`,
              `expected the path of a PEM file, got ${describeValue(v[k])}`,
            );
          }
        }
        if (unknown.length === 0 && typeof v.cert === "string" && typeof v.key === "string") {
          out.tls = { cert: v.cert, key: v.key };
        }
        break;
      }
      case "api_keys": {
        if (!Array.isArray(value)) {
          fail(vloc, path, `expected a list of API keys, got ${describeValue(value)}`);
          break;
        }
        value.forEach((entry, i) => {
          const p = `${path}[${i}]`;
          const e = typeof entry === "string" ? { key: entry } : entry;
          if (!isPlainObject(e)) {
            return fail(
              vloc,
              p,
              `expected a key string or { name, key, role }, got ${describeValue(entry)}`,
            );
          }
          const extra = Object.keys(e).filter((k) => !["name", "key", "role"].includes(k));
          if (extra.length > 0) {
            return fail(vloc, p, `unknown key \`${extra[0]}\` (expected name, key, role)`);
          }
          if (typeof e.key !== "string" || e.key.length < MIN_API_KEY_LENGTH) {
            return fail(
              vloc,
              `${p}.key`,
              `expected a string of at least ${MIN_API_KEY_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`,
            );
          }
          if (e.name !== undefined && typeof e.name !== "string") {
            return fail(vloc, `${p}.name`, `expected a string, got ${describeValue(e.name)}`);
          }
          const role = roleOf(e.role, vloc, `${p}.role`, fail);
          if (role === undefined) return;
          out.apiKeys.push(
            e.name === undefined
              ? { key: e.key, role }
              : { name: e.name as string, key: e.key, role },
          );
        });
        break;
      }
      case "users": {
        if (!Array.isArray(value)) {
          fail(
            vloc,
            path,
            `expected a list of { username, password, role }, got ${describeValue(value)}`,
          );
          break;
        }
        const seen = new Set<string>();
        value.forEach((entry, i) => {
          const p = `${path}[${i}]`;
          if (!isPlainObject(entry)) {
            return fail(
              vloc,
              p,
              `expected { username, password, role }, got ${describeValue(entry)}`,
            );
          }
          const extra = Object.keys(entry).filter((k) =>
            !["username", "password", "role"].includes(k)
          );
          if (extra.length > 0) {
            return fail(vloc, p, `unknown key \`${extra[0]}\` (expected username, password, role)`);
          }
          if (
            typeof entry.username !== "string" || entry.username === "" ||
            entry.username.includes(":")
          ) {
            return fail(vloc, `${p}.username`, "expected a non-empty string without ':'");
          }
          if (typeof entry.password !== "string" || entry.password === "") {
            return fail(vloc, `${p}.password`, "expected a non-empty string");
          }
          if (seen.has(entry.username)) {
            return fail(vloc, `${p}.username`, `user ${entry.username} is listed twice`);
          }
          seen.add(entry.username);
          const role = roleOf(entry.role, vloc, `${p}.role`, fail);
          if (role === undefined) return;
          out.users.push({ username: entry.username, password: entry.password, role });
        });
        break;
      }
      default: {
        const hint = suggest(key, HTTP_KEYS);
        fail(
          at(keyNode),
          "http",
          hint ? `unknown key \`${key}\`, did you mean \`${hint}\`?` : `unknown key \`${key}\``,
        );
      }
    }
  }
  return ok ? out : undefined;
}

function roleOf(value: unknown, loc: Located, path: string, fail: Push): HttpRole | undefined {
  if (value === undefined) return "admin";
  if (typeof value === "string" && ROLES.includes(value)) return value as HttpRole;
  fail(loc, path, `expected admin or viewer, got ${describeValue(value)}`);
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonOf(node: Node | null): unknown {
  if (node === null) return null;
  return isScalar(node) ? node.value : isMap(node) || isSeq(node) ? node.toJSON() : node.toJSON();
}

/**
 * Checks `http` against the rest of the config: an open API (no key, no user) only on loopback;
 * no MQTT listener on the same host and port.
 */
export function checkHttp(
  config: { http: HttpConfig; listeners: ReadonlyArray<{ host: string; port: number }> },
  file: string,
  issues: ConfigIssue[],
): void {
  const h = config.http;
  if (!h.enabled) return;
  if (!isLoopbackHost(h.host) && h.apiKeys.length === 0 && h.users.length === 0) {
    issues.push({
      source: "file",
      file,
      path: "http.host",
      message: `${h.host} is not a loopback address: the REST API can change the broker, so ` +
        "http.api_keys or http.users are required to serve it there (or use host: 127.0.0.1)",
    });
  }
  if (h.port !== 0) {
    config.listeners.forEach((l, i) => {
      if (l.port === h.port && (l.host === h.host || isAny(l.host) || isAny(h.host))) {
        issues.push({
          source: "file",
          file,
          path: "http.port",
          message: `${h.port} is already used by listeners[${i}] (${l.host}:${l.port})`,
        });
      }
    });
  }
}

function isAny(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** `http:` as the file spells it; API keys and passwords are redacted. */
export function httpToObject(h: HttpConfig): Record<string, unknown> {
  return {
    enabled: h.enabled,
    host: h.host,
    port: h.port,
    tls: h.tls === null ? null : { cert: h.tls.cert, key: h.tls.key },
    api_keys: h.apiKeys.map((k) => ({
      ...(k.name !== undefined ? { name: k.name } : {}),
      key: "<redacted>",
      role: k.role,
    })),
    users: h.users.map((u) => ({ username: u.username, password: "<redacted>", role: u.role })),
    max_body_size: formatSize(h.maxBodySize),
  };
}

/** The HTTP listener options for startBroker; undefined when `http.enabled` is false. */
export function httpServerOptions(h: HttpConfig): HttpServerOptions | undefined {
  if (!h.enabled) return undefined;
  const o: HttpServerOptions = { host: h.host, port: h.port, maxBodyBytes: h.maxBodySize };
  if (h.tls !== null) o.tls = { certFile: h.tls.cert, keyFile: h.tls.key };
  if (h.apiKeys.length > 0) o.apiKeys = h.apiKeys.map((k) => ({ ...k }));
  if (h.users.length > 0) o.users = h.users.map((u) => ({ ...u }));
  return o;
}
