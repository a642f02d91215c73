import { describe, expect, it } from "vitest";
import { deviceLabel } from "../../src/domain/device-label.js";

describe("deviceLabel", () => {
  it.each([
    [
      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
      "Firefox 128 on Linux",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
      "Chrome 126 on Windows",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
      "Edge 126 on Windows",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      "Safari 17 on macOS",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      "Safari 17 on iOS",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36",
      "Chrome 126 on Android",
    ],
    ["curl/8.5.0", "curl 8.5"],
    ["grpc-node-js/1.12.6", "grpc-node-js 1.12"],
    ["python-requests/2.31.0", "python-requests 2.31"],
    ["connect-es/2.1.2", "connect-es 2.1"],
  ])("describes %s as %s", (agent, label) => {
    expect(deviceLabel(agent)).toBe(label);
  });

  it("calls a missing or unreadable User-Agent an unknown client", () => {
    expect(deviceLabel("")).toBe("Unknown client");
    expect(deviceLabel("   ")).toBe("Unknown client");
    expect(deviceLabel("<script>alert(1)</script>")).toBe("Unknown client");
  });

  it("keeps a label short whatever the User-Agent says", () => {
    expect(deviceLabel(`${"a".repeat(5_000)}/1.0`)).toBe("Unknown client");
    expect(deviceLabel(`Mozilla/5.0 (${"X11; ".repeat(1_000)}) Firefox/1`).length).toBeLessThan(64);
  });
});
