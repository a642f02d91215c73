import { systemClock } from "../../src/domain/clock.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { describePasswordResetContract } from "./password-reset-contract.js";
import { describeSightingContract } from "./sighting-contract.js";
import { describeSigningKeyContract } from "./signing-key-contract.js";
import { describeStoreContract } from "./store-contract.js";

describeStoreContract("memory", () => createMemoryStore(systemClock));
describeSigningKeyContract("memory", () => createMemoryStore(systemClock));
describePasswordResetContract("memory", () => createMemoryStore(systemClock));
describeSightingContract("memory", () => createMemoryStore(systemClock));
