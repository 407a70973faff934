/** ACL: Mosquitto's acl_file format and semantics, YAML rules, topic matching. */
import assert from "node:assert/strict";
import { Acl, AclError, parseAclFile, parseAclYaml } from "../../src/auth/acl.ts";
import { filterWithin, topicMatches } from "../../src/auth/topic_match.ts";

const anon = { clientId: "c1", remoteAddress: "127.0.0.1" };
const alice = { clientId: "a1", username: "alice", remoteAddress: "10.0.0.5" };
const bob = { clientId: "b1", username: "bob", remoteAddress: "192.168.1.9" };

Deno.test("topicMatches(): + one level, # the rest and the parent, no wildcard match of $ topics [MQTT-4.7.2-1]", () => {
  assert.ok(topicMatches("a/+/c", "a/b/c"));
  assert.ok(!topicMatches("a/+/c", "a/b/d"));
  assert.ok(topicMatches("a/#", "a"));
  assert.ok(topicMatches("a/#", "a/b/c"));
  assert.ok(!topicMatches("#", "$SYS/broker/uptime"));
  assert.ok(!topicMatches("+/broker", "$SYS/broker"));
  assert.ok(topicMatches("$SYS/#", "$SYS/broker/uptime"));
  assert.ok(!topicMatches("a/b", "a/b/c"));
});

Deno.test("filterWithin(): a subscription must lie inside the rule (Mosquitto's sub-matches-acl)", () => {
  assert.ok(filterWithin("a/#", "a/b/#"));
  assert.ok(filterWithin("a/#", "a/+"));
  assert.ok(filterWithin("a/+/c", "a/+/c"));
  assert.ok(filterWithin("a/+/c", "a/x/c"));
  assert.ok(!filterWithin("a/x/c", "a/+/c"));
  assert.ok(!filterWithin("a/#", "#"));
  assert.ok(!filterWithin("a/+", "a/#"));
  assert.ok(!filterWithin("#", "$SYS/#"));
  assert.ok(filterWithin("#", "+/x"));
});

const FILE = `# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic write shared/in

user bob
topic shared/#

pattern readwrite devices/%c/#
pattern read users/%u/inbox
`;

Deno.test("acl_file: topic lines before any user line apply to anonymous clients only (Mosquitto)", () => {
  const acl = new Acl(parseAclFile(FILE));
  assert.equal(acl.read(anon, "public/news"), "allow");
  assert.equal(acl.publish(anon, "public/news"), "nomatch", "read only");
  assert.equal(acl.read(alice, "public/news"), "nomatch", "not for authenticated users");
});

Deno.test("acl_file: user blocks; deny rules first; readwrite by default", () => {
  const acl = new Acl(parseAclFile(FILE));
  assert.equal(acl.publish(alice, "alice/x"), "allow");
  assert.equal(acl.read(alice, "alice/x"), "allow");
  assert.equal(acl.read(alice, "alice/secret"), "deny", "deny beats the broader readwrite");
  assert.equal(acl.publish(alice, "shared/in"), "allow");
  assert.equal(acl.read(alice, "shared/in"), "nomatch", "write only");
  assert.equal(acl.publish(bob, "shared/x"), "allow", "no access word = readwrite");
  assert.equal(acl.publish(bob, "alice/x"), "nomatch");
});

Deno.test("acl_file: pattern lines apply to everyone with %c and %u substituted", () => {
  const acl = new Acl(parseAclFile(FILE));
  assert.equal(acl.publish(anon, "devices/c1/temp"), "allow");
  assert.equal(acl.publish(anon, "devices/c2/temp"), "nomatch");
  assert.equal(acl.read(alice, "users/alice/inbox"), "allow");
  assert.equal(acl.read(bob, "users/alice/inbox"), "nomatch");
  assert.equal(acl.read(anon, "users//inbox"), "nomatch", "%u needs a user name");
  // Mosquitto: with pattern rules, + or # in the client id or user name is refused outright.
  assert.equal(acl.publish({ ...anon, clientId: "c+" }, "devices/c+/x"), "deny");
  assert.equal(acl.publish({ ...bob, clientId: "b#" }, "shared/x"), "allow", "topic rules first");
});

Deno.test("acl subscribe: the filter must lie inside a readable rule; a deny rule covering it refuses it", () => {
  const acl = new Acl(parseAclFile(FILE));
  assert.equal(acl.subscribe(alice, "alice/#"), "allow");
  assert.equal(acl.subscribe(alice, "alice/secret"), "deny");
  assert.equal(acl.subscribe(alice, "#"), "nomatch");
  assert.equal(acl.subscribe(alice, "shared/in"), "nomatch", "write-only rule");
  assert.equal(acl.subscribe(anon, "$share/g/public/+"), "allow", "$share/g/ stripped");
  assert.equal(acl.subscribe(anon, "devices/c1/#"), "allow");
});

Deno.test("acl_file errors name the line: bad access word, bad filter, unknown keyword, empty user", () => {
  assert.throws(
    () => parseAclFile("topic reed a/b", "acl.conf"),
    /acl.conf:1: invalid access `reed`/,
  );
  assert.throws(
    () => parseAclFile("\ntopic read a/#/b", "acl.conf"),
    /acl.conf:2: invalid topic filter/,
  );
  assert.throws(() => parseAclFile("topics a", "x"), AclError);
  assert.throws(() => parseAclFile("user ", "x"), /missing user name/);
  assert.deepEqual(parseAclFile("topic read a b c")[0].topic, "a b c", "a topic with spaces");
});

Deno.test("YAML acl: no selector = everyone; user, client_id globs and address CIDRs select", () => {
  const acl = new Acl(parseAclYaml([
    { topic: "plant/secret/#", access: "deny" },
    { topic: "plant/#", access: "read", address: ["10.0.0.0/8", "fd00::/8"] },
    { topic: "cams/#", access: "write", client_id: "cam-*" },
    { user: "alice", topic: "alice/#" },
    { pattern: "devices/%c/#" },
    { topic: "everyone/#", access: "read" },
  ]));
  assert.equal(acl.read(alice, "plant/line1"), "allow", "10.0.0.5 is in 10.0.0.0/8");
  assert.equal(acl.read(bob, "plant/line1"), "nomatch");
  assert.equal(acl.read({ ...bob, remoteAddress: "fd00::7" }, "plant/x"), "allow");
  assert.equal(acl.read(alice, "plant/secret/key"), "deny");
  assert.equal(acl.publish({ ...anon, clientId: "cam-7" }, "cams/7"), "allow");
  assert.equal(acl.publish({ ...anon, clientId: "camera" }, "cams/7"), "nomatch");
  assert.equal(acl.publish(alice, "alice/x"), "allow");
  assert.equal(acl.publish(bob, "alice/x"), "nomatch");
  assert.equal(acl.publish(bob, "devices/b1/t"), "allow");
  assert.equal(acl.read(anon, "everyone/x"), "allow");
  assert.equal(acl.read(alice, "everyone/x"), "allow");
});

Deno.test("YAML acl validation says which entry and key is wrong", () => {
  assert.throws(() => parseAclYaml([{ topic: "a", access: "rw" }]), /acl\[0\]\.access/);
  assert.throws(() => parseAclYaml([{ topic: "a", pattern: "b" }]), /exactly one of/);
  assert.throws(() => parseAclYaml([{ topic: "a/#/b" }]), /acl\[0\]\.topic/);
  assert.throws(() => parseAclYaml([{ topic: "a", adress: "x" }]), /unknown key `adress`/);
  assert.throws(() => parseAclYaml([{ topic: "a", address: "10.0.0.0/33" }]), /acl\[0\]\.address/);
  assert.throws(() => parseAclYaml({ topic: "a" }), /expected a list/);
});
