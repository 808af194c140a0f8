/**
 * A profile is one local stack: its ports and its state folder. `npm start` runs the
 * `dev` profile; `npm test` runs a throwaway `test` profile on other ports, the
 * benchmarks a throwaway `bench` database, the chaos soak a throwaway `soak` stack and
 * the deploy check a bare `deploy-check` database, so all of them can run side by side.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface Profile {
  name: ProfileName;
  apiPort: number;
  dbPort: number;
  /** Where tests and demos serve the fake upstreams (tests/fakes). */
  fakesPort: number;
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

export type ProfileName = "dev" | "test" | "bench" | "soak" | "deploy-check";

const DEFAULT_PORTS: Record<ProfileName, [api: number, db: number, fakes: number]> = {
  dev: [54321, 54322, 54329],
  test: [55321, 55322, 55329],
  bench: [56321, 56322, 56329],
  soak: [57321, 57322, 57329],
  "deploy-check": [58321, 58322, 58329],
};

export function profile(name: ProfileName): Profile {
  const dev = name === "dev";
  const apiPort = port("TRIBUTARY_API_PORT", DEFAULT_PORTS[name][0]);
  const dbPort = port("TRIBUTARY_DB_PORT", DEFAULT_PORTS[name][1]);
  const fakesPort = port("TRIBUTARY_FAKES_PORT", DEFAULT_PORTS[name][2]);
  return {
    name,
    apiPort,
    dbPort,
    fakesPort,
    stateDir: join(ROOT, ".tributary", name),
    throwaway: !dev,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    dbUrl: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
  };
}
