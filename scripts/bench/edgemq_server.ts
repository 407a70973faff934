/**
 * edgemq as a stand-alone process for the broker benchmarks, so that its CPU and memory are
 * measured apart from the load generator's:
 *
 *   deno run -A scripts/bench/edgemq_server.ts --port 0 [--max-queued N] [--max-inflight N]
 *
 * Prints "edgemq listening on 127.0.0.1:PORT" once the listener is up; stops on SIGTERM/SIGINT.
 */

interface Running {
  port: number;
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

// A computed specifier keeps `deno check scripts/` independent of mod.ts's exact types.
const modUrl = new URL("../../mod.ts", import.meta.url).href;
const { startBroker } = await import(modUrl) as { startBroker: StartBroker };
const broker = await startBroker(options);
console.log(`edgemq listening on ${hostname}:${broker.port}`);

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
