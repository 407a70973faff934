/**
 * The durable-state interface of the broker: one {@link Store}, two implementations
 * (`memory_store.ts`, `sqlite_store.ts`), one contract test suite (`tests/store/store_contract.ts`).
 *
 * ## Model
 *
 * The broker keeps its live state in memory and tells the store about every change with
 * synchronous, fire-and-forget mutation calls (`putSession`, `enqueue`, `ack`, ...). The store
 * buffers them and commits everything buffered during one event-loop turn as one transaction
 * (group commit), at the end of that turn. The SQLite store commits in a worker thread, off the
 * event loop, with at most one batch in flight: what is buffered while it commits becomes the
 * next batch, so batches grow with the load. Reading back happens once, at start-up, with
 * {@link Store.load}.
 *
 * A mutation is *durable* once the commit that holds it has succeeded. To act on that (send
 * PUBACK/PUBREC for an inbound QoS 1/2 PUBLISH only after it is stored), register a callback with
 * {@link Store.afterDurable} right after the mutations, or `await` {@link Store.flush}. Both cover
 * every mutation made before the call, and both report a failed commit (disk full, I/O error,
 * injected fault) as an error: the broker then answers 0x97 (Implementation specific error / no
 * ack) instead of acknowledging. A failed batch is discarded as a whole; the store stays usable
 * and the next batch is tried normally.
 *
 * The memory store behaves identically (same buffering, same end-of-turn commit, same callbacks),
 * it only keeps the data in process memory.
 *
 * ## Records
 *
 * All records are plain data. Payloads are `Uint8Array`; the store copies them when the mutation
 * is called, so the caller may reuse its read buffer at once. MQTT 5 properties are stored as JSON
 * (Uint8Array fields such as `correlationData` survive the round trip).
 *
 * Times are milliseconds since the epoch, taken from the injected clock (`StoreOptions.now`).
 *
 * @module
 */

import type { Properties, ProtocolVersion, QoS } from "../codec/packets.ts";

/** `expiryInterval` meaning "the session never expires" (MQTT 5 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xFFFFFFFF;

/** A session: everything but its subscriptions, messages and QoS 2 packet ids. */
export interface SessionRecord {
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Session Expiry Interval in seconds; {@link NEVER_EXPIRES} = never; 0 = ends at disconnect. */
  expiryInterval: number;
  /** ms epoch. */
  createdAt: number;
  /**
   * ms epoch of the disconnect, or null while the client is connected. A session loaded with
   * null (the broker stopped while it was online) is returned with the load time instead.
   */
  disconnectedAt: number | null;
}

/** One subscription of a session. Key: (shareGroup, topicFilter). */
export interface SubscriptionRecord {
  /** The topic filter without any `$share/{group}/` prefix. */
  topicFilter: string;
  /** The share group of a shared subscription, or null. */
  shareGroup: string | null;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, or null. */
  subscriptionId: number | null;
}

/** An application message as the store keeps it. */
export interface StoredMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 properties (absent for 3.1/3.1.1). */
  properties?: Properties;
  /** ms epoch after which an undelivered copy is dropped (Message Expiry Interval), or null. */
  expiresAt: number | null;
}

/**
 * Delivery state of an outgoing message:
 * - `queued`: not sent yet;
 * - `publish`: PUBLISH sent with `packetId`, awaiting PUBACK (QoS 1) or PUBREC (QoS 2);
 * - `pubrel`: PUBREC received, PUBREL sent, awaiting PUBCOMP.
 */
export type OutgoingState = "queued" | "publish" | "pubrel";

/** An outgoing message of a session, as returned by {@link Store.load}. */
export interface OutgoingMessage extends StoredMessage {
  /** Store-wide increasing sequence number; a session's messages are ordered by it. */
  seq: number;
  state: OutgoingState;
  /** Set once in flight (`publish`/`pubrel`), else null. */
  packetId: number | null;
}

/** A retained message (one per topic). */
export interface RetainedRecord extends StoredMessage {
  /** ms epoch at which it was stored. */
  storedAt: number;
}

/** A will message as stored (same shape as the codec's Will). */
export interface WillMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

/** A pending delayed will (MQTT 5 §3.1.3.2.2). One per client. */
export interface WillRecord {
  clientId: string;
  will: WillMessage;
  /** ms epoch at which it is due to be published. */
  publishAt: number;
}

/**
 * A message waiting in a bridge's outbound queue (src/bridge): already mapped to the upstream
 * topic, with the QoS and RETAIN flag to forward it with.
 */
export interface BridgeMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 properties to forward (absent when none). */
  properties?: Properties;
  /** ms epoch after which it must not be forwarded (Message Expiry Interval), or null. */
  expiresAt: number | null;
}

/** A bridge queue entry as returned by {@link Store.loadBridgeQueue}. */
export interface QueuedBridgeMessage extends BridgeMessage {
  /** Store-wide increasing bridge-queue sequence number: the forwarding order. */
  seq: number;
}

/** A session with all that belongs to it, as returned by {@link Store.load}. */
export interface LoadedSession {
  session: SessionRecord;
  subscriptions: SubscriptionRecord[];
  /** Outgoing messages in sequence order: in-flight ones and queued ones. */
  messages: OutgoingMessage[];
  /** Inbound QoS 2 packet ids that got PUBREC and await PUBREL, ascending. */
  incomingQos2: number[];
}

/** What was dropped by {@link Store.load} because it had expired. */
export interface LoadDropped {
  sessions: number;
  messages: number;
  retained: number;
}

/** The whole persisted state, read at start-up. */
export interface LoadedState {
  sessions: LoadedSession[];
  retained: RetainedRecord[];
  wills: WillRecord[];
  dropped: LoadDropped;
}

/** Counters and commit latencies, for `$SYS` and `/metrics`. */
export interface StoreStats {
  /** Successful commits. */
  commits: number;
  /** Failed commits (each rejected its batch's callbacks). */
  failedCommits: number;
  /** Mutations committed. */
  opsCommitted: number;
  /** Mutations buffered or being committed, not committed yet. */
  pendingOps: number;
  /**
   * Latency of successful commits in ms (over the last 1024 commits): from the moment the batch
   * is handed to the database (the store worker, or inline) until it is durable.
   */
  lastCommitMs: number;
  avgCommitMs: number;
  p50CommitMs: number;
  p99CommitMs: number;
  maxCommitMs: number;
  /** Approximate bytes held in messages, retained messages and wills (committed + pending). */
  storedBytes: number;
  /** The configured cap (Infinity when none). */
  maxStoredBytes: number;
  /** Writes refused because of maxStoredBytes. */
  rejectedWrites: number;
  /**
   * V8 heap committed by the store worker's isolate (bytes, as of its latest report: at most
   * one a second, while it commits), or 0 when no worker runs. The main isolate's heap is
   * not in it.
   */
  workerHeapBytes: number;
  /**
   * Histogram of the same commit latencies since start, in seconds, for Prometheus: cumulative
   * counts of commits that took at most `le` seconds, `le` ascending (0.0005 … 1), the last
   * bucket `le: Infinity` (+Inf, = commitLatencyCount).
   */
  commitLatencyBuckets: { le: number; count: number }[];
  /** Sum of all commit latencies since start, in seconds. */
  commitLatencySum: number;
  /** Number of commits measured (= successful commits). */
  commitLatencyCount: number;
}

/** Called once the commit holding all earlier mutations has finished; `error` is null on success. */
export type DurableCallback = (error: Error | null) => void;

/** Where the store logs what an operator must know (corruption, failed commits). */
export interface StoreLogger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

/**
 * Test hook: called inside every commit, after the batch's writes and before COMMIT. Throwing
 * makes that commit fail exactly as a failing disk would (the batch is rolled back).
 */
export interface FaultInjector {
  beforeCommit(batchSize: number): void;
}

/** Options shared by both implementations. */
export interface StoreOptions {
  /** Clock in ms epoch (for expiry at load and `storedAt`). Default `Date.now`. */
  now?: () => number;
  /** Cap on {@link StoreStats.storedBytes}; writes that would pass it are refused. Default none. */
  maxStoredBytes?: number;
  /** Default: console. */
  logger?: StoreLogger;
  /** Failure injection for tests. */
  faultInjector?: FaultInjector;
}

/** A commit failed; `cause` is the underlying error (e.g. SQLite "database or disk is full"). */
export class StoreCommitError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreCommitError";
  }
}

/** The store was used after close(). */
export class StoreClosedError extends Error {
  constructor(what: string) {
    super(`store is closed: cannot ${what}`);
    this.name = "StoreClosedError";
  }
}

/**
 * The durable state of the broker. See the module doc for the commit model.
 *
 * All mutation methods are synchronous and never throw for I/O reasons (I/O errors surface
 * through {@link afterDurable}/{@link flush}); they throw only after {@link close}.
 */
export interface Store {
  /** Whether data survives a restart (false for the memory store). */
  readonly durable: boolean;

  /**
   * Reads the whole state (start-up). Drops, and deletes from the store, what has expired at
   * `now()`: sessions whose expiry passed since disconnect (with their messages, subscriptions
   * and QoS 2 ids), queued messages past `expiresAt` (in-flight ones are kept: their delivery has
   * started), retained messages past `expiresAt`, and messages of clients that have no session.
   * Pending writes are committed first.
   */
  load(): LoadedState;

  // --- sessions -------------------------------------------------------------------------------

  /** Creates or replaces a session record (subscriptions, messages untouched). */
  putSession(session: SessionRecord): void;
  /** Deletes a session with its subscriptions, outgoing messages and QoS 2 ids (not its will). */
  deleteSession(clientId: string): void;

  /** Replaces all subscriptions of a session. */
  setSubscriptions(clientId: string, subscriptions: readonly SubscriptionRecord[]): void;
  /** Adds or replaces one subscription (key: shareGroup + topicFilter). */
  putSubscription(clientId: string, subscription: SubscriptionRecord): void;
  /** Removes one subscription. */
  deleteSubscription(clientId: string, topicFilter: string, shareGroup: string | null): void;

  // --- outgoing messages ----------------------------------------------------------------------

  /**
   * Appends a message to the session's outgoing queue in state `queued`. Returns its sequence
   * number, or null when {@link StoreOptions.maxStoredBytes} would be exceeded (nothing stored).
   */
  enqueue(clientId: string, message: StoredMessage): number | null;
  /** Marks a queued message as sent with `packetId` (state `publish`). */
  markInflight(clientId: string, seq: number, packetId: number): void;
  /** QoS 2: PUBREC received for `packetId`: state `pubrel`. */
  markPubrel(clientId: string, packetId: number): void;
  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) received: deletes the in-flight message with `packetId`. */
  ack(clientId: string, packetId: number): void;
  /** Deletes one message by sequence number (delivered QoS 0, dropped, expired). */
  removeMessage(clientId: string, seq: number): void;
  /** Deletes all outgoing messages of a session (keeps the session and subscriptions). */
  clearMessages(clientId: string): void;

  // --- inbound QoS 2 --------------------------------------------------------------------------

  /** Inbound QoS 2 PUBLISH routed and PUBREC due: remember `packetId` until PUBREL. */
  addIncomingQos2(clientId: string, packetId: number): void;
  /** PUBREL received: forget `packetId`. */
  removeIncomingQos2(clientId: string, packetId: number): void;

  // --- retained and wills ---------------------------------------------------------------------

  /** Stores or replaces the retained message of its topic. False when over maxStoredBytes. */
  putRetained(message: RetainedRecord): boolean;
  deleteRetained(topic: string): void;

  /** Stores or replaces the pending delayed will of a client. False when over maxStoredBytes. */
  putWill(will: WillRecord): boolean;
  deleteWill(clientId: string): void;

  // --- bridge queues (src/bridge) -------------------------------------------------------------

  /**
   * Appends a message to the outbound queue of bridge `bridge`. Returns its sequence number
   * (above every entry still queued, restarts included), or null when {@link StoreOptions.maxStoredBytes} would be
   * exceeded (nothing stored). Durable with the commit, like every mutation.
   */
  bridgeEnqueue(bridge: string, message: BridgeMessage): number | null;
  /** Deletes one entry of a bridge queue (upstream acknowledged it, or it was dropped). */
  bridgeRemove(bridge: string, seq: number): void;
  /** The queue of `bridge` in sequence order (pending writes are committed first). */
  loadBridgeQueue(bridge: string): QueuedBridgeMessage[];

  // --- durability -----------------------------------------------------------------------------

  /**
   * Calls `callback` once every mutation made before this call is committed (`null`), or its
   * commit failed (the error). Callbacks run in registration order, after the commit.
   */
  afterDurable(callback: DurableCallback): void;
  /** Resolves when every mutation made so far is committed; rejects with StoreCommitError. */
  flush(): Promise<void>;

  /**
   * Would a write of about `bytes` fit under {@link StoreOptions.maxStoredBytes}? Cheap (the
   * broker asks before accepting a QoS 1/2 PUBLISH); true when there is no cap.
   */
  hasRoom(bytes: number): boolean;

  readonly stats: StoreStats;

  /** Commits what is pending (errors are reported to the pending callbacks) and closes. */
  close(): Promise<void>;
}
