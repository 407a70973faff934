/**
 * Will messages (MQTT 5 §3.1.2.5, §3.1.3.2): turning a CONNECT's will into a message. When it is
 * published is decided by `Broker.closeConnection` (on every close but a normal DISCONNECT,
 * MQTT-3.1.2-8/10), delayed by the Will Delay Interval up to the session end (MQTT-3.1.3-9), and
 * cancelled by a new connection to the session.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { Properties, Will } from "../codec/packets.ts";
import type { Message } from "./types.ts";

/**
 * The message a will becomes: topic, payload, QoS and RETAIN as given (MQTT-3.1.2-14..17 in
 * 3.1.1 numbering); MQTT 5 will properties forwarded except Will Delay Interval, and the Message
 * Expiry Interval turned into an absolute expiry time.
 */
export function willMessage(clientId: string, will: Will, now: number): Message {
  let properties: Properties | undefined;
  let expiresAt: number | undefined;
  if (will.properties !== undefined) {
    const { willDelayInterval: _d, messageExpiryInterval, ...rest } = will.properties;
    if (messageExpiryInterval !== undefined) expiresAt = now + messageExpiryInterval * 1000;
    if (Object.keys(rest).length > 0) properties = rest;
  }
  const msg: Message = {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    from: clientId,
    receivedAt: now,
  };
  if (properties !== undefined) msg.properties = properties;
  if (expiresAt !== undefined) msg.expiresAt = expiresAt;
  return msg;
}
