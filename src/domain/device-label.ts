/** A browser family: its name and the User-Agent token carrying its version. */
interface BrowserRule {
  readonly name: string;
  readonly pattern: RegExp;
}

/** Ordered: Edge and Opera also say "Chrome", Chrome also says "Safari". */
const browsers: readonly BrowserRule[] = [
  { name: "Edge", pattern: /\bEdg(?:e|A|iOS)?\/(\d+)/ },
  { name: "Opera", pattern: /\bOPR\/(\d+)/ },
  { name: "Samsung Internet", pattern: /\bSamsungBrowser\/(\d+)/ },
  { name: "Firefox", pattern: /\b(?:Firefox|FxiOS)\/(\d+)/ },
  { name: "Chromium", pattern: /\bChromium\/(\d+)/ },
  { name: "Chrome", pattern: /\b(?:Chrome|CriOS)\/(\d+)/ },
  { name: "Safari", pattern: /\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\// },
];

/** Operating systems, most specific first (Android also says "Linux", iOS "Mac OS X"). */
const systems: readonly [string, RegExp][] = [
  ["Android", /\bAndroid\b/],
  ["iOS", /\b(?:iPhone|iPad|iPod)\b/],
  ["ChromeOS", /\bCrOS\b/],
  ["Windows", /\bWindows\b/],
  ["macOS", /\bMac OS X\b|\bMacintosh\b/],
  ["Linux", /\bLinux\b|\bX11\b/],
];

/** Programs that name themselves `name/version` first: curl, grpc-node-js, python-requests. */
const programPattern = /^([A-Za-z][\w.+-]{0,39})\/v?(\d+(?:\.\d+)?)/;

const maxLabelLength = 64;

/**
 * A short, human description of a client from its User-Agent, for session lists:
 * "Firefox 128 on Linux", "Safari 17 on iOS", "curl 8.5", "Unknown client". Only the
 * product and platform are kept; nothing identifying beyond what a session list shows.
 */
export function deviceLabel(userAgent: string): string {
  const agent = userAgent.trim();
  if (agent === "") {
    return "Unknown client";
  }
  const system = systems.find(([, pattern]) => pattern.test(agent))?.[0];
  if (agent.startsWith("Mozilla/")) {
    return browserLabel(agent, system);
  }
  const program = programPattern.exec(agent);
  if (program !== null) {
    return `${program[1]} ${program[2]}`.slice(0, maxLabelLength);
  }
  return "Unknown client";
}

function browserLabel(agent: string, system: string | undefined): string {
  const suffix = system === undefined ? "" : ` on ${system}`;
  for (const { name, pattern } of browsers) {
    const version = pattern.exec(agent)?.[1];
    if (version !== undefined) {
      return `${name} ${version}${suffix}`;
    }
  }
  return `Browser${suffix}`;
}
