/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 §3.4–3.7, MQTT 5 §3.4–3.7): the sender side of
 * QoS 1/2 for messages we deliver, and the PUBREL of the receiver side.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { AckPacket } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Connection } from "./connection.ts";

/** QoS 1 delivery complete (MQTT-4.3.2-1): free the packet id, let the queue flow. */
export function handlePuback(conn: Connection, p: AckPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(p.packetId);
  // An unknown id is ignored (Mosquitto does the same).
  if (entry === undefined || entry.qos !== 1) return;
  session.inflight.delete(p.packetId);
  if (entry.seq !== undefined) conn.broker.persist!.acked(session, entry);
  conn.broker.pump(session);
}

/** QoS 2, step 2 (MQTT-4.3.3-1 (3.1.1) / MQTT-4.3.3-3 (5.0)): answer PUBREC with PUBREL. */
export function handlePubrec(conn: Connection, p: AckPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(p.packetId);
  if (entry === undefined || entry.qos !== 2) {
    // MQTT 5 §3.6.2.1: PUBREL 0x92 Packet Identifier not found. 3.1.1: PUBREL anyway.
    conn.send(
      conn.version === 5
        ? { type: "pubrel", packetId: p.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound }
        : { type: "pubrel", packetId: p.packetId },
    );
    return;
  }
  if (conn.version === 5 && (p.reasonCode ?? 0) >= 0x80) {
    // MQTT 5 §4.3.3: a PUBREC with a failure reason code ends the exchange; the id is free.
    session.inflight.delete(p.packetId);
    if (entry.seq !== undefined) conn.broker.persist!.done(session, entry);
    conn.broker.pump(session);
    return;
  }
  if (entry.state === "publish" && entry.seq !== undefined) {
    // Stored session: PUBREL only once the store knows the client has the message (state
    // pubrel). After PUBREL the client may forget the packet id; a crash that left the message
    // in state "publish" would re-send it and the client would deliver it twice.
    const broker = conn.broker;
    const id = p.packetId;
    broker.persist!.released(session, id);
    entry.state = "pubrel";
    broker.persist!.afterDurable((error) => {
      if (conn.state !== "connected" || session.inflight.get(id) !== entry) return;
      if (error !== null) {
        // Not stored: back to "publish" (what the store says); the reconnecting client gets
        // the PUBLISH again with DUP (it still holds the id) and answers PUBREC again.
        entry.state = "publish";
        broker.storeRefusal(conn.label, `PUBREC ${id}: ${error.message}`);
        broker.closeConnection(conn, {
          reasonCode: ReasonCode.ImplementationSpecificError,
          reason: "store_failed",
          publishWill: true,
          detail: "the broker could not store the PUBREC",
        });
        return;
      }
      conn.send({ type: "pubrel", packetId: id });
    });
    return;
  }
  entry.state = "pubrel";
  conn.send({ type: "pubrel", packetId: p.packetId });
}

/** QoS 2 delivery complete: free the packet id. */
export function handlePubcomp(conn: Connection, p: AckPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(p.packetId);
  if (entry === undefined || entry.state !== "pubrel") return;
  session.inflight.delete(p.packetId);
  if (entry.seq !== undefined) conn.broker.persist!.acked(session, entry);
  conn.broker.pump(session);
}

/**
 * QoS 2 receiver, step 3: forget the packet id (from here a PUBLISH with it is new,
 * MQTT-4.3.3-2 (3.1.1) / MQTT-4.3.3-11 (5.0)) and answer PUBCOMP.
 */
export function handlePubrel(conn: Connection, p: AckPacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const id = p.packetId;
  const known = session.incomingQos2.delete(id);
  if (!known && conn.version === 5) {
    conn.send({
      type: "pubcomp",
      packetId: id,
      reasonCode: ReasonCode.PacketIdentifierNotFound,
    });
    return;
  }
  // With a store, PUBCOMP waits until the id is forgotten durably: were it still stored after
  // a crash, the client's next PUBLISH reusing the id would be taken for a re-send and lost.
  // It also waits when earlier PUBACK/PUBREC of this client do (acks stay in order).
  const wrote = known && session.stored;
  if (wrote) broker.persist!.incomingQos2Removed(session, id);
  if (!wrote && conn.awaitingDurable === 0) {
    conn.send({ type: "pubcomp", packetId: id });
    return;
  }
  conn.awaitingDurable++;
  broker.afterDurable((error) => {
    conn.awaitingDurable--;
    if (conn.state !== "connected") return;
    if (error !== null && wrote) {
      // Not forgotten in the store: keep it here too; the client re-sends PUBREL after
      // reconnecting (MQTT-4.4.0-1), and that is tried again.
      session.incomingQos2.add(id);
      broker.storeRefusal(conn.label, `PUBREL ${id}: ${error.message}`);
      conn.broker.closeConnection(conn, {
        reasonCode: ReasonCode.ImplementationSpecificError,
        reason: "store_failed",
        publishWill: true,
        detail: "the broker could not store the PUBREL",
      });
      return;
    }
    conn.send({ type: "pubcomp", packetId: id });
  });
}
