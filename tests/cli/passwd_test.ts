/** Password files in Mosquitto's format: hashes, file edits, and Mosquitto itself accepting them. */
import assert from "node:assert/strict";
import {
  checkUsername,
  hashPassword,
  updatePasswordText,
  verifyPassword,
} from "../../src/cli/passwd.ts";
import { freePort, runCli } from "./cli_harness.ts";

// Made by Mosquitto 2.0.11: `mosquitto_passwd -c -b pw alice secret`.
const MOSQUITTO_ALICE = "$7$101$EQDEDscvwUolfLkj$7so8Vii9OglT7KKsvmjhCtUCbn1FjAqdK7DJau/SZ3ghChaG" +
  "73MMF1HYOn2PrN6kiCWVIYYfGDl4MRXou9OSDg==";

Deno.test("verifyPassword() accepts a hash made by mosquitto_passwd and rejects others", async () => {
  assert.equal(await verifyPassword("secret", MOSQUITTO_ALICE), true);
  assert.equal(await verifyPassword("Secret", MOSQUITTO_ALICE), false);
  assert.equal(await verifyPassword("secret", "$7$101$bad"), false);
  assert.equal(await verifyPassword("secret", "plain"), false);
});

Deno.test("hashPassword() with Mosquitto's salt gives Mosquitto's hash ($7$, 101 rounds)", async () => {
  const salt = Uint8Array.from(atob("EQDEDscvwUolfLkj"), (c) => c.charCodeAt(0));
  assert.equal(await hashPassword("secret", { salt }), MOSQUITTO_ALICE);
  const fresh = await hashPassword("secret");
  assert.notEqual(fresh, MOSQUITTO_ALICE, "a fresh salt each time");
  assert.ok(await verifyPassword("secret", fresh));
});

Deno.test("updatePasswordText() adds, replaces and removes one user's line, keeping the rest", () => {
  let text = "";
  text = updatePasswordText(text, "alice", "$7$1");
  text = updatePasswordText(text, "bob", "$7$2");
  assert.equal(text, "alice:$7$1\nbob:$7$2\n");
  text = updatePasswordText(text, "alice", "$7$3");
  assert.equal(text, "alice:$7$3\nbob:$7$2\n");
  text = updatePasswordText(text, "alice", null);
  assert.equal(text, "bob:$7$2\n");
  assert.equal(updatePasswordText("# comment\nbob:x", "carol", "y"), "# comment\nbob:x\ncarol:y\n");
  assert.equal(checkUsername("a:b"), "the user name contains ':'");
  assert.equal(checkUsername(""), "the user name is empty");
  assert.equal(checkUsername("sensor-17"), undefined);
});

function mosquittoPath(): string | null {
  for (const p of ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

function hasCommand(name: string): boolean {
  try {
    new Deno.Command(name, { args: ["--help"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

const MOSQUITTO = mosquittoPath();
const CAN_INTEROP = MOSQUITTO !== null && hasCommand("mosquitto_pub") &&
  Deno.build.os === "linux";

Deno.test({
  name: "Mosquitto accepts a password file written by edgemq passwd (and refuses a wrong password)",
  ignore: !CAN_INTEROP,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "edgemq-passwd-" });
    let broker: Deno.ChildProcess | undefined;
    try {
      const file = `${dir}/passwd`;
      const r = await runCli(["passwd", "--password-stdin", file, "alice"], { stdin: "s3cret\n" });
      assert.equal(r.code, 0, r.stderr);
      const port = freePort();
      const user = new TextDecoder().decode(
        new Deno.Command("id", { args: ["-un"], stdout: "piped" }).outputSync().stdout,
      ).trim();
      Deno.writeTextFileSync(
        `${dir}/mosquitto.conf`,
        `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${file}\nuser ${user}\n`,
      );
      broker = new Deno.Command(MOSQUITTO!, {
        args: ["-c", `${dir}/mosquitto.conf`],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const pub = (password: string) =>
        new Deno.Command("mosquitto_pub", {
          args: [
            "-h",
            "127.0.0.1",
            "-p",
            String(port),
            "-u",
            "alice",
            "-P",
            password,
            "-t",
            "t",
            "-m",
            "m",
          ],
          stdout: "null",
          stderr: "null",
        }).output();
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        ok = (await pub("s3cret")).success;
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, "mosquitto_pub with the right password was refused");
      assert.equal((await pub("wrong")).success, false);
    } finally {
      if (broker) {
        broker.kill("SIGTERM");
        await broker.status;
      }
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
