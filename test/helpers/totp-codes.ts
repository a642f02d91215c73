import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { generate } from "otplib";
import { findOnPath } from "./tools.js";

const run = promisify(execFile);

/** The RFC 6238 time step keycard uses, in seconds. */
export const totpStepSeconds = 30;

/** oathtool (Debian's package), the generator reference 000 uses (`oathtool --totp -b "$TOTP_SECRET"`). */
const oathtoolPath = findOnPath("oathtool");

/**
 * Which generator produces the codes: oathtool when installed (CI installs it), otplib
 * otherwise, so that the tests still run on a machine without it.
 */
export const totpCodeSource: "oathtool" | "otplib" =
  oathtoolPath === undefined ? "otplib" : "oathtool";

/**
 * The 6-digit code of a base32 secret at `atMs` (default now), exactly what
 * `oathtool --totp -b -N @<seconds> <secret>` prints.
 */
export async function totpCode(secret: string, atMs: number = Date.now()): Promise<string> {
  const seconds = Math.floor(atMs / 1000);
  if (oathtoolPath === undefined) {
    return generate({ secret, epoch: seconds });
  }
  const { stdout } = await run(oathtoolPath, ["--totp", "-b", "-N", `@${seconds}`, secret]);
  const code = stdout.trim();
  if (!/^\d{6}$/.test(code)) {
    throw new Error(`oathtool printed ${JSON.stringify(stdout)}, not a 6-digit code`);
  }
  return code;
}

/** The code of the step `offset` steps away from the one containing `nowMs`. */
export function totpCodeAtStep(
  secret: string,
  offset: number,
  nowMs: number = Date.now(),
): Promise<string> {
  return totpCode(secret, nowMs + offset * totpStepSeconds * 1000);
}

/** The number of the time step containing `nowMs`. */
export function totpStep(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000 / totpStepSeconds);
}

/**
 * Waits until at least `marginMs` (at most 3 s) remain in the current time step, so that
 * a code computed now still belongs to the same step when the server checks it. Sleeps
 * `marginMs` at most, and usually not at all.
 */
export async function clearOfStepEdge(marginMs = 2_000): Promise<void> {
  const margin = Math.min(marginMs, 3_000);
  const stepMs = totpStepSeconds * 1000;
  const left = stepMs - (Date.now() % stepMs);
  if (left < margin) {
    await new Promise((resolve) => setTimeout(resolve, left + 20));
  }
}

/** A user's confirmed TOTP enrollment, as POST /admin/users/{id}/totp returned it. */
export interface ConfirmedTotp {
  readonly secret: string;
  readonly otpauthUri: string;
  readonly qrCodeSvg: string;
}

/**
 * Enrolls a user in TOTP over REST and confirms it with the code of the PREVIOUS step, so
 * that the current and the next step's codes stay free for the test (keycard accepts each
 * step once per user, and never one older than the last it accepted). `nowMs` is the
 * server's time when it runs on a fake clock; by default the real clock, kept clear of a
 * step edge so that the previous step is still within the window when the server checks.
 */
export async function enrollTotpOverRest(
  baseUrl: string,
  userId: string,
  adminToken: string,
  nowMs?: number,
): Promise<ConfirmedTotp> {
  const headers = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const enrolled = await fetch(`${baseUrl}/admin/users/${userId}/totp`, {
    method: "POST",
    headers,
    body: "{}",
  });
  const body = (await enrolled.json()) as Record<string, string>;
  if (enrolled.status !== 200 || body.secret === undefined) {
    throw new Error(`EnrollTotp failed: ${enrolled.status} ${JSON.stringify(body)}`);
  }
  if (nowMs === undefined) {
    await clearOfStepEdge();
  }
  const code = await totpCodeAtStep(body.secret, -1, nowMs ?? Date.now());
  const confirmed = await fetch(`${baseUrl}/admin/users/${userId}/totp/confirm`, {
    method: "POST",
    headers,
    body: JSON.stringify({ code }),
  });
  if (confirmed.status !== 200) {
    throw new Error(`ConfirmTotp failed: ${confirmed.status} ${await confirmed.text()}`);
  }
  return {
    secret: body.secret,
    otpauthUri: body.otpauth_uri ?? "",
    qrCodeSvg: body.qr_code_svg ?? "",
  };
}
