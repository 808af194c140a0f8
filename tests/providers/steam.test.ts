/**
 * sync-steam through the real stack against the fake IPartnerFinancialsService: changed
 * dates, paging by highwatermark_id, incremental runs, a crash mid-date, rate limits,
 * refused keys, and the key never leaving Vault.
 */
import assert from "node:assert/strict";
import { fake } from "../support/fakes.ts";
import { assertNoLeak, callApi, claimedAttempts, connect, crashMidChunk, runJob } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const newKey = () => crypto.randomUUID().replaceAll("-", "").toUpperCase();
const keysUsed: string[] = [];

interface Truth {
  date: string;
  package_id: number;
  country_code: string;
  platform: string;
  sale_price: number;
  gross_units_sold: number;
  net_sales_usd: number;
}

async function setUp(spec: Record<string, unknown>) {
  const sql = db();
  const user = await createUser(sql);
  const key = newKey();
  keysUsed.push(key);
  const upstream = fake("steam", key);
  await upstream.seed(spec);
  const connection = await connect(user, "steam", { partner_id: "4242" }, { key });
  const rows = async () =>
    (await sql`
      select date::text, package_id::int, country_code, platform, sale_price::float8 as sale_price,
             gross_units_sold::int, net_sales_usd::float8 as net_sales_usd
      from synced.steam_sales where connection_id = ${connection} order by date, package_id
    `).map((r) => ({ ...r }));
  const done = async () => {
    await closeClient(user.client);
    await sql.end();
  };
  return { sql, user, key, upstream, connection, rows, done };
}

const byKey = (a: Truth, b: Truth) => a.date.localeCompare(b.date) || a.package_id - b.package_id;

e2e("steam: a full sync lands exactly the fake's sales, each line item once", async () => {
  const t = await setUp({ dates: { start: "2026-10-01", days: 4 }, rows_per_date: 5, page_size: 2 });
  try {
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), (await t.upstream.truth<Truth[]>()).sort(byKey));
    assert.deepEqual(job.stats, { rows: 20, dates: 4 });
    assert.equal(job.progress.percent, 100);
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.deepEqual(conn.high_watermark, { result_highwatermark: "1004" });
  } finally {
    await t.done();
  }
});

e2e("steam: a second incremental run asks only for the changed dates and writes no duplicates", async () => {
  const t = await setUp({ dates: { start: "2026-10-01", days: 3 }, rows_per_date: 4, page_size: 10 });
  try {
    assert.equal((await runJob(t.sql, t.connection)).status, "succeeded");
    const before = (await t.upstream.requests()).length;
    await t.upstream.update({ dates: ["2026-10-03", "2026-10-04"], rows_per_date: 2 });

    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    const asked = (await t.upstream.requests()).slice(before);
    assert.equal(asked[0].query.highwatermark, "1003", "the changed dates since the last run's result_highwatermark");
    const salesDates = [...new Set(asked.filter((r) => r.path.includes("GetDetailedSales")).map((r) => r.query.date))].sort();
    assert.deepEqual(salesDates, ["2026-10-03", "2026-10-04"], "only the changed dates were read");
    assert.deepEqual(await t.rows(), (await t.upstream.truth<Truth[]>()).sort(byKey));
  } finally {
    await t.done();
  }
});

e2e("steam: a worker killed mid-date resumes at its checkpointed page, with no lost or duplicate rows", async () => {
  const t = await setUp({ dates: { start: "2026-09-01", days: 3 }, rows_per_date: 8, page_size: 2 });
  try {
    await t.upstream.delay(250);
    const [{ id }] = await t.sql`select sync.enqueue(${t.connection}) as id`;
    const done = await crashMidChunk(t.sql, id, "sync-steam", (job) => (job.cursor?.index ?? 0) >= 1);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), (await t.upstream.truth<Truth[]>()).sort(byKey));
    const pages = (await t.upstream.requests()).filter((r) => r.path.includes("GetDetailedSales"));
    const firstDate = pages.filter((r) => r.query.date === "2026-09-01");
    assert.equal(firstDate.length, 5, "the date finished before the crash was not read again (4 pages and the end)");
  } finally {
    await t.done();
  }
});

e2e("steam: every request takes a token from the provider's shared rate limit, the ones read early too", async () => {
  // 2 dates of 2 rows in pages of 10: the changed dates, then a page and an end page a date.
  const t = await setUp({ dates: { start: "2026-07-01", days: 2 }, rows_per_date: 2, page_size: 10 });
  try {
    // Two requests a second, no burst: Steam reads a date's first page early, so two
    // requests are often ready at once, sooner than the bucket allows.
    await t.sql`update sync.providers set requests_per_minute = 120, burst = 1, bucket_tokens = null where name = 'steam'`;
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal((await t.rows()).length, 4);
    const at = (await t.upstream.requests()).map((r) => r.at);
    assert.equal(at.length, 5);
    const gaps = at.slice(1).map((x, i) => x - at[i]);
    // 500 ms a token; a request can reach the fake a little later than it took its token.
    assert.ok(gaps.every((g) => g >= 350), `requests ${gaps.join(", ")} ms apart; the limit allows one each 500 ms`);
    assert.ok(at[4] - at[0] >= 1_700, `5 requests took ${at[4] - at[0]} ms; the limit needs at least 2,000`);
  } finally {
    await t.sql`update sync.providers set requests_per_minute = 100, burst = null, bucket_tokens = null where name = 'steam'`;
    await t.done();
  }
});

e2e("steam: a 429 is waited out without spending an attempt", async () => {
  const t = await setUp({ dates: { start: "2026-08-01", days: 2 }, rows_per_date: 3 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1, path: "GetDetailedSales" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1, "the rate-limited run gave its attempt back");
    const events = await t.sql`select event from sync.job_events where job_id = ${job.id} order by id`;
    assert.ok(events.some((e) => e.event === "rate_limited"));
    assert.equal((await t.rows()).length, 6);
  } finally {
    await t.done();
  }
});

e2e("steam: a 503 and a hung request are retried with backoff, each spending an attempt", async () => {
  // One date, so each run's first sales request is the only one in flight (with more,
  // the next date's first page is read ahead and could take the second fault).
  const t = await setUp({ dates: { start: "2026-08-10", days: 1 }, rows_per_date: 3 });
  try {
    await t.upstream.fault({ kind: "server-error", status: 503, path: "GetDetailedSales" });
    await t.upstream.fault({ kind: "timeout", path: "GetDetailedSales" });
    const job = await runJob(t.sql, t.connection, "incremental", {}, { timeoutMs: 40_000 });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, job.id), [1, 2, 3], "each failure spent an attempt");
    const events = await t.sql`select event, message from sync.job_events where job_id = ${job.id} and event = 'retry_scheduled' order by id`;
    assert.match(events[0].message, /Steam GetDetailedSales 503/);
    assert.match(events[1].message, /did not answer within 3 s/);
    assert.deepEqual(await t.rows(), (await t.upstream.truth<Truth[]>()).sort(byKey));
  } finally {
    await t.done();
  }
});

e2e("steam: a revoked key fails at once and asks the user to reconnect; a key without sales permission says so", async () => {
  const t = await setUp({ dates: { start: "2026-08-01", days: 1 }, rows_per_date: 1 });
  try {
    await t.upstream.fault({ kind: "revoked" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1, "not retried");
    assert.match(job.last_error, /Steam refused the key \(403\).*Reconnect the steam account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /refused the key/);

    // New credentials (a reconnect) clear the flag.
    const fresh = newKey();
    keysUsed.push(fresh);
    await fake("steam", fresh).seed({ dates: { start: "2026-08-01", days: 1 }, rows_per_date: 1, no_permission: true });
    const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", { credentials: { key: fresh } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.reconnect_reason, null);

    const noPermission = await runJob(t.sql, t.connection);
    assert.equal(noPermission.status, "failed");
    assert.equal(noPermission.attempts, 1);
    assert.match(noPermission.last_error, /no permission to read partner sales.*Financial Web API key/);
  } finally {
    await t.done();
  }
});

e2e("steam: bad settings are refused with the field named; a dry run counts but writes nothing", async () => {
  const t = await setUp({ dates: { start: "2026-07-01", days: 2 }, rows_per_date: 3 });
  try {
    const bad = await callApi(t.user.client, "connections", "POST", { provider: "steam", label: "x", account: {}, credentials: { key: "short" } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /credentials\.key: a 32-character hex/);
    const badJob = await callApi(t.user.client, "jobs", "POST", { connection_id: t.connection, kind: "backfill", params: { start_date: "2026-02-30" } });
    assert.equal(badJob.status, 400);
    assert.match(badJob.body.error.message, /params/);

    const dry = await runJob(t.sql, t.connection, "incremental", {}, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.rows, 6, "counted");
    assert.equal((await t.rows()).length, 0, "wrote nothing");
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.equal(conn.high_watermark, null, "a dry run leaves the high-watermark alone");

    const backfill = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-07-02", end_date: "2026-07-02" });
    assert.equal(backfill.status, "succeeded", backfill.last_error);
    assert.deepEqual([...new Set((await t.rows()).map((r) => r.date))], ["2026-07-02"]);
  } finally {
    await t.done();
  }
});

e2e("steam: no key appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    await assertNoLeak(sql, keysUsed);
  } finally {
    await sql.end();
  }
});
