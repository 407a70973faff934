/**
 * Reading and validating requests: JSON bodies with a size cap (413), query parameters (unknown
 * ones are 400, so that a typo never silently lists everything), and the publish body.
 *
 * Pure apart from reading the request body: no Deno API.
 *
 * @module
 */
import type { Properties, QoS, UserProperty } from "../codec/packets.ts";
import { topicFilterProblem, topicNameProblem } from "../codec/topic.ts";
import type { AdminPublish } from "../broker/admin.ts";
import { HttpError } from "./errors.ts";

/** Reads the body as JSON: 415 unless `application/json`, 413 past `maxBytes`, 400 if invalid. */
export async function readJson(req: Request, maxBytes: number): Promise<unknown> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    await req.body?.cancel();
    throw new HttpError(
      415,
      `expected a JSON body (Content-Type: application/json), got ${type === "" ? "none" : type}`,
    );
  }
  const bytes = await readBody(req, maxBytes);
  if (bytes.length === 0) throw new HttpError(400, "expected a JSON body, got an empty body");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "the body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `invalid JSON: ${(e as Error).message}`);
  }
}

/** Reads the whole body, refusing (413) more than `maxBytes` without buffering it all. */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, `the request body is larger than the limit of ${maxBytes} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await req.body?.cancel();
    throw tooLarge();
  }
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Query parameters, with every name checked against `allowed`. */
export function queryParams(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (!allowed.includes(k)) {
      throw new HttpError(
        400,
        `unknown query parameter ${k}` +
          (allowed.length > 0 ? ` (known: ${allowed.join(", ")})` : " (none are accepted)"),
      );
    }
    if (out.has(k)) throw new HttpError(400, `query parameter ${k} is given twice`);
    out.set(k, v);
  }
  return out;
}

export function intParam(
  q: Map<string, string>,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = q.get(name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new HttpError(
      400,
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return Number(v);
}

export function boolParam(q: Map<string, string>, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new HttpError(400, `${name} must be true or false, got ${JSON.stringify(v)}`);
}

export interface Page<T> {
  data: T[];
  meta: { page: number; limit: number; count: number; hasNext: boolean };
}

/** `?page` (from 1) and `?limit` (1..1000, default 100) over a full list. */
export function paginate<T>(items: T[], q: Map<string, string>): Page<T> {
  const page = intParam(q, "page", 1, 1, 1_000_000_000);
  const limit = intParam(q, "limit", 100, 1, 1000);
  const start = (page - 1) * limit;
  return {
    data: items.slice(start, start + limit),
    meta: { page, limit, count: items.length, hasNext: start + limit < items.length },
  };
}

/** Throws 400 with why `filter` is not a topic filter. */
export function checkTopicFilter(filter: string, what = "topic"): void {
  const problem = topicFilterProblem(filter);
  if (problem !== undefined) throw new HttpError(400, `bad ${what} filter: ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// Publish

const U32 = 4294967295;
const PUBLISH_KEYS = ["topic", "payload", "encoding", "qos", "retain", "properties"];
const PROPERTY_KEYS = [
  "payloadFormatIndicator",
  "messageExpiryInterval",
  "contentType",
  "responseTopic",
  "correlationData",
  "userProperties",
];

export interface PublishLimits {
  maximumQoS: number;
  retainAvailable: boolean;
  /** Largest payload accepted, in bytes. */
  maxPayload: number;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodeBase64(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s.replace(/\s+/g, ""))) {
    throw new HttpError(400, `${what} is not valid base64`);
  }
  try {
    return Uint8Array.from(atob(s.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new HttpError(400, `${what} is not valid base64`);
  }
}

const encoder = new TextEncoder();

/**
 * Validates one publish request body:
 * `{ topic, payload?, encoding?: "plain"|"base64", qos?: 0|1|2, retain?: boolean,
 *    properties?: { payloadFormatIndicator, messageExpiryInterval, contentType, responseTopic,
 *    correlationData, userProperties } }`.
 * `at` prefixes messages (`messages[2].qos`) in a batch.
 */
export function parsePublish(body: unknown, limits: PublishLimits, at = ""): AdminPublish {
  const bad = (field: string, message: string) => new HttpError(400, `${at}${field} ${message}`);
  if (!isObject(body)) {
    throw new HttpError(
      400,
      `${at === "" ? "the body" : at.slice(0, -1)} must be a JSON object, got ${typeName(body)}`,
    );
  }
  for (const k of Object.keys(body)) {
    if (!PUBLISH_KEYS.includes(k)) {
      throw bad(k, `is not a publish field (known: ${PUBLISH_KEYS.join(", ")})`);
    }
  }
  const { topic, payload = "", encoding = "plain", qos = 0, retain = false, properties } = body;
  if (typeof topic !== "string") throw bad("topic", `must be a string, got ${typeName(topic)}`);
  const problem = topicNameProblem(topic);
  if (problem !== undefined) throw bad("topic", `is not a valid topic name: ${problem}`);
  if (topic === "$SYS" || topic.startsWith("$SYS/")) {
    throw bad("topic", "must not be in $SYS (the broker's own tree)");
  }
  if (encoding !== "plain" && encoding !== "base64") {
    throw bad("encoding", `must be "plain" or "base64", got ${JSON.stringify(encoding)}`);
  }
  if (typeof payload !== "string") {
    throw bad("payload", `must be a string, got ${typeName(payload)}`);
  }
  const bytes = encoding === "base64"
    ? decodeBase64(payload, `${at}payload`)
    : encoder.encode(payload);
  if (bytes.length > limits.maxPayload) {
    throw new HttpError(
      413,
      `${at}payload is ${bytes.length} bytes, more than the broker's limit of ${limits.maxPayload}`,
    );
  }
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw bad("qos", `must be 0, 1 or 2, got ${JSON.stringify(qos)}`);
  }
  if (qos > limits.maximumQoS) {
    throw bad("qos", `${qos} is above the broker's maximum QoS ${limits.maximumQoS}`);
  }
  if (typeof retain !== "boolean") {
    throw bad("retain", `must be true or false, got ${typeName(retain)}`);
  }
  if (retain && !limits.retainAvailable) throw bad("retain", "is not available on this broker");
  const out: AdminPublish = { topic, payload: bytes, qos: qos as QoS, retain };
  if (properties !== undefined) {
    const { props, expiry } = parseProperties(properties, bytes, `${at}properties.`);
    if (Object.keys(props).length > 0) out.properties = props;
    if (expiry !== undefined) out.messageExpiryInterval = expiry;
  }
  return out;
}

function parseProperties(
  p: unknown,
  payload: Uint8Array,
  at: string,
): { props: Properties; expiry?: number } {
  const bad = (field: string, message: string) => new HttpError(400, `${at}${field} ${message}`);
  if (!isObject(p)) {
    throw new HttpError(400, `${at.slice(0, -1)} must be an object, got ${typeName(p)}`);
  }
  for (const k of Object.keys(p)) {
    if (!PROPERTY_KEYS.includes(k)) {
      throw bad(k, `is not a supported PUBLISH property (known: ${PROPERTY_KEYS.join(", ")})`);
    }
  }
  const props: Properties = {};
  let expiry: number | undefined;
  const pfi = p.payloadFormatIndicator;
  if (pfi !== undefined) {
    if (pfi !== 0 && pfi !== 1) throw bad("payloadFormatIndicator", "must be 0 or 1");
    if (pfi === 1) {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(payload);
      } catch {
        // MQTT 5 §3.3.2.3.2: indicator 1 means the payload is UTF-8.
        throw bad("payloadFormatIndicator", "is 1 (UTF-8) but the payload is not valid UTF-8");
      }
    }
    props.payloadFormatIndicator = pfi;
  }
  const mei = p.messageExpiryInterval;
  if (mei !== undefined) {
    if (typeof mei !== "number" || !Number.isInteger(mei) || mei < 0 || mei > U32) {
      throw bad("messageExpiryInterval", `must be an integer number of seconds from 0 to ${U32}`);
    }
    expiry = mei;
  }
  if (p.contentType !== undefined) {
    if (typeof p.contentType !== "string") throw bad("contentType", "must be a string");
    props.contentType = p.contentType;
  }
  if (p.responseTopic !== undefined) {
    if (typeof p.responseTopic !== "string") throw bad("responseTopic", "must be a string");
    const problem = topicNameProblem(p.responseTopic);
    if (problem !== undefined) throw bad("responseTopic", `is not a valid topic name: ${problem}`);
    props.responseTopic = p.responseTopic;
  }
  if (p.correlationData !== undefined) {
    if (typeof p.correlationData !== "string") {
      throw bad("correlationData", "must be a string (its UTF-8 bytes are sent)");
    }
    props.correlationData = encoder.encode(p.correlationData);
  }
  const up = p.userProperties;
  if (up !== undefined) {
    const list: UserProperty[] = [];
    if (Array.isArray(up)) {
      up.forEach((pair, i) => {
        if (
          !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" ||
          typeof pair[1] !== "string"
        ) {
          throw bad(`userProperties[${i}]`, "must be a [name, value] pair of strings");
        }
        list.push([pair[0], pair[1]]);
      });
    } else if (isObject(up)) {
      for (const [name, value] of Object.entries(up)) {
        const values = Array.isArray(value) ? value : [value];
        for (const v of values) {
          if (typeof v !== "string") {
            throw bad(`userProperties.${name}`, "must be a string or an array of strings");
          }
          list.push([name, v]);
        }
      }
    } else {
      throw bad("userProperties", "must be an object {name: value} or a list of [name, value]");
    }
    if (list.length > 0) props.userProperties = list;
  }
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === "string" && v.includes("\0")) throw bad(k, "must not contain U+0000");
  }
  return { props, expiry };
}
