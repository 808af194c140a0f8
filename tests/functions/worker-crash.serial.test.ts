/**
 * A worker killed mid-chunk: once its lease expires the job is rescued (what the cron
 * tick does with sync.reset_stale) and resumes from its last checkpoint, with no row
 * lost and none duplicated.
 */
import assert from "node:assert/strict";
import { claimedAttempts, workerPids } from "../support/providers.ts";
import { createUser, db, eventually } from "../support/stack.ts";

Deno.test({
  name: "a worker killed mid-chunk: the job resumes from its checkpoint with no lost or duplicate rows",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sql = db();
    const requests: number[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const page = Number(new URL(req.url).searchParams.get("page"));
      requests.push(page);
      await new Promise((r) => setTimeout(r, 500));
      return Response.json({ data: [1, 2, 3].map((i) => ({ id: `${page}-${i}` })), next: page < 6 ? `?page=${page + 1}` : null });
    });
    try {
      const user = await createUser(sql);
      const [{ id: conn }] = await sql`
        insert into sync.connections (owner_id, provider, label, account)
        values (${user.id}, 'http-json', 'crash test', ${sql.json({ url: `http://127.0.0.1:${server.addr.port}/?page=1` })})
        returning id
      `;
      const [{ job }] = await sql`select sync.enqueue(${conn}) as job`;
      await eventually("two pages checkpointed", async () =>
        ((await sql`select cursor from sync.jobs where id = ${job}`)[0].cursor?.page ?? 0) >= 2, 15_000);

      const pids = workerPids("sync-http-json");
      assert.ok(pids.length > 0, "found the worker process");
      for (const pid of pids) Deno.kill(pid, "SIGKILL");

      const [killed] = await sql`select status, attempts from sync.jobs where id = ${job}`;
      assert.equal(killed.status, "running", "the job is orphaned, still leased to the dead worker");
      await eventually("the lease to expire", async () =>
        (await sql`select lease_expires_at < now() as expired from sync.jobs where id = ${job}`)[0].expired, 15_000);
      assert.equal((await sql`select sync.reset_stale() as n`)[0].n >= 1, true);
      await sql`select sync.dispatch('http-json')`;

      const done = await eventually("the job to finish", async () => {
        const [j] = await sql`select status, attempts, stats, last_error from sync.jobs where id = ${job}`;
        return ["succeeded", "failed"].includes(j.status) && j;
      }, 20_000);
      assert.equal(done.status, "succeeded", done.last_error);
      assert.deepEqual(await claimedAttempts(sql, job), [1, 2], "the crashed run counted as an attempt");
      assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
      const rows = await sql`select external_id from synced.records where connection_id = ${conn} order by external_id`;
      assert.equal(rows.length, 18, "every record, each once");
      assert.equal(requests.filter((p) => p === 1).length, 1, "checkpointed pages were not fetched again");
      const events = await sql`select event from sync.job_events where job_id = ${job} order by id`;
      assert.ok(events.some((e) => e.event === "lease_expired"));
    } finally {
      await server.shutdown();
      await sql.end();
    }
  },
});
