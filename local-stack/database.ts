/**
 * Brings the database to the shape of a Supabase project, then applies ours:
 *
 *   1. sql/local/*.sql     the platform stand-ins (roles, auth, net, vault, realtime),
 *                          idempotent, applied on every start;
 *   2. supabase/migrations through the real Supabase CLI (`supabase db push`), exactly
 *                          as a hosted project receives them.
 */
import { join } from "node:path";
import type { Sql } from "postgres";
import { type Profile, ROOT } from "./profile.ts";

export const STAND_IN_DIR = join(ROOT, "sql", "local");
export const SUPABASE_CLI = join(ROOT, "node_modules", ".bin", "supabase");

export async function applyStandIns(sql: Sql): Promise<string[]> {
  const files = [...Deno.readDirSync(STAND_IN_DIR)]
    .filter((e) => e.isFile && e.name.endsWith(".sql"))
    .map((e) => e.name)
    .sort();
  for (const file of files) {
    try {
      await sql.unsafe(await Deno.readTextFile(join(STAND_IN_DIR, file)));
    } catch (e) {
      throw new Error(`sql/local/${file}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return files;
}

/** A database URL for the CLI; sslmode=disable says plainly that a local socket has no TLS. */
export const cliDbUrl = (profile: Profile) => `${profile.dbUrl}?sslmode=disable`;

/** Runs the Supabase CLI against the profile's database and returns its output. */
export async function supabaseCli(args: string[]): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(SUPABASE_CLI, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { ok: out.success, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

export async function pushMigrations(profile: Profile): Promise<string> {
  const { ok, output } = await supabaseCli(["db", "push", `--remote=${cliDbUrl(profile)}`, "--yes", "--include-all"]);
  if (!ok) throw new Error(`supabase db push failed:\n${output}`);
  return output;
}
