/**
 * The memory {@link Store}: same interface and commit behaviour as the SQLite store (mutations are
 * buffered and committed at the end of the event-loop turn), data kept in process memory.
 *
 * Pass the same {@link MemoryBacking} to a new MemoryStore to simulate a restart (tests).
 *
 * @module
 */

import { type Backend, BufferedStore, type RawState } from "./buffered_store.ts";
import {
  decodeProperties,
  type EncodedMessage,
  type Op,
  STATE_CODE,
  STATE_NAME,
} from "./encoding.ts";
import type {
  FaultInjector,
  LoadedSession,
  OutgoingMessage,
  QueuedBridgeMessage,
  SessionRecord,
  StoreOptions,
  SubscriptionRecord,
} from "./store.ts";

interface MemMessage {
  seq: number;
  state: 0 | 1 | 2;
  packetId: number | null;
  m: EncodedMessage;
}

interface MemClient {
  session: SessionRecord | null;
  subs: Map<string, SubscriptionRecord>;
  /** Insertion order = sequence order (sequence numbers only grow). */
  messages: Map<number, MemMessage>;
  /** packetId -> seq of in-flight messages. */
  inflight: Map<number, number>;
  qos2: Set<number>;
}

/** The data of a memory store; outlives the store so that a "restart" can be simulated. */
export class MemoryBacking {
  clients = new Map<string, MemClient>();
  retained = new Map<string, { m: EncodedMessage; storedAt: number }>();
  wills = new Map<string, { m: EncodedMessage; publishAt: number }>();
  maxSeq = 0;
  bytes = 0;
  /** Bridge name -> seq -> message (insertion order = sequence order). */
  bridgeQueues = new Map<string, Map<number, EncodedMessage>>();
  maxBridgeSeq = 0;
}

function subKey(topicFilter: string, shareGroup: string | null): string {
  return shareGroup === null ? `\u0000${topicFilter}` : `${shareGroup}\u0000${topicFilter}`;
}

class MemoryBackend implements Backend {
  readonly durable = false;
  constructor(private data: MemoryBacking) {}

  maxSeq(): number {
    return this.data.maxSeq;
  }

  storedBytes(): number {
    return this.data.bytes;
  }

  maxBridgeSeq(): number {
    return this.data.maxBridgeSeq;
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    const q = this.data.bridgeQueues.get(bridge);
    if (q === undefined) return [];
    return [...q].map(([seq, m]) => ({
      seq,
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      ...(m.props === null ? {} : { properties: decodeProperties(m.props) }),
      expiresAt: m.expiresAt,
    }));
  }

  #client(clientId: string): MemClient {
    let c = this.data.clients.get(clientId);
    if (c === undefined) {
      c = {
        session: null,
        subs: new Map(),
        messages: new Map(),
        inflight: new Map(),
        qos2: new Set(),
      };
      this.data.clients.set(clientId, c);
    }
    return c;
  }

  commit(ops: Op[], fault: FaultInjector | undefined): number {
    // Memory writes cannot fail half-way, so the fault is checked before anything is applied.
    fault?.beforeCommit(ops.length);
    const d = this.data;
    let freed = 0;
    for (const op of ops) {
      switch (op.k) {
        case "putSession":
          this.#client(op.s.clientId).session = op.s;
          break;
        case "deleteSession": {
          const c = d.clients.get(op.clientId);
          if (c !== undefined) {
            for (const msg of c.messages.values()) freed += msg.m.size;
            d.clients.delete(op.clientId);
          }
          break;
        }
        case "setSubs": {
          const subs = this.#client(op.clientId).subs;
          subs.clear();
          for (const s of op.subs) subs.set(subKey(s.topicFilter, s.shareGroup), s);
          break;
        }
        case "putSub":
          this.#client(op.clientId).subs.set(subKey(op.sub.topicFilter, op.sub.shareGroup), op.sub);
          break;
        case "deleteSub":
          d.clients.get(op.clientId)?.subs.delete(subKey(op.topicFilter, op.shareGroup));
          break;
        case "enqueue": {
          const c = this.#client(op.clientId);
          c.messages.set(op.seq, {
            seq: op.seq,
            state: op.packetId === null ? STATE_CODE.queued : STATE_CODE.publish,
            packetId: op.packetId,
            m: op.m,
          });
          if (op.packetId !== null) c.inflight.set(op.packetId, op.seq);
          if (op.seq > d.maxSeq) d.maxSeq = op.seq;
          break;
        }
        case "inflight": {
          const c = d.clients.get(op.clientId);
          const msg = c?.messages.get(op.seq);
          if (c !== undefined && msg !== undefined) {
            if (msg.packetId !== null) c.inflight.delete(msg.packetId);
            msg.state = STATE_CODE.publish;
            msg.packetId = op.packetId;
            c.inflight.set(op.packetId, op.seq);
          }
          break;
        }
        case "pubrel": {
          const c = d.clients.get(op.clientId);
          const seq = c?.inflight.get(op.packetId);
          if (c !== undefined && seq !== undefined) c.messages.get(seq)!.state = STATE_CODE.pubrel;
          break;
        }
        case "ack": {
          const c = d.clients.get(op.clientId);
          const seq = c?.inflight.get(op.packetId);
          if (c !== undefined && seq !== undefined) {
            freed += c.messages.get(seq)!.m.size;
            c.messages.delete(seq);
            c.inflight.delete(op.packetId);
          }
          break;
        }
        case "remove": {
          const c = d.clients.get(op.clientId);
          const msg = c?.messages.get(op.seq);
          if (c !== undefined && msg !== undefined) {
            freed += msg.m.size;
            c.messages.delete(op.seq);
            if (msg.packetId !== null) c.inflight.delete(msg.packetId);
          }
          break;
        }
        case "clear": {
          const c = d.clients.get(op.clientId);
          if (c !== undefined) {
            for (const msg of c.messages.values()) freed += msg.m.size;
            c.messages.clear();
            c.inflight.clear();
          }
          break;
        }
        case "addQos2":
          this.#client(op.clientId).qos2.add(op.packetId);
          break;
        case "delQos2":
          d.clients.get(op.clientId)?.qos2.delete(op.packetId);
          break;
        case "putRetained": {
          const old = d.retained.get(op.topic);
          if (old !== undefined) freed += old.m.size;
          d.retained.set(op.topic, { m: op.m, storedAt: op.storedAt });
          break;
        }
        case "deleteRetained": {
          const old = d.retained.get(op.topic);
          if (old !== undefined) {
            freed += old.m.size;
            d.retained.delete(op.topic);
          }
          break;
        }
        case "putWill": {
          const old = d.wills.get(op.clientId);
          if (old !== undefined) freed += old.m.size;
          d.wills.set(op.clientId, { m: op.m, publishAt: op.publishAt });
          break;
        }
        case "deleteWill": {
          const old = d.wills.get(op.clientId);
          if (old !== undefined) {
            freed += old.m.size;
            d.wills.delete(op.clientId);
          }
          break;
        }
        case "bridgeEnqueue": {
          let q = d.bridgeQueues.get(op.bridge);
          if (q === undefined) d.bridgeQueues.set(op.bridge, q = new Map());
          q.set(op.seq, op.m);
          if (op.seq > d.maxBridgeSeq) d.maxBridgeSeq = op.seq;
          break;
        }
        case "bridgeRemove": {
          const q = d.bridgeQueues.get(op.bridge);
          const m = q?.get(op.seq);
          if (m !== undefined) {
            freed += m.size;
            q!.delete(op.seq);
          }
          break;
        }
      }
    }
    let added = 0;
    for (const op of ops) {
      if (
        op.k === "enqueue" || op.k === "putRetained" || op.k === "putWill" ||
        op.k === "bridgeEnqueue"
      ) added += op.m.size;
    }
    d.bytes += added - freed;
    return freed;
  }

  loadRaw(): RawState {
    const sessions: LoadedSession[] = [];
    const orphans: string[] = [];
    for (const [clientId, c] of this.data.clients) {
      if (c.session === null) {
        orphans.push(clientId);
        continue;
      }
      const messages: OutgoingMessage[] = [];
      for (const msg of c.messages.values()) {
        messages.push({
          seq: msg.seq,
          state: STATE_NAME[msg.state],
          packetId: msg.packetId,
          topic: msg.m.topic,
          payload: msg.m.payload,
          qos: msg.m.qos,
          retain: msg.m.retain,
          ...(msg.m.props === null ? {} : { properties: decodeProperties(msg.m.props) }),
          expiresAt: msg.m.expiresAt,
        });
      }
      sessions.push({
        session: { ...c.session },
        subscriptions: [...c.subs.values()].map((s) => ({ ...s })),
        messages,
        incomingQos2: [...c.qos2].sort((a, b) => a - b),
      });
    }
    const retained = [...this.data.retained.values()].map(({ m, storedAt }) => ({
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      ...(m.props === null ? {} : { properties: decodeProperties(m.props) }),
      expiresAt: m.expiresAt,
      storedAt,
    }));
    const wills = [...this.data.wills].map(([clientId, { m, publishAt }]) => ({
      clientId,
      will: {
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        ...(m.props === null ? {} : { properties: decodeProperties(m.props) }),
      },
      publishAt,
    }));
    return { sessions, orphans, retained, wills };
  }

  close(): void {}
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions extends StoreOptions {
  /** Data to start from (simulated restart); default a fresh, empty one. */
  backing?: MemoryBacking;
}

/** A {@link Store} that keeps everything in memory (not durable). */
export class MemoryStore extends BufferedStore {
  constructor(options: MemoryStoreOptions = {}) {
    super(new MemoryBackend(options.backing ?? new MemoryBacking()), options);
  }
}
