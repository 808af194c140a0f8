/**
 * One local stack, start to stop: Postgres, the platform stand-ins, our migrations,
 * the pg_net worker, Realtime, and the gateway with the Edge runtime.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { applyStandIns, pushMigrations, writeDispatchSecrets } from "./database.ts";
import { FunctionCatalog } from "./edge-runtime/functions-config.ts";
import { EdgeRuntime, watchFunctionFolders } from "./edge-runtime/runtime.ts";
import { loadFunctionSecrets } from "./edge-runtime/secrets.ts";
import { buildDashboard } from "../dashboard/build.ts";
import { gateway } from "./gateway.ts";
import { ANON_KEY, JWT_SECRET, SERVICE_ROLE_KEY } from "./keys.ts";
import { startNetWorker } from "./net-worker.ts";
import { assertPortFree } from "./ports.ts";
import { type Profile, ROOT } from "./profile.ts";
import { startCluster } from "./postgres.ts";
import { relayDatabaseBroadcasts } from "./realtime/database-broadcasts.ts";
import { RealtimeServer } from "./realtime/server.ts";

export interface StackOptions {
  /** Extra config.toml files and function folders (tests add fixture functions). */
  extraFunctionConfigs?: string[];
  extraFunctionFolders?: string[];
  /** Print function logs to the console as well as to the log file. */
  echoFunctionLogs?: boolean;
  /**
   * Function secrets set by the caller, winning over the env files (the fake upstreams'
   * base URLs for tests and demos).
   */
  functionSecrets?: Record<string, string>;
  /** Retire workers when function files change (dev). */
  watch?: boolean;
  onStep?: (step: string) => void;
}

export interface Stack {
  profile: Profile;
  keys: { anon: string; serviceRole: string; jwtSecret: string };
  functionLog: string;
  edge: EdgeRuntime;
  stop(): Promise<void>;
}

const lockFile = (profile: Profile) => join(profile.stateDir, "stack.pid");

/**
 * One stack per profile at a time: a second `npm start` (or `npm test`) would stop the
 * first one's Postgres. A pid file left by a killed stack is stale and is taken over.
 */
async function claimProfile(profile: Profile) {
  mkdirSync(profile.stateDir, { recursive: true });
  const pid = Number(await Deno.readTextFile(lockFile(profile)).catch(() => ""));
  if (pid && pid !== Deno.pid && isStackProcess(pid)) {
    throw new Error(
      `Another Tributary ${profile.name} stack is running (pid ${pid}). ` +
        `Stop it with Ctrl-C in its terminal or \`kill ${pid}\`, then try again.`,
    );
  }
  await Deno.writeTextFile(lockFile(profile), String(Deno.pid));
}

/** Alive (not a zombie) and running our CLI, so a recycled pid is not mistaken for a stack. */
function isStackProcess(pid: number): boolean {
  try {
    const state = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.[0];
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return state !== "Z" && cmdline.includes("local-stack/cli.ts");
  } catch {
    return false;
  }
}

export async function startStack(profile: Profile, options: StackOptions = {}): Promise<Stack> {
  const step = options.onStep ?? (() => {});
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        console.error("[stack] while stopping:", e);
      }
    }
  };

  try {
    await claimProfile(profile);
    cleanups.push(() => Deno.remove(lockFile(profile)).catch(() => {}));
    await assertPortFree(profile.apiPort, "API gateway", "TRIBUTARY_API_PORT");
    step("postgres");
    const cluster = await startCluster(profile);
    cleanups.push(() => cluster.stop());

    const sql = postgres(profile.dbUrl, { max: 8, onnotice: () => {}, connection: { application_name: "tributary-stack" } });
    cleanups.push(() => sql.end({ timeout: 2 }));
    step("platform stand-ins");
    await applyStandIns(sql);
    step("migrations (supabase db push)");
    await pushMigrations(profile);
    await writeDispatchSecrets(sql, profile.apiUrl);

    step("services");
    const net = startNetWorker(sql);
    cleanups.push(() => net.stop());
    const realtime = new RealtimeServer(sql);
    const relay = relayDatabaseBroadcasts(profile.dbUrl, sql, realtime);
    cleanups.push(() => relay.stop());
    await Promise.all([net.ready, relay.ready]);

    const logDir = join(profile.stateDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const functionLog = join(logDir, "functions.log");
    const folders = [join(ROOT, "functions"), join(ROOT, "supabase", "functions"), ...(options.extraFunctionFolders ?? [])];
    const secretFiles = [join(ROOT, "supabase", "functions", ".env")];
    const extraEnv = Deno.env.get("TRIBUTARY_FUNCTIONS_ENV");
    if (extraEnv) secretFiles.push(extraEnv);
    const edge = new EdgeRuntime({
      catalog: new FunctionCatalog([join(ROOT, "supabase", "config.toml"), ...(options.extraFunctionConfigs ?? [])], folders),
      denoConfig: join(ROOT, "deno.json"),
      wallClockMs: Number(Deno.env.get("TRIBUTARY_EDGE_WALL_CLOCK_MS") ?? 150_000),
      graceMs: Number(Deno.env.get("TRIBUTARY_EDGE_GRACE_MS") ?? 1_000),
      memoryMb: 256,
      // PLATFORM.md: 2 s of CPU; edge-runtime retires a worker at half of it.
      cpuSoftLimitMs: Number(Deno.env.get("TRIBUTARY_EDGE_CPU_SOFT_LIMIT_MS") ?? 1_000),
      cpuHardLimitMs: Number(Deno.env.get("TRIBUTARY_EDGE_CPU_HARD_LIMIT_MS") ?? 2_000),
      env: () => ({
        ...loadFunctionSecrets(secretFiles),
        ...options.functionSecrets,
        SUPABASE_URL: profile.apiUrl,
        SUPABASE_ANON_KEY: ANON_KEY,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
        SUPABASE_DB_URL: profile.dbUrl,
        // Deno needs its cache; the function sees nothing else of our environment.
        HOME: Deno.env.get("HOME") ?? "/root",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      }),
      log: (name, line) => {
        const stamped = `${new Date().toISOString()} [${name}] ${line}`;
        appendFileSync(functionLog, stamped + "\n");
        if (options.echoFunctionLogs) console.log(stamped);
      },
    });
    cleanups.push(() => edge.stop());
    if (options.watch) {
      const unwatch = watchFunctionFolders(folders, edge);
      cleanups.push(unwatch);
    }

    // Built on the first visit, not at start: most starts (tests, benchmarks) never open it.
    let dashboard: Promise<string> | undefined;
    const dashboardDir = () =>
      dashboard ??= buildDashboard(join(profile.stateDir, "dashboard")).then(async (dir) => {
        // The settings a hosted deployment would type in, filled in for this stack.
        await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ url: profile.apiUrl, anonKey: ANON_KEY }));
        return dir;
      }).catch((e) => {
        dashboard = undefined;
        throw e;
      });

    const server = Deno.serve({ hostname: "127.0.0.1", port: profile.apiPort, onListen: () => {} }, gateway(edge, realtime, dashboardDir));
    cleanups.push(() => server.shutdown());
    // Sockets close first, or the server's shutdown would wait on them.
    cleanups.push(() => realtime.close());

    return {
      profile,
      keys: { anon: ANON_KEY, serviceRole: SERVICE_ROLE_KEY, jwtSecret: JWT_SECRET },
      functionLog,
      edge,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
