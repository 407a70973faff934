/**
 * edgemq as a stand-alone process for the broker benchmarks, so that its CPU and memory are
 * measured apart from the load generator's:
 *
 *   deno run -A scripts/bench/edgemq_server.ts --port 0 [--max-queued N] [--max-inflight N]
 *     [--options JSON] [--report-memory MS]
 *
 * Prints "edgemq listening on 127.0.0.1:PORT" once the listener is up; stops on SIGTERM/SIGINT.
 * `--options` is merged into startBroker's options (e.g. `{"dataDir":"/tmp/x",
 * "slowConsumerTimeout":3}`). `--report-memory MS` prints one line `mem {json}` every MS ms: V8
 * heap (`Deno.memoryUsage()`, after a full GC when run with `--v8-flags=--expose-gc`) and the
 * broker's sizes (sessions, subscriptions, retained, connections, queued messages), for
 * `scripts/soak.ts`.
 */

interface BrokerView {
  sessions: Map<string, { queueLength: number; conn?: unknown }>;
  subscriptions: { size: number; nodeCount: number };
  retained: { size: number; nodeCount: number };
  connections: { size: number };
  stats: {
    publishDropped: number;
    clientsExpired: number;
    droppedByReason: Record<string, number>;
  };
}
interface Running {
  port: number;
  broker: BrokerView;
  /** The broker's store, when it has one (SqliteStore: `stats.workerHeapBytes`). */
  store?: { stats: { workerHeapBytes: number } };
  close(): Promise<void>;
}
type StartBroker = (options: Record<string, unknown>) => Promise<Running> | Running;

const args = Deno.args;
function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const hostname = flag("--host") ?? "127.0.0.1";
const port = Number(flag("--port") ?? 0);
const options: Record<string, unknown> = { listeners: [{ host: hostname, port }] };
if (flag("--max-queued") !== undefined) options.maxQueuedMessages = Number(flag("--max-queued"));
if (flag("--max-inflight") !== undefined) options.maxInflight = Number(flag("--max-inflight"));

if (flag("--options") !== undefined) Object.assign(options, JSON.parse(flag("--options")!));

/** Disconnects by reason (slow_consumer, takeover, …), for --report-memory. */
const disconnects: Record<string, number> = {};
if (flag("--report-memory") !== undefined) {
  options.hooks = [{
    name: "soak-counters",
    onClientDisconnected(info: { reason: string }) {
      disconnects[info.reason] = (disconnects[info.reason] ?? 0) + 1;
    },
  }];
}

// A computed specifier keeps `deno check scripts/` independent of mod.ts's exact types.
const modUrl = new URL("../../mod.ts", import.meta.url).href;
const { startBroker } = await import(modUrl) as { startBroker: StartBroker };
const broker = await startBroker(options);
console.log(`edgemq listening on ${hostname}:${broker.port}`);

const reportMs = Number(flag("--report-memory") ?? 0);
if (reportMs > 0) {
  const gc = (globalThis as { gc?: () => void }).gc;
  setInterval(() => {
    gc?.();
    const m = Deno.memoryUsage();
    const b = broker.broker;
    let queued = 0;
    let offline = 0;
    for (const s of b.sessions.values()) {
      queued += s.queueLength;
      if (s.conn === undefined) offline++;
    }
    console.log(
      "mem " + JSON.stringify({
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        workerHeap: broker.store?.stats.workerHeapBytes ?? 0,
        sessions: b.sessions.size,
        offline,
        queued,
        subscriptions: b.subscriptions.size,
        topicNodes: b.subscriptions.nodeCount,
        retained: b.retained.size,
        retainedNodes: b.retained.nodeCount,
        connections: b.connections.size,
        dropped: b.stats.publishDropped,
        expired: b.stats.clientsExpired,
        droppedByReason: b.stats.droppedByReason,
        disconnects,
      }),
    );
  }, reportMs);
}

let stopping = false;
const stop = async () => {
  if (stopping) Deno.exit(1);
  stopping = true;
  const t = setTimeout(() => Deno.exit(1), 5000);
  try {
    await broker.close();
  } finally {
    clearTimeout(t);
    Deno.exit(0);
  }
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
