/**
 * The Broker: sessions, the router (subscription trie + retained index), delivery, wills,
 * expiry and statistics. Transport-agnostic and clock-driven: the edge calls `accept(link)`
 * per connection and `tick()` on a timer; tests do the same with a fake link and clock.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Will } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { DurableCallback, Store } from "../store/store.ts";
import { type CloseOptions, Connection } from "./connection.ts";
import { offer, pump } from "./delivery.ts";
import { type BrokerHook, type ClientInfo, HookList } from "./hooks.ts";
import { type BrokerOptions, resolveOptions, SESSION_NEVER_EXPIRES } from "./options.ts";
import { keep, Persistence } from "./persistence.ts";
import { RetainedIndex } from "./retained_index.ts";
import {
  type OutgoingEntry,
  Session,
  type SessionRecord,
  type StoredSubscription,
} from "./session.ts";
import { sysEventsHook, SysPublisher } from "./sys.ts";
import {
  SharedGroupCursor,
  type SharedGroupMatch,
  SubscriptionTree,
  topicLevels,
} from "./topic_tree.ts";
import {
  type ClientLink,
  type Clock,
  type LinkHandler,
  type Message,
  systemClock,
} from "./types.ts";
import { willMessage } from "./will.ts";

export const BROKER_VERSION = "0.1.0";

/**
 * The durability seam. The ack (PUBACK/PUBREC) of an incoming QoS 1/2 PUBLISH is sent only from
 * `afterDurable`'s callback, i.e. after the state change that holds the message has been made
 * durable. Without a store the callback runs synchronously; with a store (`BrokerDeps.store`)
 * it runs after the group-commit transaction of this event-loop turn, with the commit's error
 * (then the PUBLISH is refused instead of acknowledged).
 */
export interface Durability {
  afterDurable(cb: DurableCallback): void;
}

/** Runs callbacks at once: the in-memory broker has nothing to wait for. */
export const immediateDurability: Durability = { afterDurable: (cb) => cb(null) };

export interface BrokerDeps {
  clock?: Clock;
  hooks?: BrokerHook[];
  /** Current heap use in bytes, for `$SYS/broker/heap/current` (the core has no Deno API). */
  heapUsed?: () => number;
  durability?: Durability;
  /**
   * The durable store. When given, persistent sessions, their messages, incoming QoS 2 ids,
   * retained messages and delayed wills are written to it (see `persistence.ts`), and acks of
   * incoming QoS 1/2 wait for its commits (it replaces `durability`). Load it into the broker
   * with `restoreState(broker, store.load())` before accepting connections.
   */
  store?: Store;
  /** Version string for `$SYS/broker/version`. */
  version?: string;
}

/** Counters; names follow Mosquitto's $SYS topics. */
export class BrokerStats {
  /** Control packets of any type received / sent. */
  messagesReceived = 0;
  messagesSent = 0;
  /** PUBLISH packets received / sent. */
  publishReceived = 0;
  publishSent = 0;
  /** Messages dropped: queue full, output buffer full, too large for the client. */
  publishDropped = 0;
  /** Messages dropped because their Message Expiry Interval passed (MQTT-3.3.2-5). */
  expiredDropped = 0;
  /** Bytes read from / written to sockets; updated by the transport. */
  bytesReceived = 0;
  bytesSent = 0;
  /** PUBLISH packets received / sent, by QoS (index = QoS); see countReceived / countSent. */
  readonly publishReceivedByQos = [0, 0, 0];
  readonly publishSentByQos = [0, 0, 0];
  /** Payload bytes of the PUBLISH packets received / sent, by QoS. */
  readonly payloadBytesReceivedByQos = [0, 0, 0];
  readonly payloadBytesSentByQos = [0, 0, 0];
  /** `publishDropped` by reason: queue_full, slow_consumer, packet_too_large, store_full. */
  readonly droppedByReason: Record<string, number> = {};
  /** `connectionsTotal` by listener name. */
  readonly connectionsByListener = new Map<string, number>();
  /** Highest number of connected clients seen. */
  clientsMaximum = 0;
  /** Sessions removed by expiry. */
  clientsExpired = 0;
  /** Connections accepted. */
  connectionsTotal = 0;
  /** Bugs caught at the connection boundary (each cost that one connection). Should stay 0. */
  internalErrors = 0;

  /** Counts one PUBLISH received from a client. */
  countReceived(qos: number, payloadBytes: number): void {
    this.publishReceived++;
    this.publishReceivedByQos[qos]++;
    this.payloadBytesReceivedByQos[qos] += payloadBytes;
  }

  /** Counts one PUBLISH sent to a client (re-deliveries are not counted). */
  countSent(qos: number, payloadBytes: number): void {
    this.publishSent++;
    this.publishSentByQos[qos]++;
    this.payloadBytesSentByQos[qos] += payloadBytes;
  }
  /** QoS 1/2 PUBLISH refused because the store failed or is full (0x97, or closed for 3.1.1). */
  storeRefused = 0;
}

/** The metric label of a `countDropped` explanation. */
function dropReason(why: string): string {
  if (why.startsWith("queue full")) return "queue_full";
  if (why.startsWith("output buffer full")) return "slow_consumer";
  if (why.startsWith("larger than")) return "packet_too_large";
  if (why.startsWith("the store is full")) return "store_full";
  return "other";
}

/** A will waiting for its Will Delay Interval (plain data: a store may persist it). */
export interface PendingWill {
  clientId: string;
  username?: string;
  will: Will;
  /** Time to publish it: the earlier of Will Delay Interval and session end (MQTT-3.1.3-9). */
  at: number;
}

export class Broker {
  readonly options: BrokerOptions;
  readonly clock: Clock;
  readonly hooks = new HookList();
  readonly log: Logger = getLogger(["edgemq", "broker"]);
  readonly stats = new BrokerStats();
  readonly sessions = new Map<string, Session>();
  readonly subscriptions = new SubscriptionTree<StoredSubscription>();
  readonly retained = new RetainedIndex();
  readonly connections = new Set<Connection>();
  readonly pendingWills = new Map<string, PendingWill>();
  readonly startedAt: number;
  readonly version: string;
  readonly heapUsed?: () => number;
  /** The durable store's writer, when a store is configured. */
  readonly persist: Persistence | undefined;
  #durability: Durability;
  #offline = new Set<Session>();
  #cursor = new SharedGroupCursor();
  #connected = 0;
  #sys: SysPublisher;
  #closed = false;

  constructor(options: Partial<BrokerOptions> = {}, deps: BrokerDeps = {}) {
    this.options = resolveOptions(options);
    this.clock = deps.clock ?? systemClock;
    this.persist = deps.store !== undefined ? new Persistence(deps.store) : undefined;
    this.#durability = this.persist ?? deps.durability ?? immediateDurability;
    this.heapUsed = deps.heapUsed;
    this.version = deps.version ?? BROKER_VERSION;
    for (const h of deps.hooks ?? []) this.hooks.add(h);
    this.hooks.add(sysEventsHook(this));
    this.startedAt = this.clock.now();
    this.#sys = new SysPublisher(this);
  }

  /** Connected clients. */
  get connectedCount(): number {
    return this.#connected;
  }

  /** Persistent sessions whose client is not connected. */
  get disconnectedCount(): number {
    return this.#offline.size;
  }

  /** Registers a new network connection; the transport feeds the returned handler. */
  accept(link: ClientLink): LinkHandler {
    const conn = new Connection(this, link, this.clock.now());
    this.stats.connectionsTotal++;
    const byListener = this.stats.connectionsByListener;
    byListener.set(link.listenerName, (byListener.get(link.listenerName) ?? 0) + 1);
    if (this.#closed) {
      link.close();
      conn.state = "closed";
    } else {
      this.connections.add(conn);
    }
    return conn.handler();
  }

  /** See `Durability`: the only path by which an incoming QoS 1/2 PUBLISH is acknowledged. */
  afterDurable(cb: DurableCallback): void {
    this.#durability.afterDurable(cb);
  }

  /**
   * Logs a store problem that refused a PUBLISH (or a PUBREL), at most every 10 s as a warning
   * with the count since the last one.
   */
  storeRefusal(client: string, why: string): void {
    this.stats.storeRefused++;
    this.#refusalsSinceWarn++;
    const now = this.clock.now();
    if (now - this.#lastRefusalWarn >= 10_000) {
      this.log.warn(
        "refused {n} QoS 1/2 message(s) in the last period because of the store; latest from " +
          "{client}: {why}",
        { n: this.#refusalsSinceWarn, client, why },
      );
      this.#lastRefusalWarn = now;
      this.#refusalsSinceWarn = 0;
    }
  }
  #lastRefusalWarn = -Infinity;
  #refusalsSinceWarn = 0;

  /**
   * Accepts a message into the broker: updates the retained index when its RETAIN flag is set
   * (MQTT-3.3.1-5; empty payload removes, MQTT-3.3.1-6/7 in 5.0 numbering) and routes it to every
   * matching subscription. Returns the number of sessions it was offered to.
   */
  publish(msg: Message, publisher?: ClientInfo): number {
    if (msg.retain && this.options.retainAvailable) {
      // Kept long: not a view into a shared decode slab.
      const payload = keep(msg.payload);
      this.retained.set({
        topic: msg.topic,
        payload,
        qos: msg.qos,
        properties: msg.properties,
        expiresAt: msg.expiresAt,
        storedAt: msg.receivedAt,
      });
      // $SYS is regenerated at every start: not stored.
      if (this.persist !== undefined && !msg.topic.startsWith("$SYS")) {
        if (payload.length === 0) {
          this.persist.retainedDeleted(msg.topic);
        } else if (!this.persist.retainedSet(msg, payload, msg.receivedAt)) {
          this.log.warn("retained message on {topic} not stored: the store is full", {
            topic: msg.topic,
          });
        }
      }
    }
    const n = this.route(msg);
    for (const h of this.hooks.list) {
      if (h.onMessagePublished) this.#safe(() => h.onMessagePublished!(msg, publisher));
    }
    return n;
  }

  /**
   * Routes a message: one trie match per PUBLISH; each matching client gets one copy at the
   * highest granted QoS of its matching subscriptions, with all their subscription identifiers
   * (MQTT-3.3.4-2/3; 3.1.1 MQTT-3.3.5-1); each matching shared group gives it to one member.
   */
  route(msg: Message): number {
    const match = this.subscriptions.match(topicLevels(msg.topic));
    let n = 0;
    const readCheck = this.hooks.hasReadCheck;
    for (const [clientId, subs] of match.direct) {
      const session = this.sessions.get(clientId);
      if (session === undefined) continue;
      let qos = -1;
      let rap = false;
      let ids: number[] | undefined;
      for (const sub of subs) {
        // MQTT-3.8.3-3: No Local — never send a message back to the client that published it.
        if (sub.noLocal && clientId === msg.from) continue;
        if (sub.qos > qos) qos = sub.qos;
        if (sub.retainAsPublished) rap = true;
        if (sub.subscriptionId !== undefined) {
          if (ids === undefined) ids = [sub.subscriptionId];
          else if (!ids.includes(sub.subscriptionId)) ids.push(sub.subscriptionId);
        }
      }
      if (qos < 0) continue;
      if (readCheck && !this.#mayRead(session, msg)) continue;
      // Delivered QoS = min(published, granted) (MQTT-3.8.4-8; 3.1.1 MQTT-3.8.4-6).
      // RETAIN on a live forward: 0 (3.1.1 MQTT-3.3.1-9) unless Retain As Published (MQTT-3.3.1-12).
      const entry: OutgoingEntry = {
        message: msg,
        qos: (qos < msg.qos ? qos : msg.qos) as 0 | 1 | 2,
        retain: rap && msg.retain,
      };
      if (ids !== undefined) entry.subscriptionIds = ids;
      offer(this, session, entry);
      n++;
    }
    for (const group of match.shared) {
      if (this.#offerShared(group, msg, undefined)) n++;
    }
    return n;
  }

  #mayRead(session: Session, msg: Message): boolean {
    const conn = session.conn;
    return this.hooks.authorizeRead(
      conn?.info() ?? {
        clientId: session.clientId,
        username: session.username,
        protocolVersion: session.protocolVersion,
        remoteAddress: "",
        listenerName: "",
      },
      msg,
    );
  }

  /**
   * Gives a message to one member of a shared group (round robin, MQTT 5 §4.8.2): first a
   * connected member with room in its window, then any connected member, then any member
   * (queued in its offline session). `exclude` skips a member (re-dispatch).
   */
  #offerShared(
    group: SharedGroupMatch<StoredSubscription>,
    msg: Message,
    exclude: string | undefined,
  ): boolean {
    const online = (id: string) => {
      if (id === exclude) return false;
      const c = this.sessions.get(id)?.conn;
      return c !== undefined && c.state === "connected";
    };
    const roomy = (id: string) => {
      if (!online(id)) return false;
      const s = this.sessions.get(id)!;
      return !s.conn!.congested && (msg.qos === 0 || s.inflight.size < s.conn!.sendWindow);
    };
    const clientId = this.#cursor.next(group, roomy) ??
      this.#cursor.next(group, online) ??
      this.#cursor.next(group, (id) => id !== exclude && this.sessions.has(id));
    if (clientId === undefined) return false;
    const session = this.sessions.get(clientId)!;
    const sub = group.members.get(clientId)!;
    if (this.hooks.hasReadCheck && !this.#mayRead(session, msg)) return false;
    const entry: OutgoingEntry = {
      message: msg,
      qos: (sub.qos < msg.qos ? sub.qos : msg.qos) as 0 | 1 | 2,
      retain: sub.retainAsPublished && msg.retain,
      share: { group: group.group, filter: group.filter },
    };
    if (sub.subscriptionId !== undefined) entry.subscriptionIds = [sub.subscriptionId];
    offer(this, session, entry);
    return true;
  }

  /**
   * Restores a session saved by a durable store (`Session.toRecord()`): it is registered as
   * disconnected, its subscriptions go back into the router, and it expires as usual.
   */
  restoreSession(record: SessionRecord): Session {
    const session = Session.fromRecord(record);
    const old = this.sessions.get(session.clientId);
    if (old !== undefined) this.endSession(old, "replaced");
    session.disconnectedAt ??= this.clock.now();
    this.sessions.set(session.clientId, session);
    for (const sub of session.subscriptions.values()) {
      this.subscriptions.add(sub.filter, session.clientId, sub, sub.share);
    }
    this.#offline.add(session);
    return session;
  }

  /** Restores a delayed will saved by a durable store. */
  restorePendingWill(pw: PendingWill): void {
    this.pendingWills.set(pw.clientId, { ...pw });
  }

  /** Sends queued messages while the session's client has room. */
  pump(session: Session): void {
    pump(this, session);
  }

  /**
   * Counts a dropped message. Logged at debug level each time, and as one warning at most every
   * 10 s (with the count since the last one) so that a flood of drops cannot flood the log.
   */
  countDropped(session: Session, why: string): void {
    this.stats.publishDropped++;
    const reason = dropReason(why);
    this.stats.droppedByReason[reason] = (this.stats.droppedByReason[reason] ?? 0) + 1;
    this.#dropsSinceWarn++;
    this.log.debug("dropped a message for {client}: {why}", { client: session.clientId, why });
    const now = this.clock.now();
    if (now - this.#lastDropWarn >= 10_000) {
      this.log.warn("dropped {n} message(s) in the last period; latest for {client}: {why}", {
        n: this.#dropsSinceWarn,
        client: session.clientId,
        why,
      });
      this.#lastDropWarn = now;
      this.#dropsSinceWarn = 0;
    }
  }
  #lastDropWarn = -Infinity;
  #dropsSinceWarn = 0;

  /** Adds or replaces a subscription; returns true if one existed on that filter (MQTT-3.8.4-3). */
  addSubscription(session: Session, sub: StoredSubscription): boolean {
    session.subscriptions.set(sub.raw, sub);
    if (session.stored) this.persist!.subscribed(session, sub);
    return this.subscriptions.add(sub.filter, session.clientId, sub, sub.share);
  }

  /** Removes a subscription; false if there was none. */
  removeSubscription(session: Session, raw: string, filter: string, share?: string): boolean {
    session.subscriptions.delete(raw);
    const removed = this.subscriptions.remove(filter, session.clientId, share);
    if (removed && session.stored) this.persist!.unsubscribed(session, filter, share);
    return removed;
  }

  /** Called by handle_connect when a client is connected and its session attached. */
  sessionAttached(conn: Connection, session: Session): void {
    this.#offline.delete(session);
    // MQTT-3.1.3-9: a new connection to the session cancels a delayed will.
    if (this.pendingWills.delete(session.clientId)) this.persist?.willGone(session.clientId);
    session.conn = conn;
    session.disconnectedAt = undefined;
    this.sessions.set(session.clientId, session);
    this.#connected++;
    if (this.#connected > this.stats.clientsMaximum) this.stats.clientsMaximum = this.#connected;
  }

  /**
   * Ends a connection: sends DISCONNECT (MQTT 5, when a reason code is given), closes the link,
   * publishes or schedules the will, detaches the session and ends it if its expiry is 0.
   * Idempotent.
   */
  closeConnection(conn: Connection, opts: CloseOptions): void {
    if (conn.state === "closed") return;
    const wasConnected = conn.state === "connected";
    if (wasConnected && conn.version === 5 && opts.reasonCode !== undefined) {
      // A Reason String is allowed on DISCONNECT even with Request Problem Information 0
      // (MQTT-3.1.2-29 exempts PUBLISH, CONNACK and DISCONNECT).
      const properties = opts.detail !== undefined ? { reasonString: opts.detail } : undefined;
      // If the DISCONNECT is too big for the client with the reason string, send it without.
      if (!conn.send({ type: "disconnect", reasonCode: opts.reasonCode, properties })) {
        conn.send({ type: "disconnect", reasonCode: opts.reasonCode });
      }
    }
    conn.state = "closed";
    conn.closeReason = opts.reason;
    conn.link.close();
    this.connections.delete(conn);
    if (!wasConnected) return;
    this.#connected--;
    const session = conn.session!;
    const now = this.clock.now();
    this.log.info("client {client} disconnected (MQTT level {v}): {reason}", {
      client: conn.label,
      v: conn.version,
      reason: opts.reason,
    });
    for (const h of this.hooks.list) {
      if (h.onClientDisconnected) {
        this.#safe(() =>
          h.onClientDisconnected!({
            ...conn.info(),
            keepAlive: conn.keepAlive,
            reason: opts.reason,
          })
        );
      }
    }
    if (session.conn !== conn) return; // taken over: the session already belongs to another
    session.conn = undefined;
    session.disconnectedAt = now;
    this.#redispatchShared(session);
    const will = opts.publishWill ? conn.will : undefined;
    conn.will = undefined;
    if (will !== undefined) {
      const delay = conn.version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
      if (delay > 0 && session.expiryInterval > 0) {
        // The earlier of Will Delay Interval and session end (MQTT 5 §3.1.3.2.2).
        const wait = Math.min(delay, session.expiryInterval);
        const pw: PendingWill = {
          clientId: session.clientId,
          username: conn.username,
          will: { ...will, payload: keep(will.payload) },
          at: now + wait * 1000,
        };
        this.pendingWills.set(session.clientId, pw);
        if (this.persist !== undefined && !this.persist.willScheduled(pw)) {
          this.log.warn("delayed will of {client} not stored: the store is full", {
            client: session.clientId,
          });
        }
      } else {
        this.publishWill(session.clientId, conn.username, will);
      }
    }
    if (session.expiryInterval === 0) {
      this.endSession(session, "session_end");
    } else {
      this.#offline.add(session);
      if (session.stored) this.persist!.sessionClosed(session, now);
    }
  }

  /**
   * Re-dispatch (like EMQX): QoS 1/2 messages given to this member of a shared group and not
   * yet acknowledged (or still queued) go to another member when it disconnects. A PUBLISH
   * already answered with PUBREC (awaiting PUBCOMP) stays: the client owns it.
   */
  #redispatchShared(session: Session): void {
    const moved: OutgoingEntry[] = [];
    for (const [id, e] of session.inflight) {
      if (e.share !== undefined && e.state === "publish") {
        session.inflight.delete(id);
        moved.push(e);
      }
    }
    moved.push(...session.takeQueued((e) => e.share !== undefined && e.qos > 0));
    for (const e of moved) {
      // Leaves this session in the store too; wherever it goes next it is stored anew.
      if (session.stored) this.persist!.done(session, e);
      const group = this.#findGroup(e.message.topic, e.share!.group, e.share!.filter);
      if (group === undefined || !this.#offerShared(group, e.message, session.clientId)) {
        // Nobody else: keep it in this session's queue (Mosquitto-like: the session owns it).
        const back: OutgoingEntry = { ...e, packetId: undefined, state: undefined, seq: undefined };
        session.enqueue(back, { maxMessages: 0, maxBytes: 0 });
        if (session.stored && !this.persist!.enqueue(session, back)) {
          session.dropLast(back);
          this.countDropped(session, "the store is full (maxStoredBytes)");
        }
      }
    }
  }

  /** The live group a shared entry came from: the message's topic matches the group's filter. */
  #findGroup(
    topic: string,
    group: string,
    filter: string,
  ): SharedGroupMatch<StoredSubscription> | undefined {
    for (const g of this.subscriptions.match(topicLevels(topic)).shared) {
      if (g.group === group && g.filter === filter) return g;
    }
    return undefined;
  }

  /** Ends a session: removes it and its subscriptions; a pending delayed will is published now. */
  endSession(session: Session, reason: string): void {
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    this.#offline.delete(session);
    this.subscriptions.removeClient(session.clientId);
    session.subscriptions.clear();
    const pending = this.pendingWills.get(session.clientId);
    if (pending !== undefined) {
      this.pendingWills.delete(session.clientId);
      this.persist?.willGone(pending.clientId);
      this.publishWill(pending.clientId, pending.username, pending.will);
    }
    // The session leaves the store (with its messages, subscriptions and QoS 2 ids).
    if (session.stored) this.persist!.sessionEnded(session);
    // Shared messages left in the session go to the other members.
    this.#redispatchShared(session);
    session.inflight.clear();
    session.clearQueue();
    session.incomingQos2.clear();
    if (reason === "expired") {
      this.stats.clientsExpired++;
      this.log.info("session {client} expired", { client: session.clientId });
    }
  }

  /** Publishes a will message (MQTT-3.1.2-8), subject to the publish authorization hooks. */
  publishWill(clientId: string, username: string | undefined, will: Will): void {
    const now = this.clock.now();
    const msg = willMessage(clientId, will, now);
    const info: ClientInfo = {
      clientId,
      username,
      protocolVersion: 5,
      remoteAddress: "",
      listenerName: "",
    };
    const publishIf = (allowed: boolean) => {
      if (!allowed) {
        this.log.info("will of {client} not published: not authorized", { client: clientId });
        return;
      }
      if (msg.retain && !this.options.retainAvailable) msg.retain = false;
      this.publish(msg, info);
    };
    const allowed = this.hooks.authorizePublish(info, msg);
    if (allowed instanceof Promise) {
      allowed.then(publishIf, (e) => {
        this.log.error("will of {client} not published: authorization failed: {error}", {
          client: clientId,
          error: String(e),
        });
      });
    } else publishIf(allowed);
  }

  /**
   * Runs everything that depends on time: connect timeout, keep alive (1.5×, MQTT-3.1.2-24 in
   * 3.1.1 / MQTT-3.1.2-22 in 5.0), delayed wills, session expiry, $SYS. The edge calls it every
   * few hundred ms; tests call it after moving a fake clock.
   */
  tick(): void {
    const now = this.clock.now();
    const connectTimeout = this.options.connectTimeout * 1000;
    const slowConsumer = this.options.slowConsumerTimeout * 1000;
    for (const conn of [...this.connections]) {
      if (slowConsumer > 0 && conn.state === "connected") {
        // Slow consumer: output backed up past maxPendingOutputBytes for slowConsumerTimeout.
        if (!conn.congested) conn.congestedSince = undefined;
        else if ((conn.congestedSince ??= now) + slowConsumer <= now) {
          const detail = `output backed up (${conn.link.pendingBytes} bytes unwritten) for ` +
            `${this.options.slowConsumerTimeout} s`;
          this.log.warn("closing {client}: slow consumer: {detail}", {
            client: conn.label,
            detail,
          });
          this.closeConnection(conn, {
            reasonCode: ReasonCode.QuotaExceeded,
            reason: "slow_consumer",
            publishWill: true,
            detail,
          });
          continue;
        }
      }
      if (conn.state === "awaiting_connect" || conn.state === "authenticating") {
        if (connectTimeout > 0 && now - conn.openedAt >= connectTimeout) {
          this.log.info("closing {client}: no CONNECT within {s} s", {
            client: conn.label,
            s: this.options.connectTimeout,
          });
          this.closeConnection(conn, { reason: "connect_timeout", publishWill: false });
        }
      } else if (conn.state === "connected" && conn.keepAlive > 0) {
        if (now - conn.lastActivity > conn.keepAlive * 1500) {
          this.log.info("closing {client}: keep alive {s} s timed out", {
            client: conn.label,
            s: conn.keepAlive,
          });
          this.closeConnection(conn, {
            reasonCode: ReasonCode.KeepAliveTimeout,
            reason: "keepalive_timeout",
            publishWill: true,
          });
        }
      }
    }
    for (const pw of [...this.pendingWills.values()]) {
      if (now >= pw.at) {
        this.pendingWills.delete(pw.clientId);
        this.persist?.willGone(pw.clientId);
        this.publishWill(pw.clientId, pw.username, pw.will);
      }
    }
    for (const session of [...this.#offline]) {
      if (session.expiryInterval === SESSION_NEVER_EXPIRES) continue;
      if (now >= (session.disconnectedAt ?? now) + session.expiryInterval * 1000) {
        this.endSession(session, "expired");
      }
    }
    this.#sys.tick(now);
  }

  /**
   * Stops the broker: every MQTT 5 client gets DISCONNECT 0x8B Server shutting down, every
   * connection is closed. Wills are not published (like Mosquitto on shutdown).
   */
  close(): void {
    this.#closed = true;
    for (const conn of [...this.connections]) {
      this.closeConnection(conn, {
        reasonCode: ReasonCode.ServerShuttingDown,
        reason: "server_shutdown",
        publishWill: false,
      });
    }
  }

  #safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error("hook failed: {error}", { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
