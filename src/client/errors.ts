/**
 * Errors of the MQTT client. Every failure the client reports is an `MqttClientError` with a
 * machine-readable `code`; refusals and server disconnects also carry the MQTT `reasonCode`.
 *
 * @module
 */
import type { PacketTypeName } from "../codec/packets.ts";
import { reasonCodeName } from "../codec/reason_codes.ts";

export type MqttClientErrorCode =
  /** The server answered CONNECT with a non-zero return code (3.1.1) / reason code (5.0). */
  | "connect_refused"
  /** No CONNACK within `connectTimeout`. */
  | "connect_timeout"
  /** The transport could not be opened (refused, DNS, TLS, WebSocket handshake). */
  | "transport"
  /** No PINGRESP within the ping timeout. */
  | "keepalive_timeout"
  /** The server sent DISCONNECT (MQTT 5: with `reasonCode`). */
  | "server_disconnect"
  /** The server broke the protocol (bad packet, unexpected packet, unknown topic alias). */
  | "protocol"
  /** A packet would exceed the server's Maximum Packet Size (not sent). */
  | "packet_too_large"
  /** The request is not allowed by what the server announced (Maximum QoS, Retain Available). */
  | "not_supported"
  /** Invalid arguments (topic, QoS, options): nothing was sent. */
  | "invalid"
  /** The client is not connected. */
  | "not_connected"
  /** The connection ended while the operation was pending (see `ConnectionLost`). */
  | "connection_lost";

export class MqttClientError extends Error {
  readonly code: MqttClientErrorCode;
  /** CONNACK return code (3.1/3.1.1), or MQTT 5 reason code, when the server gave one. */
  readonly reasonCode?: number;

  constructor(code: MqttClientErrorCode, message: string, reasonCode?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "MqttClientError";
    this.code = code;
    if (reasonCode !== undefined) this.reasonCode = reasonCode;
  }
}

/** What happened to a QoS > 0 publish when its connection ended. */
export type PublishStage =
  /** Never written (waiting for a Receive Maximum slot, or still in the output buffer). */
  | "queued"
  /** PUBLISH written, no PUBACK/PUBREC yet: the server may or may not have it. */
  | "sent"
  /** QoS 2: PUBREC received (the server owns the message), PUBREL sent, no PUBCOMP yet. */
  | "released";

/**
 * An operation was pending when the connection ended. For publishes, `mayHaveBeenDelivered`
 * tells the bridge whether a re-send must set DUP (MQTT-3.3.1-1 / MQTT-4.4.0-1): re-send the
 * PUBLISH with DUP when `stage` is "sent"; when "released", the server already has the message
 * (a persistent session will complete it with PUBREL on reconnect).
 */
export class ConnectionLost extends MqttClientError {
  readonly mayHaveBeenDelivered: boolean;
  readonly stage?: PublishStage;

  constructor(
    message: string,
    mayHaveBeenDelivered: boolean,
    stage?: PublishStage,
    cause?: unknown,
  ) {
    super("connection_lost", message, undefined, cause);
    this.name = "ConnectionLost";
    this.mayHaveBeenDelivered = mayHaveBeenDelivered;
    if (stage !== undefined) this.stage = stage;
  }
}

const CONNACK_V4: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};

/** "Not authorized (reason code 0x87)": an MQTT 5 reason code as `packet` reads it. */
export function describeReasonCode(code: number, packet: PacketTypeName): string {
  return `${reasonCodeName(code, packet)} (reason code 0x${
    code.toString(16).toUpperCase().padStart(2, "0")
  })`;
}

/** "not authorized (return code 5)" (3.1/3.1.1) or the MQTT 5 reason code name. */
export function describeConnackCode(code: number, version: number): string {
  if (version === 5) return describeReasonCode(code, "connack");
  return `${CONNACK_V4[code] ?? "unknown return code"} (return code ${code})`;
}
