/**
 * Queue benchmark (perfTest): no-op jobs through claim -> complete on the local Postgres,
 * Tributary against graphile-worker and pg-boss with the same worker concurrency, in
 * one run. Prints figures; asserts nothing.
 *
 *   npm run bench:queue                       # defaults below
 *   npm run bench:queue -- --jobs 20000 --concurrency 8 --depth 1000,1000000 --max-seconds 30
 *
 * A run that has not finished its jobs after --max-seconds stops there and reports
 * the rate it reached (pg-boss with batch 1 polls, and would otherwise take minutes).
 *
 * It brings up its own throwaway database (the `bench` profile, port 56322), so it runs
 * beside `npm start` and `npm test`.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { applyStandIns, pushMigrations } from "../../local-stack/database.ts";
import { startCluster } from "../../local-stack/postgres.ts";
import { profile } from "../../local-stack/profile.ts";
import * as graphileWorker from "./graphile-worker.ts";
import * as pgBoss from "./pg-boss.ts";
import type { ThroughputResult } from "./stats.ts";
import * as tributary from "./tributary.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "8" },
    batches: { type: "string", default: "1,10,100" },
    depth: { type: "string", default: "1000,1000000" },
    samples: { type: "string", default: "500" },
    "max-seconds": { type: "string", default: "30" },
    systems: { type: "string", default: "tributary,graphile-worker,pg-boss" },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const batches = values.batches.split(",").map(Number);
const depths = values.depth.split(",").filter(Boolean).map(Number);
const samples = Number(values.samples);
const maxSeconds = Number(values["max-seconds"]);
const systems = values.systems.split(",");
const drivers: Record<string, (o: Parameters<typeof tributary.throughput>[0]) => Promise<ThroughputResult>> = {
  tributary: tributary.throughput,
  "graphile-worker": graphileWorker.throughput,
  "pg-boss": pgBoss.throughput,
};

const bench = profile("bench");
console.log(`Postgres 15 on 127.0.0.1:${bench.dbPort}, ${navigator.hardwareConcurrency} cores; ` +
  `${jobs} no-op jobs per run, worker concurrency ${concurrency}`);
const cluster = await startCluster(bench);
try {
  const admin = postgres(bench.dbUrl, { max: 1, onnotice: () => {} });
  await applyStandIns(admin);
  await pushMigrations(bench);
  const [{ version }] = await admin`select current_setting('server_version') as version`;
  await admin.end();
  console.log(`server ${version}\n`);

  const results: ThroughputResult[] = [];
  for (const batch of batches) {
    for (const system of systems) {
      const r = await drivers[system]({ dbUrl: bench.dbUrl, jobs, concurrency, batch, maxSeconds });
      results.push(r);
      const partial = r.jobs < jobs ? `, stopped at the ${maxSeconds} s cap after ${r.jobs} jobs` : "";
      console.log(`  ${system.padEnd(16)} batch ${String(batch).padStart(3)}: ${r.jobsPerSecond.toFixed(0).padStart(6)} jobs/s (${r.seconds.toFixed(2)} s${partial})`);
    }
  }

  console.log("\nThroughput (jobs/s) and Tributary's ratio to each peer");
  console.log("| batch | " + systems.join(" | ") + " | " + systems.filter((s) => s !== "tributary").map((s) => `vs ${s}`).join(" | ") + " |");
  console.log("|---|" + systems.map(() => "---:").join("|") + "|" + systems.filter((s) => s !== "tributary").map(() => "---:").join("|") + "|");
  for (const batch of batches) {
    const row = (s: string) => results.find((r) => r.batch === batch && r.system === s)!;
    const ours = row("tributary")?.jobsPerSecond;
    const cells = systems.map((s) => row(s).jobsPerSecond.toFixed(0));
    const ratios = systems.filter((s) => s !== "tributary").map((s) => ours ? `${(ours / row(s).jobsPerSecond).toFixed(2)}x` : "-");
    console.log(`| ${batch} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
  }

  if (depths.length) {
    console.log(`\nClaim latency, one session, ${samples} claims of 1 (ms)`);
    console.log("| queue depth | p50 | p99 |\n|---:|---:|---:|");
    for (const depth of depths) {
      const l = await tributary.claimLatency(bench.dbUrl, depth, samples);
      console.log(`| ${depth.toLocaleString("en")} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} |`);
    }
  }
} finally {
  await cluster.stop();
}
Deno.exit(0);
