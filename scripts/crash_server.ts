/**
 * The broker under test of `scripts/crash_test.ts`: `startBroker` with the SQLite store on the
 * given data dir and loopback port; prints `listening PORT` once it accepts connections, and
 * runs until killed (SIGKILL by the crash test; SIGTERM/SIGINT close it cleanly).
 *
 * Usage: deno run -A scripts/crash_server.ts DATA_DIR PORT [SYNCHRONOUS]
 */
import { startBroker, type SynchronousMode } from "../mod.ts";

const [dataDir, port, synchronous = "full"] = Deno.args;
if (dataDir === undefined || port === undefined) {
  console.error("usage: crash_server.ts DATA_DIR PORT [full|normal|off]");
  Deno.exit(2);
}
const running = await startBroker({
  listeners: [{ host: "127.0.0.1", port: Number(port) }],
  dataDir,
  storeSynchronous: synchronous as SynchronousMode,
  sysInterval: 0,
  maxQueuedMessages: 0,
  maxInflight: 50,
  receiveMaximum: 100,
});
const stop = async () => {
  await running.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
const r = running.restored;
console.log(
  `listening ${running.port} restored ${r.sessions} sessions ${r.messages} messages ` +
    `${r.retained} retained`,
);
