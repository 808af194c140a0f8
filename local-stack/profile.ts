/**
 * A profile is one local stack: its ports and its state folder. `npm start` runs the
 * `dev` profile; `npm test` runs a throwaway `test` profile on other ports, so the two
 * can run side by side.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface Profile {
  name: "dev" | "test";
  apiPort: number;
  dbPort: number;
  /** Git-ignored folder for logs, pid files and (for non-root users) the Postgres data dir. */
  stateDir: string;
  /** Throwaway stacks start from an empty database every time. */
  throwaway: boolean;
  apiUrl: string;
  dbUrl: string;
}

function port(envName: string, fallback: number): number {
  const raw = Deno.env.get(envName);
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${envName}=${raw} is not a TCP port`);
  return n;
}

export function profile(name: "dev" | "test"): Profile {
  const dev = name === "dev";
  const apiPort = port("TRIBUTARY_API_PORT", dev ? 54321 : 55321);
  const dbPort = port("TRIBUTARY_DB_PORT", dev ? 54322 : 55322);
  return {
    name,
    apiPort,
    dbPort,
    stateDir: join(ROOT, ".tributary", name),
    throwaway: !dev,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    dbUrl: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
  };
}
