/**
 * The durable {@link Store}: one SQLite database `edgemq.db` in the data directory, through
 * `node:sqlite` (`DatabaseSync`, built into Deno). WAL journal, one `BEGIN IMMEDIATE … COMMIT`
 * per batch, prepared statements cached, payloads as BLOBs, ordered schema migrations
 * (`sqlite_backend.ts`).
 *
 * ## Threads
 * By default (`worker: true`) the connection lives in a worker thread (`sqlite_worker.ts`) from
 * the first durable write on; start-up (open, checks, `load`) runs on the main thread, and an
 * idle or QoS 0-only broker never starts the worker (`lazy_worker_backend.ts`). With the worker,
 * the main thread buffers the mutations of each event-loop turn as before and posts the batch to
 * the worker, which commits it while the event loop goes on; the batch's `afterDurable`
 * callbacks (the PUBACKs) run when the worker answers. At most one batch is in the worker: what
 * is buffered meanwhile becomes the next batch, so under load one fsync covers more messages.
 * `close` is a blocking call into the worker. With `worker: false`, or when the worker module is
 * missing (a `deno bundle` of the program) or does not start, everything runs inline on the main
 * thread, as one synchronous commit at the end of each turn.
 *
 * ## Durability (`synchronous`)
 * - `full` (default): every commit is fsynced before its callbacks run: survives process crash
 *   and power loss.
 * - `normal`: in WAL mode the WAL is fsynced only at checkpoints. Survives a process crash
 *   (`kill -9`) without loss; a power loss may lose the last commits (never corrupts).
 * - `off`: no fsync at all. Survives a process crash; power loss may lose commits and, rarely,
 *   damage the database (which start-up then moves aside).
 *
 * ## Start-up
 * `PRAGMA quick_check` (configurable) runs on open. A damaged database (not a SQLite file,
 * truncated, garbage pages) does not stop start-up: it is renamed to
 * `edgemq.db.corrupt-<timestamp>` (with its `-wal`/`-shm`), an error is logged that says so, and
 * the store starts empty. With `onCorrupt: "refuse"`, opening throws {@link StoreCorruptError}.
 *
 * The database is opened with an exclusive lock: a second process cannot use the same data dir.
 *
 * @module
 */

export {
  DB_FILE,
  migrate,
  MIGRATIONS,
  SCHEMA_VERSION,
  type SqliteStoreOptions,
  StoreCorruptError,
  StoreOpenError,
  type SynchronousMode,
} from "./sqlite_backend.ts";

import { BufferedStore, defaultLogger } from "./buffered_store.ts";
import { DB_FILE, openDatabase, SqliteBackend, type SqliteStoreOptions } from "./sqlite_backend.ts";
import { WORKER_URL, workerModuleAvailable } from "./worker_backend.ts";
import { LazyWorkerBackend } from "./lazy_worker_backend.ts";
import type { StoreLogger } from "./store.ts";

/** Whether the store worker can run here; says why not (a warning) when it cannot. */
function workerPossible(logger: StoreLogger): boolean {
  if (workerModuleAvailable()) return true;
  logger.warn(
    `the store worker module ${WORKER_URL.href} is not there (a bundled program?): ` +
      `committing on the main thread instead (each commit blocks the event loop)`,
  );
  return false;
}

/** The SQLite {@link Store}. */
export class SqliteStore extends BufferedStore {
  readonly path: string;
  readonly #backend: SqliteBackend | LazyWorkerBackend;

  /** Opens (creating if needed) `edgemq.db` in `options.dataDir`. Synchronous. */
  constructor(options: SqliteStoreOptions) {
    const logger = options.logger ?? defaultLogger();
    const backend = (options.worker ?? true) && workerPossible(logger)
      ? new LazyWorkerBackend(options, logger)
      : new SqliteBackend(openDatabase(options, logger));
    super(backend, options);
    this.path = `${options.dataDir}/${DB_FILE}`;
    this.#backend = backend;
  }

  /**
   * Whether commits run in the store worker now (else inline, on the main thread). With
   * `worker: true` the worker starts at the first durable write (`lazy_worker_backend.ts`).
   */
  get inWorker(): boolean {
    return this.#backend instanceof LazyWorkerBackend && this.#backend.inWorker;
  }

  /** Reads a PRAGMA value (diagnostics and tests), e.g. `pragma("journal_mode")`. */
  pragma(name: string): unknown {
    return this.#backend.pragma(name);
  }
}
