import { systemClock } from "../../src/domain/clock.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { describeStoreContract } from "./store-contract.js";

describeStoreContract("memory", () => createMemoryStore(systemClock));
