/** The providers this deployment can sync, by name (the `sync.providers` row's name). */
import type { Provider } from "../provider.ts";
import { googleAds } from "./google-ads.ts";
import { googleSheets } from "./google-sheets.ts";
import { httpJson } from "./http-json.ts";
import { steam } from "./steam.ts";

export const providers: Record<string, Provider<unknown, unknown>> = Object.fromEntries(
  ([httpJson, steam, googleAds, googleSheets] as Provider<any, any>[]).map((p) => [p.name, p as Provider<unknown, unknown>]),
);
