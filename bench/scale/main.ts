/**
 * Scale figures (prints, asserts nothing): the scheduler and the claim at the sizes a
 * busy project reaches, on a throwaway database (the `bench` profile, port 56322).
 *
 *   npm run bench:scale
 *   npm run bench:scale -- --connections 100000 --jobs 1000000 --owners 10000 --samples 1000
 *
 *   1. sync.schedule_due() over --connections auto-sync connections: the steady state
 *      (an hourly cadence spread over the hour, so 1/60 are due each minute), everything
 *      due at once (after an outage), and nothing due.
 *   2. sync.claim at a queue depth of --jobs over --owners owners, one of whom holds a
 *      10 % backfill: claim latency p50/p99, and fairness (each owner's first job before
 *      anyone's second; a latecomer waits for one job per earlier owner, not for the backfill).
 *
 * Table bloat after churn is measured by the chaos soak (`npm run soak`).
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { applyStandIns, pushMigrations } from "../../local-stack/database.ts";
import { startCluster } from "../../local-stack/postgres.ts";
import { profile } from "../../local-stack/profile.ts";
import { percentile } from "../queue/stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "100000" },
    jobs: { type: "string", default: "1000000" },
    owners: { type: "string", default: "10000" },
    samples: { type: "string", default: "1000" },
  },
});
const connectionCount = Number(values.connections);
const jobCount = Number(values.jobs);
const ownerCount = Number(values.owners);
const samples = Number(values.samples);

const ms = (from: number) => performance.now() - from;
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });

async function owners(sql: postgres.Sql, n: number): Promise<void> {
  await sql`
    insert into auth.users (id, email)
    select gen_random_uuid(), 'scale-' || i || '-' || gen_random_uuid() || '@example.test' from generate_series(1, ${n}) i
  `;
}

async function scheduler(sql: postgres.Sql) {
  const provider = "scale-scheduler";
  await sql`insert into sync.providers (name, max_concurrency) values (${provider}, null)`;
  await owners(sql, ownerCount);
  // Connections spread over the owners, next runs spread over the coming hour.
  await sql`
    insert into sync.connections (owner_id, provider, label, auto_sync, cadence, lookback_days, next_sync_at)
    select u.id, ${provider}, 'scale', true, interval '1 hour', 3, now() + (i % 3600) * interval '1 second'
    from generate_series(0, ${connectionCount - 1}) i
    join (select id, row_number() over () - 1 as n from auth.users where email like 'scale-%') u on u.n = i % ${ownerCount}
  `;
  await sql`analyze sync.connections`;
  const run = async (label: string) => {
    const started = performance.now();
    const [{ n }] = await sql`select sync.schedule_due() as n`;
    const took = ms(started);
    console.log(`| ${label} | ${fmt(n)} | ${fmt(took)} | ${n ? fmt(n / (took / 1000)) : "-"} |`);
  };
  console.log(`\nsync.schedule_due() over ${fmt(connectionCount)} auto-sync connections (${fmt(ownerCount)} owners)`);
  console.log("| case | jobs enqueued | ms | jobs/s |\n|---|---:|---:|---:|");
  // A minute's worth is due: those whose next run falls in the first 60 s of the hour.
  await sql`update sync.connections set next_sync_at = now() - interval '1 second' where provider = ${provider} and next_sync_at < now() + interval '60 seconds'`;
  await run("steady state (1/60 due)");
  await run("nothing due");
  await sql`delete from sync.jobs where provider = ${provider}`;
  await sql`update sync.connections set next_sync_at = now() - interval '1 minute' where provider = ${provider}`;
  await sql`vacuum analyze sync.connections`;
  await run("everything due (after an outage)");
  await sql`delete from sync.jobs where provider = ${provider}`;
  await sql`delete from sync.connections where provider = ${provider}`;
}

async function deepClaim(sql: postgres.Sql, dbUrl: string) {
  const provider = "scale-claim";
  await sql`insert into sync.providers (name, max_concurrency) values (${provider}, null)`;
  const conns = await sql<{ id: string; owner_id: string }[]>`
    insert into sync.connections (owner_id, provider, label)
    select id, ${provider}, 'scale' from auth.users where email like 'scale-%' limit ${ownerCount}
    returning id, owner_id
  `;
  // The first owner's backfill is 10 % of the queue; the rest share the other 90 %. Lanes
  // are numbered per owner as sync.enqueue numbers them (sync.next_lane), in bulk.
  const backfill = Math.floor(jobCount / 10);
  const each = Math.floor((jobCount - backfill) / (conns.length - 1));
  console.log(`\nsync.claim at a depth of ${fmt(backfill + each * (conns.length - 1))} queued jobs over ${fmt(conns.length)} owners ` +
    `(one owner's backfill: ${fmt(backfill)} jobs; the others ${fmt(each)} each)`);
  await sql`alter table sync.jobs disable trigger user`;
  try {
    const ids = sql.json(conns as never);
    for (let c = 0; c < conns.length; c += 1000) {
      await sql`
        insert into sync.jobs (owner_id, connection_id, provider, kind, lane, run_at)
        select (x ->> 'owner_id')::uuid, (x ->> 'id')::uuid, ${provider}, 'k' || lane, lane, now() - interval '1 hour' + lane * interval '1 ms'
        from jsonb_array_elements(${ids}::jsonb) with ordinality as t(x, n),
             generate_series(1, case when n = 1 then ${backfill}::int else ${each}::int end) lane
        where n > ${c} and n <= ${c + 1000}
      `;
    }
  } finally {
    await sql`alter table sync.jobs enable trigger user`;
  }
  await sql`vacuum analyze sync.jobs`;

  const session = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const latencies: number[] = [];
  const claimedOwners: string[] = [];
  for (let i = 0; i < samples + 20; i++) {
    const started = performance.now();
    const [job] = await session`select id, owner_id, lease_token from sync.claim(${provider}, 'scale', 1)`;
    const took = ms(started);
    await session`select sync.complete(${job.id}, ${job.lease_token})`;
    claimedOwners.push(job.owner_id);
    if (i >= 20) latencies.push(took); // the first claims warm the cache
  }
  latencies.sort((a, b) => a - b);
  console.log("| claims of 1 | p50 ms | p99 ms |\n|---:|---:|---:|");
  console.log(`| ${samples} | ${percentile(latencies, 50).toFixed(2)} | ${percentile(latencies, 99).toFixed(2)} |`);

  // A newcomer's single job, enqueued now: it joins lane 1, behind the first job of each
  // owner already waiting, and ahead of everyone's second (the backfill's included).
  await owners(sql, 1);
  const [late] = await sql`
    insert into sync.connections (owner_id, provider, label)
    select id, ${provider}, 'latecomer' from auth.users where id not in (select owner_id from sync.connections) limit 1
    returning id, owner_id
  `;
  const [{ id: lateJob }] = await sql`select sync.enqueue(${late.id}, 'late') as id`;
  let position = claimedOwners.length;
  let found = false;
  while (!found) {
    // One claim takes its 100 in queue order, but returns them in no order: sort them back.
    const jobs = (await session`select id, owner_id, lease_token, lane, run_at from sync.claim(${provider}, 'scale', 100)`)
      .sort((a, b) => a.lane - b.lane || a.run_at - b.run_at || (a.id < b.id ? -1 : 1));
    if (jobs.length === 0) break;
    for (const j of jobs) await session`select sync.complete(${j.id}, ${j.lease_token})`;
    for (const j of jobs) {
      position++;
      claimedOwners.push(j.owner_id);
      if (j.id === lateJob) {
        found = true;
        break;
      }
    }
  }
  await session.end();
  const counts = new Map<string, number>();
  for (const o of claimedOwners.slice(0, position)) counts.set(o, (counts.get(o) ?? 0) + 1);
  const most = Math.max(...counts.values());
  // Fair: no owner had a second job before the latecomer's first, so the latecomer waited
  // for one job per owner already waiting, not for the backfill.
  const fair = found && most === 1 && position === conns.length + 1;
  console.log(`Fairness: the first ${fmt(position)} claims went to ${fmt(counts.size)} owners, at most ${most} each ` +
    `(the backfill's owner: ${counts.get(conns[0].owner_id) ?? 0}); the latecomer's job was claim ${found ? fmt(position) : "never"}. ` +
    (fair
      ? `It waited for one job of each of the ${fmt(conns.length)} owners already waiting, not for the ${fmt(backfill)}-job backfill.`
      : `NOT FAIR: with round-robin lanes it would have been claim ${fmt(conns.length + 1)}, with every owner once before it.`));
  await sql`delete from sync.jobs where provider = ${provider}`;
}

const bench = profile("bench");
console.log(`Postgres 15 on 127.0.0.1:${bench.dbPort}, ${navigator.hardwareConcurrency} cores`);
const cluster = await startCluster(bench);
try {
  const sql = postgres(bench.dbUrl, { max: 1, onnotice: () => {} });
  await applyStandIns(sql);
  await pushMigrations(bench);
  // The cron tick would run sync.schedule_due() beside the one being measured.
  await sql`select cron.unschedule(jobname) from cron.job where jobname like 'tributary-%'`;
  await scheduler(sql);
  await deepClaim(sql, bench.dbUrl);
  await sql.end();
} finally {
  await cluster.stop();
}
