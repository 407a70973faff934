/**
 * Per-client session state (MQTT 5 §4.1): everything that outlives a network connection, in
 * one object of plain data — subscriptions with all their options, the outgoing in-flight
 * window with packet-id allocation, the outgoing queue, incoming QoS 2 packet ids awaiting
 * PUBREL, and the expiry. Everything here is serializable (`toRecord()`), so that a durable
 * store can save and restore it; the broker mutates it only through these methods.
 *
 * Pure: no Deno API.
 *
 * @module
 */
import type { ProtocolVersion, QoS } from "../codec/packets.ts";
import type { Message } from "./types.ts";
import type { Connection } from "./connection.ts";

/** One subscription of a session, with every option (MQTT 5 §3.8.3.1). */
export interface StoredSubscription {
  /** The filter as subscribed, `$share/{group}/…` or `$queue/…` included: the session's key. */
  raw: string;
  /** The topic filter without the share prefix. */
  filter: string;
  /** Share group name for shared subscriptions. */
  share?: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier (MQTT 5 §3.8.2.1.2), 1..268435455. */
  subscriptionId?: number;
}

/** One message on its way to this session's client. */
export interface OutgoingEntry {
  message: Message;
  /** Delivered QoS: min(published QoS, granted QoS) (MQTT-3.8.4-8 / 3.1.1 MQTT-3.8.4-6). */
  qos: QoS;
  /** RETAIN flag to send. */
  retain: boolean;
  /** Subscription identifiers of every matching subscription (MQTT-3.3.4-3). */
  subscriptionIds?: number[];
  /** Set when delivered through a shared subscription: lets it be re-dispatched. */
  share?: { group: string; filter: string };
  /** Assigned when the message enters the in-flight window. */
  packetId?: number;
  /** In flight: "publish" = PUBLISH sent, awaiting PUBACK/PUBREC; "pubrel" = awaiting PUBCOMP. */
  state?: "publish" | "pubrel";
  /** Sequence number in the durable store, when this entry is stored there. */
  seq?: number;
}

/** The serializable form of a session (what a durable store saves). */
export interface SessionRecord {
  clientId: string;
  protocolVersion: ProtocolVersion;
  username?: string;
  /** Seconds; SESSION_NEVER_EXPIRES = never. */
  expiryInterval: number;
  createdAt: number;
  disconnectedAt?: number;
  nextPacketId: number;
  subscriptions: StoredSubscription[];
  /** In send order. */
  inflight: OutgoingEntry[];
  queue: OutgoingEntry[];
  incomingQos2: number[];
}

export interface QueueLimits {
  maxMessages: number;
  maxBytes: number;
}

export type EnqueueResult = "queued" | "dropped";

export class Session {
  readonly clientId: string;
  protocolVersion: ProtocolVersion;
  username?: string;
  expiryInterval = 0;
  readonly createdAt: number;
  disconnectedAt?: number;
  /** The live connection, when the client is connected. Not part of the record. */
  conn?: Connection;
  /**
   * True while the session is kept in the durable store (a store is configured and its expiry
   * is above 0): every change of it is then written there too. Not part of the record.
   */
  stored = false;

  // The collections are made on first use: an idle session (most of them, on a gateway with
  // thousands of quiet devices) holds none (~0.5 KB less per connection).
  get subscriptions(): Map<string, StoredSubscription> {
    return this.#subscriptions ??= new Map();
  }
  /** Outgoing QoS 1/2 in flight, by packet id, in send order (Map keeps insertion order). */
  get inflight(): Map<number, OutgoingEntry> {
    return this.#inflight ??= new Map();
  }
  /** Incoming QoS 2 packet ids: PUBREC sent, PUBREL not yet received (MQTT-4.3.3-2 (3.1.1)). */
  get incomingQos2(): Set<number> {
    return this.#incomingQos2 ??= new Set();
  }
  #subscriptions: Map<string, StoredSubscription> | undefined;
  #inflight: Map<number, OutgoingEntry> | undefined;
  #incomingQos2: Set<number> | undefined;
  #queue: OutgoingEntry[] = [];
  #head = 0;
  #queueBytes = 0;
  #nextPacketId = 1;

  constructor(clientId: string, protocolVersion: ProtocolVersion, now: number) {
    this.clientId = clientId;
    this.protocolVersion = protocolVersion;
    this.createdAt = now;
  }

  /** Messages waiting outside the in-flight window. */
  get queueLength(): number {
    return this.#queue.length - this.#head;
  }

  /** Payload bytes waiting in the queue. */
  get queueBytes(): number {
    return this.#queueBytes;
  }

  /** Queued entries in order (oldest first). */
  *queued(): IterableIterator<OutgoingEntry> {
    for (let i = this.#head; i < this.#queue.length; i++) yield this.#queue[i];
  }

  /**
   * Appends to the queue, bounded by `limits`. When full, the oldest queued QoS 0 message is
   * dropped to make room (EMQX's rule); when there is none the new message is dropped
   * (Mosquitto's rule for `max_queued_messages`). Returns what happened to `entry`, and how
   * many older entries were evicted (each is passed to `onEvict`).
   */
  enqueue(
    entry: OutgoingEntry,
    limits: QueueLimits,
    onEvict?: (evicted: OutgoingEntry) => void,
  ): { result: EnqueueResult; evicted: number } {
    let evicted = 0;
    const size = entry.message.payload.length;
    while (this.#full(size, limits)) {
      const gone = this.#evictOldestQos0();
      if (gone === undefined) {
        return { result: "dropped", evicted };
      }
      onEvict?.(gone);
      evicted++;
    }
    this.#queue.push(entry);
    this.#queueBytes += size;
    return { result: "queued", evicted };
  }

  #full(size: number, limits: QueueLimits): boolean {
    if (limits.maxMessages > 0 && this.queueLength >= limits.maxMessages) return true;
    if (limits.maxBytes > 0 && this.queueLength > 0 && this.#queueBytes + size > limits.maxBytes) {
      return true;
    }
    return false;
  }

  #evictOldestQos0(): OutgoingEntry | undefined {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i];
      if (e.qos === 0) {
        this.#queueBytes -= e.message.payload.length;
        this.#queue.splice(i, 1);
        return e;
      }
    }
    return undefined;
  }

  /** Takes back the entry just appended by `enqueue` (it could not be stored). */
  dropLast(entry: OutgoingEntry): void {
    if (this.#queue.length > this.#head && this.#queue[this.#queue.length - 1] === entry) {
      this.#queue.pop();
      this.#queueBytes -= entry.message.payload.length;
    }
  }

  /** Puts entries back at the front of the queue (used when a window shrinks or on re-dispatch). */
  unshift(entry: OutgoingEntry): void {
    if (this.#head > 0) {
      this.#queue[--this.#head] = entry;
    } else {
      this.#queue.unshift(entry);
    }
    this.#queueBytes += entry.message.payload.length;
  }

  /** Takes the oldest queued entry. */
  dequeue(): OutgoingEntry | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const e = this.#queue[this.#head];
    this.#queue[this.#head] = undefined as unknown as OutgoingEntry;
    this.#head++;
    this.#queueBytes -= e.message.payload.length;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Removes every queued entry matching `pred`, returning them in order. */
  takeQueued(pred: (e: OutgoingEntry) => boolean): OutgoingEntry[] {
    const keep: OutgoingEntry[] = [];
    const taken: OutgoingEntry[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i];
      (pred(e) ? taken : keep).push(e);
    }
    this.#queue = keep;
    this.#head = 0;
    this.#queueBytes = keep.reduce((n, e) => n + e.message.payload.length, 0);
    return taken;
  }

  clearQueue(): void {
    this.#queue = [];
    this.#head = 0;
    this.#queueBytes = 0;
  }

  /**
   * A free packet identifier (1..65535) not used by an in-flight message (MQTT-2.2.1-3 /
   * MQTT-2.3.1-2), or undefined when all 65535 are in use.
   */
  allocatePacketId(): number | undefined {
    if (this.inflight.size >= 65535) return undefined;
    let id = this.#nextPacketId;
    while (this.inflight.has(id)) id = id === 65535 ? 1 : id + 1;
    this.#nextPacketId = id === 65535 ? 1 : id + 1;
    return id;
  }

  toRecord(): SessionRecord {
    return {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      username: this.username,
      expiryInterval: this.expiryInterval,
      createdAt: this.createdAt,
      disconnectedAt: this.disconnectedAt,
      nextPacketId: this.#nextPacketId,
      subscriptions: [...this.subscriptions.values()].map((s) => ({ ...s })),
      inflight: [...this.inflight.values()].map((e) => ({ ...e })),
      queue: [...this.queued()].map((e) => ({ ...e })),
      incomingQos2: [...this.incomingQos2],
    };
  }

  /** Rebuilds a session from its record (subscriptions must be re-added to the router by the caller). */
  static fromRecord(r: SessionRecord): Session {
    const s = new Session(r.clientId, r.protocolVersion, r.createdAt);
    s.username = r.username;
    s.expiryInterval = r.expiryInterval;
    s.disconnectedAt = r.disconnectedAt;
    s.#nextPacketId = r.nextPacketId;
    for (const sub of r.subscriptions) s.subscriptions.set(sub.raw, { ...sub });
    for (const e of r.inflight) {
      if (e.packetId !== undefined) s.inflight.set(e.packetId, { ...e });
    }
    for (const e of r.queue) s.enqueue({ ...e }, { maxMessages: 0, maxBytes: 0 });
    for (const id of r.incomingQos2) s.incomingQos2.add(id);
    return s;
  }
}
