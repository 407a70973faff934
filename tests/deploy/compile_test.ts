/**
 * scripts/compile.ts without network: the planned `deno compile` commands, argument errors, and
 * the early, clear failure when no denort runtime can be had. Building with DENORT_BIN is checked
 * with the deno binary as a stand-in runtime (the file is produced; it is not a working edgemq).
 */
import assert from "node:assert/strict";
import { REPO } from "../cli/cli_harness.ts";
import {
  COMPILE_CONFIG,
  denortEnvName,
  outputName,
  TARGETS,
  V8_FLAGS,
} from "../../scripts/compile.ts";

function compile(args: string[], env: Record<string, string> = {}) {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/compile.ts", ...args],
    cwd: REPO,
    env,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

Deno.test("compile --dry-run plans one binary per target with only the permissions edgemq needs", () => {
  const r = compile(["--dry-run"], { DENORT_BIN: "" });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, TARGETS.length);
  TARGETS.forEach((t, i) => {
    assert.match(
      lines[i],
      new RegExp(
        `--target ${t} --output dist/${outputName(t).replace(".", "\\.")} src/cli/main\\.ts$`,
      ),
    );
    assert.match(
      lines[i],
      / --allow-net --allow-read --allow-write --allow-env --unstable-net /,
    );
    assert.doesNotMatch(lines[i], /--allow-all|-A |--allow-run|--allow-ffi|--allow-sys/);
    assert.ok(lines[i].includes(` --v8-flags=${V8_FLAGS.join(",")} `), lines[i]);
  });
  assert.equal(outputName("x86_64-pc-windows-msvc"), "edgemq-x86_64-pc-windows-msvc.exe");
});

Deno.test("compile rejects unknown targets (exit 2) and DENORT_BIN for several targets (exit 1)", () => {
  const bad = compile(["--target", "riscv64-unknown-linux-gnu"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--target riscv64-unknown-linux-gnu is not a known target; expected one of/,
  );
  const many = compile(
    ["--target", "x86_64-unknown-linux-gnu", "--target", "aarch64-apple-darwin"],
    { DENORT_BIN: Deno.execPath() },
  );
  assert.equal(many.code, 1);
  assert.match(many.stderr, /DENORT_BIN names one runtime but 2 targets were asked for/);
  assert.match(many.stderr, /DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU/);
  assert.equal(denortEnvName("aarch64-apple-darwin"), "DENORT_BIN_AARCH64_APPLE_DARWIN");
});

Deno.test("compile fails early and clearly when the runtime is neither cached nor downloadable", () => {
  const denoDir = Deno.makeTempDirSync({ prefix: "edgemq-denodir-" });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  try {
    const t0 = performance.now();
    const r = compile(["--target", "aarch64-apple-darwin", "--out-dir", `${denoDir}/out`], {
      DENO_DIR: denoDir,
      DENORT_BIN: "",
      DENORT_BIN_AARCH64_APPLE_DARWIN: "",
      DENORT_DOWNLOAD_BASE: `http://127.0.0.1:${port}`,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /aarch64-apple-darwin: the denort runtime is not cached and/);
    assert.match(r.stderr, /Set DENORT_BIN_AARCH64_APPLE_DARWIN=\/path\/to\/denort/);
    assert.match(r.stderr, /or run where the download works/);
    assert.ok(performance.now() - t0 < 20_000);
    assert.throws(() => Deno.statSync(`${denoDir}/out`), "nothing was built");
  } finally {
    Deno.removeSync(denoDir, { recursive: true });
  }
});

Deno.test("compile with DENORT_BIN builds dist/edgemq-<host target> and its SHA256SUMS", () => {
  const out = Deno.makeTempDirSync({ prefix: "edgemq-dist-" });
  try {
    const r = compile(["--out-dir", out], { DENORT_BIN: Deno.execPath() });
    assert.equal(r.code, 0, r.stderr);
    const name = outputName(Deno.build.target);
    const size = Deno.statSync(`${out}/${name}`).size;
    // What the binary adds to its runtime is edgemq and its runtime npm packages (~5 MB), not
    // the test-only packages of deno.json (playwright-core alone is 14 MB).
    const embedded = size - Deno.statSync(Deno.execPath()).size;
    assert.ok(embedded > 1_000_000 && embedded < 8_000_000, `embedded ${embedded} bytes`);
    const sums = Deno.readTextFileSync(`${out}/SHA256SUMS`);
    assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${name.replace(".", "\\.")}\n$`));
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("the compile config imports exactly the npm packages src/ uses, at deno.lock's versions", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO}/${COMPILE_CONFIG}`));
  const lock = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.lock`));
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        for (const m of text.matchAll(/(?:from |import\()"(@?[a-z0-9][\w./@-]*)"/g)) {
          if (!/^(node|npm|jsr|https?):/.test(m[1])) used.add(m[1]);
        }
      }
    }
  };
  walk(`${REPO}/src`);
  assert.deepEqual(Object.keys(config.imports).sort(), [...used].sort());
  for (const [name, spec] of Object.entries(config.imports as Record<string, string>)) {
    const version = /^npm:.+@([^@]+)$/.exec(spec)?.[1];
    assert.ok(version, `${name}: ${spec} pins no version`);
    assert.ok(
      lock.npm[`${name}@${version}`],
      `${name}@${version} is not the version deno.lock pins`,
    );
  }
});

Deno.test("`deno task start` runs with the same V8 flags as the compiled binary", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));
  const start: string = config.tasks.start;
  assert.ok(V8_FLAGS.length > 0);
  assert.ok(start.includes(` --v8-flags=${V8_FLAGS.join(",")} `), start);
});
