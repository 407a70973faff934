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
  type BridgeEnqueueOp,
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
  /**
   * Optional: commits a batch off the event loop (the store worker). `done` is called once,
   * always asynchronously, with the bytes freed or the error. The store keeps at most one batch
   * submitted; {@link commit} (used by load) must queue behind it. The ops are handed over.
   */
  submit?(ops: Op[], done: (freed: number, error: Error | null) => void): void;
  /** Optional: V8 heap committed by the store worker's isolate, 0 when none runs. */
  workerHeapBytes?(): number;
}

/** Upper bounds (seconds) of the commit-latency histogram buckets (+Inf is added). */
export const COMMIT_LATENCY_BOUNDS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
];

/** A batch taken from the buffer: committed, or waiting for an earlier one to finish. */
interface Batch {
  ops: number;
  added: number;
  callbacks: DurableCallback[];
  /** The commit has finished (or there was nothing to commit). */
  done: boolean;
  freed: number;
  error: Error | null;
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

  /** Buffered ops; null: cancelled (see {@link #cancel}). */
  #pending: (Op | null)[] = [];
  #callbacks: DurableCallback[] = [];
  #pendingAdded = 0;
  #cancelled = 0;
  /** Buffered enqueues by sequence number (index in #pending). */
  #pendingEnqueues = new Map<number, number>();
  /** Buffered enqueues sent at once (packet id set), by client then packet id (index). */
  #pendingSent = new Map<string, Map<number, number>>();
  /** Buffered bridge enqueues by bridge sequence number (index). */
  #pendingBridge = new Map<number, number>();
  /** Buffered acks by client then packet id (index of the last one). */
  #pendingAcks = new Map<string, Map<number, number>>();
  #committedBytes: number;
  #seq: number;
  #bridgeSeq: number;
  #scheduled = false;
  #closed = false;
  /** Payload copies made in this batch, so a fan-out copies a payload once. */
  #copies = new Map<Uint8Array, Uint8Array>();
  /** Batches taken from the buffer whose callbacks have not run yet, in order. */
  #batches: Batch[] = [];
  /** Bytes added by the batches in {@link #batches}. */
  #batchedAdded = 0;
  /** Ops in {@link #batches} not committed yet. */
  #batchedOps = 0;
  /** A batch is submitted to the backend and not finished (at most one). */
  #submitted = false;
  /** Resolved when nothing is buffered, submitted or waiting any more (close). */
  #idle: PromiseWithResolvers<void> | undefined;
  #closing: Promise<void> | undefined;

  #commits = 0;
  #failed = 0;
  #opsCommitted = 0;
  #rejected = 0;
  #latencies = new Float64Array(LATENCY_WINDOW);
  #latencyCount = 0;
  #latencySum = 0;
  #latencyMax = 0;
  #lastLatency = 0;
  /** Non-cumulative counts per bucket of COMMIT_LATENCY_BOUNDS, +Inf last. */
  #buckets = new Float64Array(COMMIT_LATENCY_BOUNDS.length + 1);

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
    // While a batch is submitted, its completion takes the next batch.
    if (this.#scheduled || this.#submitted) return;
    this.#scheduled = true;
    setImmediate(this.#onTurnEnd);
  }

  #onTurnEnd = (): void => {
    if (!this.#scheduled) return; // taken meanwhile (load/close/a finished submit)
    this.#scheduled = false;
    if (!this.#submitted) this.#dispatch(false);
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
    if (this.#committedBytes + this.#batchedAdded + this.#pendingAdded + size > this.#maxBytes) {
      this.#rejected++;
      return false;
    }
    this.#pendingAdded += size;
    return true;
  }

  /**
   * Drops a buffered enqueue whose message is already gone again (acknowledged, delivered at
   * QoS 0, removed) in the same batch: inserting and deleting a row in one transaction leaves
   * nothing, so neither is written. With online subscribers most messages are acknowledged
   * before their batch commits, and the batch shrinks to what is really pending.
   */
  #cancel(index: number): void {
    const op = this.#pending[index] as EnqueueOp | BridgeEnqueueOp;
    this.#pending[index] = null;
    this.#cancelled++;
    this.#pendingAdded -= op.m.size;
    if (op.k === "enqueue") {
      this.#pendingEnqueues.delete(op.seq);
      if (op.packetId !== null) this.#pendingSent.get(op.clientId)?.delete(op.packetId);
    } else {
      this.#pendingBridge.delete(op.seq);
    }
  }

  /**
   * Takes the buffered ops and callbacks as one batch and commits it: submitted to the backend
   * (off the event loop) when it can, else (`sync`, or an inline backend) right here. Callbacks
   * run in batch order, once the batch and every earlier one has finished.
   */
  #dispatch(sync: boolean): void {
    this.#scheduled = false;
    const ops =
      (this.#cancelled > 0 ? this.#pending.filter((op) => op !== null) : this.#pending) as Op[];
    const callbacks = this.#callbacks;
    const added = this.#pendingAdded;
    this.#pending = [];
    this.#callbacks = [];
    this.#pendingAdded = 0;
    this.#cancelled = 0;
    this.#pendingEnqueues.clear();
    this.#pendingSent.clear();
    this.#pendingBridge.clear();
    this.#pendingAcks.clear();
    this.#copies.clear();
    if (ops.length === 0 && this.#batches.length === 0) {
      this.#runCallbacks(callbacks, null);
      this.#checkIdle();
      return;
    }
    const batch: Batch = { ops: ops.length, added, callbacks, done: false, freed: 0, error: null };
    this.#batches.push(batch);
    this.#batchedAdded += added;
    this.#batchedOps += ops.length;
    if (ops.length === 0) {
      batch.done = true; // nothing to commit: waits for the batches before it only
    } else if (this.#backend.submit !== undefined && !sync) {
      try {
        // Injected faults are decided here, on the caller's thread, before anything is sent.
        this.#fault?.beforeCommit(ops.length);
      } catch (e) {
        this.#finish(batch, 0, e, 0);
        this.#drain();
        return;
      }
      this.#submitted = true;
      const t0 = performance.now();
      this.#backend.submit(ops, (freed, error) => {
        this.#submitted = false;
        this.#finish(batch, freed, error, performance.now() - t0);
        this.#drain();
        // What was buffered meanwhile is the next batch (group commit under load).
        if (
          (this.#pending.length > 0 || this.#callbacks.length > 0) && !this.#submitted
        ) this.#dispatch(false);
      });
      return;
    } else {
      const t0 = performance.now();
      try {
        const freed = this.#backend.commit(ops, this.#fault);
        this.#finish(batch, freed, null, performance.now() - t0);
      } catch (e) {
        this.#finish(batch, 0, e, 0);
      }
    }
    this.#drain();
  }

  #finish(batch: Batch, freed: number, error: unknown, ms: number): void {
    batch.done = true;
    if (error === null) {
      batch.freed = freed;
      this.#recordLatency(ms);
      return;
    }
    const cause = error instanceof Error ? error : new Error(String(error));
    batch.error = new StoreCommitError(
      `commit of ${batch.ops} writes failed, nothing of it was stored: ${cause.message}`,
      { cause },
    );
  }

  /** Accounts for and calls back the finished batches at the head of the queue. */
  #drain(): void {
    const batches = this.#batches;
    while (batches.length > 0 && batches[0].done) {
      const batch = batches.shift()!;
      this.#batchedAdded -= batch.added;
      this.#batchedOps -= batch.ops;
      if (batch.ops > 0) {
        if (batch.error === null) {
          this.#committedBytes += batch.added - batch.freed;
          this.#commits++;
          this.#opsCommitted += batch.ops;
        } else {
          this.#failed++;
          this.#logger.error(batch.error.message);
        }
      }
      this.#runCallbacks(batch.callbacks, batch.error);
    }
    this.#checkIdle();
  }

  #runCallbacks(callbacks: DurableCallback[], error: Error | null): void {
    for (const cb of callbacks) {
      try {
        cb(error);
      } catch (e) {
        this.#logger.error(`an afterDurable callback threw: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }

  #checkIdle(): void {
    if (
      this.#idle !== undefined && this.#batches.length === 0 && !this.#submitted &&
      this.#pending.length === 0 && this.#callbacks.length === 0
    ) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  /** Commits what is buffered before a synchronous read (queued behind a submitted batch). */
  #commitBeforeRead(): void {
    if (this.#pending.length > 0 || this.#callbacks.length > 0) this.#dispatch(true);
  }

  #recordLatency(ms: number): void {
    this.#latencies[this.#latencyCount % LATENCY_WINDOW] = ms;
    this.#latencyCount++;
    this.#latencySum += ms;
    this.#lastLatency = ms;
    if (ms > this.#latencyMax) this.#latencyMax = ms;
    const sec = ms / 1000;
    let i = 0;
    while (i < COMMIT_LATENCY_BOUNDS.length && sec > COMMIT_LATENCY_BOUNDS[i]) i++;
    this.#buckets[i]++;
  }

  // --- Store ------------------------------------------------------------------------------------

  load(): LoadedState {
    if (this.#closed) throw new StoreClosedError("load");
    this.#commitBeforeRead();
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
    this.#pendingEnqueues.set(seq, this.#pending.length - 1);
    return seq;
  }

  markInflight(clientId: string, seq: number, packetId: number): void {
    // A message enqueued in this batch is written as one insert in state `publish` (online
    // delivery: enqueue, then send at once; or sent a few turns later). Not when an ack of the
    // packet id's previous message comes after the enqueue: that ack must not see the new row.
    const index = this.#closed ? undefined : this.#pendingEnqueues.get(seq);
    const op = index === undefined ? undefined : this.#pending[index] as EnqueueOp;
    if (op !== undefined && op.clientId === clientId && op.packetId === null) {
      const ackIndex = this.#pendingAcks.get(clientId)?.get(packetId);
      if (ackIndex === undefined || ackIndex < index!) {
        op.packetId = packetId;
        let sent = this.#pendingSent.get(clientId);
        if (sent === undefined) this.#pendingSent.set(clientId, sent = new Map());
        sent.set(packetId, index!);
        return;
      }
    }
    this.#push({ k: "inflight", clientId, seq, packetId }, "markInflight");
  }

  markPubrel(clientId: string, packetId: number): void {
    this.#push({ k: "pubrel", clientId, packetId }, "markPubrel");
  }

  ack(clientId: string, packetId: number): void {
    const index = this.#closed ? undefined : this.#pendingSent.get(clientId)?.get(packetId);
    if (index !== undefined) return this.#cancel(index);
    this.#push({ k: "ack", clientId, packetId }, "ack");
    let acks = this.#pendingAcks.get(clientId);
    if (acks === undefined) this.#pendingAcks.set(clientId, acks = new Map());
    acks.set(packetId, this.#pending.length - 1);
  }

  removeMessage(clientId: string, seq: number): void {
    const index = this.#closed ? undefined : this.#pendingEnqueues.get(seq);
    if (index !== undefined && (this.#pending[index] as EnqueueOp).clientId === clientId) {
      return this.#cancel(index);
    }
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
    this.#pendingBridge.set(seq, this.#pending.length - 1);
    return seq;
  }

  bridgeRemove(bridge: string, seq: number): void {
    const index = this.#closed ? undefined : this.#pendingBridge.get(seq);
    if (index !== undefined && (this.#pending[index] as BridgeEnqueueOp).bridge === bridge) {
      return this.#cancel(index);
    }
    this.#push({ k: "bridgeRemove", bridge, seq }, "bridgeRemove");
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    if (this.#closed) throw new StoreClosedError("loadBridgeQueue");
    this.#commitBeforeRead();
    return this.#backend.loadBridgeQueue(bridge);
  }

  afterDurable(callback: DurableCallback): void {
    if (this.#closed) throw new StoreClosedError("afterDurable");
    this.#callbacks.push(callback);
    this.#schedule();
  }

  hasRoom(bytes: number): boolean {
    return this.#committedBytes + this.#batchedAdded + this.#pendingAdded + bytes <=
      this.#maxBytes;
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
      pendingOps: this.#pending.length - this.#cancelled + this.#batchedOps,
      lastCommitMs: this.#lastLatency,
      avgCommitMs: this.#latencyCount === 0 ? 0 : this.#latencySum / this.#latencyCount,
      p50CommitMs: pct(0.5),
      p99CommitMs: pct(0.99),
      maxCommitMs: this.#latencyMax,
      storedBytes: this.#committedBytes + this.#batchedAdded + this.#pendingAdded,
      maxStoredBytes: this.#maxBytes,
      rejectedWrites: this.#rejected,
      workerHeapBytes: this.#backend.workerHeapBytes?.() ?? 0,
      commitLatencyBuckets: this.#cumulativeBuckets(),
      commitLatencySum: this.#latencySum / 1000,
      commitLatencyCount: this.#latencyCount,
    };
  }

  #cumulativeBuckets(): { le: number; count: number }[] {
    const out: { le: number; count: number }[] = [];
    let sum = 0;
    for (let i = 0; i <= COMMIT_LATENCY_BOUNDS.length; i++) {
      sum += this.#buckets[i];
      out.push({
        le: i < COMMIT_LATENCY_BOUNDS.length ? COMMIT_LATENCY_BOUNDS[i] : Infinity,
        count: sum,
      });
    }
    return out;
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    if (this.#backend.submit === undefined) {
      // Inline backend: everything is committed right here.
      this.#commitBeforeRead();
      this.#closed = true;
      this.#backend.close();
      this.#closing = Promise.resolve();
      return this.#closing;
    }
    this.#closed = true;
    this.#idle = Promise.withResolvers<void>();
    const idle = this.#idle.promise;
    if (!this.#submitted) this.#dispatch(false);
    this.#checkIdle();
    this.#closing = idle.then(() => this.#backend.close());
    return this.#closing;
  }
}
