import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { resolveFormat, setupLogging } from "../../src/log/logging.ts";

Deno.test("resolveFormat(auto) is json under systemd (JOURNAL_STREAM, no tty), text otherwise", () => {
  assert.equal(
    resolveFormat("auto", { env: { JOURNAL_STREAM: "8:1234" }, stderrIsTerminal: false }),
    "json",
  );
  assert.equal(
    resolveFormat("auto", { env: { JOURNAL_STREAM: "8:1234" }, stderrIsTerminal: true }),
    "text",
  );
  assert.equal(resolveFormat("auto", { env: {}, stderrIsTerminal: false }), "text");
  assert.equal(resolveFormat("json", { env: {}, stderrIsTerminal: true }), "json");
  assert.equal(resolveFormat("text", { env: { JOURNAL_STREAM: "8:1" } }), "text");
});

Deno.test("text lines carry time, level, category, message and extra properties", () => {
  const lines: string[] = [];
  const logging = setupLogging({ level: "info", format: "text", file: null }, {
    write: (l) => lines.push(l),
  });
  try {
    getLogger(["edgemq", "broker"]).info("client {clientId} connected", {
      clientId: "sensor-1",
      remote: "127.0.0.1:5000",
    });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d \[INF\] edgemq\.broker: client sensor-1 connected remote=127\.0\.0\.1:5000\n$/,
    );
  } finally {
    logging.close();
  }
});

Deno.test("json lines are one object per line with level, logger, message and properties", () => {
  const lines: string[] = [];
  const logging = setupLogging({ level: "info", format: "json", file: null }, {
    write: (l) => lines.push(l),
  });
  try {
    getLogger(["edgemq", "cli"]).warning("listening on {url}", { url: "mqtt://127.0.0.1:1883" });
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith("\n"));
    const obj = JSON.parse(lines[0]);
    assert.equal(obj.level, "warning");
    assert.equal(obj.logger, "edgemq.cli");
    assert.equal(obj.message, "listening on mqtt://127.0.0.1:1883");
    assert.equal(obj.url, "mqtt://127.0.0.1:1883");
    assert.ok(obj["@timestamp"]);
  } finally {
    logging.close();
  }
});

Deno.test("the level filters records and can be changed at run time (SIGHUP)", () => {
  const lines: string[] = [];
  const logging = setupLogging({ level: "info", format: "text", file: null }, {
    write: (l) => lines.push(l),
  });
  try {
    const log = getLogger(["edgemq", "test"]);
    log.debug("hidden");
    log.info("shown");
    assert.equal(lines.length, 1);
    logging.apply({ level: "debug", format: "json", file: null });
    log.debug("now shown");
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[1]).message, "now shown");
    logging.apply({ level: "error", format: "text", file: null });
    log.warning("hidden again");
    log.error("error shown");
    assert.equal(lines.length, 3);
    assert.match(lines[2], /\[ERR\] edgemq\.test: error shown/);
  } finally {
    logging.close();
  }
});

Deno.test("log_file appends lines to the file; a file that cannot be opened is an error", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/edgemq.log`;
  Deno.writeTextFileSync(file, "earlier line\n");
  const logging = setupLogging({ level: "info", format: "text", file });
  try {
    getLogger(["edgemq", "test"]).info("to the file");
    await Promise.resolve(); // info lines go out at the end of the turn
    const text = Deno.readTextFileSync(file);
    assert.match(text, /^earlier line\n.*edgemq\.test: to the file\n$/);
    assert.throws(() =>
      logging.apply({ level: "info", format: "text", file: `${dir}/no/such/dir.log` })
    );
    // The failed apply kept the old destination.
    getLogger(["edgemq", "test"]).info("still to the file");
    await Promise.resolve();
    assert.match(Deno.readTextFileSync(file), /still to the file\n$/);
  } finally {
    logging.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("info lines of one turn are one write at its end; a warning goes out at once, in order", async () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/edgemq.log`;
  const logging = setupLogging({ level: "info", format: "text", file });
  const log = getLogger(["edgemq", "test"]);
  const lines = () => Deno.readTextFileSync(file).split("\n").filter((l) => l !== "");
  try {
    log.info("first");
    log.info("second");
    assert.equal(lines().length, 0, "not written yet");
    await Promise.resolve();
    assert.deepEqual(lines().map((l) => l.split(": ")[1]), ["first", "second"]);
    log.info("third");
    log.warn("fourth");
    assert.deepEqual(lines().map((l) => l.split(": ")[1]), ["first", "second", "third", "fourth"]);
    assert.match(lines()[3], /\[WRN\] edgemq\.test: fourth$/);
    log.info("fifth");
  } finally {
    logging.close(); // writes what is pending
    assert.match(Deno.readTextFileSync(file), /: fifth\n$/);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Deno.exit() right after an info line still writes it", () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/edgemq.log`;
  try {
    const code = `
      import { getLogger } from "@logtape/logtape";
      import { setupLogging } from "./src/log/logging.ts";
      setupLogging({ level: "info", format: "json", file: ${JSON.stringify(file)} });
      getLogger(["edgemq", "test"]).info("last words");
      Deno.exit(3);
    `;
    const r = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(r.code, 3, new TextDecoder().decode(r.stderr));
    assert.equal(JSON.parse(Deno.readTextFileSync(file)).message, "last words");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
