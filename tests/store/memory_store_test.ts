import { MemoryBacking, MemoryStore } from "../../src/store/memory_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract({
  name: "MemoryStore",
  canReopen: true, // a new MemoryStore over the same MemoryBacking simulates a restart
  env() {
    const backing = new MemoryBacking();
    return {
      open: (options) => new MemoryStore({ ...options, backing }),
      cleanup: () => Promise.resolve(),
    };
  },
});
