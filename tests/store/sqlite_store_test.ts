import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { storeContract } from "./store_contract.ts";

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
