/**
 * PUBLISH from a client (MQTT 3.1.1 §3.3, MQTT 5 §3.3) and the QoS 1/2 receiver side
 * (§4.3.2, §4.3.3).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { Properties, PublishPacket } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import { RateLimiter, topicLimitProblem } from "./limits.ts";
import type { Message } from "./types.ts";

export function handlePublish(conn: Connection, p: PublishPacket): void {
  const broker = conn.broker;
  const o = broker.options;
  const v5 = conn.version === 5;
  const session = conn.session!;
  broker.stats.countReceived(p.qos, p.payload.length);

  if (o.maxPublishRate > 0 || o.maxPublishBytesRate > 0) {
    const now = broker.clock.now();
    conn.rate ??= new RateLimiter(o.maxPublishRate, o.maxPublishBytesRate, now);
    if (!conn.rate.take(p.payload.length, now)) {
      // Over max_publish_rate / max_publish_bytes_rate: MQTT 5 DISCONNECT 0x96 Message rate too
      // high (MQTT 5 §3.14.2.1); MQTT 3.1.1 has no way to say it, the connection is closed.
      const detail = `publish rate above ${
        o.maxPublishRate > 0 ? `${o.maxPublishRate} messages/s` : ""
      }${o.maxPublishRate > 0 && o.maxPublishBytesRate > 0 ? " or " : ""}${
        o.maxPublishBytesRate > 0 ? `${o.maxPublishBytesRate} bytes/s` : ""
      }`;
      broker.log.warn("closing {client}: {detail}", { client: conn.label, detail });
      broker.closeConnection(conn, {
        reasonCode: ReasonCode.MessageRateTooHigh,
        reason: "rate_limited",
        publishWill: true,
        detail,
      });
      return;
    }
  }

  let topic = p.topic;
  const props = p.properties;
  if (v5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    // MQTT-3.3.2-8/9 (5.0): Topic Alias 0 or above our Topic Alias Maximum -> DISCONNECT 0x94.
    if (alias === 0 || alias > o.topicAliasMaximum) {
      return conn.protocolError(
        `topic alias ${alias} is outside 1..${o.topicAliasMaximum} [MQTT-3.3.2-8]`,
        ReasonCode.TopicAliasInvalid,
      );
    }
    if (topic.length === 0) {
      const known = conn.inboundAliases.get(alias);
      if (known === undefined) {
        // MQTT 5 §3.3.2.3.4: an alias with an empty topic must have been set on this connection.
        return conn.protocolError(`topic alias ${alias} was never set on this connection`);
      }
      topic = known;
    } else {
      conn.inboundAliases.set(alias, topic);
    }
  } else if (topic.length === 0) {
    return conn.protocolError(
      "empty topic name without topic alias [MQTT-4.7.3-1]",
      ReasonCode.TopicNameInvalid,
    );
  }
  const responseTopic = props?.responseTopic;
  if (
    responseTopic !== undefined &&
    (responseTopic.length === 0 || responseTopic.includes("+") || responseTopic.includes("#"))
  ) {
    // MQTT-3.3.2-14 (5.0): the Response Topic is a Topic Name (no wildcards, not empty). Like
    // EMQX: Protocol Error (Mosquitto 2.0.11 does not check).
    return conn.protocolError(
      `Response Topic ${JSON.stringify(responseTopic)} is not a valid topic name [MQTT-3.3.2-14]`,
    );
  }

  if (p.qos > o.maximumQoS) {
    // MQTT-3.2.2-11 (5.0): QoS above the Maximum QoS we advertised -> DISCONNECT 0x9B.
    return conn.protocolError(
      `QoS ${p.qos} exceeds the maximum QoS ${o.maximumQoS} [MQTT-3.2.2-11]`,
      ReasonCode.QoSNotSupported,
    );
  }
  if (p.retain && !o.retainAvailable) {
    // MQTT-3.2.2-14 (5.0): RETAIN 1 when Retain Available is 0 -> DISCONNECT 0x9A.
    return conn.protocolError(
      "retained messages are not supported [MQTT-3.2.2-14]",
      ReasonCode.RetainNotSupported,
    );
  }

  if (p.qos > 0) {
    const id = p.packetId!;
    if (p.qos === 2 && session.incomingQos2.has(id)) {
      // MQTT-4.3.3-9/10 (5.0) / Method B (3.1.1 §4.3.3): a re-sent PUBLISH with a packet id we
      // already hold is acknowledged again but not delivered a second time.
      acknowledge(conn, 2, id, undefined, false, undefined, false);
      return;
    }
    // MQTT 5 §3.3.4: more unacknowledged QoS 1/2 PUBLISH than our Receive Maximum -> 0x93.
    if (v5 && conn.pendingAcks + session.incomingQos2.size >= o.receiveMaximum) {
      return conn.protocolError(
        `more than Receive Maximum (${o.receiveMaximum}) unacknowledged QoS 1/2 PUBLISH (MQTT 5 §3.3.4; client side MQTT-3.3.4-7)`,
        ReasonCode.ReceiveMaximumExceeded,
      );
    }
  }

  const now = broker.clock.now();
  const msg: Message = {
    topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    from: conn.clientId,
    receivedAt: now,
  };
  if (v5 && props !== undefined) {
    const { topicAlias: _a, messageExpiryInterval, subscriptionIdentifiers: _s, ...rest } =
      props as Properties;
    if (messageExpiryInterval !== undefined) msg.expiresAt = now + messageExpiryInterval * 1000;
    // Everything else (payload format, content type, response topic, correlation data, user
    // properties) is forwarded unchanged and in order (MQTT-3.3.2-17/18, MQTT-3.3.2-4).
    for (const _ in rest) {
      msg.properties = rest;
      break;
    }
  }

  const persist = broker.persist;
  if (
    p.qos > 0 && persist !== undefined &&
    !persist.hasRoom(RECORD_SIZE_ESTIMATE + topic.length + p.payload.length)
  ) {
    // The store is full (maxStoredBytes): refuse rather than accept what cannot be kept.
    acknowledge(
      conn,
      p.qos as 1 | 2,
      p.packetId!,
      undefined,
      false,
      "the store is full (maxStoredBytes)",
    );
    return;
  }

  const tooBig = topicLimitProblem(topic, o);
  if (tooBig !== undefined) {
    // max_topic_length / max_topic_levels: MQTT 5 PUBACK/PUBREC 0x90 Topic Name invalid ("not
    // malformed, but not accepted", MQTT 5 §3.4.2.1); 3.1.1 acknowledged and dropped, like a
    // publish that is not authorized.
    return routePublish(conn, p, msg, false, ReasonCode.TopicNameInvalid, tooBig);
  }

  // $SYS is the broker's own tree: client publishes there are acknowledged but not routed
  // (Mosquitto's rule).
  if (topic.startsWith("$SYS/") || topic === "$SYS") {
    return routePublish(conn, p, msg, false, undefined, undefined);
  }
  const allowed = broker.hooks.authorizePublish(conn.info(), msg);
  if (allowed instanceof Promise) {
    // An async hook (HTTP): later packets of this client wait, so acks stay in order.
    const settled = allowed.catch((e) => {
      broker.log.error("authorizePublish failed for {client}: {error}", {
        client: conn.label,
        error: String(e),
      });
      return false;
    });
    return conn.hold(
      settled,
      (ok) => routePublish(conn, p, msg, ok, ReasonCode.NotAuthorized, "not authorized"),
    );
  }
  routePublish(conn, p, msg, allowed, ReasonCode.NotAuthorized, "not authorized");
}

/**
 * Routes an accepted PUBLISH (or drops a refused one) and acknowledges QoS 1/2. A refused one
 * gets `refusedCode` in MQTT 5 (0x87 Not authorized, MQTT 5 §3.4.2.1); 3.1.1 has no negative
 * ack: like Mosquitto, it is acknowledged and dropped. `why` undefined: dropped silently ($SYS).
 */
function routePublish(
  conn: Connection,
  p: PublishPacket,
  msg: Message,
  allowed: boolean,
  refusedCode: number | undefined,
  why: string | undefined,
): void {
  const broker = conn.broker;
  const v5 = conn.version === 5;
  const session = conn.session!;
  const persist = broker.persist;
  const writesBefore = persist?.writes ?? 0;
  const topic = msg.topic;
  if (allowed) {
    broker.publish(msg, conn.info());
  } else if (why !== undefined) {
    broker.log.info("publish by {client} to {topic} refused: {why}", {
      client: conn.label,
      topic,
      why,
    });
  }
  const reasonCode = !allowed && why !== undefined && v5 ? refusedCode : undefined;

  if (p.qos === 2 && reasonCode === undefined) {
    // MQTT-4.3.3-2 (3.1.1) / MQTT-4.3.3-8 (5.0): keep the packet id until PUBREL (a failing
    // PUBREC ends the exchange, so its id is not kept). Stored with the session, so that a
    // re-send after a broker restart is not delivered twice.
    session.incomingQos2.add(p.packetId!);
    if (session.stored) persist!.incomingQos2Added(session, p.packetId!);
  }
  if (p.qos > 0) {
    const wrote = persist !== undefined && persist.writes !== writesBefore;
    acknowledge(conn, p.qos as 1 | 2, p.packetId!, reasonCode, wrote);
  }
}

/** Bytes a stored message takes beyond topic and payload (for the maxStoredBytes check). */
const RECORD_SIZE_ESTIMATE = 64;

/**
 * Sends PUBACK (QoS 1) or PUBREC (QoS 2) for an incoming PUBLISH — MQTT-4.3.2-2 (3.1.1) /
 * MQTT-4.3.2-4 (5.0), MQTT-4.3.3-2 / MQTT-4.3.3-8 — once what it changed is durable: through
 * `broker.afterDurable` when this PUBLISH made store writes (`wrote`) or an earlier ack of the
 * client still waits (acks go out in PUBLISH order, MQTT-4.6.0-2), at once otherwise.
 *
 * When the commit failed, or `refusal` is given (store full), the PUBLISH is refused instead:
 * MQTT 5 gets 0x97 Quota exceeded (the exchange ends, MQTT 5 §4.3.3), MQTT 3.1.1 has no
 * negative ack and is disconnected (the client re-sends after reconnecting).
 */
function acknowledge(
  conn: Connection,
  qos: 1 | 2,
  id: number,
  reasonCode: number | undefined,
  wrote: boolean,
  refusal?: string,
  newId = true,
): void {
  const broker = conn.broker;
  const type = qos === 1 ? "puback" : "pubrec";
  if (qos === 1) conn.pendingAcks++;
  const finish = (error: Error | null) => {
    if (qos === 1) conn.pendingAcks--;
    if (conn.state !== "connected") return;
    const why = refusal ?? error?.message;
    if (why === undefined) {
      conn.send(
        reasonCode === undefined ? { type, packetId: id } : { type, packetId: id, reasonCode },
      );
      return;
    }
    if (qos === 2 && newId) conn.session!.incomingQos2.delete(id);
    broker.storeRefusal(conn.label, `${type.toUpperCase()} ${id} refused: ${why}`);
    if (conn.version === 5) {
      conn.send({ type, packetId: id, reasonCode: ReasonCode.QuotaExceeded });
    } else {
      broker.closeConnection(conn, {
        reason: "store_failed",
        publishWill: true,
        detail: `could not store a QoS ${qos} message: ${why}`,
      });
    }
  };
  if (broker.persist === undefined) {
    broker.afterDurable(finish);
    return;
  }
  if (!wrote && refusal === undefined && conn.awaitingDurable === 0) {
    finish(null);
    return;
  }
  conn.awaitingDurable++;
  broker.afterDurable((error) => {
    conn.awaitingDurable--;
    finish(error);
  });
}
