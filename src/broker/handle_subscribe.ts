/**
 * SUBSCRIBE (MQTT 3.1.1 §3.8, MQTT 5 §3.8) and SUBACK (§3.9), then the retained messages of the
 * new subscriptions (MQTT-3.3.1-6 (3.1.1) / Retain Handling in 5.0).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { QoS, SubscribePacket } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import { offer } from "./delivery.ts";
import { topicLimitProblem } from "./limits.ts";
import type { OutgoingEntry, StoredSubscription } from "./session.ts";
import { parseSubscriptionFilter } from "./shared_filter.ts";

/** 3.1.1 SUBACK failure return code 0x80 (3.1.1 §3.9.3). */
const FAILURE_V4 = 0x80;

export function handleSubscribe(conn: Connection, p: SubscribePacket): void {
  // Authorization first: hooks may answer asynchronously (HTTP); then the connection's later
  // packets wait for the SUBACK's verdicts, so their order is kept.
  const broker = conn.broker;
  const info = conn.info();
  const verdicts = p.subscriptions.map((s) =>
    "error" in parseSubscriptionFilter(s.topicFilter)
      ? true
      : broker.hooks.authorizeSubscribe(info, s.topicFilter, s.qos)
  );
  if (verdicts.some((v) => v instanceof Promise)) {
    const all = Promise.all(verdicts.map((v) =>
      v instanceof Promise
        ? v.catch((e) => {
          broker.log.error("authorizeSubscribe failed for {client}: {error}", {
            client: conn.label,
            error: String(e),
          });
          return false;
        })
        : v
    ));
    return conn.hold(all, (allowed) => subscribe(conn, p, allowed));
  }
  subscribe(conn, p, verdicts as boolean[]);
}

function subscribe(conn: Connection, p: SubscribePacket, allowed: boolean[]): void {
  const broker = conn.broker;
  const o = broker.options;
  const v5 = conn.version === 5;
  const session = conn.session!;
  const subId = v5 ? p.properties?.subscriptionIdentifiers?.[0] : undefined;
  const codes: number[] = [];
  const retainedFor: StoredSubscription[] = [];

  for (let i = 0; i < p.subscriptions.length; i++) {
    const s = p.subscriptions[i];
    const parsed = parseSubscriptionFilter(s.topicFilter);
    let code: number;
    if ("error" in parsed) {
      // MQTT 5: 0x8F Topic Filter invalid; 3.1.1: 0x80.
      code = v5 ? ReasonCode.TopicFilterInvalid : FAILURE_V4;
    } else if (parsed.share !== undefined && v5 && s.noLocal) {
      // MQTT-3.8.3-4: No Local on a shared subscription is a Protocol Error.
      return conn.protocolError(
        `No Local set on shared subscription "${s.topicFilter}" [MQTT-3.8.3-4]`,
      );
    } else if (parsed.share !== undefined && !o.sharedSubscriptionAvailable) {
      code = v5 ? ReasonCode.SharedSubscriptionsNotSupported : FAILURE_V4; // 0x9E
    } else if (
      !o.wildcardSubscriptionAvailable &&
      (parsed.filter.includes("+") || parsed.filter.includes("#"))
    ) {
      code = v5 ? ReasonCode.WildcardSubscriptionsNotSupported : FAILURE_V4; // 0xA2
    } else if (subId !== undefined && !o.subscriptionIdentifierAvailable) {
      code = ReasonCode.SubscriptionIdentifiersNotSupported; // 0xA1
    } else if (topicLimitProblem(parsed.filter, o) !== undefined) {
      // max_topic_length / max_topic_levels: MQTT 5 0x8F Topic Filter invalid ("not accepted by
      // the server", MQTT 5 §3.9.3); 3.1.1: 0x80.
      code = v5 ? ReasonCode.TopicFilterInvalid : FAILURE_V4;
      broker.log.info("subscription of {client} to {filter} refused: {why}", {
        client: conn.label,
        filter: s.topicFilter,
        why: topicLimitProblem(parsed.filter, o),
      });
    } else if (!allowed[i]) {
      code = v5 ? ReasonCode.NotAuthorized : FAILURE_V4; // 0x87
      broker.log.info("subscription of {client} to {filter} not authorized", {
        client: conn.label,
        filter: s.topicFilter,
      });
    } else {
      // MQTT-3.8.4-6 (3.1.1) / MQTT-3.8.4-7 (5.0): the granted QoS may be lower than requested.
      const qos = (s.qos < o.maximumQoS ? s.qos : o.maximumQoS) as QoS;
      const sub: StoredSubscription = {
        raw: s.topicFilter,
        filter: parsed.filter,
        qos,
        noLocal: v5 && s.noLocal,
        retainAsPublished: v5 && s.retainAsPublished,
        retainHandling: v5 ? s.retainHandling : 0,
      };
      if (parsed.share !== undefined) sub.share = parsed.share;
      if (subId !== undefined) sub.subscriptionId = subId;
      // MQTT-3.8.4-3 (3.1.1 & 5.0): an identical filter replaces the existing subscription.
      const existed = broker.addSubscription(session, sub);
      code = qos;
      // Retained messages: never for shared subscriptions (MQTT 5 §4.8.2); Retain Handling 0
      // sends them, 1 only for a new subscription, 2 never (MQTT-3.3.1-9/10/11 (5.0)).
      // 3.1.1: sent on every subscribe, replaced ones included (MQTT-3.3.1-6, MQTT-3.8.4-3).
      if (
        sub.share === undefined &&
        (sub.retainHandling === 0 || (sub.retainHandling === 1 && !existed))
      ) {
        retainedFor.push(sub);
      }
    }
    codes.push(code);
  }

  // MQTT-3.8.4-1/2 (3.1.1) / MQTT-3.8.4-1/2 (5.0): SUBACK with the same packet id, one return
  // code per filter in order (MQTT-3.8.4-5 / MQTT-3.9.3-1).
  conn.send({ type: "suback", packetId: p.packetId, reasonCodes: codes });

  if (retainedFor.length > 0 && o.retainAvailable) {
    const now = broker.clock.now();
    for (const sub of retainedFor) {
      for (const r of broker.retained.match(sub.filter, now)) {
        // MQTT-3.3.1-8 (3.1.1) / MQTT 5 §3.3.1.3: retained messages sent because of a new
        // subscription carry RETAIN 1.
        const entry: OutgoingEntry = {
          message: {
            topic: r.topic,
            payload: r.payload,
            qos: r.qos,
            retain: true,
            properties: r.properties,
            expiresAt: r.expiresAt,
            from: "",
            receivedAt: r.storedAt,
          },
          qos: (sub.qos < r.qos ? sub.qos : r.qos) as QoS,
          retain: true,
        };
        if (sub.subscriptionId !== undefined) entry.subscriptionIds = [sub.subscriptionId];
        if (broker.hooks.hasReadCheck && !broker.hooks.authorizeRead(conn.info(), entry.message)) {
          continue;
        }
        offer(broker, session, entry);
      }
    }
  }
}
