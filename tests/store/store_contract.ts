/**
 * The Store contract: one suite, run against every implementation (memory_store_test.ts,
 * sqlite_store_test.ts). Each case is registered as its own Deno.test.
 */

import assert from "node:assert/strict";
import {
  type LoadedSession,
  NEVER_EXPIRES,
  type SessionRecord,
  type Store,
  StoreClosedError,
  StoreCommitError,
  type StoredMessage,
  type StoreOptions,
  type SubscriptionRecord,
} from "../../src/store/store.ts";
import { FailingWrites } from "../../src/store/fault_injector.ts";

/** One test environment: a place where a store's data lives across "restarts". */
export interface StoreEnv {
  /** Opens the store on this environment's data (a new instance each time). */
  open(options?: StoreOptions): Store;
  /** Removes the data. */
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  /** A fresh, empty environment. */
  env(): Promise<StoreEnv> | StoreEnv;
  /** Whether data survives close + open (false skips the reopen-specific cases). */
  canReopen: boolean;
}

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function session(clientId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    expiryInterval: NEVER_EXPIRES,
    createdAt: 1_700_000_000_000,
    disconnectedAt: 1_700_000_000_000,
    ...over,
  };
}

export function msg(
  topic: string,
  payload: string | Uint8Array,
  over: Partial<StoredMessage> = {},
) {
  return {
    topic,
    payload: typeof payload === "string" ? new TextEncoder().encode(payload) : payload,
    qos: 1 as const,
    retain: false,
    expiresAt: null,
    ...over,
  } satisfies StoredMessage;
}

function sub(topicFilter: string, over: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    topicFilter,
    shareGroup: null,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: null,
    ...over,
  };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

function find(sessions: LoadedSession[], clientId: string): LoadedSession {
  const s = sessions.find((x) => x.session.clientId === clientId);
  assert.ok(s, `session ${clientId} loaded`);
  return s;
}

/** Registers the contract cases for `factory`. */
export function storeContract(factory: StoreFactory): void {
  const { name } = factory;

  /** Runs `fn` with a fresh env, and closes every store it opened. */
  function withEnv(
    fn: (
      h: {
        env: StoreEnv;
        open: (o?: StoreOptions) => Store;
        reopen: (s: Store, o?: StoreOptions) => Promise<Store>;
      },
    ) => Promise<void>,
  ): () => Promise<void> {
    return async () => {
      const env = await factory.env();
      const opened: Store[] = [];
      const open = (o?: StoreOptions) => {
        const s = env.open({ logger: quietLogger, ...o });
        opened.push(s);
        return s;
      };
      const reopen = async (s: Store, o?: StoreOptions) => {
        await s.close();
        return open(o);
      };
      try {
        await fn({ env, open, reopen });
      } finally {
        for (const s of opened) await s.close();
        await env.cleanup();
      }
    };
  }

  const test = (title: string, fn: Parameters<typeof withEnv>[0], reopenOnly = false) => {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: reopenOnly && !factory.canReopen,
      fn: withEnv(fn),
    });
  };

  test("a new store loads an empty state", async ({ open }) => {
    const s = open();
    const state = s.load();
    assert.deepEqual(state.sessions, []);
    assert.deepEqual(state.retained, []);
    assert.deepEqual(state.wills, []);
    assert.deepEqual(state.dropped, { sessions: 0, messages: 0, retained: 0 });
    await s.flush();
  });

  test("sessions round-trip through close and reopen", async ({ open, reopen }) => {
    const clock = new FakeClock();
    let s = open({ now: clock.now });
    s.putSession(session("a", { protocolVersion: 3, expiryInterval: NEVER_EXPIRES }));
    s.putSession(session("b", { protocolVersion: 4, expiryInterval: 3600 }));
    s.putSession(session("c", { protocolVersion: 5, expiryInterval: 7, createdAt: 5 }));
    s.putSession(session("b", { protocolVersion: 5, expiryInterval: 60 })); // replaces
    await s.flush();
    s = await reopen(s, { now: clock.now });
    const { sessions } = s.load();
    assert.deepEqual(
      sessions.map((x) => x.session).sort((x, y) => x.clientId.localeCompare(y.clientId)),
      [
        session("a", { protocolVersion: 3 }),
        session("b", { protocolVersion: 5, expiryInterval: 60 }),
        session("c", { protocolVersion: 5, expiryInterval: 7, createdAt: 5 }),
      ],
    );
    for (const x of sessions) {
      assert.deepEqual(x.subscriptions, []);
      assert.deepEqual(x.messages, []);
      assert.deepEqual(x.incomingQos2, []);
    }
  }, true);

  test(
    "subscriptions: set replaces all, put upserts by (share group, filter), delete removes",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      s.setSubscriptions("a", [sub("x/#"), sub("y/+", { qos: 2, subscriptionId: 7 })]);
      s.setSubscriptions("a", [
        sub("t/1", { qos: 0, noLocal: true }),
        sub("t/1", { shareGroup: "g", qos: 2, retainAsPublished: true, retainHandling: 2 }),
      ]);
      s.putSubscription("a", sub("t/2", { retainHandling: 1, subscriptionId: 268435455 }));
      s.putSubscription("a", sub("t/1", { qos: 1, noLocal: true })); // replaces the unshared t/1
      s.putSubscription("a", sub("gone"));
      s.deleteSubscription("a", "gone", null);
      s.deleteSubscription("a", "t/2", "g"); // no such shared one: no-op
      await s.flush();
      s = await reopen(s);
      const subs = find(s.load().sessions, "a").subscriptions;
      const key = (x: SubscriptionRecord) => `${x.shareGroup}|${x.topicFilter}`;
      assert.deepEqual(
        subs.sort((x, y) => key(x).localeCompare(key(y))),
        [
          sub("t/1", { shareGroup: "g", qos: 2, retainAsPublished: true, retainHandling: 2 }),
          sub("t/1", { qos: 1, noLocal: true }),
          sub("t/2", { retainHandling: 1, subscriptionId: 268435455 }),
        ].sort((x, y) => key(x).localeCompare(key(y))),
      );
    },
    true,
  );

  test(
    "messages round-trip: payload bytes, qos, retain, properties with binary fields, expiry",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      const binary = new Uint8Array(256).map((_, i) => i);
      const props = {
        payloadFormatIndicator: 1,
        contentType: "application/json",
        responseTopic: "re/ply",
        correlationData: new Uint8Array([0, 1, 2, 255]),
        userProperties: [["k", "v"], ["k", "v2"], ["é", "ü"]] as [string, string][],
        messageExpiryInterval: 30,
      };
      const seqs = [
        s.enqueue("a", msg("t/bin", binary, { qos: 2, retain: true })),
        s.enqueue("a", msg("t/empty", new Uint8Array(0), { qos: 0 })),
        s.enqueue("a", msg("t/props", "{}", { properties: props, expiresAt: 1_900_000_000_000 })),
      ];
      await s.flush();
      s = await reopen(s);
      const m = find(s.load().sessions, "a").messages;
      assert.deepEqual(m, [
        {
          ...msg("t/bin", binary, { qos: 2, retain: true }),
          seq: seqs[0],
          state: "queued",
          packetId: null,
        },
        {
          ...msg("t/empty", new Uint8Array(0), { qos: 0 }),
          seq: seqs[1],
          state: "queued",
          packetId: null,
        },
        {
          ...msg("t/props", "{}", { properties: props, expiresAt: 1_900_000_000_000 }),
          seq: seqs[2],
          state: "queued",
          packetId: null,
        },
      ]);
      assert.ok(m[2].properties!.correlationData instanceof Uint8Array);
    },
    true,
  );

  test(
    "enqueue copies the payload: the caller may reuse its buffer at once",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      const buf = new TextEncoder().encode("hello");
      s.enqueue("a", msg("t", buf));
      s.enqueue("a", msg("t", buf.subarray(1, 3)));
      buf.fill(0);
      await s.flush();
      s = await reopen(s);
      assert.deepEqual(find(s.load().sessions, "a").messages.map((m) => text(m.payload)), [
        "hello",
        "el",
      ]);
    },
    true,
  );

  test(
    "in-flight states: markInflight, markPubrel, ack, removeMessage, clearMessages",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      s.putSession(session("b"));
      const q1 = s.enqueue("a", msg("t/1", "1"))!;
      const q2 = s.enqueue("a", msg("t/2", "2", { qos: 2 }))!;
      const q3 = s.enqueue("a", msg("t/3", "3", { qos: 2 }))!;
      const q4 = s.enqueue("a", msg("t/4", "4", { qos: 0 }))!;
      const q5 = s.enqueue("a", msg("t/5", "5"))!;
      const b1 = s.enqueue("b", msg("t/b", "b"))!;
      s.markInflight("a", q1, 10);
      s.markInflight("a", q2, 11);
      s.markInflight("a", q3, 12);
      s.markInflight("b", b1, 10); // same packet id on another session
      s.markPubrel("a", 12);
      await s.flush();
      s.ack("a", 10); // PUBACK for t/1
      s.removeMessage("a", q4); // QoS 0 delivered
      s.ack("a", 999); // unknown packet id: no-op
      s.ack("c", 10); // unknown client: no-op
      await s.flush();
      s = await reopen(s);
      const state = s.load();
      const a = find(state.sessions, "a").messages.map((m) => [m.seq, m.state, m.packetId]);
      assert.deepEqual(a, [[q2, "publish", 11], [q3, "pubrel", 12], [q5, "queued", null]]);
      assert.deepEqual(
        find(state.sessions, "b").messages.map((m) => [m.seq, m.state, m.packetId]),
        [
          [b1, "publish", 10],
        ],
      );
      s.clearMessages("a");
      s.ack("a", 11);
      await s.flush();
      s = await reopen(s);
      const again = s.load();
      assert.deepEqual(find(again.sessions, "a").messages, []);
      assert.equal(find(again.sessions, "b").messages.length, 1);
    },
    true,
  );

  test(
    "queued messages keep their exact order across many enqueues, acks and removals",
    async ({ open, reopen }) => {
      let s = open();
      const clients = ["a", "b", "c"];
      for (const c of clients) s.putSession(session(c));
      const expected = new Map<string, { seq: number; body: string; pid: number | null }[]>(
        clients.map((c) => [c, []]),
      );
      let rnd = 12345;
      const random = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
      let nextPid = 1;
      let lastSeq = 0;
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 100; i++) {
          const c = clients[Math.floor(random() * clients.length)];
          const body = `${c}-${round}-${i}`;
          const seq = s.enqueue(c, msg(`t/${c}`, body))!;
          assert.ok(seq > lastSeq, "sequence numbers grow");
          lastSeq = seq;
          expected.get(c)!.push({ seq, body, pid: null });
        }
        for (const c of clients) {
          const list = expected.get(c)!;
          // Send the first few, ack some of the sent ones, drop a random queued one.
          for (const m of list.slice(0, 5)) {
            if (m.pid === null) {
              m.pid = nextPid++;
              s.markInflight(c, m.seq, m.pid);
            }
          }
          const acked = list.filter((m) => m.pid !== null && random() < 0.5);
          for (const m of acked) s.ack(c, m.pid!);
          const rest = list.filter((m) => !acked.includes(m));
          const drop = rest.findIndex((m, i) => m.pid === null && i > rest.length / 2);
          if (drop >= 0) {
            s.removeMessage(c, rest[drop].seq);
            rest.splice(drop, 1);
          }
          expected.set(c, rest);
        }
        if (round % 3 === 0) await turn(); // several batches, not one
      }
      await s.flush();
      s = await reopen(s);
      const { sessions } = s.load();
      for (const c of clients) {
        const got = find(sessions, c).messages.map((m) => ({
          seq: m.seq,
          body: text(m.payload),
          pid: m.packetId,
        }));
        assert.deepEqual(got, expected.get(c), `order of ${c}`);
      }
      // New sequence numbers continue after the ones already stored.
      assert.ok(s.enqueue("a", msg("t", "after"))! > lastSeq);
    },
    true,
  );

  test(
    "incoming QoS 2 packet ids are added, removed and loaded in ascending order",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      s.putSession(session("b"));
      for (const pid of [7, 3, 65535, 1, 3]) s.addIncomingQos2("a", pid);
      s.addIncomingQos2("b", 7);
      s.removeIncomingQos2("a", 1);
      s.removeIncomingQos2("a", 42);
      await s.flush();
      s = await reopen(s);
      const { sessions } = s.load();
      assert.deepEqual(find(sessions, "a").incomingQos2, [3, 7, 65535]);
      assert.deepEqual(find(sessions, "b").incomingQos2, [7]);
    },
    true,
  );

  test(
    "deleteSession removes subscriptions, messages and QoS 2 ids but not the will",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      s.setSubscriptions("a", [sub("x")]);
      s.enqueue("a", msg("x", "1"));
      s.addIncomingQos2("a", 5);
      s.putWill({
        clientId: "a",
        will: { topic: "w", payload: new Uint8Array([1]), qos: 1, retain: false },
        publishAt: 5,
      });
      s.putSession(session("b"));
      await s.flush();
      s.deleteSession("a");
      s.putSession(session("a")); // a new session with the same id starts clean
      await s.flush();
      s = await reopen(s);
      const state = s.load();
      const a = find(state.sessions, "a");
      assert.deepEqual([a.subscriptions, a.messages, a.incomingQos2], [[], [], []]);
      assert.equal(state.sessions.length, 2);
      assert.equal(state.wills.length, 1);
    },
    true,
  );

  test(
    "retained messages: put, replace per topic, delete, with properties and storedAt",
    async ({ open, reopen }) => {
      let s = open();
      const props = { contentType: "text/plain", correlationData: new Uint8Array([9, 9]) };
      assert.equal(s.putRetained({ ...msg("r/1", "one"), retain: true, storedAt: 1 }), true);
      s.putRetained({
        ...msg("r/2", "two", { qos: 2 }),
        retain: true,
        storedAt: 2,
        properties: props,
      });
      s.putRetained({ ...msg("r/3", "three"), retain: true, storedAt: 3 });
      s.putRetained({ ...msg("r/1", "uno", { qos: 0 }), retain: true, storedAt: 4 });
      s.deleteRetained("r/3");
      s.deleteRetained("r/none");
      await s.flush();
      s = await reopen(s);
      const got = s.load().retained.sort((x, y) => x.topic.localeCompare(y.topic));
      assert.deepEqual(got, [
        { ...msg("r/1", "uno", { qos: 0 }), retain: true, storedAt: 4 },
        { ...msg("r/2", "two", { qos: 2 }), retain: true, storedAt: 2, properties: props },
      ]);
    },
    true,
  );

  test("delayed wills: put, replace per client, delete", async ({ open, reopen }) => {
    let s = open();
    const will = (t: string, extra = {}) => ({
      topic: t,
      payload: new TextEncoder().encode(t),
      qos: 1 as const,
      retain: true,
      ...extra,
    });
    s.putWill({ clientId: "a", will: will("w/a"), publishAt: 100 });
    s.putWill({
      clientId: "b",
      will: will("w/b", { properties: { willDelayInterval: 5, userProperties: [["x", "y"]] } }),
      publishAt: 200,
    });
    s.putWill({ clientId: "c", will: will("w/c"), publishAt: 300 });
    s.putWill({ clientId: "a", will: will("w/a2"), publishAt: 150 });
    s.deleteWill("c");
    await s.flush();
    s = await reopen(s);
    const wills = s.load().wills.sort((x, y) => x.clientId.localeCompare(y.clientId));
    assert.deepEqual(wills, [
      { clientId: "a", will: will("w/a2"), publishAt: 150 },
      {
        clientId: "b",
        will: will("w/b", { properties: { willDelayInterval: 5, userProperties: [["x", "y"]] } }),
        publishAt: 200,
      },
    ]);
  }, true);

  test("group commit: all writes of one turn are one commit; callbacks run after it, in order", async ({ open }) => {
    const s = open();
    s.load();
    const before = s.stats.commits;
    const order: string[] = [];
    s.putSession(session("a"));
    for (let i = 0; i < 500; i++) {
      const seq = s.enqueue("a", msg("t", `${i}`))!;
      s.markInflight("a", seq, i + 1);
      if (i % 100 === 0) {
        s.afterDurable((e) => {
          assert.equal(e, null);
          // The commit has happened when the callback runs.
          assert.equal(s.stats.commits, before + 1);
          assert.equal(s.stats.pendingOps, 0);
          order.push(`cb${i}`);
        });
      }
    }
    assert.equal(s.stats.commits, before, "nothing committed synchronously");
    assert.equal(s.stats.pendingOps, 501, "enqueue + markInflight right after it is one write");
    const p = s.flush().then(() => order.push("flush"));
    assert.deepEqual(order, [], "callbacks are never called synchronously");
    await p;
    assert.deepEqual(order, ["cb0", "cb100", "cb200", "cb300", "cb400", "flush"]);
    assert.equal(s.stats.commits, before + 1);
    assert.equal(s.stats.opsCommitted, 501);
  });

  test("group commit: writes made in a callback go to the next commit", async ({ open }) => {
    const s = open();
    const seen: number[] = [];
    s.putSession(session("a"));
    const done = new Promise<void>((resolve) => {
      s.afterDurable(() => {
        seen.push(s.stats.commits);
        s.enqueue("a", msg("t", "x"));
        s.afterDurable(() => {
          seen.push(s.stats.commits);
          resolve();
        });
      });
    });
    await done;
    assert.deepEqual(seen, [1, 2]);
  });

  test("afterDurable with nothing pending still calls back asynchronously, without a commit", async ({ open }) => {
    const s = open();
    let called = false;
    s.afterDurable((e) => {
      assert.equal(e, null);
      called = true;
    });
    assert.equal(called, false);
    await s.flush();
    assert.equal(called, true);
    assert.equal(s.stats.commits, 0);
  });

  test(
    "a failed commit rejects flush, passes the error to callbacks, stores nothing of the batch, and the store recovers",
    async ({ open, reopen }) => {
      const faults = new FailingWrites();
      let s = open({ faultInjector: faults });
      s.putSession(session("a"));
      s.enqueue("a", msg("t", "kept"));
      await s.flush();

      faults.failNext(1);
      s.enqueue("a", msg("t", "lost-1"));
      s.ack("a", 1);
      s.putRetained({ ...msg("r", "lost"), retain: true, storedAt: 1 });
      const results: (Error | null)[] = [];
      s.afterDurable((e) => results.push(e));
      await assert.rejects(s.flush(), (e: unknown) => {
        assert.ok(e instanceof StoreCommitError);
        assert.match(e.message, /injected write failure/);
        assert.match(e.message, /nothing of it was stored/);
        return true;
      });
      assert.equal(results.length, 1);
      assert.ok(results[0] instanceof StoreCommitError, "the ack callback saw the failure");
      assert.equal(s.stats.failedCommits, 1);

      s.enqueue("a", msg("t", "after"));
      await s.flush(); // the next batch commits normally
      s = await reopen(s);
      const state = s.load();
      assert.deepEqual(find(state.sessions, "a").messages.map((m) => text(m.payload)), [
        "kept",
        "after",
      ]);
      assert.deepEqual(state.retained, []);
    },
    true,
  );

  test("a failed commit's callbacks never run as success, even with many batches failing", async ({ open }) => {
    const faults = new FailingWrites();
    const s = open({ faultInjector: faults });
    faults.failNext(Infinity);
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 5; i++) {
      s.enqueue("a", msg("t", `${i}`));
      s.afterDurable((e) => e === null ? ok++ : failed++);
      await s.flush().catch(() => {});
    }
    assert.deepEqual([ok, failed], [0, 5]);
    faults.heal();
    s.enqueue("a", msg("t", "x"));
    s.afterDurable((e) => e === null ? ok++ : failed++);
    await s.flush();
    assert.deepEqual([ok, failed], [1, 5]);
  });

  test("maxStoredBytes: enqueue returns null and putRetained/putWill false once the cap is reached", async ({ open }) => {
    const s = open({ maxStoredBytes: 10_000 });
    s.putSession(session("a"));
    const big = new Uint8Array(1000);
    const seqs: number[] = [];
    let seq: number | null;
    while ((seq = s.enqueue("a", msg("t", big))) !== null) seqs.push(seq);
    assert.equal(seqs.length, 9, "9 x (1000 B + overhead) fit in 10 kB");
    assert.equal(s.putRetained({ ...msg("r", big), retain: true, storedAt: 0 }), false);
    assert.equal(
      s.putWill({
        clientId: "a",
        will: { topic: "w", payload: big, qos: 0, retain: false },
        publishAt: 0,
      }),
      false,
    );
    assert.equal(s.stats.rejectedWrites, 3);
    assert.ok(s.stats.storedBytes <= 10_000);
    await s.flush();
    // Freed space is available again once the deletion has committed.
    for (const q of seqs.slice(0, 3)) s.removeMessage("a", q);
    await s.flush();
    assert.ok(s.enqueue("a", msg("t", big)) !== null);
    assert.equal(s.putRetained({ ...msg("r", big), retain: true, storedAt: 0 }), true);
  });

  test("stats: storedBytes follows writes and deletions; commit latencies are reported", async ({ open, reopen }) => {
    let s = open();
    assert.equal(s.stats.storedBytes, 0);
    s.putSession(session("a"));
    const a = s.enqueue("a", msg("t", new Uint8Array(100)))!;
    s.enqueue("a", msg("t", new Uint8Array(200)));
    s.putRetained({ ...msg("r", new Uint8Array(300)), retain: true, storedAt: 0 });
    s.putWill({
      clientId: "a",
      will: { topic: "w", payload: new Uint8Array(50), qos: 0, retain: false },
      publishAt: 0,
    });
    const afterPut = s.stats.storedBytes;
    assert.ok(afterPut >= 650, `storedBytes ${afterPut}`);
    await s.flush();
    assert.equal(s.stats.storedBytes, afterPut);
    s.removeMessage("a", a);
    s.putRetained({ ...msg("r", new Uint8Array(10)), retain: true, storedAt: 0 }); // replaces 300
    await s.flush();
    const afterDelete = s.stats.storedBytes;
    assert.equal(
      afterPut - afterDelete,
      (64 + 1 + 100) + (300 - 10),
      "message + overhead, retained delta",
    );
    const st = s.stats;
    assert.equal(st.commits, 2);
    assert.ok(
      st.avgCommitMs >= 0 && st.p99CommitMs >= st.p50CommitMs && st.maxCommitMs >= st.p99CommitMs,
    );
    if (factory.canReopen) {
      s = await reopen(s);
      assert.equal(s.stats.storedBytes, afterDelete, "storedBytes is recomputed at open");
    }
  });

  test("a message enqueued and acknowledged or removed in the same batch is not written at all", async ({ open, reopen }) => {
    let s = open();
    s.putSession(session("a"));
    const kept = s.enqueue("a", msg("t", "kept"))!;
    s.markInflight("a", kept, 1);
    await s.flush();
    const before = s.stats;
    // Online delivery acknowledged before the commit (QoS 1), QoS 2 up to PUBCOMP, QoS 0 done.
    const q1 = s.enqueue("a", msg("t", "q1"))!;
    s.markInflight("a", q1, 2);
    const q2 = s.enqueue("a", msg("t", "q2", { qos: 2 }))!;
    s.markInflight("a", q2, 3);
    s.markPubrel("a", 3);
    const q0 = s.enqueue("a", msg("t", "q0", { qos: 0 }))!;
    const stays = s.enqueue("a", msg("t", "stays"))!;
    s.ack("a", 2);
    s.ack("a", 3);
    s.removeMessage("a", q0);
    s.ack("a", 1); // its enqueue was committed earlier: a real delete
    const b = s.bridgeEnqueue("up", msg("u", "x"))!;
    s.bridgeRemove("up", b);
    s.ack("b", 2); // another client's packet id 2: nothing to cancel
    assert.equal(s.stats.pendingOps, 4, "pubrel, stays, ack of 1, ack of b/2");
    await s.flush();
    assert.equal(s.stats.opsCommitted - before.opsCommitted, 4);
    assert.equal(s.stats.storedBytes, before.storedBytes - (64 + 1 + 4) + (64 + 1 + 5));
    s = await reopen(s);
    const state = s.load();
    assert.deepEqual(find(state.sessions, "a").messages.map((m) => m.seq), [stays]);
    assert.deepEqual(s.loadBridgeQueue("up"), []);
  });

  test("a queued message sent later in the same batch takes its packet id safely (ack of the id's previous message in between)", async ({ open, reopen }) => {
    let s = open();
    s.putSession(session("a"));
    const a = s.enqueue("a", msg("t", "a"))!;
    s.markInflight("a", a, 5);
    await s.flush();
    const b = s.enqueue("a", msg("t", "b"))!; // queued
    const c = s.enqueue("a", msg("t", "c"))!; // queued
    s.ack("a", 5); // a is acknowledged: id 5 is free again
    s.markInflight("a", b, 5); // b takes id 5: must not be deleted by the ack before it
    s.markInflight("a", c, 6); // no ack of 6 in between: c is inserted in flight
    s.ack("a", 6); // c acknowledged in the same batch: never written
    await s.flush();
    s = await reopen(s);
    const messages = find(s.load().sessions, "a").messages;
    assert.deepEqual(messages.map((m) => [m.seq, m.state, m.packetId]), [[b, "publish", 5]]);
    assert.ok(c > b);
  });

  test("stats: commit latencies as a cumulative histogram (seconds, +Inf last) with sum and count", async ({ open }) => {
    const s = open();
    const empty = s.stats;
    assert.equal(empty.commitLatencyCount, 0);
    assert.equal(empty.commitLatencySum, 0);
    assert.ok(empty.commitLatencyBuckets.every((b) => b.count === 0));
    s.putSession(session("a"));
    for (let i = 0; i < 5; i++) {
      s.enqueue("a", msg("t", `${i}`));
      await s.flush();
    }
    const st = s.stats;
    assert.equal(st.commitLatencyCount, 5);
    assert.equal(st.commitLatencyCount, st.commits);
    assert.ok(st.commitLatencySum > 0 && st.commitLatencySum < 60);
    const les = st.commitLatencyBuckets.map((b) => b.le);
    assert.deepEqual(les.slice(0, 3), [0.0005, 0.001, 0.0025]);
    assert.ok(les.includes(1));
    assert.equal(les.at(-1), Infinity);
    for (let i = 1; i < les.length; i++) {
      assert.ok(les[i] > les[i - 1], "le ascending");
      assert.ok(st.commitLatencyBuckets[i].count >= st.commitLatencyBuckets[i - 1].count);
    }
    assert.equal(st.commitLatencyBuckets.at(-1)!.count, 5, "+Inf counts every commit");
  });

  test("writes and callbacks made while a batch commits: later batches, callbacks in order, load sees all", async ({ open }) => {
    const s = open();
    s.putSession(session("a"));
    const big = new Uint8Array(1000);
    for (let i = 0; i < 2000; i++) s.enqueue("a", msg("t", big));
    const order: string[] = [];
    s.afterDurable((e) => order.push(`big:${e}`));
    await turn(); // the big batch is now committing (or committed, for an inline store)
    for (let k = 0; k < 3; k++) {
      s.enqueue("a", msg("t", `small${k}`));
      s.afterDurable((e) => order.push(`small${k}:${e}`));
      await turn();
    }
    s.enqueue("a", msg("t", "last"));
    s.afterDurable((e) => order.push(`last:${e}`));
    const state = s.load(); // commits what is pending first, after the batch in progress
    assert.equal(find(state.sessions, "a").messages.length, 2004);
    assert.equal(text(find(state.sessions, "a").messages.at(-1)!.payload), "last");
    await s.flush();
    assert.deepEqual(order, [
      "big:null",
      "small0:null",
      "small1:null",
      "small2:null",
      "last:null",
    ]);
    assert.equal(s.stats.pendingOps, 0);
    assert.equal(s.stats.opsCommitted, 2005);
  });

  test(
    "load drops what has expired: sessions, queued messages, retained; keeps in-flight ones",
    async ({ open, reopen }) => {
      const clock = new FakeClock();
      const t0 = clock.t;
      let s = open({ now: clock.now });
      s.putSession(session("gone", { expiryInterval: 10, disconnectedAt: t0 }));
      s.enqueue("gone", msg("t", "x"));
      s.setSubscriptions("gone", [sub("t")]);
      s.putSession(session("stays", { expiryInterval: 3600, disconnectedAt: t0 }));
      s.putSession(session("forever", { expiryInterval: NEVER_EXPIRES, disconnectedAt: 0 }));
      s.putSession(session("online", { expiryInterval: 60, disconnectedAt: null }));
      s.putSession(session("online0", { expiryInterval: 0, disconnectedAt: null }));
      const fresh = s.enqueue("stays", msg("t", "fresh", { expiresAt: t0 + 60_000 }))!;
      s.enqueue("stays", msg("t", "stale", { expiresAt: t0 + 5_000 }));
      const sent = s.enqueue("stays", msg("t", "sent-stale", { expiresAt: t0 + 5_000 }))!;
      s.markInflight("stays", sent, 1);
      const noExpiry = s.enqueue("stays", msg("t", "no-expiry"))!;
      s.enqueue("nosession", msg("t", "orphan"));
      s.putRetained({
        ...msg("r/old", "x", { expiresAt: t0 + 5_000 }),
        retain: true,
        storedAt: t0,
      });
      s.putRetained({
        ...msg("r/new", "x", { expiresAt: t0 + 60_000 }),
        retain: true,
        storedAt: t0,
      });
      await s.flush();

      clock.advance(11_000);
      s = await reopen(s, { now: clock.now });
      const state = s.load();
      assert.deepEqual(
        state.sessions.map((x) => x.session.clientId).sort(),
        ["forever", "online", "stays"],
      );
      assert.deepEqual(find(state.sessions, "stays").messages.map((m) => m.seq), [
        fresh,
        sent,
        noExpiry,
      ]);
      assert.equal(
        find(state.sessions, "online").session.disconnectedAt,
        clock.t,
        "online at stop: disconnected at load",
      );
      assert.deepEqual(state.retained.map((r) => r.topic), ["r/new"]);
      assert.deepEqual(state.dropped, { sessions: 2, messages: 2, retained: 1 });

      // What was dropped is deleted, not only hidden.
      s = await reopen(s, { now: clock.now });
      const again = s.load();
      assert.deepEqual(again.dropped, { sessions: 0, messages: 0, retained: 0 });
      assert.equal(find(again.sessions, "online").session.disconnectedAt, clock.t);
      assert.equal(again.sessions.length, 3);
    },
    true,
  );

  test("load commits pending writes first", async ({ open }) => {
    const s = open();
    s.putSession(session("a"));
    s.enqueue("a", msg("t", "x"));
    const state = s.load();
    assert.equal(find(state.sessions, "a").messages.length, 1);
    await s.flush();
  });

  test(
    "close commits pending writes; the store refuses use afterwards",
    async ({ open, reopen }) => {
      let s = open();
      s.putSession(session("a"));
      let result: Error | null | undefined;
      s.afterDurable((e) => result = e);
      await s.close();
      assert.equal(result, null);
      assert.throws(() => s.putSession(session("b")), StoreClosedError);
      assert.throws(() => s.enqueue("a", msg("t", "x")), StoreClosedError);
      assert.throws(() => s.load(), StoreClosedError);
      await s.close(); // idempotent
      s = await reopen(s);
      assert.equal(s.load().sessions.length, 1);
    },
    true,
  );

  test("bridge queues: entries come back in seq order, per bridge, with their properties", async ({ open }) => {
    const s = open();
    const a1 = s.bridgeEnqueue("a", msg("up/1", "one", { qos: 1, retain: true }));
    const b1 = s.bridgeEnqueue("b", msg("up/b", "bee", { qos: 0 }));
    const a2 = s.bridgeEnqueue(
      "a",
      msg("up/2", "two", {
        qos: 2,
        properties: { contentType: "text/plain", userProperties: [["k", "v"]] },
        expiresAt: 1_800_000_000_000,
      }),
    );
    assert.ok(a1 !== null && b1 !== null && a2 !== null);
    assert.ok(a1 < b1 && b1 < a2);
    await s.flush();
    const q = s.loadBridgeQueue("a");
    assert.deepEqual(q.map((m) => [m.seq, m.topic, text(m.payload), m.qos, m.retain]), [
      [a1, "up/1", "one", 1, true],
      [a2, "up/2", "two", 2, false],
    ]);
    assert.deepEqual(q[1].properties, {
      contentType: "text/plain",
      userProperties: [["k", "v"]],
    });
    assert.equal(q[1].expiresAt, 1_800_000_000_000);
    assert.equal(q[0].properties, undefined);
    assert.deepEqual(s.loadBridgeQueue("b").map((m) => m.topic), ["up/b"]);
    assert.deepEqual(s.loadBridgeQueue("none"), []);
  });

  test(
    "bridge queues: removed entries are gone, bytes freed, and the rest survive a reopen",
    async ({ open, reopen }) => {
      let s = open();
      const seqs: number[] = [];
      for (let i = 0; i < 100; i++) seqs.push(s.bridgeEnqueue("up", msg(`t/${i}`, `p${i}`))!);
      await s.flush();
      const full = s.stats.storedBytes;
      assert.ok(full > 0);
      // Removing in the same batch as an enqueue works too (enqueue, ack, remove in one turn).
      const late = s.bridgeEnqueue("up", msg("t/late", "x"))!;
      s.bridgeRemove("up", late);
      for (let i = 0; i < 60; i++) s.bridgeRemove("up", seqs[i]);
      await s.flush();
      assert.ok(s.stats.storedBytes < full);
      assert.deepEqual(
        s.loadBridgeQueue("up").map((m) => m.topic),
        Array.from({ length: 40 }, (_, i) => `t/${i + 60}`),
      );
      s = await reopen(s);
      assert.equal(s.loadBridgeQueue("up").length, 40);
      assert.ok(s.stats.storedBytes > 0);
      // New entries sort after every entry left from before the restart.
      const next = s.bridgeEnqueue("up", msg("t/next", "n"))!;
      assert.ok(next > seqs[99]);
      await s.flush();
      assert.equal(s.loadBridgeQueue("up").at(-1)!.topic, "t/next");
      // The bridge queue does not disturb sessions.
      assert.deepEqual(s.load().sessions, []);
    },
    true,
  );

  test("bridge queues: maxStoredBytes refuses an enqueue; a failed commit stores nothing", async ({ open }) => {
    const fault = new FailingWrites();
    const s = open({ maxStoredBytes: 400, faultInjector: fault });
    assert.notEqual(s.bridgeEnqueue("up", msg("t", new Uint8Array(200))), null);
    assert.equal(s.bridgeEnqueue("up", msg("t", new Uint8Array(200))), null);
    await s.flush();
    fault.failNext();
    s.bridgeEnqueue("up", msg("t2", "x"));
    await assert.rejects(s.flush(), StoreCommitError);
    assert.deepEqual(s.loadBridgeQueue("up").map((m) => m.topic), ["t"]);
  });

  test("a callback that throws does not stop the others", async ({ open }) => {
    const errors: string[] = [];
    const s = open({
      logger: { error: (m) => errors.push(m), warn: () => {}, info: () => {} },
    });
    let second = false;
    s.putSession(session("a"));
    s.afterDurable(() => {
      throw new Error("boom");
    });
    s.afterDurable(() => second = true);
    await s.flush();
    assert.equal(second, true);
    assert.match(errors.join("\n"), /boom/);
  });
}

export const quietLogger = { error: () => {}, warn: () => {}, info: () => {} };
