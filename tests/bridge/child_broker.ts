/**
 * A broker with one bridge in a child process (for SIGKILL tests): `deno run -A child_broker.ts
 * DATA_DIR UPSTREAM_PORT`; prints `PORT <n>` once listening.
 */
import { startBroker } from "../../mod.ts";

const [dataDir, upstreamPort] = Deno.args;
const running = await startBroker({
  listeners: [{ host: "127.0.0.1", port: 0 }],
  sysInterval: 0,
  dataDir,
  bridges: [{
    name: "up",
    address: `127.0.0.1:${upstreamPort}`,
    topics: [{ pattern: "data/#", direction: "out", qos: 1 }],
    reconnect: { baseMs: 100, capMs: 300 },
  }],
});
console.log(`PORT ${running.port}`);
