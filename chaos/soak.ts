/**
 * The chaos soak, on a throwaway stack of its own (ports 57321/57322/57329):
 *
 *   npm run soak                                  1,000 jobs (the figures in BENCHMARKS.md)
 *   npm run soak -- --jobs 200 --seed 7           smaller, or replay another draw
 *   deno task soak                                the same, where `deno task` works
 *
 * Options: --jobs N, --seed N, --max-minutes N (a bound on the run; unfinished jobs
 * fail it), --minute-tick (leave the scheduler to the local pg_cron's one-minute
 * schedule instead of ticking every 10 s as hosted pg_cron does), --no-restart.
 * Prints the report, writes it as JSON to .tributary/soak/report.json, and exits 1 if
 * anything was lost, duplicated, stuck or leaked, or a job failed that should not have.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { profile as profileFor } from "../local-stack/profile.ts";
import { startStack } from "../local-stack/stack.ts";
import { baseUrls, serveFakes } from "../tests/fakes/server.ts";
import { formatReport, runSoak, verdict } from "./run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    "max-minutes": { type: "string", default: "45" },
    "minute-tick": { type: "boolean", default: false },
    "no-restart": { type: "boolean", default: false },
  },
});
const jobs = Number(values.jobs);
const seed = Number(values.seed);
const maxMinutes = Number(values["max-minutes"]);
if (!Number.isInteger(jobs) || jobs < 4 || !Number.isInteger(seed) || !(maxMinutes > 0)) {
  console.error("usage: npm run soak -- [--jobs N (>= 4)] [--seed N] [--max-minutes N] [--minute-tick] [--no-restart]");
  Deno.exit(2);
}

const profile = profileFor("soak");
const fakesUrl = `http://127.0.0.1:${profile.fakesPort}`;
console.log(`Starting a throwaway soak stack on ${profile.apiUrl}...`);
const stack = await startStack(profile, {
  functionSecrets: {
    ...baseUrls(fakesUrl),
    // Short leases and upstream timeouts, so a killed worker or a hung upstream costs
    // seconds: the soak is about recovery, not waiting.
    TRIBUTARY_WORKER_LEASE_SECONDS: "10",
    TRIBUTARY_UPSTREAM_TIMEOUT_MS: "3000",
    TRIBUTARY_WORKER_BUDGET_MS: "20000",
  },
});
const fakes = serveFakes(profile.fakesPort);
let failed = true;
try {
  const report = await runSoak({
    profile,
    fakesUrl,
    functionLog: stack.functionLog,
    jobs,
    seed,
    tickSeconds: values["minute-tick"] ? 0 : 10,
    restart: !values["no-restart"],
    maxSeconds: maxMinutes * 60,
    out: { write: (t) => void Deno.stdout.writeSync(new TextEncoder().encode(t)), isTerminal: Deno.stdout.isTerminal() },
  });
  console.log(`\n${formatReport(report)}`);
  const file = join(profile.stateDir, "report.json");
  await Deno.writeTextFile(file, JSON.stringify(report, null, 2));
  console.log(`\nReport: ${file}`);
  failed = verdict(report).length > 0;
} finally {
  await stack.stop();
  await fakes.close();
}
Deno.exit(failed ? 1 : 0);
