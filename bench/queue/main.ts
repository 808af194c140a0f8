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
 * `required-writes` is not a product: it is the bound that SPEC's per-job writes put on
 * any queue design here (bench/queue/required-writes.ts), run beside the others.
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
import * as requiredWrites from "./required-writes.ts";
import { percentile, type ThroughputResult } from "./stats.ts";
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
    // Runs of one configuration vary on a shared 2-core machine; report the median.
    repeat: { type: "string", default: "3" },
    systems: { type: "string", default: "tributary,required-writes,graphile-worker,pg-boss" },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const batches = values.batches.split(",").map(Number);
const depths = values.depth.split(",").filter(Boolean).map(Number);
const samples = Number(values.samples);
const maxSeconds = Number(values["max-seconds"]);
const repeat = Number(values.repeat);
const systems = values.systems.split(",");
const drivers: Record<string, (o: Parameters<typeof tributary.throughput>[0]) => Promise<ThroughputResult>> = {
  tributary: tributary.throughput,
  "graphile-worker": graphileWorker.throughput,
  "pg-boss": pgBoss.throughput,
  // Not a product: the bound that SPEC's required per-job writes put on any design here.
  "required-writes": requiredWrites.throughput,
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

  // Every run starts from freshly vacuumed and analysed tables, whatever ran before it.
  const cleanSlate = async () => {
    const sql = postgres(bench.dbUrl, { max: 1, onnotice: () => {} });
    await sql`vacuum analyze`;
    await sql.end();
  };

  const results: ThroughputResult[] = [];
  for (let round = 1; round <= repeat; round++) {
    for (const batch of batches) {
      for (const system of systems) {
        await cleanSlate();
        const r = await drivers[system]({ dbUrl: bench.dbUrl, jobs, concurrency, batch, maxSeconds });
        results.push(r);
        const partial = r.jobs < jobs ? `, stopped at the ${maxSeconds} s cap after ${r.jobs} jobs` : "";
        console.log(`  round ${round} ${system.padEnd(16)} batch ${String(batch).padStart(3)}: ` +
          `${r.jobsPerSecond.toFixed(0).padStart(6)} jobs/s (${r.seconds.toFixed(2)} s${partial})`);
      }
    }
  }
  const median = (system: string, batch: number) =>
    percentile(results.filter((r) => r.system === system && r.batch === batch).map((r) => r.jobsPerSecond).sort((a, b) => a - b), 50);

  console.log(`\nThroughput (jobs/s, median of ${repeat}) and Tributary's ratio to each peer`);
  console.log("| batch | " + systems.join(" | ") + " | " + systems.filter((s) => s !== "tributary").map((s) => `vs ${s}`).join(" | ") + " |");
  console.log("|---|" + systems.map(() => "---:").join("|") + "|" + systems.filter((s) => s !== "tributary").map(() => "---:").join("|") + "|");
  for (const batch of batches) {
    const ours = systems.includes("tributary") ? median("tributary", batch) : undefined;
    const cells = systems.map((s) => median(s, batch).toFixed(0));
    const ratios = systems.filter((s) => s !== "tributary").map((s) => ours ? `${(ours / median(s, batch)).toFixed(2)}x` : "-");
    console.log(`| ${batch} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
  }
  // The bound against the peers: how far any design that writes what SPEC requires per
  // job could get, next to what the peers write.
  const peers = systems.filter((s) => s === "graphile-worker" || s === "pg-boss");
  if (systems.includes("required-writes") && peers.length) {
    console.log(`
The required writes alone (no queue logic) against each peer`);
    console.log("| batch | " + peers.map((s) => `required-writes vs ${s}`).join(" | ") + " |");
    console.log("|---|" + peers.map(() => "---:").join("|") + "|");
    for (const batch of batches) {
      const bound = median("required-writes", batch);
      console.log(`| ${batch} | ${peers.map((s) => `${(bound / median(s, batch)).toFixed(2)}x`).join(" | ")} |`);
    }
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
