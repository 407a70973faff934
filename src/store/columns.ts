/**
 * Stored messages in columns: a few large arrays and strings instead of one object per row.
 * The SQLite backend reads the messages table and a bridge queue into this form; it is what
 * crosses from the store worker to the main thread at start-up (`worker_protocol.ts`), where a
 * list of 100,000 objects would cost far more to clone than a dozen arrays.
 *
 * @module
 */

import { decodeProperties, STATE_NAME } from "./encoding.ts";
import type { OutgoingMessage, QueuedBridgeMessage } from "./store.ts";
import type { QoS } from "../codec/packets.ts";

/** `flags` bit: the row has properties. */
const HAS_PROPS = 32;

/** Row i of every array is one message. */
export interface MessageColumns {
  n: number;
  /** Index of the owning session (messages) or 0 (bridge queue). */
  owner: Uint32Array;
  seq: Float64Array;
  /** state | qos << 2 | retain << 4 | has-properties << 5. */
  flags: Uint8Array;
  /** -1: none. */
  packetId: Int32Array;
  /** NaN: none. */
  expiresAt: Float64Array;
  /** All topics, concatenated; topic i ends at `topicEnds[i]`. */
  topics: string;
  topicEnds: Uint32Array;
  /** All properties (JSON), concatenated; those of row i end at `propEnds[i]`. */
  props: string;
  propEnds: Uint32Array;
  /** All payloads, concatenated; payload i ends at `payloadEnds[i]`. */
  payloads: Uint8Array;
  payloadEnds: Float64Array;
}

/** Fills {@link MessageColumns} row by row, for a known row count. */
export class ColumnsBuilder {
  #c: MessageColumns;
  #i = 0;
  #topics: string[] = [];
  #topicLen = 0;
  #props: string[] = [];
  #propLen = 0;
  #payloadAt = 0;

  /** `n` rows, `payloadBytes` bytes of payload in all. */
  constructor(n: number, payloadBytes: number) {
    this.#c = {
      n,
      owner: new Uint32Array(n),
      seq: new Float64Array(n),
      flags: new Uint8Array(n),
      packetId: new Int32Array(n),
      expiresAt: new Float64Array(n),
      topics: "",
      topicEnds: new Uint32Array(n),
      props: "",
      propEnds: new Uint32Array(n),
      payloads: new Uint8Array(payloadBytes),
      payloadEnds: new Float64Array(n),
    };
  }

  add(
    owner: number,
    seq: number,
    flags: number,
    packetId: number | null,
    topic: string,
    payload: Uint8Array,
    props: string | null,
    expiresAt: number | null,
  ): void {
    const c = this.#c;
    const i = this.#i++;
    c.owner[i] = owner;
    c.seq[i] = seq;
    c.packetId[i] = packetId ?? -1;
    c.expiresAt[i] = expiresAt ?? NaN;
    this.#topics.push(topic);
    this.#topicLen += topic.length;
    c.topicEnds[i] = this.#topicLen;
    if (props !== null) {
      flags |= HAS_PROPS;
      this.#props.push(props);
      this.#propLen += props.length;
    }
    c.flags[i] = flags;
    c.propEnds[i] = this.#propLen;
    c.payloads.set(payload, this.#payloadAt);
    this.#payloadAt += payload.byteLength;
    c.payloadEnds[i] = this.#payloadAt;
  }

  finish(): MessageColumns {
    const c = this.#c;
    c.topics = this.#topics.join("");
    c.props = this.#props.join("");
    this.#topics = [];
    this.#props = [];
    return c;
  }
}

/** Calls `each` for every row with its message (payload copied out) and owner. */
export function forEachRow(
  c: MessageColumns,
  each: (owner: number, m: OutgoingMessage) => void,
): void {
  let topicAt = 0;
  let propAt = 0;
  let payloadAt = 0;
  for (let i = 0; i < c.n; i++) {
    const flags = c.flags[i];
    const topicEnd = c.topicEnds[i];
    const propEnd = c.propEnds[i];
    const payloadEnd = c.payloadEnds[i];
    const m: OutgoingMessage = {
      seq: c.seq[i],
      state: STATE_NAME[flags & 3],
      packetId: c.packetId[i] < 0 ? null : c.packetId[i],
      topic: c.topics.slice(topicAt, topicEnd),
      payload: c.payloads.slice(payloadAt, payloadEnd),
      qos: ((flags >> 2) & 3) as QoS,
      retain: (flags & 16) !== 0,
      expiresAt: Number.isNaN(c.expiresAt[i]) ? null : c.expiresAt[i],
    };
    if ((flags & HAS_PROPS) !== 0) {
      m.properties = decodeProperties(c.props.slice(propAt, propEnd));
    }
    topicAt = topicEnd;
    propAt = propEnd;
    payloadAt = payloadEnd;
    each(c.owner[i], m);
  }
}

/** A bridge queue from its columns. */
export function bridgeQueueFromColumns(c: MessageColumns): QueuedBridgeMessage[] {
  const out: QueuedBridgeMessage[] = [];
  forEachRow(c, (_owner, m) => {
    const q: QueuedBridgeMessage = {
      seq: m.seq,
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      expiresAt: m.expiresAt,
    };
    if (m.properties !== undefined) q.properties = m.properties;
    out.push(q);
  });
  return out;
}
