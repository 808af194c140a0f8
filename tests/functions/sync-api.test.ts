/**
 * sync-api through the unmodified supabase-js client, as users: connections with
 * credentials in Vault, triggering (dedupe, cooldown), reading and cancelling jobs, and
 * the refusals: other users' rows are 404, anonymous callers 401, bad input 400.
 */
import assert from "node:assert/strict";
import { callApi } from "../support/providers.ts";
import { closeClient, subscribe } from "../support/realtime.ts";
import { createUser, db, eventually, userClient, anonKey } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Five pages of three items, each page taking `delayMs`. */
function slowApi(delayMs: number) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    requests++;
    await new Promise((r) => setTimeout(r, delayMs));
    const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
    return Response.json({
      data: [1, 2, 3].map((i) => ({ id: `${page}-${i}` })),
      next: page < 5 ? `?page=${page + 1}` : null,
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/items?page=1`, requests: () => requests, close: () => server.shutdown() };
}

e2e("a user connects a source, triggers a sync, sees dedupe and the cooldown, and reads the job", async () => {
  const sql = db();
  const api = slowApi(150);
  const user = await createUser(sql);
  try {
    const created = await callApi(user.client, "connections", "POST", {
      provider: "http-json",
      label: "My API",
      account: { url: api.url },
      credentials: { headers: { "x-api-key": "k3y-never-shown" } },
    });
    assert.equal(created.status, 201);
    const connectionId = created.body.id;

    const list = await callApi(user.client, "connections", "GET");
    assert.deepEqual(list.body.connections.map((c: { id: string }) => c.id), [connectionId]);
    assert.ok(!JSON.stringify(list.body).includes("k3y-never-shown"), "no credential in responses");
    assert.ok(!("credentials_secret_id" in list.body.connections[0]));
    const [{ stored }] = await sql`select count(*)::int as stored from sync.connections where id = ${connectionId} and account::text like '%k3y%'`;
    assert.equal(stored, 0, "the credential is not in the connection row");

    const first = await callApi(user.client, "jobs", "POST", { connection_id: connectionId });
    assert.equal(first.status, 202);
    assert.equal(first.body.deduplicated, false);
    const second = await callApi(user.client, "jobs", "POST", { connection_id: connectionId });
    assert.equal(second.body.job_id, first.body.job_id, "two triggers, one job");
    assert.equal(second.body.deduplicated, true);

    const job = await eventually("the sync to finish", async () => {
      const r = await callApi(user.client, `jobs/${first.body.job_id}`, "GET");
      return r.body.status === "succeeded" && r.body;
    }, 20_000);
    assert.equal(job.stats.records, 15);

    const third = await callApi(user.client, "jobs", "POST", { connection_id: connectionId });
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, "cooldown");
    assert.ok(Number(third.headers.get("retry-after")) >= 1);

    const jobs = await callApi(user.client, "jobs?status=succeeded&limit=5", "GET");
    assert.equal(jobs.status, 200);
    assert.deepEqual(jobs.body.jobs.map((j: { id: string }) => j.id), [first.body.job_id]);
  } finally {
    await api.close();
    await sql.end();
  }
});

e2e("cancel mid-run: the job ends cancelled and nothing more is written", async () => {
  const sql = db();
  const api = slowApi(400);
  const user = await createUser(sql);
  try {
    const { body: conn } = await callApi(user.client, "connections", "POST", { provider: "http-json", label: "slow", account: { url: api.url } });
    const { body: started } = await callApi(user.client, "jobs", "POST", { connection_id: conn.id });
    await eventually("the first page", async () =>
      (await sql`select count(*)::int as n from synced.records where connection_id = ${conn.id}`)[0].n >= 3, 10_000);
    const cancelled = await callApi(user.client, `jobs/${started.job_id}/cancel`, "POST");
    assert.equal(cancelled.body.cancelled, true);
    await new Promise((r) => setTimeout(r, 1200)); // the worker's next checkpoint comes within a page
    const [{ n: settled }] = await sql`select count(*)::int as n from synced.records where connection_id = ${conn.id}`;
    await new Promise((r) => setTimeout(r, 1200));
    const [{ n: later }] = await sql`select count(*)::int as n from synced.records where connection_id = ${conn.id}`;
    assert.equal(later, settled, "no rows after the worker saw the cancellation");
    assert.ok(later < 15, "the sync did not run to the end");
    const { body: job } = await callApi(user.client, `jobs/${started.job_id}`, "GET");
    assert.equal(job.status, "cancelled");
  } finally {
    await api.close();
    await sql.end();
  }
});

e2e("another user's rows are 404, anonymous callers 401, and bad input 400 naming the field", async () => {
  const sql = db();
  const alice = await createUser(sql);
  const bob = await createUser(sql);
  try {
    const { body: conn } = await callApi(alice.client, "connections", "POST", { provider: "http-json", label: "a", account: { url: "https://example.com/x" } });
    const [{ job }] = await sql`select sync.enqueue(${conn.id}, 'never-runs', '{}', now() + interval '1 day') as job`;

    for (const [path, method, body] of [
      [`jobs/${job}`, "GET", undefined],
      [`jobs/${job}/cancel`, "POST", undefined],
      ["jobs", "POST", { connection_id: conn.id }],
      [`connections/${conn.id}`, "PATCH", { label: "mine now" }],
      [`connections/${conn.id}`, "DELETE", undefined],
    ] as const) {
      const r = await callApi(bob.client, path, method, body);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error.code, "not_found");
    }
    assert.equal((await sql`select status from sync.jobs where id = ${job}`)[0].status, "queued", "bob changed nothing");

    // Nor can bob listen to alice's progress.
    for (const topic of [`sync:user:${alice.id}`, `sync:job:${job}`]) {
      const refused = await subscribe(bob.client, topic);
      assert.equal(refused.status, "CHANNEL_ERROR", topic);
      assert.match(String(refused.error?.message), /Unauthorized/);
    }
    await closeClient(bob.client);

    const anonymous = await callApi(userClient(anonKey), "connections", "GET");
    assert.equal(anonymous.status, 401);

    const cases: [string, "POST" | "PATCH", unknown, RegExp][] = [
      ["connections", "POST", { provider: "http-json", label: "x", account: {} }, /account\.url/],
      ["connections", "POST", { provider: "nope", label: "x" }, /provider: "nope" is not available/],
      ["connections", "POST", { provider: "http-json", label: "", account: { url: "https://e.com" } }, /label/],
      ["jobs", "POST", { connection_id: "not-a-uuid" }, /connection_id/],
      [`connections/${conn.id}`, "PATCH", { cadence: "soon" }, /cadence/],
      [`connections/${conn.id}`, "PATCH", { cadence: "1 minute" }, /at least 5 minutes/],
      [`connections/${conn.id}`, "PATCH", {}, /at least one of/],
    ];
    for (const [path, method, body, message] of cases) {
      const r = await callApi(alice.client, path, method, body);
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(r.body.error.message, message);
    }
    const raw = await fetch(`${Deno.env.get("TRIBUTARY_API_URL") ?? "http://127.0.0.1:54321"}/functions/v1/sync-api/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(raw.status, 400);
    assert.equal((await raw.json()).error.code, "invalid_json");
  } finally {
    await sql.end();
  }
});
