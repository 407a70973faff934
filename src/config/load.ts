/**
 * loadConfig: defaults < config file < environment (EDGEMQ_…) < command-line flags, validated
 * against the schema in one pass that collects every problem before throwing one ConfigError.
 */
import type { Node, Scalar, YAMLMap } from "yaml";
import { isAlias, isMap, isScalar, isSeq, newLineCounter, parseDocument } from "./yaml.ts";
import { ConfigError, type ConfigIssue, describeValue, type IssueSource } from "./errors.ts";
import {
  type Config,
  DEFAULT_LISTENER,
  defaultConfig,
  describeType,
  ENV_PREFIX,
  envName,
  EXTRA_ENV,
  KEYS,
  keySpec,
  KNOWN_LISTENER_TYPES,
  LISTENER_DEFAULT_PORTS,
  LISTENER_KEYS,
  LISTENER_TLS_KEYS,
  LISTENER_WS_KEYS,
  type ListenerConfig,
  type ListenerType,
  setProp,
  SUPPORTED_LISTENER_TYPES,
  TOP_LEVEL_KEYS,
  type ValueType,
} from "./schema.ts";
import { suggest } from "./suggest.ts";
import { checkHttp, readHttp } from "./http_section.ts";
import { readBridges } from "../bridge/config.ts";
import { parseSize } from "./units.ts";

/** Values given on the command line, as typed (strings), keyed by config key. */
export interface ConfigFlags {
  host?: string;
  port?: string;
  data_dir?: string;
  log_level?: string;
  log_format?: string;
}

/** The command-line flag that sets each key, for error messages. */
export const FLAG_NAMES: Record<keyof ConfigFlags, string> = {
  host: "--host",
  port: "--port",
  data_dir: "--data-dir",
  log_level: "--log-level",
  log_format: "--log-format",
};

export interface LoadConfigOptions {
  /** Path of the YAML config file; omitted = defaults (no file is read implicitly). */
  file?: string;
  /** The file's text, when already read (tests, reload); `file` is still used in messages. */
  text?: string;
  /** Environment variables (usually Deno.env.toObject()). */
  env?: Record<string, string | undefined>;
  flags?: ConfigFlags;
}

type Located = { line?: number; col?: number };

/**
 * Loads and validates; throws ConfigError listing every problem. With a file or text, the YAML
 * library must be loaded: src/config/mod.ts loads it, otherwise `await loadYaml()` (./yaml.ts).
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const issues: ConfigIssue[] = [];
  const config = defaultConfig();
  if (options.file !== undefined || options.text !== undefined) {
    const file = options.file ?? "<config>";
    let text = options.text;
    if (text === undefined) {
      try {
        text = Deno.readTextFileSync(file);
      } catch (e) {
        const reason = e instanceof Deno.errors.NotFound
          ? "file not found"
          : e instanceof Deno.errors.PermissionDenied
          ? "permission denied"
          : e instanceof Deno.errors.IsADirectory
          ? "is a directory, expected a YAML file"
          : (e as Error).message;
        issues.push({ source: "file", file, path: "", message: `cannot read config: ${reason}` });
      }
    }
    if (text !== undefined) applyFile(config, file, text, issues);
  }
  applyEnv(config, options.env ?? {}, issues);
  applyFlags(config, options.flags ?? {}, issues);
  checkListeners(config, options.file ?? "<config>", issues);
  checkHttp(config, options.file ?? "<config>", issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/** Validates a value against a key's type; returns the value or an error message. */
function coerce(
  type: ValueType,
  value: unknown,
  fromString: boolean,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const fail = () => ({
    ok: false as const,
    message: `expected ${describeType(type)}, got ${describeValue(value)}`,
  });
  switch (type.kind) {
    case "int":
    case "duration": {
      let n: unknown = value;
      if (fromString && typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) {
        n = Number(value);
      }
      if (typeof n !== "number" || !Number.isInteger(n) || n < type.min || n > type.max) {
        return fail();
      }
      return { ok: true, value: n };
    }
    case "size": {
      let n: unknown = value;
      if (typeof value === "string") n = parseSize(value);
      if (typeof n !== "number" || !Number.isInteger(n) || n < type.min || n > type.max) {
        return fail();
      }
      return { ok: true, value: n };
    }
    case "bool": {
      if (typeof value === "boolean") return { ok: true, value };
      if (type.nullable && (value === null || (fromString && value === ""))) {
        return { ok: true, value: null };
      }
      if (fromString && typeof value === "string") {
        const v = value.trim().toLowerCase();
        if (["true", "1", "yes", "on"].includes(v)) return { ok: true, value: true };
        if (["false", "0", "no", "off"].includes(v)) return { ok: true, value: false };
      }
      return fail();
    }
    case "string": {
      if (type.nullable && (value === null || (fromString && value === ""))) {
        return { ok: true, value: null };
      }
      if (typeof value !== "string" || value === "") return fail();
      return { ok: true, value };
    }
    case "custom":
      return type.check(value, fromString);
    case "enum": {
      if (typeof value !== "string" || !type.values.includes(value)) {
        const hint = typeof value === "string" ? suggest(value, type.values) : undefined;
        const base = fail().message;
        return { ok: false, message: hint ? `${base}; did you mean \`${hint}\`?` : base };
      }
      return { ok: true, value };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// File

function applyFile(config: Config, file: string, text: string, issues: ConfigIssue[]): void {
  const lineCounter = newLineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined): Located => {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  const push = (loc: Located, path: string, message: string) =>
    issues.push({ source: "file", file, ...loc, path, message });

  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0] ?? (err.pos ? lineCounter.linePos(err.pos[0]) : undefined);
      const message = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      push(pos ? { line: pos.line, col: pos.col } : {}, "", `invalid YAML: ${message}`);
    }
    return;
  }
  const resolve = (node: unknown): Node | null => {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return resolve(node.resolve(doc));
    return node as Node;
  };
  const root = resolve(doc.contents);
  if (root === null || (isScalar(root) && root.value === null)) return; // empty file: defaults
  if (!isMap(root)) {
    push(at(root), "", "expected a mapping of keys (key: value) at the top level");
    return;
  }
  for (const pair of (root as YAMLMap<unknown, unknown>).items) {
    const keyNode = resolve(pair.key);
    const valueNode = resolve(pair.value);
    const key = isScalar(keyNode) ? keyNode.value : keyNode;
    const keyLoc = at(keyNode);
    const valueLoc = valueNode?.range ? at(valueNode) : keyLoc;
    if (typeof key !== "string") {
      push(keyLoc, String(key), "keys must be strings");
      continue;
    }
    if (key === "listeners") {
      const listeners = readListeners(valueNode, valueLoc, at, resolve, push);
      if (listeners) config.listeners = listeners;
      continue;
    }
    if (key === "http") {
      const http = readHttp(valueNode, valueLoc, at, resolve, push);
      if (http) config.http = http;
      continue;
    }
    if (key === "bridges") {
      const bridges = readBridges(valueNode, valueLoc, at, resolve, push);
      if (bridges) config.bridges = bridges;
      continue;
    }
    const spec = keySpec(key);
    if (!spec) {
      const hint = suggest(key, TOP_LEVEL_KEYS);
      push(
        keyLoc,
        "",
        hint ? `unknown key \`${key}\`, did you mean \`${hint}\`?` : `unknown key \`${key}\``,
      );
      continue;
    }
    const raw = valueNode === null
      ? null
      : isScalar(valueNode)
      ? valueNode.value
      : valueNode.toJSON();
    const result = coerce(spec.type, raw, false);
    if (result.ok) setProp(config, spec.prop, result.value);
    else push(valueLoc, key, result.message);
  }
}

function readListeners(
  node: Node | null,
  loc: Located,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  push: (loc: Located, path: string, message: string) => void,
): ListenerConfig[] | undefined {
  if (!isSeq(node) || node.items.length === 0) {
    push(loc, "listeners", "expected a non-empty list of listeners ({ type: tcp, host, port })");
    return undefined;
  }
  const out: ListenerConfig[] = [];
  let ok = true;
  node.items.forEach((item, i) => {
    const path = `listeners[${i}]`;
    const entry = resolve(item);
    if (!isMap(entry)) {
      push(at(entry), path, "expected a mapping with type, host and port");
      ok = false;
      return;
    }
    const listener: ListenerConfig = { ...DEFAULT_LISTENER };
    let portGiven = false;
    const fail = (l: Located, p: string, message: string) => {
      push(l, p, message);
      ok = false;
    };
    for (const pair of (entry as YAMLMap<unknown, unknown>).items) {
      const keyNode = resolve(pair.key);
      const valueNode = resolve(pair.value);
      const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
      const value = valueNode === null
        ? null
        : isScalar(valueNode)
        ? (valueNode as Scalar).value
        : valueNode.toJSON();
      const valueLoc = valueNode?.range ? at(valueNode) : at(keyNode);
      switch (key) {
        case "type": {
          if (typeof value !== "string") {
            push(valueLoc, `${path}.type`, `expected tcp, got ${describeValue(value)}`);
            ok = false;
          } else if (!(SUPPORTED_LISTENER_TYPES as readonly string[]).includes(value)) {
            const known = (KNOWN_LISTENER_TYPES as readonly string[]).includes(value);
            const hint = known ? undefined : suggest(value, KNOWN_LISTENER_TYPES);
            push(
              valueLoc,
              `${path}.type`,
              known
                ? `listener type \`${value}\` is not supported yet (supported: ${
                  SUPPORTED_LISTENER_TYPES.join(", ")
                })`
                : `unknown listener type \`${value}\`${
                  hint ? `, did you mean \`${hint}\`?` : ""
                } (supported: ${SUPPORTED_LISTENER_TYPES.join(", ")})`,
            );
            ok = false;
          } else listener.type = value as ListenerType;
          break;
        }
        case "name": {
          const r = coerce({ kind: "string" }, value, false);
          if (r.ok) listener.name = r.value as string;
          else fail(valueLoc, `${path}.name`, r.message);
          break;
        }
        case "protocols": {
          const list = Array.isArray(value) ? value : undefined;
          if (
            list === undefined || list.length === 0 ||
            list.some((v) => v !== 3 && v !== 4 && v !== 5)
          ) {
            fail(
              valueLoc,
              `${path}.protocols`,
              `expected a list of MQTT protocol levels from 3, 4, 5 (3.1, 3.1.1, 5.0), got ${
                Array.isArray(value) ? JSON.stringify(value) : describeValue(value)
              }`,
            );
          } else listener.protocols = [...new Set(list as Array<3 | 4 | 5>)];
          break;
        }
        case "max_connections": {
          const r = coerce({ kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER }, value, false);
          if (r.ok) listener.maxConnections = r.value as number;
          else fail(valueLoc, `${path}.max_connections`, r.message);
          break;
        }
        case "proxy_protocol": {
          const r = coerce({ kind: "bool" }, value, false);
          if (r.ok) listener.proxyProtocol = r.value as boolean;
          else fail(valueLoc, `${path}.proxy_protocol`, r.message);
          break;
        }
        case "tls": {
          const tls = readListenerTls(valueNode, valueLoc, `${path}.tls`, at, resolve, fail);
          if (tls) listener.tls = tls;
          break;
        }
        case "ws": {
          const ws = readListenerWs(valueNode, valueLoc, `${path}.ws`, at, resolve, fail);
          if (ws) listener.ws = ws;
          break;
        }
        case "host": {
          const r = coerce({ kind: "string" }, value, false);
          if (r.ok) listener.host = r.value as string;
          else {
            push(valueLoc, `${path}.host`, r.message);
            ok = false;
          }
          break;
        }
        case "port": {
          const r = coerce({ kind: "int", min: 0, max: 65535 }, value, false);
          if (r.ok) {
            listener.port = r.value as number;
            portGiven = true;
          } else {
            push(valueLoc, `${path}.port`, r.message);
            ok = false;
          }
          break;
        }
        default: {
          const hint = suggest(key, LISTENER_KEYS);
          push(
            at(keyNode),
            path,
            hint ? `unknown key \`${key}\`, did you mean \`${hint}\`?` : `unknown key \`${key}\``,
          );
          ok = false;
        }
      }
    }
    if (!portGiven) listener.port = LISTENER_DEFAULT_PORTS[listener.type];
    checkListener(listener, at(entry), path, fail);
    out.push(listener);
  });
  return ok ? out : undefined;
}

type Fail = (loc: Located, path: string, message: string) => void;

/** Key/value pairs of a nested mapping, with locations; undefined (reported) when not a mapping. */
function nestedPairs(
  node: Node | null,
  loc: Located,
  path: string,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  fail: Fail,
  known: readonly string[],
): Array<{ key: string; value: unknown; loc: Located }> | undefined {
  if (!isMap(node)) {
    fail(loc, path, `expected a mapping (${known.join(", ")})`);
    return undefined;
  }
  const out: Array<{ key: string; value: unknown; loc: Located }> = [];
  for (const pair of (node as YAMLMap<unknown, unknown>).items) {
    const keyNode = resolve(pair.key);
    const valueNode = resolve(pair.value);
    const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
    if (!known.includes(key)) {
      const hint = suggest(key, known);
      fail(
        at(keyNode),
        path,
        hint ? `unknown key \`${key}\`, did you mean \`${hint}\`?` : `unknown key \`${key}\``,
      );
      continue;
    }
    const value = valueNode === null
      ? null
      : isScalar(valueNode)
      ? (valueNode as Scalar).value
      : valueNode.toJSON();
    out.push({ key, value, loc: valueNode?.range ? at(valueNode) : at(keyNode) });
  }
  return out;
}

function readListenerTls(
  node: Node | null,
  loc: Located,
  path: string,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  fail: Fail,
): ListenerConfig["tls"] | undefined {
  const pairs = nestedPairs(node, loc, path, at, resolve, fail, LISTENER_TLS_KEYS);
  if (!pairs) return undefined;
  const tls: NonNullable<ListenerConfig["tls"]> = {};
  for (const { key, value, loc: vloc } of pairs) {
    const p = `${path}.${key}`;
    switch (key) {
      case "cert":
      case "key":
      case "ca": {
        const r = coerce({ kind: "string" }, value, false);
        if (!r.ok) {
          fail(vloc, p, `expected the path of a PEM file, got ${describeValue(value)}`);
          break;
        }
        const file = r.value as string;
        try {
          if (!Deno.statSync(file).isFile) fail(vloc, p, `${file} is not a file`);
        } catch (e) {
          fail(
            vloc,
            p,
            `cannot read ${file}: ${
              e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message
            }`,
          );
        }
        tls[key] = file;
        break;
      }
      case "min_version": {
        const v = typeof value === "number" ? value.toFixed(1) : value;
        if (v !== "1.2" && v !== "1.3") {
          fail(vloc, p, `expected "1.2" or "1.3", got ${describeValue(value)}`);
        } else tls.minVersion = v;
        break;
      }
      case "require_client_cert": {
        const r = coerce({ kind: "bool" }, value, false);
        if (r.ok) tls.requireClientCert = r.value as boolean;
        else fail(vloc, p, r.message);
        break;
      }
      case "use_identity_as_username": {
        if (value === false || value === "cn" || value === "subject") {
          tls.useIdentityAsUsername = value;
        } else fail(vloc, p, `expected cn, subject or false, got ${describeValue(value)}`);
        break;
      }
    }
  }
  return tls;
}

function readListenerWs(
  node: Node | null,
  loc: Located,
  path: string,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  fail: Fail,
): ListenerConfig["ws"] | undefined {
  const pairs = nestedPairs(node, loc, path, at, resolve, fail, LISTENER_WS_KEYS);
  if (!pairs) return undefined;
  const ws: NonNullable<ListenerConfig["ws"]> = {};
  for (const { key, value, loc: vloc } of pairs) {
    if (key === "path") {
      if (typeof value !== "string" || !value.startsWith("/")) {
        fail(vloc, `${path}.path`, `expected a path starting with /, got ${describeValue(value)}`);
      } else ws.path = value;
    } else {
      if (
        !Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")
      ) {
        fail(
          vloc,
          `${path}.allowed_origins`,
          `expected a list of origins like "https://app.example.com", got ${describeValue(value)}`,
        );
      } else ws.allowedOrigins = value as string[];
    }
  }
  return ws;
}

/** Combinations of listener keys that cannot work. */
function checkListener(l: ListenerConfig, loc: Located, path: string, fail: Fail): void {
  const secure = l.type === "tls" || l.type === "wss";
  if (secure) {
    if (!l.tls?.cert || !l.tls?.key) {
      fail(loc, path, `a ${l.type} listener needs tls.cert and tls.key (PEM files)`);
    }
    if (l.tls?.requireClientCert && !l.tls.ca) {
      fail(
        loc,
        path,
        "tls.require_client_cert needs tls.ca (the CA that signs client certificates)",
      );
    }
    if (l.tls?.useIdentityAsUsername && !l.tls.requireClientCert) {
      fail(loc, path, "tls.use_identity_as_username needs tls.require_client_cert: true");
    }
    if (l.proxyProtocol) {
      fail(
        loc,
        path,
        `proxy_protocol is supported on tcp and ws listeners, not ${l.type}: terminate TLS at ` +
          "the proxy (it can pass the client certificate's CN in the PROXY v2 header)",
      );
    }
  } else if (l.tls !== undefined) {
    const keys = Object.keys(l.tls).filter((k) => k !== "useIdentityAsUsername");
    if (keys.length > 0 || !l.proxyProtocol) {
      fail(
        loc,
        path,
        `tls options need type tls or wss (on a ${l.type} listener only ` +
          "tls.use_identity_as_username, with proxy_protocol: true, for the certificate a TLS " +
          "terminator verified)",
      );
    }
  }
  if (l.ws !== undefined && l.type !== "ws" && l.type !== "wss") {
    fail(loc, path, `ws options need type ws or wss, not ${l.type}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Environment and flags

function applyEnv(
  config: Config,
  env: Record<string, string | undefined>,
  issues: ConfigIssue[],
): void {
  const known = new Set<string>([...KEYS.map((k) => envName(k.key)), ...EXTRA_ENV]);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    if (!known.has(name)) {
      // A near miss of a known variable is a typo worth stopping for; anything else under the
      // prefix belongs to other tools (EDGEMQ_E2E_TARGET for the tests) and is left alone.
      const hint = suggest(name, known);
      if (hint) {
        issues.push({
          source: "env",
          path: "",
          message: `unknown variable ${name}, did you mean ${hint}?`,
        });
      }
      continue;
    }
    if (name === "EDGEMQ_CONFIG") continue; // names the file; read by the CLI
    const key = name.slice(ENV_PREFIX.length).toLowerCase();
    applyString(config, key, value, "env", name, issues);
  }
}

function applyFlags(config: Config, flags: ConfigFlags, issues: ConfigIssue[]): void {
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const flag = FLAG_NAMES[key as keyof ConfigFlags] ?? `--${key.replaceAll("_", "-")}`;
    applyString(config, key, value, "flag", flag, issues);
  }
}

/** `host` and `port` set the first listener; other keys go through the schema. */
function applyString(
  config: Config,
  key: string,
  value: string,
  source: IssueSource,
  path: string,
  issues: ConfigIssue[],
): void {
  if (key === "host") {
    const r = coerce({ kind: "string" }, value, true);
    if (r.ok) config.listeners[0] = { ...config.listeners[0], host: r.value as string };
    else issues.push({ source, path, message: r.message });
    return;
  }
  if (key === "port") {
    const r = coerce({ kind: "int", min: 0, max: 65535 }, value, true);
    if (r.ok) config.listeners[0] = { ...config.listeners[0], port: r.value as number };
    else issues.push({ source, path, message: r.message });
    return;
  }
  const spec = keySpec(key);
  if (!spec) {
    issues.push({ source, path, message: "is not a configuration key" });
    return;
  }
  const r = coerce(spec.type, value, true);
  if (r.ok) setProp(config, spec.prop, r.value);
  else issues.push({ source, path, message: r.message });
}

function checkListeners(config: Config, file: string, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    const id = `${l.host}:${l.port}`;
    const first = seen.get(id);
    if (first !== undefined && l.port !== 0) {
      issues.push({
        source: "file",
        file,
        path: `listeners[${i}]`,
        message: `${id} is already used by listeners[${first}]`,
      });
    } else seen.set(id, i);
  });
}
