import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { storeContract } from "./store_contract.ts";

// The default: commits in the store worker, off the event loop.
storeContract({
  name: "SqliteStore",
  canReopen: true,
  async env() {
    const dataDir = await Deno.makeTempDir({ prefix: "edgemq-store-" });
    return {
      open: (options) => new SqliteStore({ ...options, dataDir }),
      cleanup: () => Deno.remove(dataDir, { recursive: true }),
    };
  },
});

// worker: false: commits inline on the main thread (environments without Worker).
storeContract({
  name: "SqliteStore (inline)",
  canReopen: true,
  async env() {
    const dataDir = await Deno.makeTempDir({ prefix: "edgemq-store-inline-" });
    return {
      open: (options) => new SqliteStore({ ...options, dataDir, worker: false }),
      cleanup: () => Deno.remove(dataDir, { recursive: true }),
    };
  },
});
