/**
 * The part of {@link Store} that both implementations share: buffering of mutations, one commit
 * per event-loop turn (group commit), durability callbacks, sequence numbers, byte accounting,
 * stats and expiry at load. An implementation only supplies a {@link Backend} that applies a
 * batch atomically and reads everything back.
 *
 * @module
 */

import {
  type BridgeMessage,
  type DurableCallback,
  type FaultInjector,
  type LoadedSession,
  type LoadedState,
  NEVER_EXPIRES,
  type QueuedBridgeMessage,
  type RetainedRecord,
  type SessionRecord,
  type Store,
  StoreClosedError,
  StoreCommitError,
  type StoredMessage,
  type StoreLogger,
  type StoreOptions,
  type StoreStats,
  type SubscriptionRecord,
  type WillRecord,
} from "./store.ts";
import {
  type EncodedMessage,
  encodeProperties,
  type EnqueueOp,
  messageSize,
  type Op,
} from "./encoding.ts";

/** Everything a backend holds, read back at start-up, before expiry is applied. */
export interface RawState {
  sessions: LoadedSession[];
  /** Client ids that have messages, subscriptions or QoS 2 ids but no session record. */
  orphans: string[];
  retained: RetainedRecord[];
  wills: WillRecord[];
}

/** Storage engine behind a {@link BufferedStore}. */
export interface Backend {
  readonly durable: boolean;
  /** Highest sequence number in use (0 when empty). */
  maxSeq(): number;
  /** Sum of the sizes of everything stored. */
  storedBytes(): number;
  /**
   * Applies a batch atomically: all or nothing. Calls `fault?.beforeCommit` after the writes and
   * before making them durable. Returns the bytes freed by deletions and replacements.
   */
  commit(ops: Op[], fault: FaultInjector | undefined): number;
  loadRaw(): RawState;
  /** Highest bridge-queue sequence number in use (0 when empty). */
  maxBridgeSeq(): number;
  /** One bridge's queue in sequence order. */
  loadBridgeQueue(bridge: string): QueuedBridgeMessage[];
  close(): void;
}

const LATENCY_WINDOW = 1024;

const consoleLogger: StoreLogger = {
  error: (m) => console.error(`[edgemq store] ERROR ${m}`),
  warn: (m) => console.warn(`[edgemq store] WARN ${m}`),
  info: (m) => console.info(`[edgemq store] ${m}`),
};

export function defaultLogger(): StoreLogger {
  return consoleLogger;
}

/** Is the session over at `now`? (Disconnected and its expiry interval has elapsed.) */
export function sessionExpired(s: SessionRecord, now: number): boolean {
  if (s.disconnectedAt === null || s.expiryInterval === NEVER_EXPIRES) return false;
  return s.disconnectedAt + s.expiryInterval * 1000 <= now;
}

/** A {@link Store} over a {@link Backend}. */
export class BufferedStore implements Store {
  readonly durable: boolean;
  #backend: Backend;
  #now: () => number;
  #logger: StoreLogger;
  #fault: FaultInjector | undefined;
  #maxBytes: number;

  #pending: Op[] = [];
  #callbacks: DurableCallback[] = [];
  #pendingAdded = 0;
  #committedBytes: number;
  #seq: number;
  #bridgeSeq: number;
  #scheduled = false;
  #closed = false;
  /** Payload copies made in this batch, so a fan-out copies a payload once. */
  #copies = new Map<Uint8Array, Uint8Array>();

  #commits = 0;
  #failed = 0;
  #opsCommitted = 0;
  #rejected = 0;
  #latencies = new Float64Array(LATENCY_WINDOW);
  #latencyCount = 0;
  #latencySum = 0;
  #latencyMax = 0;
  #lastLatency = 0;

  constructor(backend: Backend, options: StoreOptions = {}) {
    this.#backend = backend;
    this.durable = backend.durable;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? consoleLogger;
    this.#fault = options.faultInjector;
    this.#maxBytes = options.maxStoredBytes ?? Infinity;
    this.#committedBytes = backend.storedBytes();
    this.#seq = backend.maxSeq();
    this.#bridgeSeq = backend.maxBridgeSeq();
  }

  // --- buffering --------------------------------------------------------------------------------

  #push(op: Op, what: string): void {
    if (this.#closed) throw new StoreClosedError(what);
    this.#pending.push(op);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#onTurnEnd);
  }

  #onTurnEnd = (): void => {
    if (!this.#scheduled) return; // committed synchronously meanwhile (load/close)
    this.#commitNow();
  };

  #copy(payload: Uint8Array): Uint8Array {
    let copy = this.#copies.get(payload);
    if (copy === undefined) {
      copy = payload.slice();
      this.#copies.set(payload, copy);
    }
    return copy;
  }

  #encode(m: StoredMessage | WillRecord["will"], expiresAt: number | null): EncodedMessage {
    const props = encodeProperties(m.properties);
    return {
      topic: m.topic,
      payload: this.#copy(m.payload),
      qos: m.qos,
      retain: m.retain,
      props,
      expiresAt,
      size: messageSize(m.topic, m.payload, props),
    };
  }

  /** Reserves `size` bytes, or counts a refusal. */
  #reserve(size: number): boolean {
    if (this.#committedBytes + this.#pendingAdded + size > this.#maxBytes) {
      this.#rejected++;
      return false;
    }
    this.#pendingAdded += size;
    return true;
  }

  #commitNow(): void {
    this.#scheduled = false;
    const ops = this.#pending;
    const callbacks = this.#callbacks;
    const added = this.#pendingAdded;
    this.#pending = [];
    this.#callbacks = [];
    this.#pendingAdded = 0;
    this.#copies.clear();
    let error: Error | null = null;
    if (ops.length > 0) {
      const t0 = performance.now();
      try {
        const freed = this.#backend.commit(ops, this.#fault);
        this.#committedBytes += added - freed;
        this.#commits++;
        this.#opsCommitted += ops.length;
        this.#recordLatency(performance.now() - t0);
      } catch (e) {
        this.#failed++;
        const cause = e instanceof Error ? e : new Error(String(e));
        error = new StoreCommitError(
          `commit of ${ops.length} writes failed, nothing of it was stored: ${cause.message}`,
          { cause },
        );
        this.#logger.error(error.message);
      }
    }
    for (const cb of callbacks) {
      try {
        cb(error);
      } catch (e) {
        this.#logger.error(`an afterDurable callback threw: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }

  #recordLatency(ms: number): void {
    this.#latencies[this.#latencyCount % LATENCY_WINDOW] = ms;
    this.#latencyCount++;
    this.#latencySum += ms;
    this.#lastLatency = ms;
    if (ms > this.#latencyMax) this.#latencyMax = ms;
  }

  // --- Store ------------------------------------------------------------------------------------

  load(): LoadedState {
    if (this.#closed) throw new StoreClosedError("load");
    if (this.#pending.length > 0 || this.#callbacks.length > 0) this.#commitNow();
    const raw = this.#backend.loadRaw();
    const now = this.#now();
    const cleanup: Op[] = [];
    const dropped = { sessions: 0, messages: 0, retained: 0 };
    const sessions: LoadedSession[] = [];
    for (const clientId of raw.orphans) cleanup.push({ k: "deleteSession", clientId });
    for (const loaded of raw.sessions) {
      const s = loaded.session;
      if (s.disconnectedAt === null) {
        // The broker stopped while the client was connected: its disconnect is now.
        s.disconnectedAt = now;
        cleanup.push({ k: "putSession", s: { ...s } });
      }
      if (sessionExpired(s, now)) {
        dropped.sessions++;
        dropped.messages += loaded.messages.length;
        cleanup.push({ k: "deleteSession", clientId: s.clientId });
        continue;
      }
      const kept = [];
      for (const m of loaded.messages) {
        if (m.state === "queued" && m.expiresAt !== null && m.expiresAt <= now) {
          dropped.messages++;
          cleanup.push({ k: "remove", clientId: s.clientId, seq: m.seq });
        } else {
          kept.push(m);
        }
      }
      loaded.messages = kept;
      sessions.push(loaded);
    }
    const retained = raw.retained.filter((r) => {
      if (r.expiresAt !== null && r.expiresAt <= now) {
        dropped.retained++;
        cleanup.push({ k: "deleteRetained", topic: r.topic });
        return false;
      }
      return true;
    });
    if (cleanup.length > 0) {
      try {
        this.#committedBytes -= this.#backend.commit(cleanup, undefined);
      } catch (e) {
        this.#logger.error(
          `could not delete expired state at load (it will be retried at next start): ${e}`,
        );
      }
    }
    if (dropped.sessions + dropped.messages + dropped.retained > 0) {
      this.#logger.info(
        `load: dropped expired ${dropped.sessions} sessions, ${dropped.messages} messages, ` +
          `${dropped.retained} retained messages`,
      );
    }
    return { sessions, retained, wills: raw.wills, dropped };
  }

  putSession(session: SessionRecord): void {
    this.#push({ k: "putSession", s: { ...session } }, "putSession");
  }

  deleteSession(clientId: string): void {
    this.#push({ k: "deleteSession", clientId }, "deleteSession");
  }

  setSubscriptions(clientId: string, subscriptions: readonly SubscriptionRecord[]): void {
    this.#push(
      { k: "setSubs", clientId, subs: subscriptions.map((s) => ({ ...s })) },
      "setSubscriptions",
    );
  }

  putSubscription(clientId: string, subscription: SubscriptionRecord): void {
    this.#push({ k: "putSub", clientId, sub: { ...subscription } }, "putSubscription");
  }

  deleteSubscription(clientId: string, topicFilter: string, shareGroup: string | null): void {
    this.#push({ k: "deleteSub", clientId, topicFilter, shareGroup }, "deleteSubscription");
  }

  enqueue(clientId: string, message: StoredMessage): number | null {
    if (this.#closed) throw new StoreClosedError("enqueue");
    const m = this.#encode(message, message.expiresAt);
    if (!this.#reserve(m.size)) return null;
    const seq = ++this.#seq;
    this.#push({ k: "enqueue", clientId, seq, m, packetId: null }, "enqueue");
    return seq;
  }

  markInflight(clientId: string, seq: number, packetId: number): void {
    // Online delivery (enqueue, then send at once) is written as one insert in state `publish`.
    // Only when the enqueue is the very last op: no ack in between may see the packet id early.
    const last = this.#pending[this.#pending.length - 1] as EnqueueOp | undefined;
    if (
      last !== undefined && last.k === "enqueue" && last.seq === seq &&
      last.clientId === clientId &&
      last.packetId === null && !this.#closed
    ) {
      last.packetId = packetId;
      return;
    }
    this.#push({ k: "inflight", clientId, seq, packetId }, "markInflight");
  }

  markPubrel(clientId: string, packetId: number): void {
    this.#push({ k: "pubrel", clientId, packetId }, "markPubrel");
  }

  ack(clientId: string, packetId: number): void {
    this.#push({ k: "ack", clientId, packetId }, "ack");
  }

  removeMessage(clientId: string, seq: number): void {
    this.#push({ k: "remove", clientId, seq }, "removeMessage");
  }

  clearMessages(clientId: string): void {
    this.#push({ k: "clear", clientId }, "clearMessages");
  }

  addIncomingQos2(clientId: string, packetId: number): void {
    this.#push({ k: "addQos2", clientId, packetId }, "addIncomingQos2");
  }

  removeIncomingQos2(clientId: string, packetId: number): void {
    this.#push({ k: "delQos2", clientId, packetId }, "removeIncomingQos2");
  }

  putRetained(message: RetainedRecord): boolean {
    if (this.#closed) throw new StoreClosedError("putRetained");
    const m = this.#encode(message, message.expiresAt);
    if (!this.#reserve(m.size)) return false;
    this.#push({ k: "putRetained", topic: message.topic, m, storedAt: message.storedAt }, "");
    return true;
  }

  deleteRetained(topic: string): void {
    this.#push({ k: "deleteRetained", topic }, "deleteRetained");
  }

  putWill(will: WillRecord): boolean {
    if (this.#closed) throw new StoreClosedError("putWill");
    const m = this.#encode(will.will, null);
    if (!this.#reserve(m.size)) return false;
    this.#push({ k: "putWill", clientId: will.clientId, m, publishAt: will.publishAt }, "");
    return true;
  }

  deleteWill(clientId: string): void {
    this.#push({ k: "deleteWill", clientId }, "deleteWill");
  }

  bridgeEnqueue(bridge: string, message: BridgeMessage): number | null {
    if (this.#closed) throw new StoreClosedError("bridgeEnqueue");
    const m = this.#encode(message, message.expiresAt);
    if (!this.#reserve(m.size)) return null;
    const seq = ++this.#bridgeSeq;
    this.#push({ k: "bridgeEnqueue", bridge, seq, m }, "bridgeEnqueue");
    return seq;
  }

  bridgeRemove(bridge: string, seq: number): void {
    this.#push({ k: "bridgeRemove", bridge, seq }, "bridgeRemove");
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    if (this.#closed) throw new StoreClosedError("loadBridgeQueue");
    if (this.#pending.length > 0 || this.#callbacks.length > 0) this.#commitNow();
    return this.#backend.loadBridgeQueue(bridge);
  }

  afterDurable(callback: DurableCallback): void {
    if (this.#closed) throw new StoreClosedError("afterDurable");
    this.#callbacks.push(callback);
    this.#schedule();
  }

  hasRoom(bytes: number): boolean {
    return this.#committedBytes + this.#pendingAdded + bytes <= this.#maxBytes;
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.afterDurable((error) => error === null ? resolve() : reject(error));
    });
  }

  get stats(): StoreStats {
    const n = Math.min(this.#latencyCount, LATENCY_WINDOW);
    const sorted = this.#latencies.slice(0, n).sort();
    const pct = (p: number) => n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))];
    return {
      commits: this.#commits,
      failedCommits: this.#failed,
      opsCommitted: this.#opsCommitted,
      pendingOps: this.#pending.length,
      lastCommitMs: this.#lastLatency,
      avgCommitMs: this.#latencyCount === 0 ? 0 : this.#latencySum / this.#latencyCount,
      p50CommitMs: pct(0.5),
      p99CommitMs: pct(0.99),
      maxCommitMs: this.#latencyMax,
      storedBytes: this.#committedBytes + this.#pendingAdded,
      maxStoredBytes: this.#maxBytes,
      rejectedWrites: this.#rejected,
    };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#pending.length > 0 || this.#callbacks.length > 0) this.#commitNow();
    this.#closed = true;
    this.#backend.close();
    return Promise.resolve();
  }
}
