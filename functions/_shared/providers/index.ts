/** The providers this deployment can sync, by name (the `sync.providers` row's name). */
import type { Provider } from "../provider.ts";
import { httpJson } from "./http-json.ts";

export const providers: Record<string, Provider<unknown, unknown>> = {
  [httpJson.name]: httpJson as Provider<unknown, unknown>,
};
