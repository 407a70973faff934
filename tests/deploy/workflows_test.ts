/** The GitHub workflows parse, and run what we say they run. */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { TARGETS } from "../../scripts/compile.ts";

const dir = new URL("../../.github/workflows/", import.meta.url);

function load(name: string) {
  return parse(Deno.readTextFileSync(new URL(name, dir)));
}

function steps(wf: Record<string, unknown>): Array<Record<string, string>> {
  const jobs = Object.values(wf.jobs as Record<string, { steps: Array<Record<string, string>> }>);
  return jobs.flatMap((j) => j.steps);
}

Deno.test("ci.yml runs bash .ci/run on pushes and pull requests", () => {
  const wf = load("ci.yml");
  assert.ok(wf.on.push && "pull_request" in wf.on);
  assert.ok(steps(wf).some((s) => s.run?.trim() === "bash .ci/run"));
});

Deno.test("release.yml builds every target on a tag, smoke-tests linux x64, uploads sums", () => {
  const wf = load("release.yml");
  assert.deepEqual(wf.on.push.tags, ["v*"]);
  const all = steps(wf).map((s) => s.run ?? "").join("\n");
  assert.match(all, /deno task compile\b/);
  assert.doesNotMatch(all, /--target/, "all targets: compile.ts's default list");
  assert.equal(TARGETS.length, 5);
  assert.match(all, /dist\/edgemq-x86_64-unknown-linux-gnu/);
  assert.match(all, /"\$bin" version/);
  assert.match(all, /mosquitto_pub .*-q 1 -m hello/);
  assert.match(all, /kill -TERM "\$pid"\n\s*wait "\$pid"/);
  assert.match(all, /sha256sum .* > SHA256SUMS/);
  assert.match(all, /gh release create/);
});

Deno.test("package.json's version is a plain semver that a vX.Y.Z tag can match", () => {
  const pkg = JSON.parse(Deno.readTextFileSync(new URL("../../package.json", import.meta.url)));
  assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
});
