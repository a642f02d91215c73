import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { openRedirectPayloads } from "../helpers/open-redirects.js";
import { send } from "../helpers/rest.js";

/** `/ui/continue`: the portal's way back, never an open redirect. */
describe("GET /ui/continue", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({
      store: "memory",
      portal: true,
      allowedRedirectDomains: ["example.com", "10.0.0.5", "[::1]"],
    });
  });
  afterAll(() => keycard.close());

  const continueTo = (query: string, method = "GET") =>
    send(`${keycard.baseUrl}/ui/continue${query}`, { method, redirect: "manual" });

  it.each([
    [
      "https://app.example.com/orders/7?tab=items#top",
      "https://app.example.com/orders/7?tab=items#top",
    ],
    ["https://example.com", "https://example.com/"],
    ["https://a.b.example.com:8443/x", "https://a.b.example.com:8443/x"],
    ["https://10.0.0.5/", "https://10.0.0.5/"],
    ["/ui/sessions", "/ui/sessions"],
  ])("sends the browser to the safe target %j", async (rd, location) => {
    const reply = await continueTo(`?rd=${encodeURIComponent(rd)}`);
    expect(reply.status).toBe(302);
    expect(reply.headers.get("location")).toBe(location);
    expect(reply.headers.get("cache-control")).toBe("no-store");
    expect(reply.text).toBe("");
  });

  it.each(openRedirectPayloads)("sends the browser to the account page for %j", async (rd) => {
    const reply = await continueTo(`?rd=${encodeURIComponent(rd)}`);
    expect(reply.status).toBe(302);
    expect(reply.headers.get("location")).toBe("/ui/");
  });

  it.each([
    "",
    "?rd=",
    "?rd=//evil.com",
    "?rd=/\\evil.com",
    "?rd=https:evil.com",
    "?rd=https://example.com%40evil.com",
    "?rd=https://evil%2ecom",
    "?rd=%2F%2Fevil.com",
    "?rd=https://app.example.com/&rd=https://evil.com/",
    "?rd=https://evil.com/&rd=https://app.example.com/",
    "?RD=https://evil.com/",
    "?rd=java%0Ascript:alert(1)",
  ])("sends the browser to the account page for the query %j", async (query) => {
    const reply = await continueTo(query);
    expect(reply.status).toBe(302);
    expect(reply.headers.get("location")).toBe("/ui/");
  });

  it("answers HEAD like GET and refuses other methods with 405", async () => {
    const head = await continueTo("?rd=/ui/sessions", "HEAD");
    expect(head.status).toBe(302);
    expect(head.headers.get("location")).toBe("/ui/sessions");
    const post = await continueTo("?rd=/ui/sessions", "POST");
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(post.headers.get("location")).toBeNull();
  });
});

describe("GET /ui/continue without ALLOWED_REDIRECT_DOMAINS", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", portal: true });
  });
  afterAll(() => keycard.close());

  it("follows keycard's own paths only", async () => {
    const to = async (rd: string) =>
      (
        await send(`${keycard.baseUrl}/ui/continue?rd=${encodeURIComponent(rd)}`, {
          redirect: "manual",
        })
      ).headers.get("location");
    expect(await to("/ui/sessions")).toBe("/ui/sessions");
    expect(await to("https://app.example.com/")).toBe("/ui/");
  });
});
