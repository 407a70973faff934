/**
 * Benchmark dispatcher: `deno task bench [scenario…] [--flags]`. Without a scenario every
 * scenario runs. Each scenario is a module exporting `run(args: string[])`; flags (arguments
 * starting with "-") are passed to every scenario.
 */
type Scenario = { run(args: string[]): void | Promise<void> };

const scenarios: Record<string, () => Promise<Scenario>> = {
  codec: () => import("./codec.ts"),
  bridge: () => import("./bridge.ts"),
  router: () => import("./router.ts"),
  store: () => import("./store.ts"),
  "fanin-store": () => import("./fanin_store.ts"),
  startup: () => import("./startup.ts"),
  "worker-hop": () => import("./worker_hop.ts"),
};

// Broker scenarios (edgemq vs mosquitto, scripts/bench/suite.ts): every selected one runs in a
// single suite run, so that brokers are compared in one table. `brokers` selects them all.
const BROKER_SCENARIOS = [
  "fanin-qos0",
  "fanin-qos1",
  "fanin-qos2",
  "latency",
  "fanout",
  "shared",
  "idle",
  "retained",
];
const brokerSuite = () => import("./suite.ts");
// Fan-in QoS 0 over each listener type (scripts/bench/transports.ts).
for (const t of ["tcp", "tls", "mtls", "ws", "wss"] as const) {
  scenarios[`fanin-${t}`] = () => import("./transports.ts").then((m) => m.scenario(t));
}
for (const name of [...BROKER_SCENARIOS, "brokers"]) scenarios[name] = brokerSuite;

const names = Deno.args.filter((a) => !a.startsWith("-"));
const flags = Deno.args.filter((a) => a.startsWith("-"));
const unknown = names.filter((n) => !(n in scenarios));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}`,
  );
  Deno.exit(2);
}
const selected = names.length > 0 ? names : Object.keys(scenarios).filter((n) => n !== "brokers");
const broker = selected.filter((n) => scenarios[n] === brokerSuite);
let brokersDone = false;
for (const name of selected) {
  if (scenarios[name] === brokerSuite) {
    if (brokersDone) continue;
    brokersDone = true;
    console.log(`## brokers`);
    await (await brokerSuite()).run([...broker, ...flags]);
    continue;
  }
  console.log(`## ${name}`);
  await (await scenarios[name]()).run(flags);
}
