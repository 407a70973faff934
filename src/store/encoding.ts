/**
 * Plain-data helpers shared by the store implementations: MQTT 5 properties <-> JSON text
 * (Uint8Array fields as base64), size accounting and the write-ahead records ("ops") that a
 * batch is made of.
 *
 * @module
 */

import type { Properties, QoS } from "../codec/packets.ts";
import type { SessionRecord, SubscriptionRecord } from "./store.ts";

const BYTES_TAG = "$b64";

interface Base64Bytes {
  toBase64(): string;
}
interface Base64Ctor {
  fromBase64(s: string): Uint8Array;
}

/** JSON text of MQTT 5 properties; Uint8Array values become `{"$b64": "..."}`. */
export function encodeProperties(properties: Properties | undefined): string | null {
  if (properties === undefined) return null;
  return JSON.stringify(properties, (_key, value) => {
    if (value instanceof Uint8Array) {
      return { [BYTES_TAG]: (value as unknown as Base64Bytes).toBase64() };
    }
    return value;
  });
}

/** Inverse of {@link encodeProperties}. */
export function decodeProperties(text: string | null): Properties | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_key, value) => {
    if (
      value !== null && typeof value === "object" && !Array.isArray(value) &&
      typeof value[BYTES_TAG] === "string" && Object.keys(value).length === 1
    ) {
      return (Uint8Array as unknown as Base64Ctor).fromBase64(value[BYTES_TAG]);
    }
    return value;
  }) as Properties;
}

/** Fixed per-record overhead counted in storedBytes (row header, keys, indexes: roughly). */
export const RECORD_OVERHEAD = 64;

/** Approximate bytes a stored message occupies. */
export function messageSize(topic: string, payload: Uint8Array, props: string | null): number {
  return RECORD_OVERHEAD + topic.length + payload.byteLength + (props === null ? 0 : props.length);
}

/** A message as it goes to a backend: payload copied, properties encoded, size computed. */
export interface EncodedMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  props: string | null;
  expiresAt: number | null;
  size: number;
}

/**
 * Appends a message. `packetId` is set (state `publish`) when markInflight followed the enqueue
 * at once, in the same batch: the two are then written as one row insert.
 */
export interface EnqueueOp {
  k: "enqueue";
  clientId: string;
  seq: number;
  m: EncodedMessage;
  packetId: number | null;
}

/** Appends to a bridge's outbound queue. */
export interface BridgeEnqueueOp {
  k: "bridgeEnqueue";
  bridge: string;
  seq: number;
  m: EncodedMessage;
}

/** Buffered mutations. `k` names the operation. */
export type Op =
  | { k: "putSession"; s: SessionRecord }
  | { k: "deleteSession"; clientId: string }
  | { k: "setSubs"; clientId: string; subs: SubscriptionRecord[] }
  | { k: "putSub"; clientId: string; sub: SubscriptionRecord }
  | { k: "deleteSub"; clientId: string; topicFilter: string; shareGroup: string | null }
  | EnqueueOp
  | { k: "inflight"; clientId: string; seq: number; packetId: number }
  | { k: "pubrel"; clientId: string; packetId: number }
  | { k: "ack"; clientId: string; packetId: number }
  | { k: "remove"; clientId: string; seq: number }
  | { k: "clear"; clientId: string }
  | { k: "addQos2"; clientId: string; packetId: number }
  | { k: "delQos2"; clientId: string; packetId: number }
  | { k: "putRetained"; topic: string; m: EncodedMessage; storedAt: number }
  | { k: "deleteRetained"; topic: string }
  | { k: "putWill"; clientId: string; m: EncodedMessage; publishAt: number }
  | { k: "deleteWill"; clientId: string }
  | BridgeEnqueueOp
  | { k: "bridgeRemove"; bridge: string; seq: number };

/** Numeric codes of OutgoingState, as stored. */
export const STATE_CODE = { queued: 0, publish: 1, pubrel: 2 } as const;
export const STATE_NAME = ["queued", "publish", "pubrel"] as const;
