/**
 * Self-containment without denort: `deno bundle` of src/cli/main.ts is one JS file that runs in
 * an empty directory (no deno.json, no node_modules, npm and remote imports forbidden) with only
 * the permissions the release binary gets — the same module graph `deno compile` embeds.
 */
import assert from "node:assert/strict";
import { CONNECT_V311, mqttHandshake, Proc, readPacket, REPO } from "../cli/cli_harness.ts";
import { PERMISSION_FLAGS, UNSTABLE_FLAGS } from "../../scripts/compile.ts";

const RUN_FLAGS = [
  "run",
  "--no-config",
  "--no-remote",
  "--no-npm",
  ...PERMISSION_FLAGS,
  ...UNSTABLE_FLAGS,
];

Deno.test("the bundled CLI runs alone: version, start, MQTT CONNECT/CONNACK, SIGTERM exits 0", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "edgemq-bundle-" });
  const build = Deno.makeTempDirSync({ prefix: "edgemq-bundle-build-" });
  let proc: Proc | undefined;
  try {
    const bundled = new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "-o", `${build}/edgemq.js`, "src/cli/main.ts"],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
    Deno.copyFileSync(`${build}/edgemq.js`, `${dir}/edgemq.js`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["edgemq.js"]);

    // Only node: built-ins may be imported by the bundle.
    const js = Deno.readTextFileSync(`${dir}/edgemq.js`);
    const imports = [...js.matchAll(/^import .* from "([^"]+)";?$/gm)].map((m) => m[1]);
    assert.ok(imports.every((s) => s.startsWith("node:")), `non-builtin imports: ${imports}`);

    const version = new Deno.Command(Deno.execPath(), {
      args: [...RUN_FLAGS, "edgemq.js", "version"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(version.code, 0, new TextDecoder().decode(version.stderr));
    assert.match(new TextDecoder().decode(version.stdout), /^edgemq \d+\.\d+\.\d+/);

    proc = new Proc(Deno.execPath(), [
      ...RUN_FLAGS,
      "edgemq.js",
      "start",
      "--port",
      "0",
      "--data-dir",
      `${dir}/data`,
    ], {
      cwd: dir,
      env: { NO_COLOR: "1" },
    });
    const port = Number((await proc.waitFor(/listening on mqtt:\/\/[^\s]+:(\d+)/))[1]);
    await mqttHandshake(port);
    // A QoS 1 PUBLISH is acknowledged (the path that touches the store once data_dir is used).
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(CONNECT_V311);
      assert.deepEqual([...await readPacket(conn)], [0x20, 2, 0, 0]);
      await conn.write(new Uint8Array([0x32, 6, 0, 1, 0x61, 0, 7, 0x78]));
      assert.deepEqual([...await readPacket(conn)], [0x40, 2, 0, 7]);
    } finally {
      conn.close();
    }
    proc.signal("SIGTERM");
    const { code } = await proc.exit();
    assert.equal(code, 0, proc.stderr);
  } finally {
    await proc?.dispose();
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(build, { recursive: true });
  }
});
