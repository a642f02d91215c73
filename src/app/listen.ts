import type { Store } from "../domain/ports.js";
import type { KeycardServer } from "../transport/server.js";
import type { Config } from "./config/config.js";

/** Why a port could not be listened on, in words and with what to do; undefined if unknown. */
function listenProblem(error: unknown, config: Config): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `Port ${config.port} on ${config.host}`;
  if (code === "EADDRINUSE") {
    return `${where} is already in use: stop what listens there, or choose another port with PORT (for example PORT=8081 npm start)`;
  }
  if (code === "EACCES") {
    return `${where} needs privileges this process lacks: choose a port above 1023 with PORT (for example PORT=8080)`;
  }
  if (code === "EADDRNOTAVAIL") {
    return `HOST=${config.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`;
  }
  return undefined;
}

/**
 * Listens on PORT, or says in one line why it cannot and exits with code 1: a port already
 * in use is the most common first-run failure, and a stack trace hides what to do about it.
 */
export async function listenOrExit(
  server: KeycardServer,
  config: Config,
  store: Store,
): Promise<number> {
  try {
    return await server.listen(config.port, config.host);
  } catch (error) {
    const problem = listenProblem(error, config);
    if (problem === undefined) {
      throw error;
    }
    process.stderr.write(`keycard: ${problem}\n`);
    await store.close();
    process.exit(1);
  }
}
