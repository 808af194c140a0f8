/**
 * The http-json provider end to end on the real stack: a job enqueued in SQL wakes
 * sync-http-json at once (trigger -> sync.dispatch -> pg_net -> gateway), which pages
 * through a local JSON API, upserts synced.records, and reports progress over Realtime.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { closeClient, subscribe } from "../support/realtime.ts";
import { apiUrl, createUser, db, eventually, serviceRoleKey, type TestUser } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** A JSON API with three pages of items, which can be told to fail once per path. */
function fakeApi(failOnce: Record<string, Response> = {}) {
  const seen: { path: string; authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    seen.push({ path: url.pathname, authorization: req.headers.get("authorization") });
    const failure = failOnce[url.pathname];
    if (failure) {
      delete failOnce[url.pathname];
      return failure;
    }
    const page = Number(url.pathname.split("/").pop());
    const items = Array.from({ length: 4 }, (_, i) => ({ id: page * 10 + i, name: `item ${page}.${i}` }));
    return Response.json({ result: { items }, links: { next: page < 3 ? `/pages/${page + 1}` : null } });
  });
  return { base: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

async function connect(sql: postgres.Sql, user: TestUser, url: string) {
  const [{ secret }] = await sql`select vault.create_secret(${JSON.stringify({ headers: { authorization: "Bearer upstream-s3cret" } })}) as secret`;
  const [{ id }] = await sql`
    insert into sync.connections (owner_id, provider, label, account, credentials_secret_id)
    values (${user.id}, 'http-json', 'fake api',
            ${sql.json({ url, records_path: "result.items", next_path: "links.next" })}, ${secret})
    returning id
  `;
  return id as string;
}

const jobOf = async (sql: postgres.Sql, id: string) => (await sql`select * from sync.jobs where id = ${id}`)[0];

e2e("a job enqueued in SQL syncs every page into synced.records and reports progress live", async () => {
  const sql = db();
  const api = fakeApi();
  const user = await createUser(sql);
  try {
    const conn = await connect(sql, user, `${api.base}/pages/1`);
    const progress = await subscribe(user.client, `sync:user:${user.id}`);
    assert.equal(progress.status, "SUBSCRIBED");

    const [{ job }] = await sql`select sync.enqueue(${conn}) as job`;
    const done = await eventually("the job to finish", async () => {
      const j = await jobOf(sql, job);
      return ["succeeded", "failed"].includes(j.status) && j;
    }, 20_000);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(done.stats, { records: 12, pages: 3 });

    const rows = await sql`select external_id, data->>'name' as name from synced.records where connection_id = ${conn} order by external_id`;
    assert.equal(rows.length, 12, "every record exactly once");
    assert.equal(rows[0].name, "item 1.0");
    assert.deepEqual(api.seen.map((s) => s.path), ["/pages/1", "/pages/2", "/pages/3"]);
    assert.ok(api.seen.every((s) => s.authorization === "Bearer upstream-s3cret"), "the credential from Vault reached the upstream");

    await eventually("the succeeded event", () => Promise.resolve(progress.received.some((m) => m.payload.status === "succeeded")));
    const events = progress.received.filter((m) => m.payload.job_id === job);
    const statuses = events.map((m) => m.payload.status);
    assert.deepEqual([...new Set(statuses)], ["queued", "running", "succeeded"]);
    const percents = events.map((m) => Number((m.payload.progress as { percent: number }).percent));
    assert.ok(percents.every((p, i) => i === 0 || p >= percents[i - 1]), `percent never goes backwards: ${percents}`);
    assert.equal(percents.at(-1), 100);
    assert.ok(progress.received.every((m) => !JSON.stringify(m.payload).includes("upstream-s3cret")), "no credential in any event");
    const [{ n }] = await sql`select count(*)::int as n from sync.job_events where job_id = ${job} and event = 'claimed'`;
    assert.equal(n, 1, "one run did it all");

    // The credential lives in Vault only: in no sync.* row, no broadcast, no function log line.
    const [{ leaks }] = await sql`
      select (select count(*) from sync.connections c where c::text like '%upstream-s3cret%')
           + (select count(*) from sync.jobs j where j::text like '%upstream-s3cret%')
           + (select count(*) from sync.job_events e where e::text like '%upstream-s3cret%')
           + (select count(*) from realtime.messages m where m::text like '%upstream-s3cret%') as leaks
    `;
    assert.equal(Number(leaks), 0);
    const logFile = Deno.env.get("TRIBUTARY_FUNCTION_LOG");
    if (logFile) {
      const log = await Deno.readTextFile(logFile);
      assert.ok(log.includes(job), "the worker logged this job");
      assert.ok(!log.includes("upstream-s3cret"), "no credential in the function logs");
    }
  } finally {
    await closeClient(user.client);
    await api.close();
    await sql.end();
  }
});

e2e("an upstream 429 is waited out without spending an attempt; a 401 fails with the upstream's message", async () => {
  const sql = db();
  const limited = fakeApi({ "/pages/2": new Response("slow down", { status: 429, headers: { "retry-after": "1" } }) });
  const refused = fakeApi({ "/pages/1": Response.json({ error: { message: "The access token expired" } }, { status: 401 }) });
  const user = await createUser(sql);
  try {
    const [{ job: a }] = await sql`select sync.enqueue(${await connect(sql, user, `${limited.base}/pages/1`)}) as job`;
    const [{ job: b }] = await sql`select sync.enqueue(${await connect(sql, user, `${refused.base}/pages/1`)}) as job`;
    const finished = (id: string) => async () => {
      const j = await jobOf(sql, id);
      return ["succeeded", "failed"].includes(j.status) && j;
    };
    const jobA = await eventually("the rate-limited job", finished(a), 30_000);
    assert.equal(jobA.status, "succeeded", jobA.last_error);
    assert.equal(jobA.attempts, 1, "the 429 gave its attempt back");
    const events = await sql`select event from sync.job_events where job_id = ${a} order by id`;
    assert.ok(events.some((e) => e.event === "rate_limited"));
    assert.deepEqual(limited.seen.map((s) => s.path), ["/pages/1", "/pages/2", "/pages/2", "/pages/3"],
      "it resumed at page 2, not from the start");
    const [{ n }] = await sql`select count(*)::int as n from synced.records where connection_id = ${jobA.connection_id}`;
    assert.equal(n, 12);

    const jobB = await eventually("the refused job", finished(b), 20_000);
    assert.equal(jobB.status, "failed");
    assert.equal(jobB.last_error, "upstream 401: The access token expired");
    assert.equal(jobB.attempts, 1, "a permanent error is not retried");
  } finally {
    await Promise.all([limited.close(), refused.close()]);
    await sql.end();
  }
});

e2e("sync-http-json refuses callers without the worker secret, and bad bodies with 400", async () => {
  const fn = `${apiUrl}/functions/v1/sync-http-json`;
  const anonymous = await fetch(fn, { method: "POST" });
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error.code, "unauthorized");
  const wrong = await fetch(fn, { method: "POST", headers: { authorization: "Bearer not-the-secret" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const bad = await fetch(fn, { method: "POST", headers: { authorization: `Bearer ${serviceRoleKey}` }, body: '{"max_jobs": 99}' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /max_jobs/);
});
