/**
 * The pause switch with real jobs: paused, a triggered job stays queued; resumed, it runs.
 * Serial: the switch is global, and would stall other files' jobs running beside it.
 */
import assert from "node:assert/strict";
import { apiUrl, createUser, db, eventually } from "../support/stack.ts";

Deno.test({
  name: "pause: new jobs stay queued; resume: they run",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sql = db();
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
      Response.json({ data: [{ id: "a" }, { id: "b" }], next: null }));
    const adminCall = (token: string, path: string) =>
      fetch(`${apiUrl}/functions/v1/sync-admin${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "pause test" }),
      }).then((r) => r.body?.cancel());
    try {
      const boss = await createUser(sql, { appMetadata: { role: "admin" } });
      const user = await createUser(sql);
      const { data: conn } = await user.client.functions.invoke("sync-api/connections", {
        body: { provider: "http-json", label: "paused", account: { url: `http://127.0.0.1:${upstream.addr.port}/` } },
      });
      await adminCall(boss.token, "/pause");
      const { data: job } = await user.client.functions.invoke("sync-api/jobs", { body: { connection_id: conn.id } });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await sql`select status from sync.jobs where id = ${job.job_id}`)[0].status, "queued", "paused: still queued");

      await adminCall(boss.token, "/resume");
      await eventually("the job to run after resume", async () =>
        (await sql`select status from sync.jobs where id = ${job.job_id}`)[0].status === "succeeded", 15_000);
      const [{ n }] = await sql`select count(*)::int as n from synced.records where connection_id = ${conn.id}`;
      assert.equal(n, 2);
    } finally {
      await sql`select sync.resume()`;
      await upstream.shutdown();
      await sql.end();
    }
  },
});
