import { systemClock } from "../../src/domain/clock.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { describePasskeyContract } from "./passkey-contract.js";
import { describePasswordResetContract } from "./password-reset-contract.js";
import { describeRecoveryCodeContract } from "./recovery-code-contract.js";
import { describeSightingContract } from "./sighting-contract.js";
import { describeSigningKeyContract } from "./signing-key-contract.js";
import { describeStoreContract } from "./store-contract.js";

describeStoreContract("memory", () => createMemoryStore(systemClock));
describeSigningKeyContract("memory", () => createMemoryStore(systemClock));
describePasswordResetContract("memory", () => createMemoryStore(systemClock));
describeRecoveryCodeContract("memory", () => createMemoryStore(systemClock));
describePasskeyContract("memory", () => createMemoryStore(systemClock));
describeSightingContract("memory", () => createMemoryStore(systemClock));
