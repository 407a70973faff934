/** scripts/install.sh against a temporary DESTDIR: places every file, is idempotent, uninstalls. */
import assert from "node:assert/strict";

const SCRIPT = new URL("../../scripts/install.sh", import.meta.url).pathname;
const EXAMPLE = new URL("../../edgemq.example.yaml", import.meta.url).pathname;
const UNIT = new URL("../../scripts/edgemq.service", import.meta.url).pathname;

function sh(args: string[], destdir: string): { code: number; out: string } {
  // `sh` is dash on Debian: this also checks the script is POSIX sh.
  const r = new Deno.Command("sh", {
    args: [SCRIPT, ...args],
    env: { DESTDIR: destdir },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return {
    code: r.code,
    out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
  };
}

/** Every file under dir, relative, with its mode. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory) walk(path);
      else out.push(`${path} ${(Deno.statSync(`${dir}${path}`).mode! & 0o777).toString(8)}`);
    }
  };
  walk("");
  return out.sort();
}

const EXPECTED = [
  "/etc/edgemq/edgemq.yaml 644",
  "/etc/systemd/system/edgemq.service 644",
  "/usr/local/bin/edgemq 755",
];

Deno.test({
  name: "install.sh places binary, config and unit under DESTDIR, and is idempotent",
  ignore: Deno.build.os === "windows",
  fn: () => {
    const root = Deno.makeTempDirSync({ prefix: "edgemq-install-" });
    try {
      const bin = `${root}/edgemq-build`;
      Deno.writeTextFileSync(bin, "#!/bin/sh\necho edgemq\n");
      const dest = `${root}/dest`;
      const first = sh([bin], dest);
      assert.equal(first.code, 0, first.out);
      assert.deepEqual(tree(dest), EXPECTED);
      assert.equal(
        Deno.readTextFileSync(`${dest}/usr/local/bin/edgemq`),
        "#!/bin/sh\necho edgemq\n",
      );
      assert.equal(
        Deno.readTextFileSync(`${dest}/etc/edgemq/edgemq.yaml`),
        Deno.readTextFileSync(EXAMPLE),
      );
      assert.equal(
        Deno.readTextFileSync(`${dest}/etc/systemd/system/edgemq.service`),
        Deno.readTextFileSync(UNIT),
      );
      assert.match(first.out, /not enabling the service/);

      // Again, after the admin edited the config: same tree, config kept, binary updated.
      Deno.writeTextFileSync(`${dest}/etc/edgemq/edgemq.yaml`, "log_level: debug\n");
      Deno.writeTextFileSync(bin, "#!/bin/sh\necho edgemq v2\n");
      const second = sh([bin], dest);
      assert.equal(second.code, 0, second.out);
      assert.deepEqual(tree(dest), EXPECTED);
      assert.match(second.out, /kept existing .*edgemq\.yaml/);
      assert.equal(Deno.readTextFileSync(`${dest}/etc/edgemq/edgemq.yaml`), "log_level: debug\n");
      assert.match(Deno.readTextFileSync(`${dest}/usr/local/bin/edgemq`), /v2/);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "install.sh --uninstall removes what it installed, keeps edited config and data unless --purge",
  ignore: Deno.build.os === "windows",
  fn: () => {
    const root = Deno.makeTempDirSync({ prefix: "edgemq-install-" });
    try {
      const bin = `${root}/edgemq-build`;
      Deno.writeTextFileSync(bin, "#!/bin/sh\n");
      const dest = `${root}/dest`;

      // Untouched install: uninstall leaves nothing but the (empty) directories it made.
      assert.equal(sh([bin], dest).code, 0);
      const un = sh(["--uninstall"], dest);
      assert.equal(un.code, 0, un.out);
      assert.deepEqual(tree(dest), []);
      assert.equal(sh(["--uninstall"], dest).code, 0, "uninstall twice is fine");

      // Edited config and data are kept by --uninstall, removed by --uninstall --purge.
      assert.equal(sh([bin], dest).code, 0);
      Deno.writeTextFileSync(`${dest}/etc/edgemq/edgemq.yaml`, "log_level: debug\n");
      Deno.mkdirSync(`${dest}/var/lib/edgemq`, { recursive: true });
      Deno.writeTextFileSync(`${dest}/var/lib/edgemq/edgemq.db`, "data");
      const keep = sh(["--uninstall"], dest);
      assert.equal(keep.code, 0, keep.out);
      assert.deepEqual(tree(dest), [
        "/etc/edgemq/edgemq.yaml 644",
        "/var/lib/edgemq/edgemq.db 644",
      ]);
      const purge = sh(["--uninstall", "--purge"], dest);
      assert.equal(purge.code, 0, purge.out);
      assert.deepEqual(tree(dest), []);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "install.sh rejects a missing binary and unknown options",
  ignore: Deno.build.os === "windows",
  fn: () => {
    const root = Deno.makeTempDirSync({ prefix: "edgemq-install-" });
    try {
      assert.equal(sh([], `${root}/d`).code, 2);
      assert.equal(sh(["--frobnicate"], `${root}/d`).code, 2);
      const missing = sh([`${root}/nope`], `${root}/d`);
      assert.equal(missing.code, 1);
      assert.match(missing.out, /no such file/);
      assert.equal(sh(["--purge"], `${root}/d`).code, 2);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});
