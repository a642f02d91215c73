import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { answersHealthy, healthzUrl } from "../../src/app/healthcheck.js";

describe("the container health check", () => {
  it("asks keycard's PORT over the loopback when keycard listens on every address", () => {
    expect(healthzUrl({})).toBe("http://127.0.0.1:8080/healthz");
    expect(healthzUrl({ PORT: "9000", HOST: "0.0.0.0" })).toBe("http://127.0.0.1:9000/healthz");
    expect(healthzUrl({ PORT: " 9000 ", HOST: "::" })).toBe("http://127.0.0.1:9000/healthz");
  });

  it("asks the one address keycard listens on when HOST names one", () => {
    expect(healthzUrl({ HOST: "10.1.2.3" })).toBe("http://10.1.2.3:8080/healthz");
    expect(healthzUrl({ HOST: "fd00::5", PORT: "81" })).toBe("http://[fd00::5]:81/healthz");
  });

  it("is healthy on a 200 only, and unhealthy on another status, a refusal or a silence", async () => {
    const statuses = new Map([
      ["/ok", 200],
      ["/down", 503],
    ]);
    const server = createServer((request, response) => {
      if (request.url === "/silent") {
        return;
      }
      response.writeHead(statuses.get(request.url ?? "") ?? 404).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await answersHealthy(`${base}/ok`, 1_000)).toBe(true);
      expect(await answersHealthy(`${base}/down`, 1_000)).toBe(false);
      const started = Date.now();
      expect(await answersHealthy(`${base}/silent`, 200)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(await answersHealthy(`${base}/ok`, 1_000)).toBe(false);
  });
});
