/**
 * The one error type of the codec. The decoder, the frame parser and the encoder throw nothing
 * else: any lower-level failure (RangeError, TypeError, ...) is wrapped into it.
 *
 * `reasonCode` is the MQTT 5 reason code a broker should answer with (in a CONNACK before the
 * session exists, or a DISCONNECT after). Choices made by this codec:
 *
 * - 0x81 Malformed Packet: anything that cannot be parsed (truncated fields, trailing bytes,
 *   reserved bits, bad UTF-8 or U+0000 in a string [MQTT-1.5.4-1/2], QoS 3 [MQTT-3.3.1-4],
 *   DUP on QoS 0 [MQTT-3.3.1-2], bad remaining length, empty SUBSCRIBE/UNSUBSCRIBE
 *   [MQTT-3.8.3-3, MQTT-3.10.3-2], will flag inconsistencies [MQTT-3.1.2-11/13/15]).
 * - 0x82 Protocol Error: a parsable packet that breaks a rule of the protocol (duplicate
 *   single-occurrence property, property not allowed in that packet, property value out of
 *   range, packet identifier 0 [MQTT-2.2.1-3 / MQTT-2.3.1-1], reason code not allowed in that
 *   packet, empty topic name without Topic Alias in 5.0, retain handling 3, AUTH below 5.0).
 * - 0x84 Unsupported Protocol Version: CONNECT with an unknown protocol name or level
 *   [MQTT-3.1.2-1/2]. A broker answers a 3.1/3.1.1 client with CONNACK return code 1
 *   (see `connectReturnCodeFor`).
 * - 0x90 Topic Name Invalid: a well-formed string that is not a valid topic name (wildcards
 *   [MQTT-3.3.2-2], empty [MQTT-4.7.3-1]) in PUBLISH or the will topic.
 * - 0x8F Topic Filter Invalid: a well-formed string that is not a valid topic filter
 *   [MQTT-4.7.1-2/3, MQTT-4.7.3-1] in SUBSCRIBE or UNSUBSCRIBE.
 * - 0x95 Packet Too Large: a frame larger than the configured maximum packet size.
 */
export class MqttCodecError extends Error {
  /** MQTT 5 reason code to report (0x81, 0x82, 0x84, 0x8F, 0x90 or 0x95). */
  readonly reasonCode: number;
  /** Spec conformance id, e.g. "MQTT-3.3.1-4", when the failure maps to one. */
  readonly rule?: string;

  constructor(reasonCode: number, message: string, rule?: string) {
    super(rule ? `${message} [${rule}]` : message);
    this.name = "MqttCodecError";
    this.reasonCode = reasonCode;
    if (rule !== undefined) this.rule = rule;
  }
}

/** 0x81 Malformed Packet. */
export function malformed(message: string, rule?: string): MqttCodecError {
  return new MqttCodecError(0x81, message, rule);
}

/** 0x82 Protocol Error. */
export function protocolError(message: string, rule?: string): MqttCodecError {
  return new MqttCodecError(0x82, message, rule);
}

/** Wraps anything thrown by lower layers into a Malformed Packet error. */
export function asCodecError(e: unknown): MqttCodecError {
  if (e instanceof MqttCodecError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new MqttCodecError(0x81, `malformed packet: ${msg}`);
}
