/**
 * Where `sync login` keeps the project URL, anon key and access token: a JSON file
 * readable only by its user, at $TRIBUTARY_CONFIG or ~/.config/tributary/cli.json.
 * TRIBUTARY_URL, TRIBUTARY_ANON_KEY and TRIBUTARY_TOKEN override it (for CI).
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { ANON_KEY } from "../local-stack/keys.ts";

export interface Login {
  url: string;
  anonKey: string;
  token: string;
}

/** The local stack of `npm start` (its anon key is Supabase's well-known local demo key). */
export const LOCAL_URL = "http://127.0.0.1:54321";
export const LOCAL_ANON_KEY = ANON_KEY;

export function configPath(): string {
  const env = process.env;
  if (env.TRIBUTARY_CONFIG) return env.TRIBUTARY_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "tributary", "cli.json");
}

export async function readLogin(): Promise<Partial<Login>> {
  let saved: Partial<Login> = {};
  try {
    saved = JSON.parse(await readFile(configPath(), "utf8"));
  } catch {
    // No login yet.
  }
  const env = process.env;
  return {
    url: env.TRIBUTARY_URL || saved.url,
    anonKey: env.TRIBUTARY_ANON_KEY || saved.anonKey,
    token: env.TRIBUTARY_TOKEN || saved.token,
  };
}

export async function saveLogin(login: Login): Promise<string> {
  const path = configPath();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(login, null, 2) + "\n", { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}
