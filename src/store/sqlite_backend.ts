/**
 * The SQLite engine behind {@link SqliteStore} (`sqlite_store.ts`): opening and checking
 * `edgemq.db` (WAL, exclusive lock, quick_check, move-aside of a damaged file), schema
 * migrations, and the {@link SqliteBackend} that applies a batch of ops as one
 * `BEGIN IMMEDIATE … COMMIT` and reads everything back. It runs either on the main thread
 * (inline) or in the store worker (`sqlite_worker.ts`), which owns the connection then.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { Worker, WorkerOptions } from "node:worker_threads";
import type { Backend, RawState } from "./buffered_store.ts";
import {
  bridgeQueueFromColumns,
  ColumnsBuilder,
  forEachRow,
  type MessageColumns,
} from "./columns.ts";
import {
  type BridgeEnqueueOp,
  decodeProperties,
  type EnqueueOp,
  type Op,
  STATE_CODE,
} from "./encoding.ts";
import type {
  FaultInjector,
  LoadedSession,
  QueuedBridgeMessage,
  RetainedRecord,
  StoreLogger,
  StoreOptions,
  SubscriptionRecord,
  WillRecord,
} from "./store.ts";
import type { ProtocolVersion, QoS } from "../codec/packets.ts";

/** File name of the database inside the data directory. */
export const DB_FILE = "edgemq.db";

export type SynchronousMode = "full" | "normal" | "off";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions extends StoreOptions {
  /** Directory of `edgemq.db`; created (recursively) if missing. */
  dataDir: string;
  /** SQLite `PRAGMA synchronous` (see the module doc). Default `full`. */
  synchronous?: SynchronousMode;
  /** What to do with a damaged database: move it aside and start empty (default), or throw. */
  onCorrupt?: "moveAside" | "refuse";
  /** Check run at open: `quick` (default, `PRAGMA quick_check`), `integrity`, or `none`. */
  startupCheck?: "quick" | "integrity" | "none";
  /** For tests: `PRAGMA max_page_count`, which makes writes fail as on a full disk. */
  maxPageCount?: number;
  /**
   * Commit in a worker thread, off the event loop (default: true where the worker module is
   * there). false: commit inline on the main thread (blocks the event loop for each commit).
   */
  worker?: boolean;
  /**
   * For tests: starts the store worker's thread (default: node:worker_threads' `Worker`), e.g.
   * one that throws, as where threads cannot be created.
   */
  startThread?: (url: URL, options: WorkerOptions) => Worker;
}

/** The database is damaged and `onCorrupt` is `"refuse"`. */
export class StoreCorruptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreCorruptError";
  }
}

/** The database cannot be used for a reason other than damage (newer schema, locked, ...). */
export class StoreOpenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreOpenError";
  }
}

/** Rows per multi-row INSERT / packet ids per batched DELETE. */
const ROWS_PER_STATEMENT = 32;

/** A damage found by the start-up check. */
class DamageFound extends Error {}

/** Ordered schema migrations; `schema_version` holds the number of the last one applied. */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        client_id TEXT PRIMARY KEY,
        protocol_version INTEGER NOT NULL,
        expiry_interval INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        disconnected_at INTEGER
      ) WITHOUT ROWID;
      CREATE TABLE subscriptions (
        client_id TEXT NOT NULL,
        share_group TEXT NOT NULL, -- '' = not shared
        topic_filter TEXT NOT NULL,
        qos INTEGER NOT NULL,
        no_local INTEGER NOT NULL,
        retain_as_published INTEGER NOT NULL,
        retain_handling INTEGER NOT NULL,
        subscription_id INTEGER,
        PRIMARY KEY (client_id, share_group, topic_filter)
      ) WITHOUT ROWID;
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL,
        state INTEGER NOT NULL, -- 0 queued, 1 publish (in flight), 2 pubrel
        packet_id INTEGER,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        size INTEGER NOT NULL
      );
      CREATE INDEX messages_by_client ON messages (client_id, seq);
      CREATE INDEX messages_in_flight ON messages (client_id, packet_id)
        WHERE packet_id IS NOT NULL;
      CREATE TABLE incoming_qos2 (
        client_id TEXT NOT NULL,
        packet_id INTEGER NOT NULL,
        PRIMARY KEY (client_id, packet_id)
      ) WITHOUT ROWID;
      CREATE TABLE retained (
        topic TEXT PRIMARY KEY,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        stored_at INTEGER NOT NULL,
        size INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE wills (
        client_id TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        properties TEXT,
        publish_at INTEGER NOT NULL,
        size INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    // Outbound queues of the bridges (src/bridge): one row per message not yet acknowledged by
    // the upstream broker, forwarded in seq order.
    version: 2,
    sql: `
      CREATE TABLE bridge_queue (
        seq INTEGER PRIMARY KEY,
        bridge TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        properties TEXT,
        expires_at INTEGER,
        size INTEGER NOT NULL
      );
      CREATE INDEX bridge_queue_by_bridge ON bridge_queue (bridge, seq);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Does this error mean the file is damaged (as opposed to unusable for another reason)? */
function isDamage(e: unknown): boolean {
  if (e instanceof DamageFound) return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /file is not a database|malformed|corrupt|disk image/i.test(msg);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function fileExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function timestampForFile(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

/** Reads the applied schema version (0 for a new or foreign database). */
function schemaVersion(db: DatabaseSync): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as
    | { v: number | null }
    | undefined;
  return row?.v ?? 0;
}

/** Applies the migrations after the database's version, each in its own transaction. */
export function migrate(db: DatabaseSync, path: string): number {
  db.exec("BEGIN IMMEDIATE");
  let version: number;
  try {
    version = schemaVersion(db);
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreOpenError(
      `${path} has schema version ${version}, newer than the ${SCHEMA_VERSION} this edgemq ` +
        `supports: it was written by a newer edgemq; refusing to open it`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(m.sql);
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(m.version);
      db.exec("COMMIT");
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
    version = m.version;
  }
  return version;
}

type Row = Record<string, unknown>;

/** {@link RawState} with the sessions' messages in columns (`columns.ts`), not in the sessions. */
export interface RawColumns extends RawState {
  messages: MessageColumns;
}

/** Puts each message of `cols` into its session. */
export function rawFromColumns(cols: RawColumns): RawState {
  const sessions = cols.sessions;
  forEachRow(cols.messages, (owner, m) => sessions[owner].messages.push(m));
  return { sessions, orphans: cols.orphans, retained: cols.retained, wills: cols.wills };
}

export class SqliteBackend implements Backend {
  readonly durable = true;
  readonly db: DatabaseSync;
  #s: Record<string, StatementSync>;
  #inserts: StatementSync[] = [];
  #acks: [StatementSync, StatementSync][] = [];
  #bridgeInserts: StatementSync[] = [];
  #bridgeRemoves: [StatementSync, StatementSync][] = [];

  constructor(db: DatabaseSync) {
    this.db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      begin: p("BEGIN IMMEDIATE"),
      commit: p("COMMIT"),
      rollback: p("ROLLBACK"),
      putSession: p(
        "INSERT OR REPLACE INTO sessions (client_id, protocol_version, expiry_interval, " +
          "created_at, disconnected_at) VALUES (?, ?, ?, ?, ?)",
      ),
      deleteSession: p("DELETE FROM sessions WHERE client_id = ?"),
      deleteSubs: p("DELETE FROM subscriptions WHERE client_id = ?"),
      deleteQos2All: p("DELETE FROM incoming_qos2 WHERE client_id = ?"),
      sizeOfClientMessages: p("SELECT IFNULL(SUM(size), 0) AS n FROM messages WHERE client_id = ?"),
      deleteClientMessages: p("DELETE FROM messages WHERE client_id = ?"),
      putSub: p(
        "INSERT OR REPLACE INTO subscriptions (client_id, share_group, topic_filter, qos, " +
          "no_local, retain_as_published, retain_handling, subscription_id) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteSub: p(
        "DELETE FROM subscriptions WHERE client_id = ? AND share_group = ? AND topic_filter = ?",
      ),
      inflight: p(
        `UPDATE messages SET state = ${STATE_CODE.publish}, packet_id = ? WHERE seq = ? AND client_id = ?`,
      ),
      pubrel: p(
        `UPDATE messages SET state = ${STATE_CODE.pubrel} WHERE client_id = ? AND packet_id = ?`,
      ),
      ack: p("DELETE FROM messages WHERE client_id = ? AND packet_id = ? RETURNING size"),
      remove: p("DELETE FROM messages WHERE seq = ? AND client_id = ? RETURNING size"),
      addQos2: p("INSERT OR IGNORE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)"),
      delQos2: p("DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?"),
      retainedSize: p("SELECT size FROM retained WHERE topic = ?"),
      putRetained: p(
        "INSERT OR REPLACE INTO retained (topic, payload, qos, properties, expires_at, stored_at, " +
          "size) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteRetained: p("DELETE FROM retained WHERE topic = ? RETURNING size"),
      willSize: p("SELECT size FROM wills WHERE client_id = ?"),
      putWill: p(
        "INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, " +
          "publish_at, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteWill: p("DELETE FROM wills WHERE client_id = ? RETURNING size"),
    };
  }

  maxSeq(): number {
    const row = this.db.prepare("SELECT IFNULL(MAX(seq), 0) AS n FROM messages").get() as Row;
    return row.n as number;
  }

  storedBytes(): number {
    const row = this.db.prepare(
      "SELECT (SELECT IFNULL(SUM(size), 0) FROM messages) + " +
        "(SELECT IFNULL(SUM(size), 0) FROM retained) + " +
        "(SELECT IFNULL(SUM(size), 0) FROM wills) + " +
        "(SELECT IFNULL(SUM(size), 0) FROM bridge_queue) AS n",
    ).get() as Row;
    return row.n as number;
  }

  #sizeOf(stmt: StatementSync, key: string | number, key2?: string | number): number {
    const row = (key2 === undefined ? stmt.get(key) : stmt.get(key, key2)) as Row | undefined;
    return row === undefined ? 0 : row.size as number;
  }

  #deleteMessagesOf(clientId: string): number {
    const s = this.#s;
    const n = (s.sizeOfClientMessages.get(clientId) as Row).n as number;
    if (n > 0) s.deleteClientMessages.run(clientId);
    return n;
  }

  #insertSub(clientId: string, sub: SubscriptionRecord): void {
    this.#s.putSub.run(
      clientId,
      sub.shareGroup ?? "",
      sub.topicFilter,
      sub.qos,
      sub.noLocal ? 1 : 0,
      sub.retainAsPublished ? 1 : 0,
      sub.retainHandling,
      sub.subscriptionId,
    );
  }

  /** INSERT of `n` rows, prepared once per row count. */
  #insertStmt(n: number): StatementSync {
    let stmt = this.#inserts[n];
    if (stmt === undefined) {
      const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
      stmt = this.db.prepare(
        "INSERT INTO messages (seq, client_id, state, packet_id, topic, payload, qos, retain, " +
          `properties, expires_at, size) VALUES ${Array(n).fill(row).join(", ")}`,
      );
      this.#inserts[n] = stmt;
    }
    return stmt;
  }

  #insertMessages(ops: EnqueueOp[], from: number, n: number): void {
    const params: SQLInputValue[] = [];
    for (let j = from; j < from + n; j++) {
      const op = ops[j];
      const m = op.m;
      params.push(
        op.seq,
        op.clientId,
        op.packetId === null ? STATE_CODE.queued : STATE_CODE.publish,
        op.packetId,
        m.topic,
        m.payload,
        m.qos,
        m.retain ? 1 : 0,
        m.props,
        m.expiresAt,
        m.size,
      );
    }
    this.#insertStmt(n).run(...params);
  }

  #ackMany(ops: { clientId: string; packetId: number }[], from: number, n: number): number {
    let pair = this.#acks[n];
    if (pair === undefined) {
      const list = Array(n).fill("?").join(", ");
      const where = `WHERE client_id = ? AND packet_id IN (${list})`;
      pair = [
        this.db.prepare(`SELECT IFNULL(SUM(size), 0) AS n FROM messages ${where}`),
        this.db.prepare(`DELETE FROM messages ${where}`),
      ];
      this.#acks[n] = pair;
    }
    const params: SQLInputValue[] = [ops[from].clientId];
    for (let j = from; j < from + n; j++) params.push(ops[j].packetId);
    const size = (pair[0].get(...params) as Row).n as number;
    if (size > 0) pair[1].run(...params);
    return size;
  }

  maxBridgeSeq(): number {
    const row = this.db.prepare("SELECT IFNULL(MAX(seq), 0) AS n FROM bridge_queue").get() as Row;
    return row.n as number;
  }

  loadBridgeQueue(bridge: string): QueuedBridgeMessage[] {
    return bridgeQueueFromColumns(this.bridgeColumns(bridge));
  }

  /** One bridge's queue in sequence order, in columns. */
  bridgeColumns(bridge: string): MessageColumns {
    const stmt = this.db.prepare(
      "SELECT seq, (qos << 2) | (retain << 4), topic, payload, properties, expires_at " +
        "FROM bridge_queue WHERE bridge = ? ORDER BY seq",
    );
    (stmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    const rows = stmt.all(bridge) as unknown as unknown[][];
    let total = 0;
    for (const r of rows) total += (r[3] as Uint8Array).byteLength;
    const columns = new ColumnsBuilder(rows.length, total);
    for (const r of rows) {
      columns.add(
        0,
        r[0] as number,
        r[1] as number,
        null,
        r[2] as string,
        r[3] as Uint8Array,
        r[4] as string | null,
        r[5] as number | null,
      );
    }
    return columns.finish();
  }

  /** Multi-row INSERT into bridge_queue, prepared once per row count. */
  #insertBridge(ops: BridgeEnqueueOp[], from: number, n: number): void {
    let stmt = this.#bridgeInserts[n];
    if (stmt === undefined) {
      const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
      stmt = this.db.prepare(
        "INSERT INTO bridge_queue (seq, bridge, topic, payload, qos, retain, properties, " +
          `expires_at, size) VALUES ${Array(n).fill(row).join(", ")}`,
      );
      this.#bridgeInserts[n] = stmt;
    }
    const params: SQLInputValue[] = [];
    for (let j = from; j < from + n; j++) {
      const op = ops[j];
      const m = op.m;
      params.push(
        op.seq,
        op.bridge,
        m.topic,
        m.payload,
        m.qos,
        m.retain ? 1 : 0,
        m.props,
        m.expiresAt,
        m.size,
      );
    }
    stmt.run(...params);
  }

  /** Deletes `n` bridge-queue rows by seq (one SUM and one DELETE); returns the bytes freed. */
  #removeBridge(ops: { seq: number }[], from: number, n: number): number {
    let pair = this.#bridgeRemoves[n];
    if (pair === undefined) {
      const where = `WHERE seq IN (${Array(n).fill("?").join(", ")})`;
      pair = [
        this.db.prepare(`SELECT IFNULL(SUM(size), 0) AS n FROM bridge_queue ${where}`),
        this.db.prepare(`DELETE FROM bridge_queue ${where}`),
      ];
      this.#bridgeRemoves[n] = pair;
    }
    const params: SQLInputValue[] = [];
    for (let j = from; j < from + n; j++) params.push(ops[j].seq);
    const size = (pair[0].get(...params) as Row).n as number;
    if (size > 0) pair[1].run(...params);
    return size;
  }

  commit(ops: Op[], fault: FaultInjector | undefined): number {
    const s = this.#s;
    let freed = 0;
    s.begin.run();
    try {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        switch (op.k) {
          case "putSession":
            s.putSession.run(
              op.s.clientId,
              op.s.protocolVersion,
              op.s.expiryInterval,
              op.s.createdAt,
              op.s.disconnectedAt,
            );
            break;
          case "deleteSession":
            freed += this.#deleteMessagesOf(op.clientId);
            s.deleteSubs.run(op.clientId);
            s.deleteQos2All.run(op.clientId);
            s.deleteSession.run(op.clientId);
            break;
          case "setSubs":
            s.deleteSubs.run(op.clientId);
            for (const sub of op.subs) this.#insertSub(op.clientId, sub);
            break;
          case "putSub":
            this.#insertSub(op.clientId, op.sub);
            break;
          case "deleteSub":
            s.deleteSub.run(op.clientId, op.shareGroup ?? "", op.topicFilter);
            break;
          case "enqueue": {
            // Consecutive appends go in multi-row INSERTs: a statement call costs ~3.5 µs.
            let n = 1;
            while (n < ROWS_PER_STATEMENT && ops[i + n]?.k === "enqueue") n++;
            this.#insertMessages(ops as EnqueueOp[], i, n);
            i += n - 1;
            break;
          }
          case "inflight":
            s.inflight.run(op.packetId, op.seq, op.clientId);
            break;
          case "pubrel":
            s.pubrel.run(op.clientId, op.packetId);
            break;
          case "ack": {
            // Consecutive acks of one client: one SUM and one DELETE per chunk.
            let n = 1;
            while (n < ROWS_PER_STATEMENT) {
              const next = ops[i + n];
              if (next?.k !== "ack" || next.clientId !== op.clientId) break;
              n++;
            }
            freed += n === 1
              ? this.#sizeOf(s.ack, op.clientId, op.packetId)
              : this.#ackMany(ops as { clientId: string; packetId: number }[], i, n);
            i += n - 1;
            break;
          }
          case "remove":
            freed += this.#sizeOf(s.remove, op.seq, op.clientId);
            break;
          case "clear":
            freed += this.#deleteMessagesOf(op.clientId);
            break;
          case "addQos2":
            s.addQos2.run(op.clientId, op.packetId);
            break;
          case "delQos2":
            s.delQos2.run(op.clientId, op.packetId);
            break;
          case "putRetained": {
            const m = op.m;
            freed += this.#sizeOf(s.retainedSize, op.topic);
            s.putRetained.run(
              op.topic,
              m.payload,
              m.qos,
              m.props,
              m.expiresAt,
              op.storedAt,
              m.size,
            );
            break;
          }
          case "deleteRetained":
            freed += this.#sizeOf(s.deleteRetained, op.topic);
            break;
          case "putWill": {
            const m = op.m;
            freed += this.#sizeOf(s.willSize, op.clientId);
            s.putWill.run(
              op.clientId,
              m.topic,
              m.payload,
              m.qos,
              m.retain ? 1 : 0,
              m.props,
              op.publishAt,
              m.size,
            );
            break;
          }
          case "deleteWill":
            freed += this.#sizeOf(s.deleteWill, op.clientId);
            break;
          case "bridgeEnqueue": {
            let n = 1;
            while (n < ROWS_PER_STATEMENT && ops[i + n]?.k === "bridgeEnqueue") n++;
            this.#insertBridge(ops as BridgeEnqueueOp[], i, n);
            i += n - 1;
            break;
          }
          case "bridgeRemove": {
            let n = 1;
            while (n < ROWS_PER_STATEMENT && ops[i + n]?.k === "bridgeRemove") n++;
            freed += this.#removeBridge(ops as { k: "bridgeRemove"; seq: number }[], i, n);
            i += n - 1;
            break;
          }
        }
      }
      fault?.beforeCommit(ops.length);
      s.commit.run();
    } catch (e) {
      if (this.db.isTransaction) {
        try {
          s.rollback.run();
        } catch {
          // The original error is the one worth reporting.
        }
      }
      throw e;
    }
    return freed;
  }

  loadRaw(): RawState {
    return rawFromColumns(this.loadColumns());
  }

  /**
   * Everything stored, the messages table in columns (a few large arrays rather than one object
   * per row): what the store worker posts to the main thread at start-up, cheap to clone.
   */
  loadColumns(): RawColumns {
    const db = this.db;
    const sessions: LoadedSession[] = [];
    const index = new Map<string, number>();
    for (const r of db.prepare("SELECT * FROM sessions").all() as Row[]) {
      const clientId = r.client_id as string;
      index.set(clientId, sessions.length);
      sessions.push({
        session: {
          clientId,
          protocolVersion: r.protocol_version as ProtocolVersion,
          expiryInterval: r.expiry_interval as number,
          createdAt: r.created_at as number,
          disconnectedAt: r.disconnected_at as number | null,
        },
        subscriptions: [],
        messages: [],
        incomingQos2: [],
      });
    }
    const orphans = new Set<string>();
    const subs = db.prepare("SELECT * FROM subscriptions ORDER BY client_id").all() as Row[];
    for (const r of subs) {
      const i = index.get(r.client_id as string);
      if (i === undefined) {
        orphans.add(r.client_id as string);
        continue;
      }
      sessions[i].subscriptions.push({
        topicFilter: r.topic_filter as string,
        shareGroup: r.share_group === "" ? null : r.share_group as string,
        qos: r.qos as QoS,
        noLocal: r.no_local === 1,
        retainAsPublished: r.retain_as_published === 1,
        retainHandling: r.retain_handling as 0 | 1 | 2,
        subscriptionId: r.subscription_id as number | null,
      });
    }
    // The biggest table: rows as arrays, small ints packed in one column, .all() rather than
    // iterate() (one native call).
    const msgStmt = db.prepare(
      "SELECT seq, client_id, state | (qos << 2) | (retain << 4), packet_id, topic, payload, " +
        "properties, expires_at FROM messages ORDER BY seq",
    );
    (msgStmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    const rows = msgStmt.all() as unknown as unknown[][];
    const owner = new Int32Array(rows.length);
    let n = 0;
    let total = 0;
    let lastId = "";
    let last: number | undefined;
    for (let i = 0; i < rows.length; i++) {
      const clientId = rows[i][1] as string;
      if (i === 0 || clientId !== lastId) {
        last = index.get(clientId);
        lastId = clientId;
      }
      if (last === undefined) {
        orphans.add(clientId);
        owner[i] = -1;
        continue;
      }
      owner[i] = last;
      n++;
      total += (rows[i][5] as Uint8Array).byteLength;
    }
    const columns = new ColumnsBuilder(n, total);
    for (let i = 0; i < rows.length; i++) {
      if (owner[i] < 0) continue;
      const r = rows[i];
      columns.add(
        owner[i],
        r[0] as number,
        r[2] as number,
        r[3] as number | null,
        r[4] as string,
        r[5] as Uint8Array,
        r[6] as string | null,
        r[7] as number | null,
      );
    }
    const m = columns.finish();
    rows.length = 0;
    const qos2 = db.prepare("SELECT * FROM incoming_qos2 ORDER BY client_id, packet_id").all();
    for (const r of qos2 as Row[]) {
      const i = index.get(r.client_id as string);
      if (i === undefined) orphans.add(r.client_id as string);
      else sessions[i].incomingQos2.push(r.packet_id as number);
    }
    const retained: RetainedRecord[] = [];
    for (const r of db.prepare("SELECT * FROM retained").all() as Row[]) {
      const rec: RetainedRecord = {
        topic: r.topic as string,
        payload: r.payload as Uint8Array,
        qos: r.qos as QoS,
        retain: true,
        expiresAt: r.expires_at as number | null,
        storedAt: r.stored_at as number,
      };
      if (r.properties !== null) rec.properties = decodeProperties(r.properties as string);
      retained.push(rec);
    }
    const wills: WillRecord[] = [];
    for (const r of db.prepare("SELECT * FROM wills").all() as Row[]) {
      const will: WillRecord["will"] = {
        topic: r.topic as string,
        payload: r.payload as Uint8Array,
        qos: r.qos as QoS,
        retain: r.retain === 1,
      };
      if (r.properties !== null) will.properties = decodeProperties(r.properties as string);
      wills.push({ clientId: r.client_id as string, will, publishAt: r.publish_at as number });
    }
    return { sessions, orphans: [...orphans], retained, wills, messages: m };
  }

  /** Reads a PRAGMA value (diagnostics and tests), e.g. `pragma("journal_mode")`. */
  pragma(name: string): unknown {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`not a pragma name: ${name}`);
    const row = this.db.prepare(`PRAGMA ${name}`).get() as Row | undefined;
    return row === undefined ? undefined : Object.values(row)[0];
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * Opens the database and checks it. On failure the handle is returned still open, so that a
 * damaged file can be renamed before SQLite's close touches it (closing deletes a `-wal` file).
 */
function openChecked(
  path: string,
  options: SqliteStoreOptions,
): { ok: true; db: DatabaseSync } | { ok: false; db: DatabaseSync | null; error: unknown } {
  let db: DatabaseSync | null = null;
  try {
    db = new DatabaseSync(path);
    // The header is read here: "file is not a database" surfaces at the first statement.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as Row;
    if (mode.journal_mode !== "wal") {
      throw new StoreOpenError(`${path}: could not switch to WAL mode (got ${mode.journal_mode})`);
    }
    const check = options.startupCheck ?? "quick";
    if (check !== "none") {
      const pragma = check === "quick" ? "quick_check" : "integrity_check";
      const rows = db.prepare(`PRAGMA ${pragma}(20)`).all() as Row[];
      const lines = rows.map((r) => String(Object.values(r)[0]));
      if (!(lines.length === 1 && lines[0] === "ok")) {
        throw new DamageFound(`${pragma} found: ${lines.slice(0, 5).join("; ")}`);
      }
    }
    migrate(db, path);
    const sync = options.synchronous ?? "full";
    db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
    if (options.maxPageCount !== undefined) {
      db.exec(`PRAGMA max_page_count = ${Math.floor(options.maxPageCount)}`);
    }
    return { ok: true, db };
  } catch (error) {
    return { ok: false, db, error };
  }
}

function closeQuietly(db: DatabaseSync | null): void {
  try {
    if (db?.isOpen) db.close();
  } catch {
    // unusable handle: nothing more to do
  }
}

export function openDatabase(options: SqliteStoreOptions, logger: StoreLogger): DatabaseSync {
  Deno.mkdirSync(options.dataDir, { recursive: true });
  const path = `${options.dataDir}/${DB_FILE}`;
  const first = openChecked(path, options);
  if (first.ok) return first.db;
  const e = first.error;
  if (!isDamage(e)) {
    closeQuietly(first.db);
    if (/database is locked/i.test(errorText(e))) {
      throw new StoreOpenError(
        `${path} is locked: another edgemq process uses data dir ${options.dataDir}`,
        { cause: e },
      );
    }
    throw e;
  }
  const reason = errorText(e);
  if (options.onCorrupt === "refuse") {
    closeQuietly(first.db);
    throw new StoreCorruptError(
      `${path} is damaged (${reason}); refusing to start because onCorrupt is "refuse". ` +
        `Restore it from a backup or move it away, or set onCorrupt to "moveAside" to start ` +
        `with an empty store.`,
      { cause: e },
    );
  }
  const aside = `${path}.corrupt-${timestampForFile((options.now ?? Date.now)())}`;
  const moved: string[] = [];
  for (const suffix of ["", "-wal", "-shm"]) {
    if (fileExists(path + suffix)) {
      Deno.renameSync(path + suffix, aside + suffix);
      moved.push(aside + suffix);
    }
  }
  closeQuietly(first.db);
  logger.error(
    `database ${path} is damaged (${reason}). Moved it aside to ${moved.join(", ")} and ` +
      `started with an empty store: persistent sessions, queued messages, retained messages ` +
      `and wills in it are not loaded.`,
  );
  const second = openChecked(path, options);
  if (!second.ok) {
    closeQuietly(second.db);
    throw second.error;
  }
  return second.db;
}
