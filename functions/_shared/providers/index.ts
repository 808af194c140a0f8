/** The providers this deployment can sync, by name (the `sync.providers` row's name). */
import type { Provider } from "../provider.ts";
import { httpJson } from "./http-json.ts";
import { spotify } from "./spotify.ts";
import { steam } from "./steam.ts";

export const providers: Record<string, Provider<unknown, unknown>> = Object.fromEntries(
  ([httpJson, steam, spotify] as Provider<any, any>[]).map((p) => [p.name, p as Provider<unknown, unknown>]),
);
