/**
 * The broker survives kill -9 with the SQLite store: scripts/crash_test.ts at a small size (the
 * full run is `deno run -A scripts/crash_test.ts --kills 100`).
 */
import assert from "node:assert/strict";
import { formatResult, runCrashTest } from "../../scripts/crash_test.ts";

Deno.test({
  name:
    "kill -9 of the broker 20 times: every acknowledged QoS 1 message delivered at least once, QoS 2 exactly once, retained = last acknowledged (synchronous=full)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await runCrashTest({ kills: 20, publishers: 3, subscribers: 3 });
    console.log(formatResult(r));
    assert.equal(r.kills, 20);
    assert.ok(r.ackedQos1 > 100 && r.ackedQos2 > 100, "enough traffic to mean something");
    assert.equal(r.missing, 0);
    assert.equal(r.qos2Duplicates, 0);
    assert.equal(r.retainedWrong, 0);
    assert.equal(r.retainedTopics, 3);
    assert.equal(r.sessionsLost, 0);
    assert.ok(r.ok, r.problems.join("\n"));
  },
});
