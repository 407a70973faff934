/**
 * MQTT control packets as plain objects, shared by every protocol level.
 *
 * One shape per packet type for MQTT 3.1 (level 3, "MQIsdp"), 3.1.1 (level 4) and 5.0 (level 5).
 * Fields that exist only in MQTT 5 (reason codes on acks, properties) are optional; encoders
 * for levels 3/4 ignore them, decoders for levels 3/4 never set them.
 *
 * Pure TypeScript: no Deno or Node API is used anywhere in src/codec.
 */

/** Protocol level byte of CONNECT: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

export type QoS = 0 | 1 | 2;

/** Control packet type numbers (the high nibble of the fixed header, MQTT 5 §2.1.2). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;

/** A user property pair; order and duplicates are significant (MQTT-3.3.2-18). */
export type UserProperty = [name: string, value: string];

/**
 * Every MQTT 5 property (MQTT 5 §2.2.2.2), by name. Which may appear in which packet is checked
 * by the codec (see properties.ts); the broker only ever sees properties the packet may carry.
 */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four-byte integer
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Uint8Array; // 0x09
  /** 0x0B variable byte integer; PUBLISH from the server may carry several. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13
  authenticationMethod?: string; // 0x15
  authenticationData?: Uint8Array; // 0x16
  requestProblemInformation?: number; // 0x17
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: number; // 0x19
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21
  topicAliasMaximum?: number; // 0x22
  topicAlias?: number; // 0x23
  maximumQoS?: number; // 0x24
  retainAvailable?: number; // 0x25
  userProperties?: UserProperty[]; // 0x26
  maximumPacketSize?: number; // 0x27
  wildcardSubscriptionAvailable?: number; // 0x28
  subscriptionIdentifierAvailable?: number; // 0x29
  sharedSubscriptionAvailable?: number; // 0x2A
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 will properties (will delay, message expiry, content type, ...). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: "connect";
  /** "MQTT" for levels 4 and 5, "MQIsdp" for level 3. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1/3.1.1) or Clean Start (5.0). */
  clean: boolean;
  keepAlive: number;
  clientId: string;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface ConnackPacket {
  type: "connack";
  sessionPresent: boolean;
  /** 3.1/3.1.1: the connect return code (0..5). 5.0: the CONNACK reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: "publish";
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket {
  type: "puback" | "pubrec" | "pubrel" | "pubcomp";
  packetId: number;
  /** MQTT 5 only; absent means 0x00 Success. */
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topicFilter: string;
  /** Maximum QoS requested. */
  qos: QoS;
  /** MQTT 5 subscription options; default false/false/0 for older levels. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: "subscribe";
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: "suback";
  packetId: number;
  /** Granted QoS (0..2) or a failure code (0x80 in 3.1.1, MQTT 5 reason codes >= 0x80). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: "unsubscribe";
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: "unsuback";
  packetId: number;
  /** MQTT 5 only: one reason code per topic filter. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: "pingreq";
}

export interface PingrespPacket {
  type: "pingresp";
}

export interface DisconnectPacket {
  type: "disconnect";
  /** MQTT 5 only; absent means 0x00 Normal disconnection. */
  reasonCode?: number;
  properties?: Properties;
}

/** MQTT 5 only. */
export interface AuthPacket {
  type: "auth";
  /** Absent means 0x00 Success (MQTT-3.15.2-1 allows omitting it with no properties). */
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketTypeName = Packet["type"];
