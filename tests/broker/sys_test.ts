import { deepEqual, equal, ok } from "node:assert/strict";
import { Harness, text } from "./harness.ts";

Deno.test("$SYS/broker topics are published (retained) every sysInterval with Mosquitto's names", () => {
  const h = new Harness({ sysInterval: 10 }, { heapUsed: () => 1234 });
  const c = h.connected({ clientId: "c" });
  c.subscribe("$SYS/broker/#");
  h.connected({ clientId: "d", clean: false }).drop();
  h.broker.tick();
  const values = new Map(c.publishes().map((m) => [m.topic, text(m.payload)]));
  ok(values.get("$SYS/broker/version")?.startsWith("edgemq version "));
  equal(values.get("$SYS/broker/uptime"), "0 seconds");
  equal(values.get("$SYS/broker/clients/connected"), "1");
  equal(values.get("$SYS/broker/clients/disconnected"), "1");
  equal(values.get("$SYS/broker/clients/total"), "2");
  equal(values.get("$SYS/broker/clients/maximum"), "2");
  equal(values.get("$SYS/broker/heap/current"), "1234");
  equal(values.get("$SYS/broker/subscriptions/count"), "1");
  for (
    const t of [
      "messages/received",
      "messages/sent",
      "bytes/received",
      "bytes/sent",
      "publish/messages/dropped",
      "publish/messages/received",
      "publish/messages/sent",
      "retained messages/count",
    ]
  ) {
    ok(values.has(`$SYS/broker/${t}`), t);
  }
  h.advance(5_000);
  deepEqual(c.publishes(), []);
  h.advance(5_000);
  const again = new Map(c.publishes().map((m) => [m.topic, text(m.payload)]));
  equal(again.get("$SYS/broker/uptime"), "10 seconds");
  ok(!again.has("$SYS/broker/version")); // static: published once, retained
  // retained: a late subscriber gets the tree at once
  const late = h.connected({ clientId: "late" });
  late.subscribe("$SYS/broker/version");
  equal(late.publishes().length, 1);
});

Deno.test("sysInterval 0 disables the periodic $SYS tree", () => {
  const h = new Harness({ sysInterval: 0 });
  const c = h.connected({ clientId: "c" });
  c.subscribe("$SYS/broker/#");
  h.advance(60_000);
  deepEqual(c.publishes(), []);
});

Deno.test("$SYS/brokers/{node}/clients/{id}/connected|disconnected events carry a JSON payload", () => {
  const h = new Harness({ nodeName: "n1" });
  const w = h.connected({ clientId: "w" });
  w.subscribe("$SYS/brokers/+/clients/#");
  const c = h.connected({ clientId: "dev1", version: 5, keepAlive: 30, username: "u" });
  const [conn] = w.publishes();
  equal(conn.topic, "$SYS/brokers/n1/clients/dev1/connected");
  const j = JSON.parse(text(conn.payload));
  deepEqual(
    { ...j, ts: 0 },
    {
      clientid: "dev1",
      username: "u",
      ipaddress: "127.0.0.1",
      proto_ver: 5,
      keepalive: 30,
      reason: "success",
      ts: 0,
    },
  );
  equal(j.ts, h.clock.now());
  c.drop();
  const [disc] = w.publishes();
  equal(disc.topic, "$SYS/brokers/n1/clients/dev1/disconnected");
  equal(JSON.parse(text(disc.payload)).reason, "connection_lost");
});
