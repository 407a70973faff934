/**
 * The `bridges:` section of the config file, validated into {@link BridgeOptions}. Every problem
 * names its key path (`bridges[0].topics[1].direction`) and, through the YAML nodes, its
 * file:line:col.
 *
 * ```yaml
 * bridges:
 *   - name: cloud
 *     address: mqtts://broker.example.com:8883   # mqtt://, mqtts://, ws://, wss:// or host:port
 *     protocol_version: 5                        # 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0
 *     client_id: gw-17                           # default edgemq-bridge-{name}
 *     username: gw-17
 *     password: secret
 *     tls: { ca: /etc/edgemq/cloud-ca.pem, cert: gw.crt, key: gw.key, server_name: broker.example.com, alpn: [mqtt] }
 *     keepalive: 60
 *     clean_start: false
 *     session_expiry: 3600
 *     try_private: true                          # 3.1.1: bridge bit 0x84 (off for AWS IoT Core)
 *     topics:
 *       - { pattern: "sensors/#", direction: out, qos: 1, local_prefix: "", remote_prefix: "site1/" }
 *       - { pattern: "cmd/#", direction: in, qos: 1, remote_prefix: "site1/" }
 *     queue: { max_messages: 100000, max_bytes: 64MB, qos0: false, drop_policy: oldest }
 *     reconnect: { base_ms: 500, cap_ms: 30000 }
 *     max_inflight: 1000
 * ```
 *
 * @module
 */
import type { Node, YAMLMap, YAMLSeq } from "yaml";
import { isMap, isScalar, isSeq } from "../config/yaml.ts";
import { topicFilterProblem } from "../codec/topic.ts";
import { describeValue } from "../config/errors.ts";
import { suggest } from "../config/suggest.ts";
import { formatSize, parseSize } from "../config/units.ts";
import {
  BRIDGE_DEFAULTS,
  bridgeNameProblem,
  type BridgeOptions,
  type BridgeTopicOptions,
  parseAddress,
} from "./options.ts";

export const BRIDGE_KEYS = [
  "name",
  "address",
  "protocol_version",
  "client_id",
  "username",
  "password",
  "tls",
  "keepalive",
  "clean_start",
  "session_expiry",
  "try_private",
  "topics",
  "queue",
  "reconnect",
  "max_inflight",
] as const;
const TLS_KEYS = ["ca", "cert", "key", "server_name", "alpn"] as const;
const TOPIC_KEYS = ["pattern", "direction", "qos", "local_prefix", "remote_prefix"] as const;
const QUEUE_KEYS = ["max_messages", "max_bytes", "qos0", "drop_policy"] as const;
const RECONNECT_KEYS = ["base_ms", "cap_ms"] as const;

type Located = { line?: number; col?: number };
type Push = (loc: Located, path: string, message: string) => void;

/** A problem found in plain (JSON) bridge data: key path segments and message. */
export interface BridgeIssue {
  path: (string | number)[];
  message: string;
  /** The problem is the key itself (unknown key): point at it rather than at its value. */
  atKey?: boolean;
}

function pathText(path: (string | number)[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates the plain value of `bridges:`; returns the options and every problem found. */
export function validateBridges(value: unknown): {
  bridges: BridgeOptions[];
  issues: BridgeIssue[];
} {
  const issues: BridgeIssue[] = [];
  const bridges: BridgeOptions[] = [];
  if (value === null || value === undefined) return { bridges, issues };
  if (!Array.isArray(value)) {
    issues.push({
      path: ["bridges"],
      message: `expected a list of bridges ({ name, address, topics }), got ${
        describeValue(value)
      }`,
    });
    return { bridges, issues };
  }
  const names = new Map<string, number>();
  value.forEach((entry, i) => {
    const base: (string | number)[] = ["bridges", i];
    const before = issues.length;
    const fail = (rel: (string | number)[], message: string, atKey?: boolean) =>
      issues.push({ path: [...base, ...rel], message, ...(atKey ? { atKey } : {}) });
    if (!isPlainObject(entry)) {
      fail([], `expected a mapping { name, address, topics, … }, got ${describeValue(entry)}`);
      return;
    }
    unknownKeys(entry, BRIDGE_KEYS, [], fail);
    const name = entry.name;
    const nameProblem = bridgeNameProblem(name);
    if (nameProblem !== undefined) fail(["name"], nameProblem);
    else if (names.has(name as string)) {
      fail(
        ["name"],
        `bridge name ${name} is already used by bridges[${names.get(name as string)}]`,
      );
    } else names.set(name as string, i);

    const tls = readTls(entry.tls, fail);
    const address = entry.address;
    if (typeof address !== "string" || address === "") {
      fail(
        ["address"],
        `expected "mqtt://host:port", "mqtts://…", "ws://…", "wss://…" or "host:port", got ${
          describeValue(address)
        }`,
      );
    } else {
      const parsed = parseAddress(address, tls !== undefined);
      if (typeof parsed === "string") fail(["address"], parsed);
      else if (tls !== undefined && (parsed.protocol === "mqtt" || parsed.protocol === "ws")) {
        fail(
          ["address"],
          `tls is set but ${JSON.stringify(address)} is not a TLS address: use ${
            parsed.protocol === "mqtt" ? "mqtts://" : "wss://"
          } (or host:port)`,
        );
      }
    }
    const o: BridgeOptions = {
      name: name as string,
      address: address as string,
      topics: [],
    };
    const v = entry.protocol_version;
    if (v !== undefined) {
      if (v === 4 || v === 5) o.protocolVersion = v;
      else {fail(
          ["protocol_version"],
          `expected 4 (MQTT 3.1.1) or 5 (MQTT 5.0), got ${describeValue(v)}`,
        );}
    }
    for (const k of ["client_id", "username", "password"] as const) {
      const x = entry[k];
      if (x === undefined || x === null) continue;
      if (typeof x !== "string" || (k === "client_id" && x === "")) {
        fail(
          [k],
          `expected a ${k === "client_id" ? "non-empty " : ""}string, got ${describeValue(x)}`,
        );
      } else if (k === "client_id") o.clientId = x;
      else if (k === "username") o.username = x;
      else o.password = x;
    }
    if (tls !== undefined) o.tls = tls;
    const ka = int(entry.keepalive, 0, 65535, ["keepalive"], "seconds", fail);
    if (ka !== undefined) o.keepalive = ka;
    const se = int(entry.session_expiry, 0, 0xFFFFFFFF, ["session_expiry"], "seconds", fail);
    if (se !== undefined) o.sessionExpiry = se;
    const cs = bool(entry.clean_start, ["clean_start"], fail);
    if (cs !== undefined) o.cleanStart = cs;
    const tp = bool(entry.try_private, ["try_private"], fail);
    if (tp !== undefined) o.tryPrivate = tp;
    const mi = int(entry.max_inflight, 1, 65535, ["max_inflight"], "messages", fail);
    if (mi !== undefined) o.maxInflight = mi;
    o.topics = readTopics(entry.topics, fail);
    readQueue(entry.queue, o, fail);
    readReconnect(entry.reconnect, o, fail);
    if (issues.length === before) bridges.push(o);
  });
  return { bridges, issues };
}

type Fail = (rel: (string | number)[], message: string, atKey?: boolean) => void;

function unknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  at: (string | number)[],
  fail: Fail,
): void {
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const hint = suggest(k, known);
    fail(
      [...at, k],
      hint
        ? `unknown key \`${k}\`, did you mean \`${hint}\`?`
        : `unknown key \`${k}\` (expected ${known.join(", ")})`,
      true,
    );
  }
}

function int(
  v: unknown,
  min: number,
  max: number,
  path: (string | number)[],
  unit: string,
  fail: Fail,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  fail(path, `expected an integer from ${min} to ${max} (${unit}), got ${describeValue(v)}`);
  return undefined;
}

function bool(v: unknown, path: (string | number)[], fail: Fail): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  fail(path, `expected true or false, got ${describeValue(v)}`);
  return undefined;
}

function readTls(v: unknown, fail: Fail): BridgeOptions["tls"] {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) {
    fail(
      ["tls"],
      `expected a mapping { ca, cert, key, server_name, alpn }, got ${describeValue(v)}`,
    );
    return undefined;
  }
  unknownKeys(v, TLS_KEYS, ["tls"], fail);
  const out: NonNullable<BridgeOptions["tls"]> = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const x = v[k];
    if (x === undefined) continue;
    if (typeof x !== "string" || x === "") {
      fail(["tls", k], `expected the path of a PEM file, got ${describeValue(x)}`);
    } else if (k === "ca") out.caFile = x;
    else if (k === "cert") out.certFile = x;
    else out.keyFile = x;
  }
  if ((v.cert === undefined) !== (v.key === undefined)) {
    fail(
      ["tls", v.cert === undefined ? "cert" : "key"],
      "cert and key must be given together (mutual TLS)",
    );
  }
  if (v.server_name !== undefined) {
    if (typeof v.server_name === "string" && v.server_name !== "") out.serverName = v.server_name;
    else fail(["tls", "server_name"], `expected a host name, got ${describeValue(v.server_name)}`);
  }
  if (v.alpn !== undefined) {
    if (Array.isArray(v.alpn) && v.alpn.every((p) => typeof p === "string" && p !== "")) {
      out.alpn = v.alpn as string[];
    } else {fail(
        ["tls", "alpn"],
        `expected a list of protocol names like [mqtt], got ${describeValue(v.alpn)}`,
      );}
  }
  return out;
}

function readTopics(v: unknown, fail: Fail): BridgeTopicOptions[] {
  if (!Array.isArray(v) || v.length === 0) {
    fail(
      ["topics"],
      `expected a non-empty list of { pattern, direction, qos, local_prefix, remote_prefix }, got ${
        Array.isArray(v) ? "an empty list" : describeValue(v)
      }`,
    );
    return [];
  }
  const out: BridgeTopicOptions[] = [];
  v.forEach((t, i) => {
    const at = ["topics", i];
    if (typeof t === "string") t = { pattern: t };
    if (!isPlainObject(t)) {
      fail(
        at,
        `expected { pattern, direction, qos, local_prefix, remote_prefix } or a pattern, got ${
          describeValue(t)
        }`,
      );
      return;
    }
    unknownKeys(t, TOPIC_KEYS, at, fail);
    const rule: BridgeTopicOptions = { pattern: "" };
    for (const k of ["local_prefix", "remote_prefix"] as const) {
      const x = t[k];
      if (x === undefined || x === null) continue;
      if (typeof x !== "string") fail([...at, k], `expected a string, got ${describeValue(x)}`);
      else if (x.includes("+") || x.includes("#") || x.includes("\u0000")) {
        fail(
          [...at, k],
          `a prefix is part of a topic name: no +, # or NUL, got ${JSON.stringify(x)}`,
        );
      } else if (k === "local_prefix") rule.localPrefix = x;
      else rule.remotePrefix = x;
    }
    const p = t.pattern;
    if (typeof p !== "string") {
      fail([...at, "pattern"], `expected a topic filter like "sensors/#", got ${describeValue(p)}`);
    } else if (p === "" && !rule.localPrefix && !rule.remotePrefix) {
      fail(
        [...at, "pattern"],
        "an empty pattern needs local_prefix or remote_prefix (the full topic)",
      );
    } else {
      const problem = p === "" ? undefined : topicFilterProblem(p);
      if (problem !== undefined) fail([...at, "pattern"], problem);
      else rule.pattern = p;
    }
    const d = t.direction;
    if (d !== undefined) {
      if (d === "out" || d === "in" || d === "both") rule.direction = d;
      else {
        const hint = typeof d === "string" ? suggest(d, ["out", "in", "both"]) : undefined;
        fail(
          [...at, "direction"],
          `expected out, in or both, got ${describeValue(d)}${
            hint ? `; did you mean \`${hint}\`?` : ""
          }`,
        );
      }
    }
    const q = t.qos;
    if (q !== undefined) {
      if (q === 0 || q === 1 || q === 2) rule.qos = q;
      else fail([...at, "qos"], `expected 0, 1 or 2, got ${describeValue(q)}`);
    }
    out.push(rule);
  });
  return out;
}

function readQueue(v: unknown, o: BridgeOptions, fail: Fail): void {
  if (v === undefined || v === null) return;
  if (!isPlainObject(v)) {
    fail(
      ["queue"],
      `expected a mapping { max_messages, max_bytes, qos0, drop_policy }, got ${describeValue(v)}`,
    );
    return;
  }
  unknownKeys(v, QUEUE_KEYS, ["queue"], fail);
  const q: NonNullable<BridgeOptions["queue"]> = {};
  const mm = int(v.max_messages, 1, 100_000_000, ["queue", "max_messages"], "messages", fail);
  if (mm !== undefined) q.maxMessages = mm;
  if (v.max_bytes !== undefined) {
    const n = typeof v.max_bytes === "string" ? parseSize(v.max_bytes) : v.max_bytes;
    if (typeof n === "number" && Number.isInteger(n) && n >= 1024 && n <= 2 ** 40) q.maxBytes = n;
    else {
      fail(
        ["queue", "max_bytes"],
        `expected a size from 1KB to 1TB (a number, or a string like "64MB"), got ${
          describeValue(v.max_bytes)
        }`,
      );
    }
  }
  const q0 = bool(v.qos0, ["queue", "qos0"], fail);
  if (q0 !== undefined) q.qos0 = q0;
  if (v.drop_policy !== undefined) {
    if (v.drop_policy === "oldest" || v.drop_policy === "newest") q.dropPolicy = v.drop_policy;
    else {fail(
        ["queue", "drop_policy"],
        `expected oldest or newest, got ${describeValue(v.drop_policy)}`,
      );}
  }
  o.queue = q;
}

function readReconnect(v: unknown, o: BridgeOptions, fail: Fail): void {
  if (v === undefined || v === null) return;
  if (!isPlainObject(v)) {
    fail(["reconnect"], `expected a mapping { base_ms, cap_ms }, got ${describeValue(v)}`);
    return;
  }
  unknownKeys(v, RECONNECT_KEYS, ["reconnect"], fail);
  const base = int(v.base_ms, 1, 3_600_000, ["reconnect", "base_ms"], "milliseconds", fail);
  const cap = int(v.cap_ms, 1, 86_400_000, ["reconnect", "cap_ms"], "milliseconds", fail);
  const b = base ?? BRIDGE_DEFAULTS.reconnect.baseMs;
  if (cap !== undefined && cap < b) {
    fail(["reconnect", "cap_ms"], `must be at least base_ms (${b}), got ${cap}`);
    return;
  }
  o.reconnect = {};
  if (base !== undefined) o.reconnect.baseMs = base;
  if (cap !== undefined) o.reconnect.capMs = cap;
}

/** The YAML node at `path` below `node` (the deepest one found), for file:line:col. */
function locate(
  node: Node | null,
  path: (string | number)[],
  resolve: (n: unknown) => Node | null,
  atKey = false,
): Node | null {
  let cur = node;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (cur === null) break;
    let next: Node | null = null;
    if (typeof seg === "number" && isSeq(cur)) {
      next = resolve((cur as YAMLSeq<unknown>).items[seg]);
    } else if (typeof seg === "string" && isMap(cur)) {
      const pair = (cur as YAMLMap<unknown, unknown>).items.find((p) => {
        const k = resolve(p.key);
        return isScalar(k) && k.value === seg;
      });
      if (pair !== undefined) {
        next = atKey && i === path.length - 1
          ? resolve(pair.key)
          : resolve(pair.value) ?? resolve(pair.key);
      }
    }
    if (next === null) break;
    cur = next;
  }
  return cur;
}

/** Reads `bridges:` from the YAML node; undefined (and issues pushed) when something is wrong. */
export function readBridges(
  node: Node | null,
  loc: Located,
  at: (n: Node | null | undefined) => Located,
  resolve: (n: unknown) => Node | null,
  push: Push,
): BridgeOptions[] | undefined {
  const value = node === null ? null : isScalar(node) ? node.value : node.toJSON();
  const { bridges, issues } = validateBridges(value);
  for (const issue of issues) {
    const n = locate(node, issue.path.slice(1), resolve, issue.atKey);
    const l = n?.range ? at(n) : loc;
    push(l, pathText(issue.path), issue.message);
  }
  return issues.length === 0 ? bridges : undefined;
}

/** `bridges:` as the file spells it (passwords redacted), for check-config and reload diffs. */
export function bridgesToObject(list: readonly BridgeOptions[]): Record<string, unknown>[] {
  return list.map((b) => {
    const o: Record<string, unknown> = { name: b.name, address: b.address };
    if (b.protocolVersion !== undefined) o.protocol_version = b.protocolVersion;
    if (b.clientId !== undefined) o.client_id = b.clientId;
    if (b.username !== undefined) o.username = b.username;
    if (b.password !== undefined) o.password = "<redacted>";
    if (b.tls !== undefined) {
      const t = b.tls;
      o.tls = Object.fromEntries(
        [["ca", t.caFile], ["cert", t.certFile], ["key", t.keyFile], [
          "server_name",
          t.serverName,
        ], ["alpn", t.alpn]].filter(([, x]) => x !== undefined),
      );
    }
    if (b.keepalive !== undefined) o.keepalive = b.keepalive;
    if (b.cleanStart !== undefined) o.clean_start = b.cleanStart;
    if (b.sessionExpiry !== undefined) o.session_expiry = b.sessionExpiry;
    if (b.tryPrivate !== undefined) o.try_private = b.tryPrivate;
    o.topics = b.topics.map((t) =>
      Object.fromEntries(
        [["pattern", t.pattern], ["direction", t.direction], ["qos", t.qos], [
          "local_prefix",
          t.localPrefix,
        ], ["remote_prefix", t.remotePrefix]].filter(([, x]) => x !== undefined),
      )
    );
    if (b.queue !== undefined) {
      const q = b.queue;
      o.queue = Object.fromEntries(
        [
          ["max_messages", q.maxMessages],
          [
            "max_bytes",
            q.maxBytes === undefined ? undefined : formatSize(q.maxBytes),
          ],
          ["qos0", q.qos0],
          ["drop_policy", q.dropPolicy],
        ].filter(([, x]) => x !== undefined),
      );
    }
    if (b.reconnect !== undefined) {
      o.reconnect = Object.fromEntries(
        [["base_ms", b.reconnect.baseMs], ["cap_ms", b.reconnect.capMs]].filter(([, x]) =>
          x !== undefined
        ),
      );
    }
    if (b.maxInflight !== undefined) o.max_inflight = b.maxInflight;
    return o;
  });
}
