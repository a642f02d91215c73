import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  makeTempDir,
  type RedisProcess,
  removeTempDir,
  runTool,
  startRedisProcess,
} from "./redis-process.js";
import { freePort } from "./redis-server.js";

/** A redis-server that only speaks TLS, with the CA that signed its certificate. */
export interface RedisTlsServer {
  readonly port: number;
  /** `rediss://127.0.0.1:<port>`. */
  readonly url: string;
  /** PEM file of the CA that signed the server's certificate (for 127.0.0.1 and localhost). */
  readonly caFile: string;
  /** PEM file of another CA, which signed nothing this server presents. */
  readonly wrongCaFile: string;
  /** Kills the server and removes the certificates. */
  stop(): Promise<void>;
}

/** Makes a self-signed CA `<name>.pem` / `<name>.key` in `dir`. */
async function makeCa(dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.pem`);
  await runTool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    file,
    "-days",
    "2",
    "-subj",
    `/CN=keycard test ${name}`,
  ]);
  return file;
}

/**
 * Generates a CA and a server certificate for 127.0.0.1 and localhost with openssl, and
 * starts `redis-server` with only a TLS port (clients need no certificate). Stop it in
 * afterAll.
 */
export async function startRedisTlsServer(): Promise<RedisTlsServer> {
  const dir = await makeTempDir("tls");
  let server: RedisProcess | undefined;
  const stop = async (): Promise<void> => {
    await server?.kill();
    await removeTempDir(dir);
  };
  try {
    const [caFile, wrongCaFile] = await Promise.all([makeCa(dir, "ca"), makeCa(dir, "wrong-ca")]);
    const key = join(dir, "server.key");
    const request = join(dir, "server.csr");
    const cert = join(dir, "server.pem");
    const extensions = join(dir, "server.ext");
    await writeFile(extensions, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    await runTool("openssl", [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      request,
      "-subj",
      "/CN=127.0.0.1",
    ]);
    await runTool("openssl", [
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      caFile,
      "-CAkey",
      join(dir, "ca.key"),
      "-CAcreateserial",
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      extensions,
    ]);
    const port = await freePort();
    server = await startRedisProcess(
      port,
      [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--tls-ca-cert-file",
        caFile,
        "--tls-auth-clients",
        "no",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { tls: { ca: await readFile(caFile) } },
    );
    return { port, url: `rediss://127.0.0.1:${port}`, caFile, wrongCaFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
