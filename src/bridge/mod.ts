/**
 * Bridges to upstream brokers: `createBridges(broker, options)` makes one {@link Bridge} per
 * entry, registers their hooks (before any client can publish) and loads their queues;
 * `start()` connects them in the background, `stop()` disconnects them, `status()` is what
 * `GET /api/v1/bridges` shows.
 *
 * @module
 */
import type { Broker } from "../broker/broker.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { Bridge, type BridgeQueueStore, type BridgeStatus } from "./bridge.ts";
import { type BridgeOptions, resolveBridges } from "./options.ts";

export { Bridge, type BridgeQueueStore, type BridgeState, type BridgeStatus } from "./bridge.ts";
export {
  BRIDGE_DEFAULTS,
  type BridgeOptions,
  type BridgeQueueOptions,
  type BridgeTlsOptions,
  type BridgeTopicOptions,
  resolveBridgeOptions,
  resolveBridges,
  type ResolvedBridgeOptions,
} from "./options.ts";
export { type BridgeDirection, type BridgeTopicRule, TopicMap } from "./topics.ts";

export interface BridgeSet {
  readonly bridges: readonly Bridge[];
  start(): void;
  stop(): Promise<void>;
  status(): BridgeStatus[];
}

/**
 * The queue store of the bridges: the broker's store through its Persistence (so that a local
 * PUBACK waits for the enqueue's commit), or, without one, a private memory store.
 */
function queueStore(broker: Broker): { store: BridgeQueueStore; close(): Promise<void> } {
  const persist = broker.persist;
  if (persist !== undefined) {
    return {
      store: {
        durable: persist.store.durable,
        enqueue: (b, m) => persist.bridgeEnqueue(b, m),
        remove: (b, seq) => persist.bridgeRemove(b, seq),
        load: (b) => persist.store.loadBridgeQueue(b),
      },
      close: () => Promise.resolve(),
    };
  }
  const mem = new MemoryStore();
  return {
    store: {
      durable: false,
      enqueue: (b, m) => mem.bridgeEnqueue(b, m),
      remove: (b, seq) => mem.bridgeRemove(b, seq),
      load: (b) => mem.loadBridgeQueue(b),
    },
    close: () => mem.close(),
  };
}

/** Validates the options (TypeError naming the bridge and key), loads queues, adds hooks. */
export function createBridges(broker: Broker, options: readonly BridgeOptions[]): BridgeSet {
  const resolved = resolveBridges(options);
  const qs = resolved.length > 0 ? queueStore(broker) : undefined;
  const bridges = resolved.map((o) => new Bridge(broker, o, qs!.store));
  for (const b of bridges) broker.hooks.add(b.hook);
  let stopping: Promise<void> | undefined;
  return {
    bridges,
    start() {
      for (const b of bridges) b.start();
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(bridges.map((b) => b.stop()));
        for (const b of bridges) broker.hooks.remove(b.hook);
        await qs?.close();
      })();
      return stopping;
    },
    status: () => bridges.map((b) => b.status()),
  };
}
