/**
 * systemd readiness end to end: the CLI (with --unstable-net, as the release binaries are built)
 * sends READY=1 once listening, WATCHDOG=1 pings at half WATCHDOG_USEC, STOPPING=1 on SIGTERM.
 */
import assert from "node:assert/strict";
import { MAIN, Proc } from "../cli/cli_harness.ts";

const LISTENER = new URL("./notify_listener.ts", import.meta.url).pathname;

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "sd_notify: READY=1 after listening, WATCHDOG=1 pings, STOPPING=1 on SIGTERM",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "edgemq-notify-" });
    const socket = `${dir}/notify.sock`;
    const systemd = new Proc(Deno.execPath(), ["run", "-A", "--unstable-net", LISTENER, socket]);
    let broker: Proc | undefined;
    try {
      await until(() => systemd.stdout.includes("bound"), "the notify socket");
      broker = new Proc(Deno.execPath(), [
        "run",
        "-A",
        "--unstable-net",
        MAIN,
        "start",
        "--port",
        "0",
      ], { env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "200000", RUNTIME_DIRECTORY: dir } });
      await until(() => systemd.stdout.includes("READY=1"), "READY=1");
      assert.match(broker.stderr, /listening on mqtt:/, "READY=1 comes after the listeners");
      await until(
        () => (systemd.stdout.match(/WATCHDOG=1/g) ?? []).length >= 2,
        "two WATCHDOG=1 pings",
      );
      broker.signal("SIGTERM");
      assert.equal((await broker.exit()).code, 0);
      await until(() => systemd.stdout.includes("STOPPING=1"), "STOPPING=1");
      // Our end of the socket was unlinked right after binding: nothing left in the runtime dir.
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notify.sock"]);
    } finally {
      await broker?.dispose();
      await systemd.dispose();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
