import { runServer } from "./server-main.js";
import { deprioritizeThreadpool } from "./threadpool-priority.js";

await deprioritizeThreadpool();
await runServer();
