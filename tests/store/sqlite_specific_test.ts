/**
 * SqliteStore-only behaviour: damaged databases, pragmas, migrations, locking, a really full
 * "disk" (max_page_count).
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  DB_FILE,
  migrate,
  SCHEMA_VERSION,
  SqliteStore,
  type SqliteStoreOptions,
  StoreCorruptError,
  StoreOpenError,
} from "../../src/store/sqlite_store.ts";
import { StoreCommitError } from "../../src/store/store.ts";
import { FakeClock, msg, quietLogger, session } from "./store_contract.ts";

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgemq-sqlite-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function recordingLogger() {
  const errors: string[] = [];
  return { errors, logger: { ...quietLogger, error: (m: string) => errors.push(m) } };
}

/** Fills a store with `n` messages over 10 sessions and closes it (WAL checkpointed). */
async function populate(dir: string, n: number): Promise<void> {
  const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
  for (let c = 0; c < 10; c++) s.putSession(session(`c${c}`));
  const payload = new Uint8Array(200).fill(0x61);
  for (let i = 0; i < n; i++) s.enqueue(`c${i % 10}`, msg(`t/${i}`, payload));
  await s.close();
}

const listDir = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** Opens a damaged db with the default policy and checks the move-aside contract. */
async function expectMovedAside(dir: string, expectWal = false): Promise<void> {
  const clock = new FakeClock(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
  const { errors, logger } = recordingLogger();
  const s = new SqliteStore({ dataDir: dir, logger, now: clock.now });
  const aside = `${DB_FILE}.corrupt-2025-01-02T03-04-05-678Z`;
  const files = listDir(dir);
  assert.ok(files.includes(aside), `moved aside as ${aside}: ${files}`);
  if (expectWal) assert.ok(files.includes(`${aside}-wal`), `wal moved too: ${files}`);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /is damaged/);
  assert.ok(errors[0].includes(`${dir}/${aside}`), "the log says where the old file is");
  assert.match(errors[0], /started with an empty store/);
  // Starts empty and works.
  assert.deepEqual(s.load().sessions, []);
  s.putSession(session("new"));
  await s.close();
  const again = new SqliteStore({ dataDir: dir, logger: quietLogger });
  assert.equal(again.load().sessions.length, 1);
  await again.close();
}

Deno.test("SqliteStore: creates the data dir (mkdir -p) and edgemq.db in it", async () => {
  await withDir(async (dir) => {
    const dataDir = `${dir}/a/b/c`;
    const s = new SqliteStore({ dataDir, logger: quietLogger });
    assert.equal(s.path, `${dataDir}/${DB_FILE}`);
    assert.ok(Deno.statSync(s.path).isFile);
    await s.close();
  });
});

Deno.test("SqliteStore: WAL journal mode and each synchronous setting are applied", async () => {
  await withDir(async (dir) => {
    for (const [mode, value] of [["full", 2], ["normal", 1], ["off", 0]] as const) {
      const s = new SqliteStore({ dataDir: dir, synchronous: mode, logger: quietLogger });
      assert.equal(s.pragma("journal_mode"), "wal");
      assert.equal(s.pragma("synchronous"), value, `synchronous=${mode}`);
      await s.close();
    }
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    assert.equal(s.pragma("synchronous"), 2, "default is FULL");
    await s.close();
  });
});

Deno.test("SqliteStore: damaged db (not a SQLite file, with a -wal) is moved aside, start empty", async () => {
  await withDir(async (dir) => {
    const junk = new Uint8Array(64 * 1024).map((_, i) => (i * 7919) & 0xff);
    Deno.writeFileSync(`${dir}/${DB_FILE}`, junk);
    Deno.writeFileSync(`${dir}/${DB_FILE}-wal`, junk.subarray(0, 1000));
    await expectMovedAside(dir, true);
  });
});

Deno.test("SqliteStore: damaged db (truncated to half) is moved aside, start empty", async () => {
  await withDir(async (dir) => {
    await populate(dir, 2000);
    const path = `${dir}/${DB_FILE}`;
    const size = Deno.statSync(path).size;
    assert.ok(size > 100_000);
    Deno.truncateSync(path, Math.floor(size / 2));
    await expectMovedAside(dir);
  });
});

Deno.test("SqliteStore: damaged db (valid file with a page overwritten) is moved aside", async () => {
  await withDir(async (dir) => {
    await populate(dir, 2000);
    const path = `${dir}/${DB_FILE}`;
    const bytes = Deno.readFileSync(path);
    const pageSize = (bytes[16] << 8) | bytes[17];
    const pages = bytes.length / pageSize;
    const victim = Math.floor(pages / 2);
    bytes.fill(0xA5, victim * pageSize, (victim + 1) * pageSize);
    Deno.writeFileSync(path, bytes);
    await expectMovedAside(dir);
  });
});

Deno.test("SqliteStore: onCorrupt 'refuse' throws a clear error and leaves the file alone", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(`${dir}/${DB_FILE}`, "definitely not sqlite ".repeat(500));
    assert.throws(
      () => new SqliteStore({ dataDir: dir, onCorrupt: "refuse", logger: quietLogger }),
      (e: unknown) => {
        assert.ok(e instanceof StoreCorruptError);
        assert.match(e.message, /edgemq\.db is damaged \(file is not a database\)/);
        assert.match(e.message, /onCorrupt is "refuse"/);
        return true;
      },
    );
    assert.deepEqual(listDir(dir), [DB_FILE]);
  });
});

Deno.test("SqliteStore: integrity_check and no check are selectable; a sound db opens clean", async () => {
  await withDir(async (dir) => {
    await populate(dir, 100);
    for (const startupCheck of ["integrity", "none", "quick"] as const) {
      const { errors, logger } = recordingLogger();
      const s = new SqliteStore({ dataDir: dir, startupCheck, logger });
      assert.equal(s.load().sessions.length, 10);
      assert.deepEqual(errors, []);
      await s.close();
    }
  });
});

Deno.test("SqliteStore: migrations run from version 0 (an empty SQLite file) to the latest", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/${DB_FILE}`;
    const raw = new DatabaseSync(path);
    raw.exec("CREATE TABLE unrelated (x)"); // a valid SQLite file with no schema_version
    raw.close();
    const s = new SqliteStore({ dataDir: dir, logger: quietLogger });
    s.putSession(session("a"));
    await s.close();
    const db = new DatabaseSync(path);
    assert.deepEqual(
      { ...(db.prepare("SELECT version FROM schema_version").get() as object) },
      { version: SCHEMA_VERSION },
    );
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[]).map((r) => r.name);
    for (
      const t of ["sessions", "subscriptions", "messages", "incoming_qos2", "retained", "wills"]
    ) {
      assert.ok(tables.includes(t), `table ${t}`);
    }
    // Running migrate again is a no-op.
    assert.equal(migrate(db, path), SCHEMA_VERSION);
    assert.equal(
      (db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n,
      1,
    );
    db.close();
  });
});

Deno.test("SqliteStore: a schema newer than this build is refused, not treated as damage", async () => {
  await withDir((dir) => {
    const db = new DatabaseSync(`${dir}/${DB_FILE}`);
    db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    db.exec(`INSERT INTO schema_version VALUES (${SCHEMA_VERSION + 1})`);
    db.close();
    assert.throws(
      () => new SqliteStore({ dataDir: dir, logger: quietLogger }),
      (e: unknown) => e instanceof StoreOpenError && /newer/.test(e.message),
    );
    assert.deepEqual(listDir(dir).filter((f) => f.includes("corrupt")), []);
  });
});

Deno.test("SqliteStore: a second store on the same data dir is refused (exclusive lock)", async () => {
  await withDir(async (dir) => {
    const first = new SqliteStore({ dataDir: dir, logger: quietLogger });
    assert.throws(
      () => new SqliteStore({ dataDir: dir, logger: quietLogger }),
      (e: unknown) => e instanceof StoreOpenError && /another edgemq process/.test(e.message),
    );
    await first.close();
  });
});

Deno.test("SqliteStore: a full disk (max_page_count) rejects flush; earlier data survives; freeing space recovers", async () => {
  await withDir(async (dir) => {
    const opts: SqliteStoreOptions = { dataDir: dir, logger: quietLogger, maxPageCount: 64 };
    const s = new SqliteStore(opts);
    s.putSession(session("a"));
    const small = s.enqueue("a", msg("t", "small"))!;
    await s.flush();
    const big = new Uint8Array(4096);
    const seqs: number[] = [];
    let error: unknown;
    for (let i = 0; i < 200 && error === undefined; i++) {
      for (let j = 0; j < 10; j++) seqs.push(s.enqueue("a", msg("t", big))!);
      error = await s.flush().then(() => undefined, (e) => e);
    }
    assert.ok(error instanceof StoreCommitError, `got ${error}`);
    assert.match(error.message, /full/);
    assert.ok(s.stats.failedCommits >= 1);
    // Free space: delete what was stored, then writes succeed again.
    for (const q of seqs) s.removeMessage("a", q);
    await s.flush();
    s.enqueue("a", msg("t", "after"));
    await s.flush();
    await s.close();
    const again = new SqliteStore({ dataDir: dir, logger: quietLogger });
    const m = again.load().sessions[0].messages;
    assert.deepEqual(m.map((x) => new TextDecoder().decode(x.payload)), ["small", "after"]);
    assert.equal(m[0].seq, small);
    await again.close();
  });
});
