/**
 * Outgoing delivery: the one place that turns a routed message into PUBLISH packets for a
 * session — the QoS 1/2 in-flight window, the queue, QoS 0 shedding under backpressure,
 * message expiry on forwarding, subscription identifiers, DUP on re-delivery. Kept in one file
 * so encode-once-per-variant sharing can be added here later.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { Properties, PublishPacket } from "../codec/packets.ts";
import { compactBytes } from "../codec/alloc.ts";
import type { Broker } from "./broker.ts";
import type { Connection } from "./connection.ts";
import type { OutgoingEntry, Session } from "./session.ts";

/** Remaining Message Expiry Interval in whole seconds (rounded up), for MQTT-3.3.2-6. */
function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

/** Builds the PUBLISH for one entry, as the client's protocol level needs it. */
export function buildPublish(
  conn: Connection,
  entry: OutgoingEntry,
  dup: boolean,
  now: number,
): PublishPacket {
  const m = entry.message;
  const packet: PublishPacket = {
    type: "publish",
    topic: m.topic,
    payload: m.payload,
    qos: entry.qos,
    retain: entry.retain,
    // MQTT-3.3.1-1: DUP is 1 only when re-delivering; always 0 for QoS 0 (MQTT-3.3.1-2).
    dup: dup && entry.qos > 0,
  };
  if (entry.qos > 0) packet.packetId = entry.packetId;
  if (conn.version === 5) {
    const ids = entry.subscriptionIds;
    if (m.expiresAt !== undefined || (ids !== undefined && ids.length > 0)) {
      // Forwarded unchanged and in order (MQTT-3.3.2-17/18), plus what we add.
      const props: Properties = { ...m.properties };
      // MQTT-3.3.2-6: the Message Expiry Interval sent is the received one minus the time
      // the message has waited in the server.
      if (m.expiresAt !== undefined) {
        props.messageExpiryInterval = remainingSeconds(m.expiresAt, now);
      }
      // MQTT-3.3.4-3/4/5: every matching subscription's identifier, with no duplicates.
      if (ids !== undefined && ids.length > 0) props.subscriptionIdentifiers = ids;
      packet.properties = props;
    } else if (m.properties !== undefined) {
      packet.properties = m.properties;
    }
  }
  return packet;
}

/** True when the message has expired and must not be forwarded (MQTT-3.3.2-5). */
export function isExpired(entry: OutgoingEntry, now: number): boolean {
  const t = entry.message.expiresAt;
  return t !== undefined && now >= t;
}

/** Sends a QoS 0 entry, or drops it when the client cannot take it. */
function sendQos0(broker: Broker, conn: Connection, entry: OutgoingEntry, now: number): void {
  // A stored QoS 0 entry (queued while offline) is done once handed to the connection.
  if (entry.seq !== undefined) broker.persist!.done(conn.session!, entry);
  if (!conn.sendPublish(buildPublish(conn, entry, false, now))) {
    broker.countDropped(
      conn.session!,
      "larger than the client's Maximum Packet Size [MQTT-3.1.2-24]",
    );
    return;
  }
  broker.stats.countSent(entry.qos, entry.message.payload.length);
}

/**
 * Puts a QoS 1/2 entry into the in-flight window and sends it. Returns false when no packet
 * id is free.
 */
function startInflight(
  broker: Broker,
  conn: Connection,
  session: Session,
  entry: OutgoingEntry,
  now: number,
): boolean {
  const id = session.allocatePacketId();
  if (id === undefined) return false;
  entry.packetId = id;
  entry.state = "publish";
  if (session.stored) {
    const persist = broker.persist!;
    if (entry.seq === undefined && !persist.enqueue(session, entry)) {
      broker.countDropped(session, "the store is full (maxStoredBytes)");
      return true;
    }
    persist.sent(session, entry);
    if (entry.qos === 2) {
      // Exactly once across a crash: a QoS 2 PUBLISH to a stored session goes out only once the
      // store holds it with this packet id. Sent earlier, a crash before the commit would make
      // the restarted broker send it again under another id (or route the publisher's re-send
      // anew), and the client would deliver it twice.
      session.inflight.set(id, entry);
      persist.afterDurable(() => sendDeferred(broker, conn, session, entry, id));
      return true;
    }
  }
  session.inflight.set(id, entry);
  if (!conn.sendPublish(buildPublish(conn, entry, false, now))) {
    // MQTT-3.1.2-25 (5.0): a packet too large for the client is discarded and treated as if
    // its delivery had completed.
    session.inflight.delete(id);
    if (session.stored) broker.persist!.done(session, entry);
    broker.countDropped(session, "larger than the client's Maximum Packet Size [MQTT-3.1.2-24]");
    return true;
  }
  broker.stats.countSent(entry.qos, entry.message.payload.length);
  return true;
}

/** Sends a QoS 2 PUBLISH held back until the store had it (see `startInflight`). */
function sendDeferred(
  broker: Broker,
  conn: Connection,
  session: Session,
  entry: OutgoingEntry,
  id: number,
): void {
  // Still wanted on this connection? (Else a reconnect re-sends it with DUP, MQTT-4.4.0-1.)
  if (conn.state !== "connected" || session.conn !== conn) return;
  if (session.inflight.get(id) !== entry || entry.state !== "publish") return;
  if (!conn.sendPublish(buildPublish(conn, entry, false, broker.clock.now()))) {
    session.inflight.delete(id);
    if (session.stored) broker.persist!.done(session, entry);
    broker.countDropped(session, "larger than the client's Maximum Packet Size [MQTT-3.1.2-24]");
    broker.pump(session);
    return;
  }
  broker.stats.countSent(entry.qos, entry.message.payload.length);
}

/**
 * Offers one entry to a session: sent now if the client is connected and has room, else
 * queued (bounded) or dropped and counted.
 */
export function offer(broker: Broker, session: Session, entry: OutgoingEntry): void {
  const conn = session.conn;
  const now = broker.clock.now();
  if (conn === undefined || conn.state !== "connected") {
    if (entry.qos === 0 && !broker.options.queueQos0) return; // Mosquitto: not queued, not counted
    enqueue(broker, session, entry);
    return;
  }
  if (entry.qos === 0) {
    if (conn.congested) {
      broker.countDropped(session, "output buffer full");
      return;
    }
    if (session.queueLength === 0) {
      sendQos0(broker, conn, entry, now);
    } else {
      // Keep per-topic order behind queued QoS 1/2 (MQTT-4.6.0-5 ordering guarantees).
      enqueue(broker, session, entry);
    }
    return;
  }
  if (
    session.queueLength === 0 && session.inflight.size < conn.sendWindow && !conn.congested &&
    startInflight(broker, conn, session, entry, now)
  ) {
    return;
  }
  enqueue(broker, session, entry);
}

function enqueue(broker: Broker, session: Session, entry: OutgoingEntry): void {
  const stored = session.stored;
  const { result, evicted } = session.enqueue(
    entry,
    {
      maxMessages: broker.options.maxQueuedMessages,
      maxBytes: broker.options.maxQueuedBytes,
    },
    stored ? (gone) => broker.persist!.done(session, gone) : undefined,
  );
  for (let i = 0; i < evicted; i++) {
    broker.countDropped(session, "queue full, oldest QoS 0 evicted");
  }
  if (result === "dropped") {
    broker.countDropped(session, "queue full");
    return;
  }
  // Queued payloads may wait long: do not let them pin shared decode slabs.
  const m = entry.message;
  m.payload = compactBytes(m.payload);
  // Stored: QoS 1/2, and QoS 0 queued for an offline client (queueQos0).
  if (stored && (entry.qos > 0 || session.conn === undefined)) {
    if (!broker.persist!.enqueue(session, entry)) {
      session.dropLast(entry);
      broker.countDropped(session, "the store is full (maxStoredBytes)");
    }
  }
}

/**
 * Moves queued entries into the window while the client has room (after an ack, on reconnect,
 * when the output buffer drains). Expired entries are dropped (MQTT-3.3.2-5).
 */
export function pump(broker: Broker, session: Session): void {
  const conn = session.conn;
  if (conn === undefined || conn.state !== "connected") return;
  const now = broker.clock.now();
  const window = conn.sendWindow;
  while (session.queueLength > 0 && !conn.congested) {
    const head = session.queued().next().value as OutgoingEntry;
    if (head.qos > 0 && session.inflight.size >= window) break;
    session.dequeue();
    if (isExpired(head, now)) {
      if (head.seq !== undefined) broker.persist!.done(session, head);
      broker.stats.expiredDropped++;
      continue;
    }
    if (head.qos === 0) sendQos0(broker, conn, head, now);
    else if (!startInflight(broker, conn, session, head, now)) {
      session.unshift(head);
      break;
    }
  }
}

/**
 * On reconnect of a resumed session: re-sends every unacknowledged PUBLISH with DUP set and
 * every PUBREL, in their original order (MQTT-4.4.0-1, MQTT-3.3.1-1), then fills the window.
 */
export function resumeDelivery(broker: Broker, conn: Connection, session: Session): void {
  const now = broker.clock.now();
  for (const entry of [...session.inflight.values()]) {
    if (entry.state === "pubrel") {
      conn.send({ type: "pubrel", packetId: entry.packetId! });
    } else if (!conn.sendPublish(buildPublish(conn, entry, true, now))) {
      session.inflight.delete(entry.packetId!);
      if (entry.seq !== undefined) broker.persist!.done(session, entry);
      broker.countDropped(session, "larger than the client's Maximum Packet Size [MQTT-3.1.2-24]");
    }
  }
  pump(broker, session);
}
