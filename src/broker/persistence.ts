/**
 * The broker's side of the durable store (`src/store/store.ts`): which state changes of the core
 * are written to the {@link Store}, in which form, and how a loaded state is turned back into
 * live sessions, retained messages and delayed wills at start-up.
 *
 * Only persistent sessions are stored (a store is configured and the session's expiry is above
 * 0, `Session.stored`): clean / expiry-0 sessions never touch the store, so their traffic costs
 * nothing more than without a store. Retained messages (but `$SYS`) and delayed wills are
 * always stored.
 *
 * Store calls are synchronous and buffered; the store commits everything of one event-loop turn
 * as one transaction (group commit). `writes` counts the mutations, so that `handlePublish` can
 * tell whether a PUBLISH made any (and then acknowledge it only after the commit holding it).
 *
 * Outgoing messages are stored in their delivery form: the QoS and RETAIN flag to send, the
 * MQTT 5 properties with the Subscription Identifiers of the matching subscriptions. Entries
 * remember their store sequence number (`OutgoingEntry.seq`), by which they are removed.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { Properties, QoS } from "../codec/packets.ts";
import { compactBytes } from "../codec/alloc.ts";
import type {
  BridgeMessage,
  DurableCallback,
  LoadedState,
  OutgoingMessage,
  Store,
  StoredMessage,
  SubscriptionRecord,
} from "../store/store.ts";
import type { Broker, PendingWill } from "./broker.ts";
import type { OutgoingEntry, Session, SessionRecord, StoredSubscription } from "./session.ts";
import { QUEUE_GROUP } from "./shared_filter.ts";
import type { Message } from "./types.ts";

/** What {@link restoreState} put back. */
export interface RestoreCounts {
  sessions: number;
  messages: number;
  retained: number;
  wills: number;
}

/** Writes the broker's persistent state to a {@link Store}. */
export class Persistence {
  readonly store: Store;
  /** Mutations made so far (a PUBLISH that made none need not wait for a commit). */
  writes = 0;

  constructor(store: Store) {
    this.store = store;
  }

  // --- sessions ---------------------------------------------------------------------------------

  /** A client connected to a session whose expiry is above 0 (new or resumed). */
  sessionOpened(session: Session): void {
    this.writes++;
    session.stored = true;
    this.store.putSession({
      clientId: session.clientId,
      protocolVersion: session.protocolVersion,
      expiryInterval: session.expiryInterval,
      createdAt: session.createdAt,
      disconnectedAt: null,
    });
  }

  /** The client of a stored session disconnected (its expiry may have changed). */
  sessionClosed(session: Session, now: number): void {
    this.writes++;
    this.store.putSession({
      clientId: session.clientId,
      protocolVersion: session.protocolVersion,
      expiryInterval: session.expiryInterval,
      createdAt: session.createdAt,
      disconnectedAt: now,
    });
  }

  /** A stored session ended (expiry, clean start, expiry 0): it leaves the store. */
  sessionEnded(session: Session): void {
    this.writes++;
    session.stored = false;
    this.store.deleteSession(session.clientId);
  }

  subscribed(session: Session, sub: StoredSubscription): void {
    this.writes++;
    this.store.putSubscription(session.clientId, subscriptionRecord(sub));
  }

  unsubscribed(session: Session, filter: string, share: string | undefined): void {
    this.writes++;
    this.store.deleteSubscription(session.clientId, filter, share ?? null);
  }

  // --- outgoing messages ------------------------------------------------------------------------

  /**
   * Stores an entry given to a stored session (state `queued`) and sets `entry.seq`. False when
   * the store is full (`maxStoredBytes`): nothing was stored.
   */
  enqueue(session: Session, entry: OutgoingEntry): boolean {
    const seq = this.store.enqueue(session.clientId, storedMessage(entry));
    if (seq === null) return false;
    this.writes++;
    entry.seq = seq;
    return true;
  }

  /** The entry was sent with `entry.packetId` (state `publish`). */
  sent(session: Session, entry: OutgoingEntry): void {
    this.writes++;
    this.store.markInflight(session.clientId, entry.seq!, entry.packetId!);
  }

  /** PUBREC received for the entry (state `pubrel`). */
  released(session: Session, packetId: number): void {
    this.writes++;
    this.store.markPubrel(session.clientId, packetId);
  }

  /**
   * PUBACK / PUBCOMP for an in-flight stored entry: deleted by packet id, which the store
   * batches for consecutive acks of one client (cheaper than one delete per sequence number).
   */
  acked(session: Session, entry: OutgoingEntry): void {
    if (entry.seq === undefined) return;
    this.writes++;
    this.store.ack(session.clientId, entry.packetId!);
    entry.seq = undefined;
  }

  /** The entry is done (acknowledged, delivered at QoS 0, dropped, expired, moved away). */
  done(session: Session, entry: OutgoingEntry): void {
    if (entry.seq === undefined) return;
    this.writes++;
    this.store.removeMessage(session.clientId, entry.seq);
    entry.seq = undefined;
  }

  // --- inbound QoS 2 ----------------------------------------------------------------------------

  incomingQos2Added(session: Session, packetId: number): void {
    this.writes++;
    this.store.addIncomingQos2(session.clientId, packetId);
  }

  incomingQos2Removed(session: Session, packetId: number): void {
    this.writes++;
    this.store.removeIncomingQos2(session.clientId, packetId);
  }

  // --- retained and wills -----------------------------------------------------------------------

  /** A retained message was set (false: refused, the store is full). */
  retainedSet(msg: Message, payload: Uint8Array, storedAt: number): boolean {
    this.writes++;
    const ok = this.store.putRetained({
      topic: msg.topic,
      payload,
      qos: msg.qos,
      retain: true,
      properties: msg.properties,
      expiresAt: msg.expiresAt ?? null,
      storedAt,
    });
    return ok;
  }

  retainedDeleted(topic: string): void {
    this.writes++;
    this.store.deleteRetained(topic);
  }

  /** A will now waits for its delay (false: refused, the store is full). */
  willScheduled(pw: PendingWill): boolean {
    this.writes++;
    return this.store.putWill({ clientId: pw.clientId, will: pw.will, publishAt: pw.at });
  }

  willGone(clientId: string): void {
    this.writes++;
    this.store.deleteWill(clientId);
  }

  // --- bridge queues (src/bridge) --------------------------------------------------------------

  /**
   * Appends to a bridge's outbound queue. Counted as a write, so that the PUBACK/PUBREC of the
   * local PUBLISH that caused it waits for the commit holding it. Null: the store is full.
   */
  bridgeEnqueue(bridge: string, message: BridgeMessage): number | null {
    const seq = this.store.bridgeEnqueue(bridge, message);
    if (seq !== null) this.writes++;
    return seq;
  }

  /** The upstream acknowledged (or the bridge dropped) a queued message. */
  bridgeRemove(bridge: string, seq: number): void {
    this.writes++;
    this.store.bridgeRemove(bridge, seq);
  }

  // --- durability -------------------------------------------------------------------------------

  /** Would `bytes` more fit under `maxStoredBytes`? */
  hasRoom(bytes: number): boolean {
    return this.store.hasRoom(bytes);
  }

  afterDurable(cb: DurableCallback): void {
    this.store.afterDurable(cb);
  }
}

/** The store's form of a subscription. */
export function subscriptionRecord(sub: StoredSubscription): SubscriptionRecord {
  return {
    topicFilter: sub.filter,
    shareGroup: sub.share ?? null,
    qos: sub.qos,
    noLocal: sub.noLocal,
    retainAsPublished: sub.retainAsPublished,
    retainHandling: sub.retainHandling,
    subscriptionId: sub.subscriptionId ?? null,
  };
}

/** The broker's form of a stored subscription (the raw filter is rebuilt from the share). */
export function storedSubscription(r: SubscriptionRecord): StoredSubscription {
  let raw = r.topicFilter;
  if (r.shareGroup !== null) {
    raw = r.shareGroup === QUEUE_GROUP
      ? `${QUEUE_GROUP}/${r.topicFilter}`
      : `$share/${r.shareGroup}/${r.topicFilter}`;
  }
  const sub: StoredSubscription = {
    raw,
    filter: r.topicFilter,
    qos: r.qos,
    noLocal: r.noLocal,
    retainAsPublished: r.retainAsPublished,
    retainHandling: r.retainHandling,
  };
  if (r.shareGroup !== null) sub.share = r.shareGroup;
  if (r.subscriptionId !== null) sub.subscriptionId = r.subscriptionId;
  return sub;
}

/** An outgoing entry as the store keeps it: QoS and RETAIN as sent, subscription ids inside. */
export function storedMessage(entry: OutgoingEntry): StoredMessage {
  const m = entry.message;
  const ids = entry.subscriptionIds;
  return {
    topic: m.topic,
    payload: m.payload,
    qos: entry.qos,
    retain: entry.retain,
    properties: ids !== undefined && ids.length > 0
      ? { ...m.properties, subscriptionIdentifiers: ids }
      : m.properties,
    expiresAt: m.expiresAt ?? null,
  };
}

/** Inverse of {@link storedMessage}. */
export function outgoingEntry(m: OutgoingMessage, now: number): OutgoingEntry {
  let properties: Properties | undefined = m.properties;
  let ids: number[] | undefined;
  if (properties?.subscriptionIdentifiers !== undefined) {
    const { subscriptionIdentifiers, ...rest } = properties;
    ids = subscriptionIdentifiers;
    properties = Object.keys(rest).length > 0 ? rest : undefined;
  }
  const message: Message = {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    from: "",
    receivedAt: now,
  };
  if (properties !== undefined) message.properties = properties;
  if (m.expiresAt !== null) message.expiresAt = m.expiresAt;
  const entry: OutgoingEntry = { message, qos: m.qos as QoS, retain: m.retain, seq: m.seq };
  if (ids !== undefined && ids.length > 0) entry.subscriptionIds = ids;
  if (m.state !== "queued" && m.packetId !== null) {
    entry.packetId = m.packetId;
    entry.state = m.state;
  }
  return entry;
}

/**
 * Puts a loaded state back into a fresh broker: sessions (offline, resumable, with their
 * subscriptions in the router, in-flight and queued messages in order, incoming QoS 2 ids),
 * retained messages and delayed wills. Nothing is written back to the store.
 */
export function restoreState(broker: Broker, state: LoadedState): RestoreCounts {
  const now = broker.clock.now();
  const counts: RestoreCounts = { sessions: 0, messages: 0, retained: 0, wills: 0 };
  for (const loaded of state.sessions) {
    const s = loaded.session;
    const inflight: OutgoingEntry[] = [];
    const queue: OutgoingEntry[] = [];
    let lastId = 0;
    for (const m of loaded.messages) {
      const e = outgoingEntry(m, now);
      if (e.packetId !== undefined) {
        inflight.push(e);
        lastId = e.packetId;
      } else {
        queue.push(e);
      }
    }
    counts.messages += loaded.messages.length;
    const record: SessionRecord = {
      clientId: s.clientId,
      protocolVersion: s.protocolVersion,
      expiryInterval: s.expiryInterval,
      createdAt: s.createdAt,
      disconnectedAt: s.disconnectedAt ?? now,
      nextPacketId: lastId >= 65535 ? 1 : lastId + 1,
      subscriptions: loaded.subscriptions.map(storedSubscription),
      inflight,
      queue,
      incomingQos2: loaded.incomingQos2,
    };
    broker.restoreSession(record).stored = true;
    counts.sessions++;
  }
  for (const r of state.retained) {
    broker.retained.set({
      topic: r.topic,
      payload: r.payload,
      qos: r.qos,
      properties: r.properties,
      expiresAt: r.expiresAt ?? undefined,
      storedAt: r.storedAt,
    });
    counts.retained++;
  }
  for (const w of state.wills) {
    broker.restorePendingWill({ clientId: w.clientId, will: { ...w.will }, at: w.publishAt });
    counts.wills++;
  }
  return counts;
}

/** A copy of `payload` that does not pin a shared decode slab (for long-lived state). */
export function keep(payload: Uint8Array): Uint8Array {
  return compactBytes(payload);
}
