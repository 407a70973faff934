import assert from "node:assert/strict";
import {
  formatSubscriptionFilter,
  parseSubscriptionFilter,
  QUEUE_GROUP,
  validateTopicFilter,
  validateTopicName,
} from "../../src/broker/shared_filter.ts";

function errorOf(raw: string): string {
  const parsed = parseSubscriptionFilter(raw);
  assert.ok("error" in parsed, `expected "${raw}" to be rejected`);
  return parsed.error;
}

Deno.test("parseSubscriptionFilter() returns plain filters as { filter } with no share", () => {
  for (const raw of ["a", "a/b/c", "+", "#", "a/+/b/#", "/", "//", "a//b", "$SYS/#", "A/b"]) {
    const parsed = parseSubscriptionFilter(raw);
    assert.deepEqual(parsed, { filter: raw });
    assert.ok(!("share" in parsed), `"${raw}" must have no share property`);
  }
});

Deno.test("parseSubscriptionFilter() splits $share/{group}/{filter} into group and filter (MQTT 5 §4.8.2)", () => {
  assert.deepEqual(parseSubscriptionFilter("$share/consumer1/sport/tennis/+"), {
    filter: "sport/tennis/+",
    share: "consumer1",
  });
  assert.deepEqual(parseSubscriptionFilter("$share/g/#"), { filter: "#", share: "g" });
  assert.deepEqual(parseSubscriptionFilter("$share/g/+"), { filter: "+", share: "g" });
  assert.deepEqual(parseSubscriptionFilter("$share/g/$SYS/#"), { filter: "$SYS/#", share: "g" });
});

Deno.test("parseSubscriptionFilter() keeps a leading empty level of the shared filter ($share/g//finance)", () => {
  assert.deepEqual(parseSubscriptionFilter("$share/consumer1//finance"), {
    filter: "/finance",
    share: "consumer1",
  });
});

Deno.test("parseSubscriptionFilter() accepts ShareNames with $ and other characters", () => {
  assert.deepEqual(parseSubscriptionFilter("$share/$queue/a"), { filter: "a", share: "$queue" });
  assert.deepEqual(parseSubscriptionFilter("$share/grüppe-1.x/a"), {
    filter: "a",
    share: "grüppe-1.x",
  });
});

Deno.test('parseSubscriptionFilter() treats EMQX\'s $queue/{filter} as group "$queue"', () => {
  assert.equal(QUEUE_GROUP, "$queue");
  assert.deepEqual(parseSubscriptionFilter("$queue/a/b"), { filter: "a/b", share: "$queue" });
  assert.deepEqual(parseSubscriptionFilter("$queue/#"), { filter: "#", share: "$queue" });
  assert.deepEqual(parseSubscriptionFilter("$queue//x"), { filter: "/x", share: "$queue" });
});

Deno.test("parseSubscriptionFilter() rejects an empty ShareName [MQTT-4.8.2-1]", () => {
  for (const raw of ["$share/", "$share//a", "$share//#"]) {
    assert.match(errorOf(raw), /\[MQTT-4\.8\.2-1\]/, raw);
  }
});

Deno.test("parseSubscriptionFilter() rejects a ShareName containing + or # [MQTT-4.8.2-2]", () => {
  for (const raw of ["$share/+/a", "$share/#/a", "$share/g+/a", "$share/g#x/a", "$share/#"]) {
    const error = errorOf(raw);
    assert.match(error, /\[MQTT-4\.8\.2-2\]/, raw);
    assert.match(error, /'\+' or '#'/, raw);
  }
});

Deno.test("parseSubscriptionFilter() rejects a ShareName not followed by / and a filter [MQTT-4.8.2-2]", () => {
  for (const raw of ["$share/g", "$share/g/"]) {
    const error = errorOf(raw);
    assert.match(error, /\[MQTT-4\.8\.2-2\]/, raw);
    assert.match(error, /followed by '\/' and a topic filter/, raw);
  }
});

Deno.test("parseSubscriptionFilter() rejects $queue/ without a filter [MQTT-4.8.2-2]", () => {
  assert.match(errorOf("$queue/"), /\[MQTT-4\.8\.2-2\]/);
});

Deno.test("parseSubscriptionFilter() treats $share and $sharex/… without the prefix as plain filters", () => {
  assert.deepEqual(parseSubscriptionFilter("$share"), { filter: "$share" });
  assert.deepEqual(parseSubscriptionFilter("$sharex/g/a"), { filter: "$sharex/g/a" });
  assert.deepEqual(parseSubscriptionFilter("$queue"), { filter: "$queue" });
  assert.deepEqual(parseSubscriptionFilter("$SHARE/g/a"), { filter: "$SHARE/g/a" });
});

Deno.test("parseSubscriptionFilter() rejects an empty filter [MQTT-4.7.3-1]", () => {
  assert.match(errorOf(""), /\[MQTT-4\.7\.3-1\]/);
});

Deno.test("parseSubscriptionFilter() rejects a filter containing U+0000 [MQTT-4.7.3-2]", () => {
  assert.match(errorOf("a/\u0000/b"), /\[MQTT-4\.7\.3-2\]/);
  assert.match(errorOf("$share/g/a\u0000"), /\[MQTT-4\.7\.3-2\]/);
});

Deno.test("parseSubscriptionFilter() rejects # that is not a whole, last level [MQTT-4.7.1-1]", () => {
  for (const raw of ["a/#/b", "#/a", "a#", "a/b#", "##", "a/#/#", "$share/g/a/#/b", "$queue/#x"]) {
    assert.match(errorOf(raw), /\[MQTT-4\.7\.1-1\]/, raw);
  }
});

Deno.test("parseSubscriptionFilter() rejects + that does not occupy a whole level [MQTT-4.7.1-2]", () => {
  for (const raw of ["a+", "a/+b", "++", "sport+", "+a/b", "$share/g/a/b+", "$queue/x+"]) {
    assert.match(errorOf(raw), /\[MQTT-4\.7\.1-2\]/, raw);
  }
});

Deno.test("validateTopicFilter() accepts wildcards at every valid position and empty levels", () => {
  for (
    const filter of [
      "+",
      "#",
      "+/+",
      "+/#",
      "a/+",
      "a/#",
      "+/a",
      "+/a/#",
      "a/+/b/+/#",
      "/+",
      "+/",
      "/#",
      "a//#",
    ]
  ) {
    assert.equal(validateTopicFilter(filter), undefined, filter);
  }
});

Deno.test("validateTopicName() rejects empty names, U+0000 and wildcards [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-3.3.2-2]", () => {
  assert.match(validateTopicName("")!, /MQTT-4\.7\.3-1/);
  assert.match(validateTopicName("a\u0000")!, /MQTT-4\.7\.3-2/);
  assert.match(validateTopicName("a/+")!, /MQTT-3\.3\.2-2/);
  assert.match(validateTopicName("a/#")!, /MQTT-3\.3\.2-2/);
  assert.equal(validateTopicName("a//b"), undefined);
  assert.equal(validateTopicName("/"), undefined);
  assert.equal(validateTopicName("$SYS/broker/uptime"), undefined);
});

Deno.test("formatSubscriptionFilter() is the inverse of parseSubscriptionFilter() for $share and plain filters", () => {
  for (const raw of ["a/b", "#", "$share/g/a/+", "$share/g//x", "$SYS/#"]) {
    const parsed = parseSubscriptionFilter(raw);
    assert.ok(!("error" in parsed));
    assert.equal(formatSubscriptionFilter(parsed), raw);
  }
  assert.equal(formatSubscriptionFilter({ filter: "a", share: "$queue" }), "$share/$queue/a");
});
