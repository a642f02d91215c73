import { answersHealthy, healthzUrl } from "./healthcheck.js";

// The container image's HEALTHCHECK (and compose's): exit 0 when keycard answers /healthz.
process.exitCode = (await answersHealthy(healthzUrl(process.env), 3_000)) ? 0 : 1;
