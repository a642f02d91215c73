import { adminPanelProfile } from "./admin-panel.js";
import { apiV1AuthProfile } from "./api-v1-auth.js";
import type { Profile } from "./profile.js";

/** The compatibility profiles keycard can serve: reference 002 and reference 003. */
export const knownProfiles = ["api-v1-auth", "admin-panel"] as const;

/** Reference 003's default session lifetime when SESSION_DURATION_DAYS is unset: 30 days. */
const defaultAdminPanelSeconds = 30 * 86_400;

/** The profiles HTTP_PROFILES switches on, built with their settings. */
export function enabledProfiles(names: readonly string[], adminPanelSessionMs?: number): Profile[] {
  const all: Profile[] = [
    apiV1AuthProfile,
    adminPanelProfile(
      adminPanelSessionMs === undefined ? defaultAdminPanelSeconds : adminPanelSessionMs / 1000,
    ),
  ];
  return all.filter((profile) => names.includes(profile.name));
}
