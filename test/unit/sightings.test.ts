import { describe, expect, it } from "vitest";
import { sightingsOf } from "../../src/domain/sightings.js";

const client = { ip: "192.0.2.7", userAgent: "curl/8.5.0" };

describe("sightingsOf", () => {
  it("recognises a device whose id the client keeps: a cookie it sent, an API key, a browser given one", () => {
    const cookie = sightingsOf({ deviceId: "dev-1" }, { ...client, deviceId: "dev-1" }, false);
    const apiKey = sightingsOf({ deviceId: "key-1", apiKeyId: "key-1" }, client, false);
    const browser = sightingsOf({ deviceId: "minted" }, client, true);
    expect([cookie, apiKey, browser]).toEqual([
      [{ kind: "device", value: "dev-1" }],
      [{ kind: "device", value: "key-1" }],
      [{ kind: "device", value: "minted" }],
    ]);
  });

  it("does not recognise a device minted for a client that keeps no cookie: it is new at every login", () => {
    expect(sightingsOf({ deviceId: "minted" }, client, false)).toEqual([]);
  });

  it("recognises the place when one was stated, whatever the device", () => {
    expect(sightingsOf({ deviceId: "minted", location: "DE" }, client, false)).toEqual([
      { kind: "location", value: "DE" },
    ]);
  });
});
