/**
 * Mosquitto password files: `$6$` and `$7$` made by Debian's mosquitto_passwd 2.0.11, argon2id
 * (Mosquitto 2.1's default; PHC strings), and edgemq's RFC 5803 SCRAM entries.
 */
import assert from "node:assert/strict";
import { argon2id } from "hash-wasm";
import {
  hashScram,
  parseHash,
  PasswordFile,
  scramCredentials,
  verifyHash,
} from "../../src/auth/password_file.ts";

// Made by `mosquitto_passwd -c -b -H sha512 pw alice secret` and `-b -H sha512 pw bob 'pä ss:w'`
// (Debian mosquitto 2.0.11), and `mosquitto_passwd -c -b pw carol hunter2` ($7$, the default).
const MOSQUITTO_FILE =
  `alice:$6$YtTzUP1FBt3ZklyI$i7sKbiXI7zxjgagGoPaEKobQFUMGPFpgDrUwRZWoXNHFyr/H3fXZJqKUkFGfpMCPwpVl8um9ZhIihFjyn3p2YQ==
bob:$6$51l+unH2iCUhJ6qD$mm19wLJevlrPlvsOV7zdOGE2hiZ5V61AsnVrLiEo/mN48xb4NjIR0vJwhEf0aLf+sWGNw/fNN5/ErdsmjkmTYg==
carol:$7$101$MAHLwPV+ZDks1s4/$1tHKLiTyReyNbJ4o/xwEavw9TsHd+kNpePNJ6xVt7xHMLjh6puHusMcEmbxIhUe0A+yqhbVIRuzhTBcesn0gsA==
`;

function hasMosquittoPasswd(): boolean {
  try {
    new Deno.Command("mosquitto_passwd", { args: [], stdout: "null", stderr: "null" })
      .outputSync();
    return true;
  } catch {
    return false;
  }
}

Deno.test("PasswordFile accepts $6$ and $7$ entries made by mosquitto_passwd 2.0.11 and rejects wrong passwords", async () => {
  const f = PasswordFile.parse(MOSQUITTO_FILE);
  assert.deepEqual([...f.users.keys()], ["alice", "bob", "carol"]);
  assert.equal(f.users.get("alice")!.kind, "sha512");
  assert.equal(f.users.get("carol")!.kind, "pbkdf2-sha512");
  assert.equal(await f.verify("alice", "secret"), true);
  assert.equal(await f.verify("alice", "Secret"), false);
  assert.equal(await f.verify("bob", "pä ss:w"), true, "UTF-8, a space and a colon");
  assert.equal(await f.verify("bob", "pa ss:w"), false);
  assert.equal(await f.verify("carol", "hunter2"), true);
  assert.equal(await f.verify("carol", ""), false);
  assert.equal(await f.verify("mallory", "secret"), undefined, "unknown user");
});

Deno.test({
  name: "PasswordFile reads files that mosquitto_passwd writes now (-H sha512 and the default)",
  ignore: !hasMosquittoPasswd(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/pw`;
      const run = (args: string[]) => {
        const r = new Deno.Command("mosquitto_passwd", { args, stdout: "null", stderr: "piped" })
          .outputSync();
        assert.ok(r.success, new TextDecoder().decode(r.stderr));
      };
      run(["-c", "-b", file, "dora", "correct horse"]);
      run(["-b", "-H", "sha512", file, "eve", "battery staple"]);
      const f = await PasswordFile.load(file);
      assert.equal(f.problems.length, 0);
      assert.equal(await f.verify("dora", "correct horse"), true);
      assert.equal(await f.verify("dora", "correct horse "), false);
      assert.equal(await f.verify("eve", "battery staple"), true);
      assert.equal(await f.verify("eve", "battery"), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("argon2id entries (Mosquitto 2.1's default format) are verified", async () => {
  const encoded = await argon2id({
    password: "s3cret",
    salt: new TextEncoder().encode("0123456789abcdef"),
    parallelism: 1,
    iterations: 2,
    memorySize: 1024,
    hashLength: 32,
    outputType: "encoded",
  });
  assert.match(encoded, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$/);
  const f = PasswordFile.parse(`frank:${encoded}\n`);
  assert.equal(await f.verify("frank", "s3cret"), true);
  assert.equal(await f.verify("frank", "s3cret!"), false);
  assert.equal(parseHash("$argon2id$v=19$m=1024,t=2,p=1$bad"), undefined);
});

Deno.test("like Mosquitto: comments, lines without ':' and blanks are skipped; bad hashes are left out with a line number", () => {
  const f = PasswordFile.parse(
    "# users\n\njust-a-name\nalice:$6$short$x\nbob:plaintext\ncarol: \n :$7$1$a$b\n" +
      MOSQUITTO_FILE.split("\n")[2] + "\r\n",
  );
  assert.deepEqual([...f.users.keys()], ["carol"]);
  assert.deepEqual(f.problems.map((p) => p.line), [4, 5, 6, 7]);
  assert.match(f.problems[2].message, /missing password hash/);
});

Deno.test("$7$ decoding follows Mosquitto: 12-byte salt, 64-byte hash, iterations >= 1", () => {
  const [, hash] = MOSQUITTO_FILE.split("\n")[2].split(/:(.*)/s);
  assert.ok(parseHash(hash));
  assert.equal(parseHash(hash.replace("$101$", "$0$")), undefined);
  assert.equal(parseHash(hash.replace("$101$", "$x$")), undefined);
  assert.equal(parseHash(hash.slice(0, -4)), undefined);
});

Deno.test("SCRAM entries (RFC 5803) verify CONNECT passwords and give SCRAM credentials", async () => {
  const e256 = await hashScram("SCRAM-SHA-256", "pencil", { iterations: 4096 });
  assert.match(e256, /^SCRAM-SHA-256\$4096:[^$]+\$[^:]+:.+$/);
  const h = parseHash(e256)!;
  assert.equal(await verifyHash("pencil", h), true);
  assert.equal(await verifyHash("pen", h), false);
  assert.ok(scramCredentials(h, "SCRAM-SHA-256"));
  assert.equal(scramCredentials(h, "SCRAM-SHA-512"), undefined);
  const e512 = parseHash(await hashScram("SCRAM-SHA-512", "pencil"))!;
  assert.ok(scramCredentials(e512, "SCRAM-SHA-512"));
});

Deno.test("which entries support which SCRAM method: $7$ gives SCRAM-SHA-512 only; $6$ and argon2id none", () => {
  const f = PasswordFile.parse(MOSQUITTO_FILE);
  assert.ok(f.scram("carol", "SCRAM-SHA-512"));
  assert.equal(f.scram("carol", "SCRAM-SHA-256"), undefined);
  assert.equal(f.scram("alice", "SCRAM-SHA-512"), undefined);
  assert.equal(f.scram("nobody", "SCRAM-SHA-512"), undefined);
  const carol = f.scram("carol", "SCRAM-SHA-512")!;
  assert.equal(carol.iterations, 101);
  assert.equal(carol.salt.length, 12);
});

Deno.test("edgemq passwd -H: every method writes an entry PasswordFile verifies; SCRAM methods as documented", async () => {
  const { hashWith, HASH_METHODS } = await import("../../src/cli/passwd.ts");
  const lines: string[] = [];
  for (const m of HASH_METHODS) lines.push(`${m}:${await hashWith(m, "open sesame")}`);
  const f = PasswordFile.parse(lines.join("\n"));
  assert.equal(f.problems.length, 0);
  for (const m of HASH_METHODS) {
    assert.equal(await f.verify(m, "open sesame"), true, m);
    assert.equal(await f.verify(m, "open sesame!"), false, m);
  }
  assert.match(lines[1], /^sha512:\$6\$/);
  assert.ok(f.scram("sha512-pbkdf2", "SCRAM-SHA-512"));
  assert.ok(f.scram("scram-sha-256", "SCRAM-SHA-256"));
  assert.ok(f.scram("scram-sha-512", "SCRAM-SHA-512"));
  assert.equal(f.scram("sha512", "SCRAM-SHA-512"), undefined);
});
