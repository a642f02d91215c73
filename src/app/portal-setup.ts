import type { Logger } from "pino";
import { loadPortalAssets, type PortalAssets } from "../transport/ui/portal-assets.js";
import { builtPortalDir } from "./config/portal-settings.js";

/**
 * The sign-in portal `npm run build` made, read once at start. When it was not built (a
 * checkout run with `tsx` straight away), the log says how to build it and `/ui/` answers
 * 503 saying the same, instead of keycard refusing to start over optional pages.
 */
export async function loadBuiltPortal(logger: Logger): Promise<PortalAssets> {
  const assets = await loadPortalAssets(builtPortalDir);
  if (assets.size === 0) {
    logger.warn(
      { dir: builtPortalDir },
      "the sign-in pages (/ui/) are not built: run `npm run build`; until then /ui/ answers 503",
    );
  }
  return assets;
}
