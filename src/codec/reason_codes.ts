/**
 * MQTT 5 reason codes (MQTT 5 §2.4), the 3.1/3.1.1 CONNACK return codes, and which reason
 * codes each packet type may carry.
 */
import type { PacketTypeName } from "./packets.ts";

export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0,
  GrantedQoS1: 1,
  GrantedQoS2: 2,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8A,
  ServerShuttingDown: 0x8B,
  BadAuthenticationMethod: 0x8C,
  KeepAliveTimeout: 0x8D,
  SessionTakenOver: 0x8E,
  TopicFilterInvalid: 0x8F,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9A,
  QoSNotSupported: 0x9B,
  UseAnotherServer: 0x9C,
  ServerMoved: 0x9D,
  SharedSubscriptionsNotSupported: 0x9E,
  ConnectionRateExceeded: 0x9F,
  MaximumConnectTime: 0xA0,
  SubscriptionIdentifiersNotSupported: 0xA1,
  WildcardSubscriptionsNotSupported: 0xA2,
} as const;

/** CONNACK return codes of MQTT 3.1 and 3.1.1 (§3.2.2.3 of 3.1.1). */
export const ConnectReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** Packet types that carry a reason code (or a list of them) in MQTT 5. */
export type ReasonCodePacket =
  | "connack"
  | "puback"
  | "pubrec"
  | "pubrel"
  | "pubcomp"
  | "suback"
  | "unsuback"
  | "disconnect"
  | "auth";

function set(...codes: number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of codes) t[c] = 1;
  return t;
}

/** Reason codes each packet may carry in MQTT 5 (the tables of §3.2.2.2 ... §3.15.2.1). */
export const allowedReasonCodes: Readonly<Record<ReasonCodePacket, Uint8Array>> = {
  connack: set(
    0x00,
    0x80,
    0x81,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8A,
    0x8C,
    0x90,
    0x95,
    0x97,
    0x99,
    0x9A,
    0x9B,
    0x9C,
    0x9D,
    0x9F,
  ),
  puback: set(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99),
  pubrec: set(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99),
  pubrel: set(0x00, 0x92),
  pubcomp: set(0x00, 0x92),
  suback: set(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2),
  unsuback: set(0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91),
  disconnect: set(
    0x00,
    0x04,
    0x80,
    0x81,
    0x82,
    0x83,
    0x87,
    0x89,
    0x8B,
    0x8D,
    0x8E,
    0x8F,
    0x90,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9A,
    0x9B,
    0x9C,
    0x9D,
    0x9E,
    0x9F,
    0xA0,
    0xA1,
    0xA2,
  ),
  auth: set(0x00, 0x18, 0x19),
};

/** SUBACK return codes of MQTT 3.1/3.1.1: granted QoS 0..2 or 0x80 failure. */
export const allowedSubackReturnCodesV4: Uint8Array = set(0x00, 0x01, 0x02, 0x80);

/** True when `code` may appear in a `packet` of MQTT 5. */
export function isReasonCodeAllowed(packet: ReasonCodePacket, code: number): boolean {
  return code >= 0 && code <= 255 && allowedReasonCodes[packet][code] === 1;
}

const NAMES: Record<number, string> = {
  0x00: "Success",
  0x01: "Granted QoS 1",
  0x02: "Granted QoS 2",
  0x04: "Disconnect with Will Message",
  0x10: "No matching subscribers",
  0x11: "No subscription existed",
  0x18: "Continue authentication",
  0x19: "Re-authenticate",
  0x80: "Unspecified error",
  0x81: "Malformed Packet",
  0x82: "Protocol Error",
  0x83: "Implementation specific error",
  0x84: "Unsupported Protocol Version",
  0x85: "Client Identifier not valid",
  0x86: "Bad User Name or Password",
  0x87: "Not authorized",
  0x88: "Server unavailable",
  0x89: "Server busy",
  0x8A: "Banned",
  0x8B: "Server shutting down",
  0x8C: "Bad authentication method",
  0x8D: "Keep Alive timeout",
  0x8E: "Session taken over",
  0x8F: "Topic Filter invalid",
  0x90: "Topic Name invalid",
  0x91: "Packet Identifier in use",
  0x92: "Packet Identifier not found",
  0x93: "Receive Maximum exceeded",
  0x94: "Topic Alias invalid",
  0x95: "Packet too large",
  0x96: "Message rate too high",
  0x97: "Quota exceeded",
  0x98: "Administrative action",
  0x99: "Payload format invalid",
  0x9A: "Retain not supported",
  0x9B: "QoS not supported",
  0x9C: "Use another server",
  0x9D: "Server moved",
  0x9E: "Shared Subscriptions not supported",
  0x9F: "Connection rate exceeded",
  0xA0: "Maximum connect time",
  0xA1: "Subscription Identifiers not supported",
  0xA2: "Wildcard Subscriptions not supported",
};

/**
 * Human-readable name of an MQTT 5 reason code. With `packet`, code 0x00 is named as that
 * packet reads it ("Normal disconnection", "Granted QoS 0") and codes not allowed in that
 * packet are reported as such.
 */
export function reasonCodeName(code: number, packet?: PacketTypeName): string {
  if (packet !== undefined && packet in allowedReasonCodes) {
    const p = packet as ReasonCodePacket;
    if (!isReasonCodeAllowed(p, code)) {
      return `Unknown reason code 0x${hex(code)} for ${packet.toUpperCase()}`;
    }
    if (code === 0x00) {
      if (p === "disconnect") return "Normal disconnection";
      if (p === "suback") return "Granted QoS 0";
    }
  }
  const name = NAMES[code];
  return name ?? `Unknown reason code 0x${hex(code)}`;
}

function hex(code: number): string {
  return code.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * The MQTT 3.1/3.1.1 CONNACK return code that best matches an MQTT 5 CONNACK reason code
 * (MQTT 5 §3.2.2.2 / 3.1.1 §3.2.2.3); codes 0..5 are returned unchanged. Undefined when
 * there is no equivalent.
 */
export function connectReturnCodeFor(reasonCode: number): number | undefined {
  if (reasonCode >= 0 && reasonCode <= 5) return reasonCode;
  switch (reasonCode) {
    case 0x84:
      return ConnectReturnCode.UnacceptableProtocolVersion;
    case 0x85:
      return ConnectReturnCode.IdentifierRejected;
    case 0x88:
    case 0x89:
      return ConnectReturnCode.ServerUnavailable;
    case 0x86:
      return ConnectReturnCode.BadUserNameOrPassword;
    case 0x87:
    case 0x8A:
    case 0x8C:
      return ConnectReturnCode.NotAuthorized;
    default:
      return undefined;
  }
}
