/**
 * Latency benchmark, on a throwaway stack of its own (bench profile: 56321/56322).
 * Prints figures; asserts nothing.
 *
 *   trigger -> running   from the enqueueing commit to the `running` progress event in
 *                        supabase-js (the wake-up, pg_net, gateway, worker boot/claim, Realtime)
 *   checkpoint -> event  from a sync.checkpoint commit to the supabase-js callback
 *   cron only            trigger -> running with the instant wake-up off: what the apps
 *                        we replace live with (Debian pg_cron ticks once a minute)
 *
 *   npm run bench:latency [-- --jobs 200 --cron-jobs 5]
 */
import { createClient } from "@supabase/supabase-js";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { ANON_KEY, signUserToken } from "../../local-stack/keys.ts";
import { profile } from "../../local-stack/profile.ts";
import { startStack } from "../../local-stack/stack.ts";
import { percentile } from "../queue/stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { jobs: { type: "string", default: "200" }, "cron-jobs": { type: "string", default: "5" } },
});
const jobs = Number(values.jobs);
const cronJobs = Number(values["cron-jobs"]);

const stack = await startStack(profile("bench"));
const sql = postgres(stack.profile.dbUrl, { max: 4, onnotice: () => {} });
const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
  Response.json({ data: [{ id: 1 }], next: null }));
try {
  const userId = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${userId}, ${"latency-" + userId + "@example.test"})`;
  const connections = await sql<{ id: string }[]>`
    insert into sync.connections (owner_id, provider, label, account)
    select ${userId}, 'http-json', 'latency ' || i, ${sql.json({ url: `http://127.0.0.1:${upstream.addr.port}/` })}
    from generate_series(1, ${jobs + cronJobs + 1}) i
    returning id
  `;
  const token = await signUserToken({ id: userId });
  const client = createClient(stack.profile.apiUrl, ANON_KEY, { accessToken: () => Promise.resolve(token) });
  const waiters = new Map<string, (at: number) => void>();
  await new Promise<void>((resolve) => {
    client.channel(`sync:user:${userId}`, { config: { private: true } })
      .on("broadcast", { event: "progress" }, ({ payload }) => {
        const key = `${payload.job_id}:${payload.status}:${payload.progress?.message ?? ""}`;
        waiters.get(key)?.(performance.now());
      })
      .subscribe((s) => s === "SUBSCRIBED" && resolve());
  });
  const eventFor = (key: string) => new Promise<number>((resolve) => waiters.set(key, resolve));

  // Warm the worker once, as a deployed function usually is.
  const [{ id: warm }] = await sql`select sync.enqueue(${connections[0].id}) as id`;
  await eventually(async () => (await sql`select status from sync.jobs where id = ${warm}`)[0].status === "succeeded");

  const triggerToRunning: number[] = [];
  for (let i = 1; i <= jobs; i++) {
    const conn = connections[i].id;
    const reserved = await sql.reserve();
    await reserved`begin`;
    const [{ id }] = await reserved`select sync.enqueue(${conn}) as id`;
    const running = eventFor(`${id}:running:`);
    const committed = performance.now();
    await reserved`commit`;
    reserved.release();
    triggerToRunning.push((await running) - committed);
  }

  // Checkpoints of one long-running job, claimed here so we control its pace.
  await sql`update sync.providers set enabled = false where name = 'http-json'`;
  const [{ id: longJob }] = await sql`select sync.enqueue(${connections[jobs + cronJobs].id}, 'manual') as id`;
  await sql`update sync.providers set enabled = true where name = 'http-json'`;
  const [claimed] = await sql`update sync.jobs set status = 'running', lease_token = gen_random_uuid(),
    lease_expires_at = now() + interval '10 minutes' where id = ${longJob} returning lease_token`;
  const checkpointToEvent: number[] = [];
  for (let i = 1; i <= jobs; i++) {
    const event = eventFor(`${longJob}:running:step ${i}`);
    const started = performance.now();
    await sql`select sync.checkpoint(${longJob}, ${claimed.lease_token}, ${sql.json({ i })}, ${sql.json({ done: i, total: jobs, message: `step ${i}` })})`;
    checkpointToEvent.push((await event) - started);
  }
  await sql`select sync.cancel(${longJob})`;

  // Cron only: the instant wake-up off; pg_cron's tick (every minute here) dispatches.
  await sql`alter table sync.jobs disable trigger jobs_dispatch_on_enqueue`;
  const cron: Promise<number>[] = [];
  for (let i = 0; i < cronJobs; i++) {
    const [{ id }] = await sql`select sync.enqueue(${connections[jobs + 1 + i].id}) as id`;
    const started = performance.now();
    cron.push(eventFor(`${id}:running:`).then((at) => at - started));
  }
  const cronOnly = await Promise.all(cron);
  await sql`alter table sync.jobs enable trigger jobs_dispatch_on_enqueue`;
  await client.removeAllChannels();

  const row = (name: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `| ${name} | ${xs.length} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 95).toFixed(1)} |`;
  };
  console.log("\n| path | samples | p50 (ms) | p95 (ms) |\n|---|---:|---:|---:|");
  console.log(row("trigger -> running (instant wake-up)", triggerToRunning));
  console.log(row("checkpoint -> supabase-js callback", checkpointToEvent));
  console.log(row("trigger -> running (cron only, 1-minute tick)", cronOnly));
} finally {
  await upstream.shutdown();
  await sql.end();
  await stack.stop();
}
Deno.exit(0);

async function eventually(probe: () => Promise<boolean>) {
  const deadline = Date.now() + 30_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
