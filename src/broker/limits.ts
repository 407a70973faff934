/**
 * Per-client limits: topic depth and length, publish rate (token buckets).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { BrokerOptions } from "./options.ts";

/**
 * Token buckets for messages/s and bytes/s. Each bucket holds one second's worth and starts
 * full; a message is let through while the message bucket has a token and the byte bucket is
 * not in debt (a message larger than a second's bytes passes and puts the bucket in debt, so
 * the average still holds).
 */
export class RateLimiter {
  #msgs: number;
  #bytes: number;
  #last: number;
  readonly #msgRate: number;
  readonly #byteRate: number;

  constructor(msgRate: number, byteRate: number, now: number) {
    this.#msgRate = msgRate;
    this.#byteRate = byteRate;
    this.#msgs = msgRate;
    this.#bytes = byteRate;
    this.#last = now;
  }

  /** Takes one message of `bytes`; false when it is over either rate. */
  take(bytes: number, now: number): boolean {
    const dt = (now - this.#last) / 1000;
    this.#last = now;
    if (dt > 0) {
      this.#msgs = Math.min(this.#msgRate, this.#msgs + dt * this.#msgRate);
      this.#bytes = Math.min(this.#byteRate, this.#bytes + dt * this.#byteRate);
    }
    if (this.#msgRate > 0) {
      if (this.#msgs < 1) return false;
      this.#msgs -= 1;
    }
    if (this.#byteRate > 0) {
      if (this.#bytes <= 0) return false;
      this.#bytes -= bytes;
    }
    return true;
  }
}

const encoder = new TextEncoder();

/** UTF-8 length of `s`, computed only when it could matter against `max`. */
function overBytes(s: string, max: number): number | undefined {
  if (s.length > max) return s.length; // at least one byte per UTF-16 unit
  if (s.length * 3 <= max) return undefined; // at most three bytes per UTF-16 unit
  const n = encoder.encode(s).length;
  return n > max ? n : undefined;
}

function levels(s: string, max: number): number | undefined {
  if (s.length < max) return undefined; // n levels need n - 1 separators
  let n = 1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++;
  return n > max ? n : undefined;
}

/** Why a topic name or filter breaks max_topic_length / max_topic_levels, or undefined. */
export function topicLimitProblem(
  topic: string,
  o: Pick<BrokerOptions, "maxTopicLength" | "maxTopicLevels">,
): string | undefined {
  const len = overBytes(topic, o.maxTopicLength);
  if (len !== undefined) {
    return `topic is ${len} bytes long, more than max_topic_length ${o.maxTopicLength}`;
  }
  const n = levels(topic, o.maxTopicLevels);
  if (n !== undefined) {
    return `topic has ${n} levels, more than max_topic_levels ${o.maxTopicLevels}`;
  }
  return undefined;
}

/** Why a client id breaks max_client_id_length, or undefined. */
export function clientIdLimitProblem(
  clientId: string,
  o: Pick<BrokerOptions, "maxClientIdLength">,
): string | undefined {
  const len = overBytes(clientId, o.maxClientIdLength);
  return len === undefined
    ? undefined
    : `client id is ${len} bytes long, more than max_client_id_length ${o.maxClientIdLength}`;
}
