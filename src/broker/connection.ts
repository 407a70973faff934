/**
 * One network connection as the core sees it: its protocol state, the limits the client told
 * us in CONNECT, inbound topic aliases, keep alive — everything that does not outlive the
 * connection (what does lives in `Session`). It dispatches each packet to the one handler of
 * its type and never lets an exception escape to the transport.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { Packet, ProtocolVersion, PublishPacket, Will } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Broker } from "./broker.ts";
import type { ClientInfo, EnhancedAuthExchange } from "./hooks.ts";
import type { RateLimiter } from "./limits.ts";
import type { Session } from "./session.ts";
import type { ClientLink, CodecErrorLike, LinkHandler } from "./types.ts";
import { handleConnect } from "./handle_connect.ts";
import { handlePublish } from "./handle_publish.ts";
import { handleSubscribe } from "./handle_subscribe.ts";
import { handleUnsubscribe } from "./handle_unsubscribe.ts";
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from "./handle_acks.ts";
import { handleDisconnect } from "./handle_disconnect.ts";
import { handleAuth } from "./handle_auth.ts";

export type ConnectionState = "awaiting_connect" | "authenticating" | "connected" | "closed";

/** How a connection ends; see `Broker.closeConnection`. */
export interface CloseOptions {
  /** MQTT 5 DISCONNECT reason code to send first (only to a connected MQTT 5 client). */
  reasonCode?: number;
  /** Short reason for logs, hooks and $SYS events ("normal", "keepalive_timeout", ...). */
  reason: string;
  /** Publish the will (MQTT-3.1.2-8): every close except a normal DISCONNECT. */
  publishWill: boolean;
  /** Details for the log line and the DISCONNECT Reason String. */
  detail?: string;
}

export class Connection implements LinkHandler {
  readonly broker: Broker;
  readonly link: ClientLink;
  state: ConnectionState = "awaiting_connect";
  /** Protocol level from CONNECT (4 until then). */
  version: ProtocolVersion = 4;
  clientId = "";
  username?: string;
  session?: Session;
  /** Keep alive in force (seconds), after Server Keep Alive. 0 = none. */
  keepAlive = 0;
  clean = true;
  readonly openedAt: number;
  lastActivity: number;
  connectedAt = 0;
  will?: Will;
  /** The client's Receive Maximum (MQTT 5; 65535 when absent). */
  clientReceiveMaximum = 65535;
  /** The client's Maximum Packet Size, if it sent one. */
  clientMaxPacketSize?: number;
  /** The client's Topic Alias Maximum (MQTT 5 CONNECT); 0 = we must not send aliases. */
  clientTopicAliasMaximum = 0;
  /** Topic → alias we assigned on this connection (made on first use; reset per connection). */
  #outAliases: Map<string, number> | undefined;
  /** Request Problem Information (MQTT-3.1.2-29); default 1. */
  requestProblemInformation = true;
  /** Session Expiry Interval of CONNECT (for the DISCONNECT rule MQTT-3.14.2-2). */
  connectSessionExpiry = 0;
  /** Inbound Topic Alias -> topic name; per connection (MQTT-3.3.2-7). Made on first use. */
  get inboundAliases(): Map<number, string> {
    return this.#aliases ??= new Map();
  }
  #aliases: Map<number, string> | undefined;
  /** QoS 1 PUBLISH received whose PUBACK waits for durability (counts against Receive Maximum). */
  pendingAcks = 0;
  /** Acks (PUBACK, PUBREC, PUBCOMP) waiting for a store commit: later ones must wait too. */
  awaitingDurable = 0;
  /** Packets that arrived while an async authentication was running. */
  pendingPackets: Packet[] | undefined;
  /** True while an async authorization of an earlier packet runs (see `hold`). */
  held = false;
  /** Packets that arrived while `held`, dispatched in order when it ends. Made on first use. */
  get heldPackets(): Packet[] {
    return this.#heldPackets ??= [];
  }
  #heldPackets: Packet[] | undefined;
  /** MQTT 5 enhanced authentication: the method of CONNECT, and the exchange in progress. */
  authMethod?: string;
  authExchange?: EnhancedAuthExchange;
  /** Slow-consumer rule: since when the output has been backed up (ms), if it is. */
  congestedSince?: number;
  /** Publish rate limiter of this connection, when limits are configured. */
  rate?: RateLimiter;
  /** Why it closed (after close). */
  closeReason?: string;

  constructor(broker: Broker, link: ClientLink, now: number) {
    this.broker = broker;
    this.link = link;
    this.openedAt = now;
    this.lastActivity = now;
  }

  /** Outgoing QoS 1/2 window: the client's Receive Maximum capped by maxInflight (EMQX rule). */
  get sendWindow(): number {
    const max = this.broker.options.maxInflight || 65535;
    return this.version === 5 ? Math.min(this.clientReceiveMaximum, max) : max;
  }

  /** True when the output buffer has passed its limit (QoS 0 dropped, QoS 1/2 wait). */
  get congested(): boolean {
    return this.link.pendingBytes > this.broker.options.maxPendingOutputBytes;
  }

  /** "clientId@address:port" for log lines. */
  get label(): string {
    const id = this.clientId === "" ? "(no client id)" : this.clientId;
    return `${id}@${this.link.remoteAddress}:${this.link.remotePort}`;
  }

  info(): ClientInfo {
    return {
      clientId: this.clientId,
      username: this.username,
      protocolVersion: this.version,
      remoteAddress: this.link.remoteAddress,
      listenerName: this.link.listenerName,
    };
  }

  /**
   * Sends a packet to the client. Honours Request Problem Information 0: no Reason String or
   * User Property on anything but PUBLISH, CONNACK and DISCONNECT (MQTT-3.1.2-29).
   */
  send(packet: Packet): boolean {
    if (this.state === "closed") return false;
    if (
      !this.requestProblemInformation && "properties" in packet &&
      packet.properties !== undefined &&
      packet.type !== "publish" && packet.type !== "connack" && packet.type !== "disconnect"
    ) {
      const { reasonString: _r, userProperties: _u, ...rest } = packet.properties;
      packet = { ...packet, properties: rest };
    }
    const ok = this.link.send(packet);
    if (ok) this.broker.stats.messagesSent++;
    return ok;
  }

  /**
   * Sends a PUBLISH, using a topic alias when the client allows them (MQTT 5 §3.3.2.3.4): the
   * first message on a topic carries the topic and a new alias, later ones an empty topic and
   * the alias. Aliases are handed out first come, first served up to the client's Topic Alias
   * Maximum (MQTT-3.3.2-10: never above it) and never reassigned; topics past that go without
   * one. Mappings live only as long as the connection (MQTT 5 §3.3.2.3.4). Mosquitto 2.0 sends
   * no aliases; the spec allows them, and they save the topic's bytes on every message to a
   * constrained client that asked for them.
   */
  sendPublish(packet: PublishPacket): boolean {
    const max = this.clientTopicAliasMaximum;
    if (max === 0 || this.version !== 5) return this.send(packet);
    const aliases = this.#outAliases ??= new Map();
    let alias = aliases.get(packet.topic);
    const fresh = alias === undefined;
    if (alias === undefined) {
      if (aliases.size >= max) return this.send(packet);
      alias = aliases.size + 1;
    }
    const ok = this.send({
      ...packet,
      topic: fresh ? packet.topic : "",
      properties: { ...packet.properties, topicAlias: alias },
    });
    // Only an alias the client has actually received may be used without its topic (a packet
    // dropped as too large for the client never told it the mapping).
    if (ok && fresh) aliases.set(packet.topic, alias);
    return ok;
  }

  /**
   * Runs `then` with the value of `pending` once it settles, holding every later packet of this
   * connection until then so that their order is kept (async authorization hooks).
   */
  hold<T>(pending: Promise<T>, then: (value: T) => void): void {
    this.held = true;
    const resume = (fn: () => void) =>
      this.#guard(() => {
        this.held = false;
        if (this.state === "closed") return;
        fn();
        const waiting = this.#heldPackets;
        while (
          !this.held && this.state === "connected" && waiting !== undefined && waiting.length > 0
        ) {
          this.dispatch(waiting.shift()!);
        }
      });
    pending.then(
      (v) => resume(() => then(v)),
      (e) =>
        resume(() => {
          throw e;
        }),
    );
  }

  /**
   * The handler the transport feeds: the connection itself (no closure per connection). Nothing
   * thrown by its `LinkHandler` methods reaches the transport.
   */
  handler(): LinkHandler {
    return this;
  }

  // --- LinkHandler (guarded)

  onPacket(p: Packet): void {
    try {
      this.#onPacket(p);
    } catch (e) {
      this.#internalError(e);
    }
  }

  onCodecError(e: CodecErrorLike): void {
    try {
      this.#onCodecError(e);
    } catch (err) {
      this.#internalError(err);
    }
  }

  onClose(): void {
    try {
      this.broker.closeConnection(this, { reason: "connection_lost", publishWill: true });
    } catch (e) {
      this.#internalError(e);
    }
  }

  onDrain(): void {
    try {
      if (this.session !== undefined) this.broker.pump(this.session);
    } catch (e) {
      this.#internalError(e);
    }
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#internalError(e);
    }
  }

  #internalError(e: unknown): void {
    // A bug in the core must cost one connection, never the process.
    this.broker.stats.internalErrors++;
    this.broker.log.error("internal error handling {client}: {error}", {
      client: this.label,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    try {
      this.broker.closeConnection(this, {
        reasonCode: ReasonCode.ImplementationSpecificError,
        reason: "internal_error",
        publishWill: true,
      });
    } catch {
      this.state = "closed";
      this.link.close();
    }
  }

  #onPacket(p: Packet): void {
    if (this.state === "closed") return;
    this.broker.stats.messagesReceived++;
    this.lastActivity = this.broker.clock.now();
    if (this.state === "authenticating") {
      // MQTT 5 §4.12: the client answers an AUTH 0x18 challenge with AUTH before CONNACK.
      if (p.type === "auth" && this.authExchange !== undefined) return handleAuth(this, p);
      // Wait for the (async) authentication; a second CONNECT is still a protocol error.
      if (p.type === "connect") {
        this.protocolError("a second CONNECT was received [MQTT-3.1.0-2]");
        return;
      }
      (this.pendingPackets ??= []).push(p);
      return;
    }
    if (this.state === "awaiting_connect") {
      if (p.type !== "connect") {
        // MQTT-3.1.0-1: the first packet from the client must be CONNECT.
        this.broker.log.info(
          "closing {client}: first packet was {type}, not CONNECT [MQTT-3.1.0-1]",
          {
            client: this.label,
            type: p.type.toUpperCase(),
          },
        );
        this.broker.closeConnection(this, { reason: "protocol_error", publishWill: false });
        return;
      }
      handleConnect(this, p);
      return;
    }
    if (this.held) {
      this.heldPackets.push(p);
      return;
    }
    this.dispatch(p);
  }

  /** Handles one packet of a connected client. */
  dispatch(p: Packet): void {
    switch (p.type) {
      case "publish":
        return handlePublish(this, p);
      case "puback":
        return handlePuback(this, p);
      case "pubrec":
        return handlePubrec(this, p);
      case "pubrel":
        return handlePubrel(this, p);
      case "pubcomp":
        return handlePubcomp(this, p);
      case "subscribe":
        return handleSubscribe(this, p);
      case "unsubscribe":
        return handleUnsubscribe(this, p);
      case "pingreq":
        this.send({ type: "pingresp" });
        return;
      case "disconnect":
        return handleDisconnect(this, p);
      case "auth":
        return handleAuth(this, p);
      case "connect":
        // MQTT-3.1.0-2: a second CONNECT is a protocol violation.
        return this.protocolError("a second CONNECT was received [MQTT-3.1.0-2]");
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only.
        return this.protocolError(`${p.type.toUpperCase()} may only be sent by a server`);
    }
  }

  #onCodecError(e: CodecErrorLike): void {
    if (this.state === "closed") return;
    if (this.state === "awaiting_connect") {
      if (e.reasonCode === ReasonCode.UnsupportedProtocolVersion) {
        // MQTT-3.1.2-2 (3.1.1): unsupported level -> CONNACK return code 0x01, then close. We
        // cannot know the client's level, so answer in the 3.1.1 format like Mosquitto does.
        this.link.setProtocol(4);
        this.send({ type: "connack", sessionPresent: false, reasonCode: 0x01 });
      }
      this.broker.log.info("closing {client}: bad CONNECT: {error}", {
        client: this.label,
        error: e.message,
      });
      this.broker.closeConnection(this, { reason: "protocol_error", publishWill: false });
      return;
    }
    this.broker.log.info("closing {client}: {error}", { client: this.label, error: e.message });
    this.broker.closeConnection(this, {
      reasonCode: e.reasonCode,
      reason: e.reasonCode === ReasonCode.MalformedPacket ? "malformed_packet" : "protocol_error",
      publishWill: true,
      detail: e.message,
    });
  }

  /**
   * Closes the connection for a protocol violation (MQTT-4.8.0-1 / MQTT 5 §4.13): MQTT 5
   * clients get DISCONNECT with `reasonCode` (default 0x82), 3.1.1 clients a plain close. The
   * will is published (MQTT-3.1.2-8).
   */
  protocolError(detail: string, reasonCode: number = ReasonCode.ProtocolError): void {
    this.broker.log.info("closing {client}: {detail}", { client: this.label, detail });
    this.broker.closeConnection(this, {
      reasonCode,
      reason: "protocol_error",
      publishWill: true,
      detail,
    });
  }
}
