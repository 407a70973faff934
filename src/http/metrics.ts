/**
 * `GET /metrics`: the Prometheus text exposition format (version 0.0.4). Names follow the
 * Prometheus conventions: `edgemq_` prefix, base units (seconds, bytes), `_total` for counters,
 * a HELP and a TYPE line per family.
 *
 * Pure: every input is passed in (process memory and event-loop lag included).
 *
 * @module
 */
import type { BridgeStatus } from "../bridge/bridge.ts";
import type { BrokerAdmin } from "../broker/admin.ts";
import type { Broker } from "../broker/broker.ts";
import type { StoreStats } from "../store/store.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
export type Sample = [labels: Labels | undefined, value: number, suffix?: string];

/** Builds an exposition, one metric family at a time. */
export class Exposition {
  #lines: string[] = [];

  family(
    name: string,
    type: "counter" | "gauge" | "summary" | "histogram" | "untyped",
    help: string,
    samples: Sample[],
  ): this {
    this.#lines.push(`# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`);
    this.#lines.push(`# TYPE ${name} ${type}`);
    for (const [labels, value, suffix] of samples) {
      this.#lines.push(`${name}${suffix ?? ""}${formatLabels(labels)} ${formatValue(value)}`);
    }
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * The samples of a histogram without labels: `_bucket{le}` (cumulative, `le` ascending, ending
 * with `+Inf` = the count, added when the buckets lack it), `_sum` and `_count`.
 */
export function histogramSamples(
  buckets: readonly { le: number; count: number }[],
  sum: number,
  count: number,
): Sample[] {
  const out: Sample[] = [...buckets]
    .sort((a, b) => a.le - b.le)
    .map((b) => [{ le: formatValue(b.le) }, b.count, "_bucket"]);
  if (buckets.every((b) => b.le !== Infinity)) out.push([{ le: "+Inf" }, count, "_bucket"]);
  out.push([undefined, sum, "_sum"], [undefined, count, "_count"]);
  return out;
}

/** What the metrics are read from. */
export interface MetricsSources {
  broker: Broker;
  admin: BrokerAdmin;
  store?: { readonly stats: StoreStats };
  /** `Deno.memoryUsage()` or a fake. */
  memory?: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
  lag?: { readonly last: number; readonly max: number };
  /** The bridges' status (no `edgemq_bridge_*` families when empty). */
  bridges?: readonly BridgeStatus[];
  /** Wall clock, ms. */
  now: () => number;
}

const QOS = ["0", "1", "2"];

/**
 * Why a bridge drops a message (`BridgeStatus.droppedByReason` keys). Each one is exported from
 * the start (0 until it happens) so that rate() and alerts work before the first drop; a reason
 * not listed here is exported too, once it has happened.
 */
export const BRIDGE_DROP_REASONS = [
  "expired",
  "qos0_lost",
  "qos0_offline",
  "queue_full",
  "rejected",
  "store_error",
  "store_full",
  "unsendable",
] as const;

export function renderMetrics(src: MetricsSources): string {
  const b = src.broker;
  const s = b.stats;
  const e = new Exposition();
  const now = src.now();

  e.family("edgemq_build_info", "gauge", "Version of the broker (always 1).", [
    [{ version: b.version, node: b.options.nodeName }, 1],
  ]);
  e.family("edgemq_start_time_seconds", "gauge", "Start time of the broker, seconds since epoch.", [
    [undefined, b.startedAt / 1000],
  ]);
  e.family("edgemq_uptime_seconds", "gauge", "Seconds since the broker started.", [
    [undefined, Math.max(0, (now - b.startedAt) / 1000)],
  ]);

  // --- connections and sessions
  const open = new Map<string, number>();
  for (const c of b.connections) {
    open.set(c.link.listenerName, (open.get(c.link.listenerName) ?? 0) + 1);
  }
  const listeners = new Set([...open.keys(), ...s.connectionsByListener.keys()]);
  e.family(
    "edgemq_connections",
    "gauge",
    "Open network connections (connected clients and connections still in CONNECT), by listener.",
    [...listeners].sort().map((l) => [{ listener: l }, open.get(l) ?? 0] as Sample),
  );
  e.family(
    "edgemq_connections_accepted_total",
    "counter",
    "Network connections accepted, by listener.",
    [...listeners].sort().map((l) => [{ listener: l }, s.connectionsByListener.get(l) ?? 0]),
  );
  e.family("edgemq_clients_connected", "gauge", "Clients connected (CONNECT accepted).", [
    [undefined, b.connectedCount],
  ]);
  e.family("edgemq_clients_connected_max", "gauge", "Highest number of connected clients seen.", [
    [undefined, s.clientsMaximum],
  ]);
  e.family(
    "edgemq_sessions",
    "gauge",
    "Sessions, by state: online (client connected) or offline (persistent session kept).",
    [
      [{ state: "online" }, b.connectedCount],
      [{ state: "offline" }, b.disconnectedCount],
    ],
  );
  e.family("edgemq_sessions_expired_total", "counter", "Sessions removed by expiry.", [
    [undefined, s.clientsExpired],
  ]);

  // --- packets, messages, bytes
  e.family(
    "edgemq_packets_received_total",
    "counter",
    "MQTT control packets received, of any type.",
    [
      [undefined, s.messagesReceived],
    ],
  );
  e.family("edgemq_packets_sent_total", "counter", "MQTT control packets sent, of any type.", [
    [undefined, s.messagesSent],
  ]);
  const byQos = (list: readonly number[]): Sample[] => QOS.map((q, i) => [{ qos: q }, list[i]]);
  e.family(
    "edgemq_messages_received_total",
    "counter",
    "PUBLISH packets received from clients, by QoS.",
    byQos(s.publishReceivedByQos),
  );
  e.family(
    "edgemq_messages_sent_total",
    "counter",
    "PUBLISH packets sent to clients (re-deliveries not counted), by QoS.",
    byQos(s.publishSentByQos),
  );
  e.family(
    "edgemq_message_payload_bytes_received_total",
    "counter",
    "Payload bytes of PUBLISH packets received, by QoS.",
    byQos(s.payloadBytesReceivedByQos),
  );
  e.family(
    "edgemq_message_payload_bytes_sent_total",
    "counter",
    "Payload bytes of PUBLISH packets sent, by QoS.",
    byQos(s.payloadBytesSentByQos),
  );
  e.family("edgemq_network_bytes_received_total", "counter", "Bytes read from client sockets.", [
    [undefined, s.bytesReceived],
  ]);
  e.family("edgemq_network_bytes_sent_total", "counter", "Bytes written to client sockets.", [
    [undefined, s.bytesSent],
  ]);
  // Every reason is always present (0 until it happens), so that rate() works from the start.
  const reasons: Record<string, number> = {
    queue_full: 0,
    slow_consumer: 0,
    packet_too_large: 0,
    store_full: 0,
    ...s.droppedByReason,
  };
  const dropped: Sample[] = Object.keys(reasons).sort().map((r) => [{ reason: r }, reasons[r]]);
  dropped.push([{ reason: "expired" }, s.expiredDropped]);
  e.family(
    "edgemq_messages_dropped_total",
    "counter",
    "Messages dropped instead of delivered, by reason: queue full, slow consumer (output " +
      "buffer full), too large for the client, store full, expired.",
    dropped,
  );
  e.family(
    "edgemq_messages_refused_total",
    "counter",
    "Incoming QoS 1/2 PUBLISH refused because the store failed or is full.",
    [[{ reason: "store" }, s.storeRefused]],
  );

  // --- state
  const q = src.admin.queueTotals();
  e.family("edgemq_retained_messages", "gauge", "Retained messages stored.", [
    [undefined, b.retained.size],
  ]);
  e.family("edgemq_subscriptions", "gauge", "Subscriptions (shared ones included).", [
    [undefined, b.subscriptions.size],
  ]);
  e.family(
    "edgemq_messages_queued",
    "gauge",
    "Messages queued in sessions, waiting for the in-flight window or for the client.",
    [
      [undefined, q.queued],
    ],
  );
  e.family(
    "edgemq_messages_queued_bytes",
    "gauge",
    "Payload bytes of the messages queued in sessions.",
    [
      [undefined, q.queuedBytes],
    ],
  );
  e.family(
    "edgemq_messages_inflight",
    "gauge",
    "Outgoing QoS 1/2 messages sent and not yet acknowledged.",
    [
      [undefined, q.inflight],
    ],
  );
  e.family(
    "edgemq_internal_errors_total",
    "counter",
    "Bugs caught at the connection boundary (each closed one connection).",
    [
      [undefined, s.internalErrors],
    ],
  );

  // --- store
  if (src.store !== undefined) {
    const st = src.store.stats;
    e.family("edgemq_store_commits_total", "counter", "Store transactions committed.", [
      [undefined, st.commits],
    ]);
    e.family(
      "edgemq_store_commit_failures_total",
      "counter",
      "Store transactions that failed (disk full, I/O error).",
      [
        [undefined, st.failedCommits],
      ],
    );
    e.family("edgemq_store_operations_committed_total", "counter", "Store mutations committed.", [
      [undefined, st.opsCommitted],
    ]);
    e.family(
      "edgemq_store_pending_operations",
      "gauge",
      "Store mutations buffered for the next commit.",
      [
        [undefined, st.pendingOps],
      ],
    );
    e.family(
      "edgemq_store_commit_duration_seconds",
      "histogram",
      "Duration of successful store commits since start, from the batch handed to the " +
        "database until it is durable.",
      histogramSamples(st.commitLatencyBuckets, st.commitLatencySum, st.commitLatencyCount),
    );
    e.family(
      "edgemq_store_bytes",
      "gauge",
      "Approximate bytes held by the store (messages, retained, wills).",
      [
        [undefined, st.storedBytes],
      ],
    );
    if (Number.isFinite(st.maxStoredBytes)) {
      e.family("edgemq_store_max_bytes", "gauge", "Configured cap on the store's bytes.", [
        [undefined, st.maxStoredBytes],
      ]);
    }
    e.family(
      "edgemq_store_worker_heap_bytes",
      "gauge",
      "V8 heap committed by the store worker's isolate (0 when it does not run).",
      [
        [undefined, st.workerHeapBytes],
      ],
    );
    e.family(
      "edgemq_store_rejected_writes_total",
      "counter",
      "Store writes refused because the store was full.",
      [
        [undefined, st.rejectedWrites],
      ],
    );
  }

  if (src.bridges !== undefined && src.bridges.length > 0) renderBridges(e, src.bridges);

  // --- process
  if (src.lag !== undefined) {
    e.family(
      "edgemq_event_loop_lag_seconds",
      "gauge",
      "How late the latest event-loop probe timer fired.",
      [
        [undefined, src.lag.last],
      ],
    );
    e.family(
      "edgemq_event_loop_lag_max_seconds",
      "gauge",
      "Largest event-loop lag of the last minute.",
      [
        [undefined, src.lag.max],
      ],
    );
  }
  if (src.memory !== undefined) {
    const m = src.memory();
    e.family("process_resident_memory_bytes", "gauge", "Resident set size of the process.", [
      [undefined, m.rss],
    ]);
    e.family("edgemq_heap_used_bytes", "gauge", "V8 heap in use.", [[undefined, m.heapUsed]]);
    e.family("edgemq_heap_total_bytes", "gauge", "V8 heap reserved.", [[undefined, m.heapTotal]]);
    e.family(
      "edgemq_external_memory_bytes",
      "gauge",
      "Memory of objects bound to V8 objects outside the heap (buffers).",
      [
        [undefined, m.external],
      ],
    );
  }
  return e.toString();
}

/** The `edgemq_bridge_*` families: one sample per bridge, labelled `bridge="<name>"`. */
function renderBridges(e: Exposition, bridges: readonly BridgeStatus[]): void {
  const each = (value: (b: BridgeStatus) => number): Sample[] =>
    bridges.map((b) => [{ bridge: b.name }, value(b)]);
  e.family(
    "edgemq_bridge_connected",
    "gauge",
    "Whether the bridge is connected to its upstream broker (1) or not (0).",
    each((b) => b.connected ? 1 : 0),
  );
  e.family(
    "edgemq_bridge_queued_messages",
    "gauge",
    "Messages queued for the upstream, waiting for its acknowledgement (in flight included).",
    each((b) => b.queued),
  );
  e.family(
    "edgemq_bridge_queued_bytes",
    "gauge",
    "Bytes of the messages queued for the upstream.",
    each((b) => b.queuedBytes),
  );
  e.family(
    "edgemq_bridge_inflight_messages",
    "gauge",
    "Messages sent to the upstream and not acknowledged yet.",
    each((b) => b.inflight),
  );
  e.family(
    "edgemq_bridge_forwarded_messages_total",
    "counter",
    "Messages acknowledged by (QoS 0: written to) the upstream broker.",
    each((b) => b.forwarded),
  );
  e.family(
    "edgemq_bridge_received_messages_total",
    "counter",
    "Messages received from the upstream broker and published locally.",
    each((b) => b.received),
  );
  const dropped: Sample[] = [];
  for (const b of bridges) {
    const reasons = new Set<string>([...BRIDGE_DROP_REASONS, ...Object.keys(b.droppedByReason)]);
    for (const r of [...reasons].sort()) {
      dropped.push([{ bridge: b.name, reason: r }, b.droppedByReason[r] ?? 0]);
    }
  }
  e.family(
    "edgemq_bridge_dropped_messages_total",
    "counter",
    "Messages the bridge dropped instead of forwarding, by reason: queue full, QoS 0 while " +
      "offline or on a lost connection, expired, refused by the upstream, unsendable, store " +
      "full or failing.",
    dropped,
  );
  e.family(
    "edgemq_bridge_reconnects_total",
    "counter",
    "Connections to the upstream established after the first one.",
    each((b) => b.reconnects),
  );
  e.family(
    "edgemq_bridge_connect_failures",
    "gauge",
    "Failed connection attempts since the last successful one (0 while connected).",
    each((b) => b.failedAttempts),
  );
  e.family(
    "edgemq_bridge_last_error_timestamp_seconds",
    "gauge",
    "When the bridge last failed (connection refused, lost, upstream error), seconds since " +
      "epoch; 0 if never.",
    each((b) => (b.lastErrorAt ?? 0) / 1000),
  );
}
