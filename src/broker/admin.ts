/**
 * Administration of a running broker, for the REST API and the dashboard: list and inspect
 * clients, disconnect them (MQTT 5 DISCONNECT 0x98 Administrative action), list subscriptions,
 * browse and delete retained messages, publish on behalf of an operator, and a topic tree.
 *
 * Only reads the broker's public state and calls its public methods; no Deno API.
 *
 * @module
 */
import type { Properties, ProtocolVersion, QoS } from "../codec/packets.ts";
import { ReasonCode } from "../codec/reason_codes.ts";
import type { Broker } from "./broker.ts";
import type { RetainedMessage } from "./retained_index.ts";
import type { Session } from "./session.ts";
import type { Message } from "./types.ts";

/** One client (a session, connected or not) as the API lists it. */
export interface ClientSummary {
  clientId: string;
  username: string | null;
  connected: boolean;
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0. */
  protocolVersion: ProtocolVersion;
  /** "MQTT 3.1", "MQTT 3.1.1" or "MQTT 5.0". */
  protocol: string;
  /** "ip:port" of a connected client, null when offline. */
  address: string | null;
  listener: string | null;
  /** Keep alive in force (seconds), null when offline. */
  keepAlive: number | null;
  /** Clean start / clean session of the current connection, null when offline. */
  cleanStart: boolean | null;
  /** Session Expiry Interval in seconds (4294967295 = never). */
  sessionExpiryInterval: number;
  /** ms epoch. */
  createdAt: number;
  connectedAt: number | null;
  disconnectedAt: number | null;
  subscriptions: number;
  inflight: number;
  queued: number;
  queuedBytes: number;
}

/** A client with its subscriptions. */
export interface ClientDetail extends ClientSummary {
  subscriptionList: SubscriptionInfo[];
  /** Incoming QoS 2 messages received and not yet released (PUBREL). */
  incomingQos2: number;
}

export interface SubscriptionInfo {
  clientId: string;
  /** The filter as subscribed (with any `$share/{group}/` prefix). */
  topic: string;
  /** The filter without the share prefix. */
  filter: string;
  share: string | null;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | null;
}

export interface ClientFilter {
  /** Client id starts with. */
  prefix?: string;
  username?: string;
  connected?: boolean;
}

export interface SubscriptionFilter {
  clientId?: string;
  /** Exact filter (without share prefix). */
  filter?: string;
  share?: string;
}

/** A message an operator publishes through the API (already validated). */
export interface AdminPublish {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
  /** Message Expiry Interval in seconds. */
  messageExpiryInterval?: number;
}

export type DisconnectResult = "disconnected" | "session_discarded" | "not_connected";

/** A node of the topic tree: retained messages and subscriptions, merged by level. */
export interface TopicNode {
  /** This level. */
  name: string;
  /** The full topic (filter) down to this level. */
  path: string;
  /** A retained message is stored on exactly this topic. */
  retained: boolean;
  /** Subscriptions whose filter is exactly this path. */
  subscriptions: number;
  children: TopicNode[];
}

const PROTOCOL_NAMES: Record<number, string> = { 3: "MQTT 3.1", 4: "MQTT 3.1.1", 5: "MQTT 5.0" };

export class BrokerAdmin {
  constructor(readonly broker: Broker) {}

  /** Clients (sessions) matching `filter`, sorted by client id. */
  listClients(filter: ClientFilter = {}): ClientSummary[] {
    const out: ClientSummary[] = [];
    for (const session of this.broker.sessions.values()) {
      if (filter.prefix !== undefined && !session.clientId.startsWith(filter.prefix)) continue;
      const connected = this.#isConnected(session);
      if (filter.connected !== undefined && filter.connected !== connected) continue;
      const username = session.conn?.username ?? session.username;
      if (filter.username !== undefined && filter.username !== username) continue;
      out.push(this.#summary(session));
    }
    return out.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  /** One client with its subscriptions, or undefined when there is no such session. */
  client(clientId: string): ClientDetail | undefined {
    const session = this.broker.sessions.get(clientId);
    if (session === undefined) return undefined;
    return {
      ...this.#summary(session),
      subscriptionList: [...session.subscriptions.values()].map((s) =>
        subscriptionInfo(clientId, s)
      ),
      incomingQos2: session.incomingQos2.size,
    };
  }

  /**
   * Disconnects a client: MQTT 5 clients get DISCONNECT 0x98 Administrative action first. The
   * will is published (the client did not disconnect normally, MQTT-3.1.2-8). With
   * `discardSession` the session is removed too (its subscriptions and queued messages), also
   * when the client is offline. Undefined when there is no such client.
   */
  disconnect(
    clientId: string,
    options: { discardSession?: boolean } = {},
  ): DisconnectResult | undefined {
    const session = this.broker.sessions.get(clientId);
    if (session === undefined) return undefined;
    const conn = session.conn;
    const wasConnected = conn !== undefined && conn.state === "connected";
    if (wasConnected) {
      this.broker.log.info("disconnecting {client}: administrative action", {
        client: conn.label,
      });
      this.broker.closeConnection(conn, {
        reasonCode: ReasonCode.AdministrativeAction,
        reason: "administrative_action",
        publishWill: true,
      });
    }
    if (options.discardSession) {
      // closeConnection may already have ended it (expiry 0).
      if (this.broker.sessions.get(clientId) === session) {
        this.broker.endSession(session, "discarded");
      }
      return "session_discarded";
    }
    return wasConnected ? "disconnected" : "not_connected";
  }

  /** Subscriptions matching `filter`, sorted by client id then filter. */
  listSubscriptions(filter: SubscriptionFilter = {}): SubscriptionInfo[] {
    const out: SubscriptionInfo[] = [];
    const add = (clientId: string, session: Session) => {
      for (const s of session.subscriptions.values()) {
        if (filter.filter !== undefined && s.filter !== filter.filter) continue;
        if (filter.share !== undefined && s.share !== filter.share) continue;
        out.push(subscriptionInfo(clientId, s));
      }
    };
    if (filter.clientId !== undefined) {
      const session = this.broker.sessions.get(filter.clientId);
      if (session !== undefined) add(filter.clientId, session);
    } else {
      for (const [id, session] of this.broker.sessions) add(id, session);
    }
    return out.sort((a, b) =>
      a.clientId < b.clientId
        ? -1
        : a.clientId > b.clientId
        ? 1
        : a.topic < b.topic
        ? -1
        : a.topic > b.topic
        ? 1
        : 0
    );
  }

  /**
   * Retained messages whose topic matches the topic filter (default `#`, which, as for a
   * subscription, leaves out `$SYS`), sorted by topic; expired ones are skipped.
   */
  listRetained(filter = "#"): RetainedMessage[] {
    return this.broker.retained.match(filter, this.broker.clock.now())
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  /** The retained message of exactly this topic (unless expired). */
  getRetained(topic: string): RetainedMessage | undefined {
    const m = this.broker.retained.get(topic);
    if (m === undefined) return undefined;
    if (m.expiresAt !== undefined && m.expiresAt <= this.broker.clock.now()) return undefined;
    return m;
  }

  /**
   * Deletes the retained message of a topic (and from the durable store). Unlike an empty
   * retained PUBLISH, nothing is sent to subscribers. False if there was none.
   */
  deleteRetained(topic: string): boolean {
    if (!this.broker.retained.delete(topic)) return false;
    // $SYS is never stored (see Broker.publish).
    if (!topic.startsWith("$SYS")) this.broker.persist?.retainedDeleted(topic);
    return true;
  }

  /**
   * Publishes a message as the broker itself (like $SYS messages: publisher "", so No Local
   * never applies, and the ACL hooks are not asked: the API has its own authentication).
   * Returns the number of sessions it was offered to.
   */
  publish(p: AdminPublish): number {
    const now = this.broker.clock.now();
    const msg: Message = {
      topic: p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      from: "",
      receivedAt: now,
    };
    if (p.properties !== undefined && Object.keys(p.properties).length > 0) {
      msg.properties = p.properties;
    }
    if (p.messageExpiryInterval !== undefined) {
      msg.expiresAt = now + p.messageExpiryInterval * 1000;
    }
    return this.broker.publish(msg);
  }

  /**
   * The topic tree: every retained topic and every subscription filter, merged level by level
   * (children sorted by name). `$SYS` is included only when `includeSys`.
   */
  topicTree(includeSys = false): TopicNode {
    const root: TopicNode = { name: "", path: "", retained: false, subscriptions: 0, children: [] };
    const index = new Map<TopicNode, Map<string, TopicNode>>();
    const nodeFor = (topic: string): TopicNode => {
      let node = root;
      const levels = topic.split("/");
      for (let i = 0; i < levels.length; i++) {
        let kids = index.get(node);
        if (kids === undefined) index.set(node, kids = new Map());
        let child = kids.get(levels[i]);
        if (child === undefined) {
          child = {
            name: levels[i],
            path: levels.slice(0, i + 1).join("/"),
            retained: false,
            subscriptions: 0,
            children: [],
          };
          kids.set(levels[i], child);
          node.children.push(child);
        }
        node = child;
      }
      return node;
    };
    const now = this.broker.clock.now();
    for (const m of this.broker.retained.values()) {
      if (m.expiresAt !== undefined && m.expiresAt <= now) continue;
      if (!includeSys && m.topic.startsWith("$SYS")) continue;
      nodeFor(m.topic).retained = true;
    }
    for (const e of this.broker.subscriptions.entries()) {
      nodeFor(e.filter).subscriptions++;
    }
    const sort = (n: TopicNode) => {
      n.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      n.children.forEach(sort);
    };
    sort(root);
    return root;
  }

  /** Messages queued in every session, and in flight. */
  queueTotals(): { queued: number; queuedBytes: number; inflight: number } {
    let queued = 0;
    let queuedBytes = 0;
    let inflight = 0;
    for (const s of this.broker.sessions.values()) {
      queued += s.queueLength;
      queuedBytes += s.queueBytes;
      inflight += s.inflight.size;
    }
    return { queued, queuedBytes, inflight };
  }

  #isConnected(session: Session): boolean {
    return session.conn !== undefined && session.conn.state === "connected";
  }

  #summary(session: Session): ClientSummary {
    const conn = this.#isConnected(session) ? session.conn : undefined;
    const version = conn?.version ?? session.protocolVersion;
    return {
      clientId: session.clientId,
      username: conn?.username ?? session.username ?? null,
      connected: conn !== undefined,
      protocolVersion: version,
      protocol: PROTOCOL_NAMES[version] ?? `MQTT (level ${version})`,
      address: conn !== undefined
        ? formatAddress(conn.link.remoteAddress, conn.link.remotePort)
        : null,
      listener: conn?.link.listenerName ?? null,
      keepAlive: conn?.keepAlive ?? null,
      cleanStart: conn?.clean ?? null,
      sessionExpiryInterval: session.expiryInterval,
      createdAt: session.createdAt,
      connectedAt: conn?.connectedAt ?? null,
      disconnectedAt: session.disconnectedAt ?? null,
      subscriptions: session.subscriptions.size,
      inflight: session.inflight.size,
      queued: session.queueLength,
      queuedBytes: session.queueBytes,
    };
  }
}

function subscriptionInfo(
  clientId: string,
  s: Session["subscriptions"] extends Map<string, infer V> ? V : never,
): SubscriptionInfo {
  return {
    clientId,
    topic: s.raw,
    filter: s.filter,
    share: s.share ?? null,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionId: s.subscriptionId ?? null,
  };
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
