/**
 * The local Postgres: a Debian PostgreSQL 15 cluster of our own, never the system one.
 *
 * Postgres refuses to run as root, so when we are root (CI) the cluster is owned and
 * run by the `postgres` OS user, and its data dir lives under /var/lib/postgresql
 * (which that user can always reach, unlike a clone in a private temp folder); the
 * repo gets a symlink to it. A normal user runs the cluster as themselves, in the repo.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Profile } from "./profile.ts";
import { ROOT } from "./profile.ts";
import { assertPortFree } from "./ports.ts";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const IS_ROOT = Deno.uid() === 0;

export interface Cluster {
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

function dataDirFor(profile: Profile): string {
  if (!IS_ROOT) return join(profile.stateDir, "pgdata");
  const repoId = createHash("sha1").update(ROOT).digest("hex").slice(0, 12);
  return `/var/lib/postgresql/tributary/${repoId}/${profile.name}`;
}

/** Runs a Postgres binary, as the postgres OS user when we are root. */
async function pg(bin: string, args: string[], opts: { allowFail?: boolean } = {}) {
  const argv = IS_ROOT ? ["runuser", "-u", "postgres", "--", join(PG_BIN, bin), ...args] : [join(PG_BIN, bin), ...args];
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped", cwd: "/" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !opts.allowFail) throw new Error(`${bin} ${args.join(" ")} failed:\n${text}`);
  return { ok: out.success, text };
}

async function sh(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Writes a file the cluster owner can read, and nobody else. */
async function writePrivate(path: string, content: string) {
  await Deno.writeTextFile(path, content, { mode: 0o600 });
  if (IS_ROOT) await sh("chown", ["postgres:postgres", path]);
}

async function initCluster(dataDir: string, profile: Profile) {
  await Deno.mkdir(dataDir, { recursive: true });
  if (IS_ROOT) await sh("chown", ["-R", "postgres:postgres", join(dataDir, "..")]);
  await Deno.chmod(dataDir, 0o700);
  const pwfile = join(dataDir, "..", `.pw-${profile.name}`);
  await writePrivate(pwfile, "postgres\n");
  await pg("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    ...(profile.throwaway ? ["--no-sync"] : []),
  ]);
  await Deno.remove(pwfile);

  // The Vault stand-in's root key sits beside the data, outside every table, the way
  // pgsodium keeps its key outside the database. See sql/local/30_vault.sql.
  const key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  await writePrivate(join(dataDir, "vault_root.key"), key);
}

function serverConfig(profile: Profile): string {
  const lines = [
    "# Written by local-stack/postgres.ts on every start.",
    "listen_addresses = '127.0.0.1'",
    `port = ${profile.dbPort}`,
    // TCP only: the Debian default socket dir needs root, and a socket in the repo
    // could exceed the 107-byte path limit.
    "unix_socket_directories = ''",
    // As on Supabase: pg_stat_statements is preloaded (create the extension to read it).
    "shared_preload_libraries = 'pg_cron,pg_stat_statements'",
    "pg_stat_statements.track = all",
    "cron.database_name = 'postgres'",
    // Background workers instead of libpq connections: no password needed for cron jobs.
    "cron.use_background_workers = on",
    "max_worker_processes = 32",
    // The local Realtime server reads realtime.messages by logical replication, as
    // hosted Realtime does.
    "wal_level = logical",
    "max_wal_senders = 10",
    "max_replication_slots = 10",
    "max_connections = 200",
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    "log_min_messages = warning",
    "log_line_prefix = '%m [%p] %q%u@%d '",
  ];
  if (profile.throwaway) {
    // A throwaway cluster trades crash safety for speed. synchronous_commit stays on:
    // logical replication (Realtime) only streams flushed WAL, so deferring the flush
    // would delay every broadcast by up to the WAL writer's delay.
    lines.push("fsync = off", "full_page_writes = off");
  }
  return lines.join("\n") + "\n";
}

/**
 * Restarts a running profile's cluster (`pg_ctl restart -m fast`): every connection is
 * cut, as in a failover or a hosted maintenance restart. The chaos soak uses it.
 */
export async function restartCluster(profile: Profile): Promise<void> {
  const dataDir = dataDirFor(profile);
  // -l as at start: without it the server would hold our output pipe open.
  await pg("pg_ctl", ["restart", "-D", dataDir, "-l", join(dataDir, "server.log"), "-m", "fast", "-w", "-t", "60"]);
}

/** Starts (initialising first if needed) the profile's cluster. Throws naming the port if it is taken. */
export async function startCluster(profile: Profile): Promise<Cluster> {
  const dataDir = dataDirFor(profile);
  const logFile = join(profile.stateDir, "postgres.log");
  await Deno.mkdir(profile.stateDir, { recursive: true });

  // A cluster of ours left running by a killed stack: stop it, it is not someone else's.
  if (existsSync(join(dataDir, "postmaster.pid"))) {
    await pg("pg_ctl", ["stop", "-D", dataDir, "-m", "immediate", "-w"], { allowFail: true });
  }
  if (profile.throwaway && existsSync(dataDir)) await Deno.remove(dataDir, { recursive: true });
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initCluster(dataDir, profile);

  if (IS_ROOT) {
    const link = join(profile.stateDir, "pgdata");
    await Deno.remove(link).catch(() => {});
    await Deno.symlink(dataDir, link);
  }

  await assertPortFree(profile.dbPort, "Postgres", "TRIBUTARY_DB_PORT");
  await writePrivate(join(dataDir, "tributary.conf"), serverConfig(profile));
  const conf = join(dataDir, "postgresql.conf");
  const confText = await Deno.readTextFile(conf);
  if (!confText.includes("include_if_exists = 'tributary.conf'")) {
    await Deno.writeTextFile(conf, confText + "\ninclude_if_exists = 'tributary.conf'\n");
  }

  // The log goes to a file the postgres user can write; we copy it into stateDir on failure.
  const serverLog = join(dataDir, "server.log");
  const started = await pg("pg_ctl", ["start", "-D", dataDir, "-l", serverLog, "-w", "-t", "60"], {
    allowFail: true,
  });
  if (!started.ok) {
    const log = await Deno.readTextFile(serverLog).catch(() => "");
    throw new Error(`Postgres did not start on port ${profile.dbPort}:\n${started.text}\n${log.slice(-2000)}`);
  }
  await Deno.remove(logFile).catch(() => {});
  await Deno.symlink(serverLog, logFile).catch(() => {});

  return {
    dataDir,
    logFile,
    async stop() {
      await pg("pg_ctl", ["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "30"], { allowFail: true });
    },
  };
}
