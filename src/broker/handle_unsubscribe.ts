/**
 * UNSUBSCRIBE (MQTT 3.1.1 §3.10, MQTT 5 §3.10) and UNSUBACK (§3.11).
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { UnsubscribePacket } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";
import { parseSubscriptionFilter } from "./shared_filter.ts";

export function handleUnsubscribe(conn: Connection, p: UnsubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const codes: number[] = [];
  for (const raw of p.topicFilters) {
    const parsed = parseSubscriptionFilter(raw);
    if ("error" in parsed) {
      codes.push(ReasonCode.TopicFilterInvalid);
      continue;
    }
    // MQTT-3.10.4-1: the filter is compared character by character with existing ones.
    const removed = broker.removeSubscription(session, raw, parsed.filter, parsed.share);
    // MQTT 5 §3.11.3: 0x00 Success or 0x11 No subscription existed.
    codes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  // MQTT-3.10.4-4/5 (3.1.1): UNSUBACK with the same packet id even when nothing was removed.
  // MQTT-3.11.3-1 (5.0): one reason code per filter.
  conn.send(
    conn.version === 5
      ? { type: "unsuback", packetId: p.packetId, reasonCodes: codes }
      : { type: "unsuback", packetId: p.packetId },
  );
}
