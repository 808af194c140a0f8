/**
 * Provider benchmark: rows per second each provider writes through the whole stack
 * (sync.enqueue -> pg_net -> gateway -> worker -> fake upstream -> upsert -> complete),
 * beside a raw COPY of the same rows into the same table in the same run, and the
 * worker's peak memory. Prints figures; asserts nothing.
 *
 * Memory is given two ways: as hosted edge-runtime counts it against the 256 MB limit
 * (the isolate's used heap plus external memory, sampled every 10 ms by the local
 * runtime), and as the peak resident set of the local worker process, which also holds
 * the Deno runtime itself.
 *
 *   npm run bench:providers                          # every provider, default sizes
 *   npm run bench:providers -- --providers steam --scale 2
 *   npm run bench:providers -- --repeat 3             # three rounds: more cold and warm runs
 *   npm run bench:providers -- --warm 0               # cold runs only
 *   npm run bench:providers -- --cpu                  # each run's CPU by part of the stack
 *
 * Each round runs each provider cold, then `--warm` times warm. Cold: the function's
 * worker is dropped first, so the run starts in a fresh one, as a hosted function's
 * first invocation does: code not yet compiled, database connections not yet open.
 * Warm: the same worker again at once, its code compiled and its connections open.
 *
 * It brings up its own throwaway stack (the `bench` profile: 56321/56322, fakes on
 * 56329), so it runs beside `npm start` and `npm test`.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { profile } from "../../local-stack/profile.ts";
import { CpuMeter, formatCpu } from "../cpu-meter.ts";
import { startStack } from "../../local-stack/stack.ts";
import { baseUrls, serveFakes } from "../../tests/fakes/server.ts";
import { workerPids } from "../../tests/support/providers.ts";
import { SCENARIOS } from "./scenarios.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    providers: { type: "string", default: Object.keys(SCENARIOS).join(",") },
    scale: { type: "string", default: "1" },
    // Runs vary by a third on a shared 2-core machine: --repeat 3 gives each provider's
    // spread and median, cold and warm.
    repeat: { type: "string", default: "1" },
    warm: { type: "string", default: "1" },
    // Where the database's time goes: the N statements that took the most server time
    // in each run, from pg_stat_statements (as on Supabase's Query Performance page).
    statements: { type: "string", default: "0" },
    // Where the CPU goes: each run's CPU by part of the stack (bench/cpu-meter.ts).
    cpu: { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const repeat = Number(values.repeat);
const warmRuns = Number(values.warm);
const statements = Number(values.statements);
const chosen = values.providers.split(",").filter(Boolean);
for (const name of chosen) if (!SCENARIOS[name]) throw new Error(`no scenario for ${name}; have ${Object.keys(SCENARIOS).join(", ")}`);

const bench = profile("bench");
const fakes = serveFakes(bench.fakesPort);
// Rate limits are the providers' real ones in production; here the upstream is local
// and the point is our own cost, so the shared token buckets are lifted.
// The fakes cut LinkedIn answers at 100 elements for the tests; here, where LinkedIn does.
const stack = await startStack(bench, { functionSecrets: { ...baseUrls(fakes.url), LINKEDIN_MAX_ELEMENTS: "15000" } });
const sql = postgres(stack.profile.dbUrl, { max: 4, onnotice: () => {} });

const MB = 2 ** 20;
const COPIES = 3;

/** The peak resident memory (VmHWM) of a function's live worker processes, in MB. */
function peakRssMb(functionName: string): number {
  return Math.max(0, ...workerPids(functionName).map((pid) => {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0) / 1024;
  }));
}

/**
 * The same rows through a raw COPY: exported to a file on the database host, then deleted
 * and COPYed back in from that file, server-side, so COPY pays no client transfer at all.
 */
async function copyRate(table: string, connections: string[]): Promise<{ rows: number; perSecond: number }> {
  const file = `/tmp/tributary-bench-${connections[0]}.copy`;
  const ids = `'{${connections.join(",")}}'::uuid[]`;
  await sql.unsafe(`copy (select * from ${table} where connection_id = any(${ids})) to '${file}'`);
  // The median of three loads: one COPY alone moved by a third between runs, and the
  // ratio with it. Each load starts from the rows deleted and vacuumed away.
  const times: number[] = [];
  for (let i = 0; i < COPIES; i++) {
    await sql.unsafe(`delete from ${table} where connection_id = any(${ids})`);
    await sql.unsafe(`vacuum ${table}`);
    const started = performance.now();
    await sql.unsafe(`copy ${table} from '${file}'`);
    times.push((performance.now() - started) / 1000);
  }
  const seconds = times.sort((a, b) => a - b)[Math.floor(COPIES / 2)];
  const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${table} where connection_id = any(${ids})`);
  await Deno.remove(file).catch(() => {});
  await settle(table);
  return { rows: n, perSecond: n / seconds };
}

async function printStatements(n: number) {
  const top = await sql`
    select calls, round(total_exec_time)::int as ms, rows, regexp_replace(left(query, 110), '[[:space:]]+', ' ', 'g') as query
    from extensions.pg_stat_statements
    where query not like '%pg_stat_statements%'
    order by total_exec_time desc limit ${n}
  `;
  for (const q of top) console.log(`  ${String(q.ms).padStart(6)} ms ${String(q.calls).padStart(6)} calls ${String(q.rows).padStart(7)} rows  ${q.query}`);
}

/** Polls `done` every 100 ms, for at most a minute; false when the minute ran out. */
async function within60s(done: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Lets the database finish what the run and its COPY left behind before the next run is
 * timed, on the same two cores: follow-up jobs (Spotify's listening summary, the ad
 * totals) run, the rows the COPY step deleted (a million for the sheet) are vacuumed,
 * and Realtime's walsender decodes the WAL of the COPY step's deletes and loads (it
 * reads all WAL, whatever the publication holds). After the sheet, that decoding alone
 * took 4 s of CPU inside the next provider's run and slowed it by a third.
 */
async function settle(table: string) {
  await within60s(async () => {
    const [{ open }] = await sql`select exists (select from sync.jobs where status in ('queued', 'running')) as open`;
    return !open;
  });
  await sql.unsafe(`vacuum ${table}`);
  await sql.unsafe("checkpoint");
  const [{ lsn }] = await sql`select pg_current_wal_lsn()::text as lsn`;
  const caughtUp = await within60s(async () => {
    const [{ behind }] = await sql`select coalesce(bool_or(sent_lsn < ${lsn}::pg_lsn), false) as behind from pg_stat_replication`;
    return !behind;
  });
  if (!caughtUp) console.warn("  (Realtime's walsender is still behind after 60 s; timing the next run anyway)");
}

const results: string[] = [];
type Run = { seconds: number; ratio: number };
const runs = new Map<string, { cold: Run[]; warm: Run[] }>();
try {
  await sql`update sync.providers set requests_per_minute = null, max_concurrency = null`;
  const [owner] = await sql`insert into auth.users (id, email) values (gen_random_uuid(), 'bench@tributary.local') returning id`;
  for (let round = 1; round <= repeat; round++) for (const name of chosen) for (let n = 0; n <= warmRuns; n++) {
    const cold = n === 0;
    if (cold) await stack.edge.kill(`sync-${name}`);
    const scenario = await SCENARIOS[name](fakes.url, scale);
    const connections: string[] = [];
    for (const source of scenario.connections) {
      const [{ secret }] = await sql`select vault.create_secret(${JSON.stringify(source.credentials)}) as secret`;
      const [{ id }] = await sql`
        insert into sync.connections (owner_id, provider, label, account, credentials_secret_id)
        values (${owner.id}, ${name}, 'bench', ${sql.json(source.account as never)}, ${secret}) returning id
      `;
      connections.push(id);
    }
    console.log(`\n${name} (${cold ? "cold" : "warm"}): ${scenario.description}`);
    if (statements) {
      await sql`create extension if not exists pg_stat_statements with schema extensions`;
      await sql`select extensions.pg_stat_statements_reset()`;
    }
    const cpu = values.cpu ? new CpuMeter() : null;
    cpu?.start();
    const started = performance.now();
    // All in one transaction, as an app enqueues a batch: one wake-up for all of them.
    const jobs = await sql.begin(async (tx) => {
      const ids: string[] = [];
      for (const c of connections) {
        const [{ id }] = await tx`select sync.enqueue(${c}, ${scenario.kind}, ${tx.json(scenario.params as never)}) as id`;
        ids.push(id);
      }
      return ids;
    });
    let last = "";
    // Workers retire past their CPU limit, so their peak RSS is read while they live.
    let rss = 0;
    for (let poll = 0; ; poll++) {
      if (poll % 5 === 0) rss = Math.max(rss, peakRssMb(`sync-${name}`));
      const [j] = await sql`
        select count(*) filter (where status = 'succeeded')::int as succeeded,
               max(progress->>'percent') filter (where status = 'running') as percent,
               max(progress->>'message') filter (where status = 'running') as message,
               max(format('%s job %s: %s', status, id, last_error)) filter (where status in ('failed', 'cancelled')) as failure
        from sync.jobs where id = any(${jobs})
      `;
      const line = jobs.length > 1 ? `  ${j.succeeded} of ${jobs.length} jobs succeeded` : `  ${j.succeeded ? "succeeded" : `running ${j.percent ?? 0}% ${j.message ?? ""}`}`;
      if (line !== last && Deno.stdout.isTerminal()) Deno.stdout.writeSync(new TextEncoder().encode(`\r${line.padEnd(80)}`));
      last = line;
      if (j.failure) throw new Error(`${name}: ${j.failure}`);
      if (j.succeeded === jobs.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const total = (performance.now() - started) / 1000;
    const cpuParts = cpu?.stop();
    if (Deno.stdout.isTerminal()) console.log();
    // The rate counts the run, from the first claim to the last success (database times),
    // not the wait before it: the first job of a provider boots its worker, which locally
    // is a whole Deno process and hosted an isolate, and the poll above adds up to 100 ms.
    const [{ seconds, wait, started_ms, finished_ms }] = await sql`
      select extract(epoch from max(finished_at) - min(started_at))::float8 as seconds,
             extract(epoch from min(started_at) - min(created_at))::float8 as wait,
             (extract(epoch from min(started_at)) * 1000)::float8 as started_ms,
             (extract(epoch from max(finished_at)) * 1000)::float8 as finished_ms
      from sync.jobs where id = any(${jobs})
    `;
    console.log(`  claimed ${new Date(started_ms).toISOString()}, succeeded ${new Date(finished_ms).toISOString()}`);
    if (cpuParts) console.log(`  ${formatCpu(cpuParts)}`);
    if (statements) await printStatements(statements);
    rss = Math.max(rss, peakRssMb(`sync-${name}`));
    const isolate = stack.edge.memoryPeak(`sync-${name}`);
    const [{ n: rows }] = await sql.unsafe(`select count(*)::int as n from ${scenario.table} where connection_id = any($1)`, [connections]);
    const copy = await copyRate(scenario.table, connections);
    const rate = rows / seconds;
    const row = `| ${name} | ${cold ? "cold" : "warm"} | ${rows.toLocaleString("en")} | ${wait.toFixed(1)} s | ${seconds.toFixed(1)} s (${total.toFixed(1)} s) | ${Math.round(rate).toLocaleString("en")} | ` +
      `${Math.round(copy.perSecond).toLocaleString("en")} | ${(rate / copy.perSecond).toFixed(2)}x | ` +
      `${isolate ? `${(isolate.total / MB).toFixed(0)} MB (heap ${(isolate.heap / MB).toFixed(0)})` : "-"} | ${rss.toFixed(0)} MB |`;
    console.log(row);
    results.push(row);
    const mine = runs.get(name) ?? { cold: [], warm: [] };
    mine[cold ? "cold" : "warm"].push({ seconds, ratio: rate / copy.perSecond });
    runs.set(name, mine);
  }
} finally {
  await sql.end();
  await stack.stop();
  await fakes.close();
}
console.log("\n| provider | run | rows | enqueue to claim | claim to success (enqueue to success) | rows/s (stack) | rows/s (COPY) | stack / COPY | worker peak memory (heap + external) | worker process peak RSS |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of results) console.log(r);
if (repeat > 1 || warmRuns > 0) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const spread = (rs: Run[]) => {
    if (!rs.length) return "- | -";
    const s = rs.map((r) => r.seconds), q = rs.map((r) => r.ratio);
    return `${Math.min(...s).toFixed(1)}, ${median(s).toFixed(1)}, ${Math.max(...s).toFixed(1)} s | ` +
      `${Math.min(...q).toFixed(2)}x, ${median(q).toFixed(2)}x, ${Math.max(...q).toFixed(2)}x`;
  };
  console.log(`\n| provider | runs (cold + warm) | cold: claim to success (min, median, max) | cold: stack / COPY | warm: claim to success | warm: stack / COPY |`);
  console.log("|---|---:|---|---|---|---|");
  for (const [name, { cold, warm }] of runs) console.log(`| ${name} | ${cold.length} + ${warm.length} | ${spread(cold)} | ${spread(warm)} |`);
}
