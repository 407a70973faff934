/** scripts/edgemq.service: systemd accepts it, and it carries the hardening we promise. */
import assert from "node:assert/strict";

const UNIT = new URL("../../scripts/edgemq.service", import.meta.url).pathname;

function hasCommand(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const HAVE_ANALYZE = hasCommand("systemd-analyze");
if (!HAVE_ANALYZE) {
  console.warn(
    "skipping systemd-analyze checks: systemd-analyze not found (apt-get install -y systemd)",
  );
}

/** key -> values (a key may repeat) of the [Service] section, etc. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const i = line.indexOf("=");
    const key = `${section}.${line.slice(0, i)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
  }
  return out;
}

Deno.test("the unit runs edgemq with the config, data dir, reload and restart we document", () => {
  const unit = parseUnit(Deno.readTextFileSync(UNIT));
  const one = (k: string) => unit.get(k)?.at(-1);
  assert.equal(
    one("Service.ExecStart"),
    "/usr/local/bin/edgemq start -c /etc/edgemq/edgemq.yaml --data-dir /var/lib/edgemq",
  );
  assert.equal(one("Service.ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(one("Service.Type"), "notify");
  assert.ok(one("Service.WatchdogSec"));
  assert.equal(one("Service.Restart"), "on-failure");
  assert.equal(one("Service.LimitNOFILE"), "65536");
  assert.equal(one("Service.DynamicUser"), "yes");
  assert.equal(one("Service.StateDirectory"), "edgemq");
  assert.equal(one("Service.ConfigurationDirectory"), "edgemq");
  assert.equal(one("Service.NoNewPrivileges"), "yes");
  assert.equal(one("Service.ProtectSystem"), "strict");
  assert.equal(one("Service.ProtectHome"), "yes");
  assert.equal(one("Service.PrivateTmp"), "yes");
  assert.equal(one("Service.CapabilityBoundingSet"), "");
  assert.equal(one("Install.WantedBy"), "multi-user.target");
});

Deno.test({
  name: "systemd-analyze verify accepts the unit, and its exposure score is 'OK' or better",
  ignore: !HAVE_ANALYZE,
  fn: () => {
    const dir = Deno.makeTempDirSync({ prefix: "edgemq-unit-" });
    try {
      // verify checks that ExecStart's binary exists: point it at a stand-in, nothing else changes.
      Deno.writeTextFileSync(`${dir}/edgemq`, "#!/bin/sh\n", { mode: 0o755 });
      const text = Deno.readTextFileSync(UNIT).replaceAll("/usr/local/bin/edgemq", `${dir}/edgemq`);
      Deno.writeTextFileSync(`${dir}/edgemq.service`, text);
      const verify = new Deno.Command("systemd-analyze", {
        args: ["verify", `${dir}/edgemq.service`],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const messages = new TextDecoder().decode(verify.stderr) +
        new TextDecoder().decode(verify.stdout);
      assert.equal(verify.code, 0, messages);
      assert.equal(messages.trim(), "", messages);

      const security = new Deno.Command("systemd-analyze", {
        args: ["security", "--offline=yes", `${dir}/edgemq.service`],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const report = new TextDecoder().decode(security.stdout);
      const m = /Overall exposure level for edgemq\.service: ([\d.]+)/.exec(report);
      assert.ok(m, report + new TextDecoder().decode(security.stderr));
      assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]} > 4.0:\n${report}`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
