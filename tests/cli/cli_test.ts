/** The edgemq CLI as a subprocess: exit codes, messages, help, precedence, signals. */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { VERSION } from "../../src/cli/version.ts";
import { verifyPassword } from "../../src/cli/passwd.ts";
import {
  CONNECT_V5,
  freePort,
  mqttHandshake,
  readPacket,
  REPO,
  runCli,
  startCli,
} from "./cli_harness.ts";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "edgemq-cli-" });
}

Deno.test("edgemq version prints the version (equal to package.json's) and exits 0", async () => {
  const pkg = JSON.parse(Deno.readTextFileSync(`${REPO}package.json`));
  assert.equal(VERSION, pkg.version);
  for (const args of [["version"], ["--version"], ["-V"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^edgemq ${VERSION.replaceAll(".", "\\.")} \\(deno `));
  }
});

Deno.test("--help of every command exits 0 with usage and examples", async () => {
  for (
    const args of [
      ["--help"],
      ["help"],
      ["start", "--help"],
      ["check-config", "-h"],
      ["passwd", "--help"],
      ["version", "--help"],
      ["help", "start"],
    ]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage/, args.join(" "));
    assert.match(r.stdout, /Examples:/, args.join(" "));
    assert.equal(r.stderr, "");
  }
  const start = await runCli(["start", "--help"]);
  assert.match(start.stdout, /Only this file \(or EDGEMQ_CONFIG\) is read/);
});

Deno.test("bad command lines exit 2 with one line naming the flag and what was expected", async () => {
  const cases: Array<[string[], string]> = [
    [["strat"], "edgemq: unknown command `strat`, did you mean `start`?"],
    [["start", "--prot", "1883"], "edgemq start: unknown flag --prot, did you mean --port?"],
    [
      ["start", "--port", "abc"],
      'edgemq start: --port: expected an integer from 0 to 65535, got "abc"',
    ],
    [
      ["start", "--port", "70000"],
      'edgemq start: --port: expected an integer from 0 to 65535, got "70000"',
    ],
    [["start", "--port"], "edgemq start: flag --port needs a value"],
    [
      ["--log-level", "loud"],
      "edgemq start: --log-level: expected one of trace, debug, info, warning, error",
    ],
    [
      ["start", "--log-format", "xml"],
      "edgemq start: --log-format: expected one of auto, text, json",
    ],
    [["start", "extra"], "edgemq start: unexpected argument `extra`"],
    [["check-config"], "edgemq check-config: missing FILE"],
    [["version", "--verbose"], "edgemq version: unknown flag --verbose"],
  ];
  for (const [args, prefix] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")} printed ${lines.length} lines`);
    assert.ok(lines[0].startsWith(prefix), `${args.join(" ")}: got ${lines[0]}`);
    assert.equal(r.stdout, "");
  }
});

Deno.test("check-config prints the effective config as YAML and exits 0 for a valid file", async () => {
  const r = await runCli(["check-config", "edgemq.example.yaml"], {
    env: { EDGEMQ_MAX_INFLIGHT: "42" },
  });
  assert.equal(r.code, 0, r.stderr);
  const effective = parse(r.stdout);
  assert.equal(effective.max_inflight, 42);
  assert.deepEqual(effective.listeners, [{ type: "tcp", host: "127.0.0.1", port: 1883 }]);
  assert.equal(effective.max_packet_size, "1MB");
});

Deno.test("check-config lists every problem as file:line:col: key: expectation and exits 1", async () => {
  const dir = tempDir();
  try {
    const file = `${dir}/bad.yaml`;
    Deno.writeTextFileSync(
      file,
      "max_inflght: 10\nlisteners:\n  - type: wx\n    port: 1883\nmax_queued_bytes: lots\n",
    );
    const r = await runCli(["check-config", file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      `${file}:1:1: unknown key \`max_inflght\`, did you mean \`max_inflight\`?`,
      `${file}:3:11: listeners[0].type: unknown listener type \`wx\`, did you mean \`ws\`? ` +
      `(supported: tcp, tls, ws, wss)`,
      `${file}:5:19: max_queued_bytes: expected a size in bytes from 0 to 9007199254740991 ` +
      `(a number, or a string like "1MB"), got "lots"`,
      `${file}: 3 problems`,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("start with a bad or missing config exits 1 and listens on nothing", async () => {
  const dir = tempDir();
  try {
    const port = freePort();
    const file = `${dir}/bad.yaml`;
    Deno.writeTextFileSync(file, `listeners:\n  - port: ${port}\nmax_inflight: -1\n`);
    const bad = await runCli(["start", "-c", file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`${file}:3:15: max_inflight: expected an integer`));
    assert.doesNotMatch(bad.stderr, /listening/);
    const missing = await runCli(["start", "-c", `${dir}/nope.yaml`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml: cannot read config: file not found/);
    const viaEnv = await runCli(["start"], { env: { EDGEMQ_CONFIG: `${dir}/nope.yaml` } });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /nope\.yaml: cannot read config: file not found/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("start --port N accepts MQTT (CONNECT/CONNACK) and SIGTERM exits 0 within 5 s", async () => {
  const port = freePort();
  const { proc, port: bound } = await startCli(["--port", String(port), "--log-format", "text"]);
  try {
    assert.equal(bound, port);
    await mqttHandshake(port);
    proc.signal("SIGTERM");
    const { code, ms } = await proc.exit(8000);
    assert.equal(code, 0, proc.stderr);
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.match(proc.stderr, /received SIGTERM, shutting down/);
  } finally {
    await proc.dispose();
  }
});

Deno.test("SIGTERM sends MQTT 5 clients DISCONNECT 0x8B (server shutting down)", async () => {
  const { proc, port } = await startCli(["--port", "0"]);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(CONNECT_V5);
      const connack = await readPacket(conn);
      assert.equal(connack[0], 0x20);
      assert.equal(connack[3], 0x00, "CONNACK reason: success");
      proc.signal("SIGTERM");
      const disconnect = await readPacket(conn);
      assert.equal(disconnect[0], 0xe0, `expected DISCONNECT, got ${[...disconnect]}`);
      assert.equal(disconnect[2], 0x8b);
    } finally {
      conn.close();
    }
    assert.equal((await proc.exit()).code, 0);
  } finally {
    await proc.dispose();
  }
});

Deno.test("SIGINT exits 0 too", async () => {
  const { proc } = await startCli(["--port", "0"]);
  try {
    proc.signal("SIGINT");
    assert.equal((await proc.exit()).code, 0);
  } finally {
    await proc.dispose();
  }
});

Deno.test("flags beat environment, environment beats the file (seen on the listening port)", async () => {
  const dir = tempDir();
  try {
    const [p1, p2, p3] = [freePort(), freePort(), freePort()];
    const file = `${dir}/edgemq.yaml`;
    Deno.writeTextFileSync(file, `listeners:\n  - port: ${p1}\n`);
    const a = await startCli(["-c", file], { env: { EDGEMQ_PORT: String(p2) } });
    try {
      assert.equal(a.port, p2);
    } finally {
      a.proc.signal("SIGTERM");
      await a.proc.exit();
    }
    const b = await startCli(["-c", file, "--port", String(p3)], {
      env: { EDGEMQ_PORT: String(p2) },
    });
    try {
      assert.equal(b.port, p3);
      await mqttHandshake(p3);
    } finally {
      b.proc.signal("SIGTERM");
      await b.proc.exit();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SIGHUP with a broken file keeps the broker running; a good file changes the level", async () => {
  const dir = tempDir();
  try {
    const file = `${dir}/edgemq.yaml`;
    Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: text\n");
    const { proc, port } = await startCli(["-c", file]);
    try {
      Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: text\nmax_inflight: x\n");
      proc.signal("SIGHUP");
      await proc.waitFor(/reload failed; keeping the running configuration/);
      assert.match(proc.stderr, new RegExp(`${file}:4:15: max_inflight: expected an integer`));
      await mqttHandshake(port);

      Deno.writeTextFileSync(file, "listeners:\n  - port: 0\nlog_format: json\nlog_level: debug\n");
      proc.signal("SIGHUP");
      await proc.waitFor(/log_level changed from info to debug/);
      proc.signal("SIGTERM");
      assert.equal((await proc.exit()).code, 0);
      // After the reload the lines are JSON.
      const last = proc.stderr.trimEnd().split("\n").at(-1)!;
      assert.equal(JSON.parse(last).logger, "edgemq.cli");
    } finally {
      await proc.dispose();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("logs are JSON lines under systemd (JOURNAL_STREAM set, stderr a pipe)", async () => {
  const { proc } = await startCli(["--port", "0"], { env: { JOURNAL_STREAM: "8:12345" } });
  try {
    proc.signal("SIGTERM");
    await proc.exit();
    for (const line of proc.stderr.trimEnd().split("\n")) {
      const obj = JSON.parse(line);
      assert.ok(obj.level && obj.message && obj.logger, line);
    }
  } finally {
    await proc.dispose();
  }
});

Deno.test("passwd --password-stdin writes a Mosquitto $7$ line; -D removes the user", async () => {
  const dir = tempDir();
  try {
    const file = `${dir}/passwd`;
    assert.equal(
      (await runCli(["passwd", "--password-stdin", file, "alice"], { stdin: "s3cret\n" })).code,
      0,
    );
    assert.equal(
      (await runCli(["passwd", "--password-stdin", file, "bob"], { stdin: "pw2\n" })).code,
      0,
    );
    assert.equal(
      (await runCli(["passwd", "--password-stdin", file, "alice"], { stdin: "new\n" })).code,
      0,
    );
    const lines = Deno.readTextFileSync(file).trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    assert.ok(await verifyPassword("new", lines[0].slice("alice:".length)));
    assert.ok(await verifyPassword("pw2", lines[1].slice("bob:".length)));
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.equal((await runCli(["passwd", "-D", file, "alice"])).code, 0);
    assert.match(Deno.readTextFileSync(file), /^bob:/);
    assert.equal((await runCli(["passwd", "-D", file, "alice"])).code, 1);
    const bad = await runCli(["passwd", "--password-stdin", file, "a:b"], { stdin: "x\n" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /contains ':'/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
