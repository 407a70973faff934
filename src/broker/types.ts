/**
 * The seams of the broker core: the clock, the link to one network connection, and the
 * message as it travels through the router. Pure: no Deno API.
 *
 * @module
 */
import type { Packet, Properties, ProtocolVersion, QoS } from "../codec/packets.ts";

/** Source of time in milliseconds. Tests pass a fake one and call `broker.tick()`. */
export interface Clock {
  now(): number;
}

/** The wall clock (Date.now). */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/**
 * What the transport gives the core for one network connection.
 */
export interface ClientLink {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Name of the listener the connection came in on (e.g. "tcp:127.0.0.1:1883"). */
  readonly listenerName: string;
  /**
   * Encodes and queues a packet. Returns false when the packet was dropped because it is
   * bigger than the client's Maximum Packet Size (MQTT-3.1.2-24), or the link is closed.
   */
  send(packet: Packet): boolean;
  /** Sets the protocol level used to encode, and the client's Maximum Packet Size. */
  setProtocol(version: ProtocolVersion, clientMaxPacketSize?: number): void;
  /** Closes the connection after flushing what was sent. Idempotent. */
  close(): void;
  /** Bytes encoded but not yet written to the socket. */
  readonly pendingBytes: number;
  /**
   * The client certificate verified by an mTLS listener (`require_client_cert`), or reported by
   * a TLS terminator in a PROXY v2 SSL TLV. Absent on connections without one.
   */
  readonly peerCertificate?: { readonly cn?: string; readonly subject?: string };
}

/** A codec failure as the transport reports it (structurally `MqttCodecError`). */
export interface CodecErrorLike {
  readonly reasonCode: number;
  readonly message: string;
  readonly rule?: string;
}

/** What `broker.accept(link)` returns: the transport feeds it events of its connection. */
export interface LinkHandler {
  onPacket(packet: Packet): void;
  onCodecError(error: CodecErrorLike): void;
  /** The socket closed (by the peer, or after `link.close()`). */
  onClose(): void;
  /** The output buffer drained below the limit: queued QoS 1/2 can flow again. */
  onDrain(): void;
}

/**
 * An application message inside the broker. Plain data (serializable): `properties` hold the
 * MQTT 5 properties forwarded unchanged (payload format, content type, response topic,
 * correlation data, user properties), never Topic Alias or Subscription Identifiers.
 */
export interface Message {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
  /** Absolute time (ms) after which the message must not be forwarded (MQTT-3.3.2-5). */
  expiresAt?: number;
  /** Client id of the publisher ("" for messages the broker makes, e.g. $SYS). */
  from: string;
  /** Time the broker received it (ms). */
  receivedAt: number;
}
