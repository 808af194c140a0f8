/**
 * The suites `npm test` runs against a started test stack, each reduced to a count of
 * passed and failed tests so the run can end with one `N passed, M failed` line.
 *
 *   pgTAP       pg_prove over tests/**\/*.test.sql
 *   deno        deno test over tests/ (unit, integration, end-to-end)
 *   types       functions/_shared/database.types.ts matches `supabase gen types`
 *   typecheck   deno check over local-stack/, functions/, tests/ and bench/
 *   db lint     supabase db lint (plpgsql_check) must report no error
 */
import { join, relative } from "node:path";
import { cliDbUrl, generateTypes, supabaseCli, TYPES_FILE } from "./database.ts";
import { ROOT } from "./profile.ts";
import type { Stack } from "./stack.ts";

export interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
  note?: string;
}

function walk(dir: string, match: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...walk(path, match));
    else if (match(entry.name)) found.push(path);
  }
  return found.sort();
}

/** No suite may hang CI: past this, it is killed and counted as failed. */
const SUITE_TIMEOUT_MS = 20 * 60 * 1000;

/** Runs a command with its output passed through live, and also captured for counting. */
async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => {
    console.error(`\n${cmd} ${args.join(" ")} ran past ${SUITE_TIMEOUT_MS / 60000} minutes; killing it`);
    child.kill("SIGKILL");
  }, SUITE_TIMEOUT_MS);
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, sink: { writeSync(p: Uint8Array): number }) => {
    for await (const chunk of stream) {
      sink.writeSync(chunk);
      text += decoder.decode(chunk, { stream: true });
    }
  };
  const [status] = await Promise.all([child.status, pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  clearTimeout(timer);
  return { ok: status.success, text };
}

const heading = (s: string) => console.log(`\n\x1b[1m== ${s} ==\x1b[0m`);

export async function pgTap(stack: Stack): Promise<SuiteResult> {
  heading("pgTAP (pg_prove)");
  const files = walk(join(ROOT, "tests"), (n) => n.endsWith(".test.sql")).map((f) => relative(ROOT, f));
  if (files.length === 0) return { name: "pgTAP", passed: 0, failed: 0, note: "no .test.sql files" };
  const { text } = await run("pg_prove", [
    "--host=127.0.0.1",
    `--port=${stack.profile.dbPort}`,
    "--username=postgres",
    "--dbname=postgres",
    "--failures",
    ...files,
  ], { PGPASSWORD: "postgres" });
  // prove's summary: "Files=3, Tests=41, ..." and, on failure, "Failed 2/10 subtests" per file.
  const total = Number(text.match(/Files=\d+, Tests=(\d+)/)?.[1] ?? 0);
  let failed = [...text.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, m) => n + Number(m[1]), 0);
  // A file that died before finishing its plan counts as one failure more.
  failed += [...text.matchAll(/Parse errors:|Non-zero exit status|No subtests run/g)].length;
  if (total === 0 && failed === 0) failed = 1;
  return { name: "pgTAP", passed: Math.max(0, total - failed), failed };
}

/**
 * Deno tests run in parallel, except `*.serial.test.ts`: those disturb shared processes
 * (they kill function workers) and run alone afterwards.
 */
export async function denoTest(stack: Stack): Promise<SuiteResult> {
  heading("deno test");
  const env = {
    TRIBUTARY_API_URL: stack.profile.apiUrl,
    TRIBUTARY_DB_URL: stack.profile.dbUrl,
    TRIBUTARY_ANON_KEY: stack.keys.anon,
    TRIBUTARY_SERVICE_ROLE_KEY: stack.keys.serviceRole,
    TRIBUTARY_FUNCTION_LOG: stack.functionLog,
    TRIBUTARY_FAKES_URL: `http://127.0.0.1:${stack.profile.fakesPort}`,
    NO_COLOR: "1",
  };
  const config = `--config=${join(ROOT, "deno.json")}`;
  const serial = walk(join(ROOT, "tests"), (n) => n.endsWith(".serial.test.ts")).map((f) => relative(ROOT, f));
  const runs = [await run(Deno.execPath(), ["test", "-A", "--parallel", config, "--ignore=**/*.serial.test.ts", "tests/"], env)];
  if (serial.length) runs.push(await run(Deno.execPath(), ["test", "-A", config, ...serial], env));

  let passed = 0;
  let failed = 0;
  for (const { text } of runs) {
    // "ok | 12 passed (3 steps) | 0 failed (4s)" or "FAILED | 10 passed | 2 failed (4s)"
    const summary = text.match(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
    if (!summary) return { name: "deno test", passed, failed: failed + 1, note: "no summary line (did it compile?)" };
    passed += Number(summary[1]);
    failed += Number(summary[2]);
  }
  return { name: "deno test", passed, failed };
}

export async function generatedTypes(stack: Stack): Promise<SuiteResult> {
  heading("supabase gen types");
  const fresh = await generateTypes(stack.profile);
  const committed = await Deno.readTextFile(TYPES_FILE).catch(() => "");
  if (fresh === committed) {
    console.log(`${relative(ROOT, TYPES_FILE)} matches the migrations`);
    return { name: "types", passed: 1, failed: 0 };
  }
  console.log(`${relative(ROOT, TYPES_FILE)} is out of date: run \`npm start\`, then \`npm run types\`, and commit it`);
  return { name: "types", passed: 0, failed: 1 };
}

export async function typeCheck(): Promise<SuiteResult> {
  heading("deno check");
  const { ok } = await run(Deno.execPath(), ["check", `--config=${join(ROOT, "deno.json")}`, "local-stack/", "functions/", "client/", "cli/", "dashboard/", "chaos/", "tests/", "bench/"]);
  return { name: "typecheck", passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
}

export async function dbLint(stack: Stack): Promise<SuiteResult> {
  heading("supabase db lint");
  const { ok, output } = await supabaseCli([
    "db",
    "lint",
    `--remote=${cliDbUrl(stack.profile)}`,
    "--level",
    "warning",
    "--fail-on",
    "error",
  ]);
  console.log(output.trim());
  return { name: "db lint", passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
}
