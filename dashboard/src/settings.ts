/**
 * Where the dashboard finds its project: the Supabase URL and anon key (from
 * `config.json` beside index.html when the host provides one, else what the user typed)
 * and the signed-in user's access token. Kept in localStorage, in this browser only.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";

export interface Settings {
  url: string;
  anonKey: string;
  token: string;
}

const KEY = "tributary.dashboard";

/** The host's defaults (the local gateway writes one), then what this browser saved. */
export async function loadSettings(): Promise<Settings> {
  let defaults: Partial<Settings> = {};
  try {
    const response = await fetch(new URL("./config.json", location.href));
    if (response.ok) defaults = await response.json();
  } catch {
    // Deployed without a config.json: the sign-in form asks for everything.
  }
  let saved: Partial<Settings> = {};
  try {
    saved = JSON.parse(localStorage.getItem(KEY) ?? "{}");
  } catch {
    // A corrupt entry is the same as none.
  }
  return {
    url: saved.url || defaults.url || "",
    anonKey: saved.anonKey || defaults.anonKey || "",
    token: saved.token || "",
  };
}

export function saveSettings(settings: Settings) {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

export function supabaseFor(settings: Settings): SupabaseClient {
  return createClient(settings.url, settings.anonKey, {
    accessToken: () => Promise.resolve(settings.token),
    realtime: { params: { apikey: settings.anonKey } },
  });
}
