/** The providers this deployment can sync, by name (the `sync.providers` row's name). */
import type { Provider } from "../provider.ts";
import { googleAds } from "./google-ads.ts";
import { googleSheets } from "./google-sheets.ts";
import { httpJson } from "./http-json.ts";
import { linkedinAds } from "./linkedin-ads.ts";
import { metaAds } from "./meta-ads.ts";
import { spotify } from "./spotify.ts";
import { steam } from "./steam.ts";
import { tiktokAds } from "./tiktok-ads.ts";

export const providers: Record<string, Provider<unknown, unknown>> = Object.fromEntries(
  ([httpJson, steam, spotify, googleSheets, googleAds, metaAds, linkedinAds, tiktokAds] as Provider<any, any>[])
    .map((p) => [p.name, p as Provider<unknown, unknown>]),
);
