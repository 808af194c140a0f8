/**
 * sync-meta-ads through the real stack against the fake Marketing API insights: a
 * backfill paged by `after` cursors, "too much data" splitting the range, incremental
 * runs over the lookback window, a crash mid-range, Meta's rate limits (with the
 * business-use-case wait in minutes), retries, refused tokens, and the token never
 * leaving Vault (though Meta's own `next` URLs carry it).
 */
import assert from "node:assert/strict";
import { adSetUp, assertTotals, day, digits, events, firstIncrementalRun } from "../support/ads.ts";
import { assertNoLeak, callApi, claimedAttempts, crashMidChunk, followUpOf, runJob, waitForJob } from "../support/providers.ts";
import { db, eventually } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const tokensUsed: string[] = [];
const newToken = () => {
  const token = `EAAB${crypto.randomUUID().replaceAll("-", "")}`;
  tokensUsed.push(token);
  return token;
};

async function setUp(seed: Record<string, unknown>, account: Record<string, unknown> = {}) {
  const id = digits(15);
  const token = newToken();
  const t = await adSetUp("meta-ads", id, { access_token: token, ...seed }, { ad_account_id: `act_${id}`, ...account }, {
    access_token: token,
  });
  const insights = async () => (await t.upstream.requests()).filter((r) => r.path.endsWith("/insights"));
  return { ...t, id, token, insights };
}

const ranges = (requests: { query: Record<string, string> }[]) => requests.map((r) => JSON.parse(r.query.time_range));

e2e("meta-ads: a backfill lands exactly the fake's campaign-days, paging by after cursors; campaign totals follow", async () => {
  const t = await setUp({ campaigns: 3, start: "2026-09-01", days: 10, page_size: 4 }, { currency: "eur" });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-09-01", end_date: "2026-09-10" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), await t.truth());
    assert.deepEqual(job.stats, { rows: 30, days: 10 });
    assert.equal(job.progress.percent, 100);

    const asked = await t.insights();
    assert.equal(asked.length, 8, "30 campaign-days in pages of 4");
    assert.equal(asked[0].query.after, undefined);
    assert.ok(asked.slice(1).every((r) => r.query.after), "each later page asked with after=");
    const q = asked[0].query;
    assert.equal(asked[0].path, `/v23.0/act_${t.id}/insights`, "act_ was stripped once and put back once");
    assert.deepEqual(
      { level: q.level, fields: q.fields, time_increment: q.time_increment, time_range: JSON.parse(q.time_range) },
      {
        level: "campaign",
        fields: "campaign_id,campaign_name,impressions,clicks,spend,actions",
        time_increment: "1",
        time_range: { since: "2026-09-01", until: "2026-09-10" },
      },
    );
    const [meta] = await t.sql`
      select distinct account_id, currency, provider from synced.ad_metrics_daily where connection_id = ${t.connection}
    `;
    assert.deepEqual({ ...meta }, { account_id: t.id, currency: "EUR", provider: "meta-ads" });

    const totals = await followUpOf(t.sql, job.id);
    assert.equal(totals.kind, "campaign-totals");
    assert.equal(totals.status, "succeeded", totals.last_error);
    assert.equal(totals.stats.campaigns, 3);
    await assertTotals(t.sql, t.connection, await t.truth());
  } finally {
    await t.done();
  }
});

e2e("meta-ads: 'reduce the amount of data' (100/1487534) halves the range until Meta answers", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-08-01", days: 10, max_days: 3 });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-08-01", end_date: "2026-08-10" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1, "splitting is not a failure");
    assert.deepEqual(await t.rows(), await t.truth());
    assert.deepEqual(ranges(await t.insights()), [
      { since: "2026-08-01", until: "2026-08-10" }, // too much
      { since: "2026-08-01", until: "2026-08-05" }, // still too much
      { since: "2026-08-01", until: "2026-08-03" },
      { since: "2026-08-04", until: "2026-08-06" },
      { since: "2026-08-07", until: "2026-08-09" },
      { since: "2026-08-10", until: "2026-08-10" },
    ]);
  } finally {
    await t.done();
  }
});

e2e("meta-ads: a second incremental run asks only for the lookback window and restated days replace, not duplicate", async () => {
  const t = await setUp({ campaigns: 3, start: day(-9), days: 10 });
  try {
    await firstIncrementalRun(t, day(-9));
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.deepEqual(conn.high_watermark, { through: day(0) });

    const before = (await t.insights()).length;
    await t.upstream.update({ restate: [day(-1)] });
    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    const asked = ranges((await t.insights()).slice(before));
    assert.ok(asked.length > 0);
    assert.ok(asked.every((r) => r.since >= day(-2)), `only the 3-day lookback was asked again: ${JSON.stringify(asked)}`);
    assert.deepEqual(await t.rows(), await t.truth(), "the restated day was overwritten; nothing duplicated");
  } finally {
    await t.done();
  }
});

e2e("meta-ads: a worker killed mid-range resumes at its checkpointed cursor, with no lost or duplicate rows", async () => {
  const t = await setUp({ campaigns: 3, start: "2026-07-01", days: 10, page_size: 2 });
  try {
    await t.upstream.delay(250);
    const [{ id }] = await t.sql`
      select sync.enqueue(${t.connection}, 'backfill', ${t.sql.json({ start_date: "2026-07-01", end_date: "2026-07-10" })}) as id
    `;
    let checkpointed: Record<string, unknown> = {};
    const done = await crashMidChunk(t.sql, id, "sync-meta-ads", (job) => {
      checkpointed = job.cursor ?? {};
      return (job.cursor?.rows ?? 0) >= 6;
    });
    assert.match(String(checkpointed.page), /^[A-Za-z0-9+/=_-]+$/, "the cursor keeps Meta's after cursor, not its next URL");
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), await t.truth());
    const pages = (await t.insights()).map((r) => r.query.after ?? "first");
    const repeated = pages.filter((p, i) => pages.indexOf(p) !== i);
    assert.equal(new Set(pages).size, 15, "30 campaign-days in pages of 2");
    // At a crash the pages past the last checkpoint (being written, or read ahead) are read again.
    assert.ok(repeated.length <= 2, `only the pages in flight at the crash were asked twice: ${repeated}`);
  } finally {
    await t.done();
  }
});

e2e("meta-ads: rate limits wait as Meta says (Retry-After, or estimated_time_to_regain_access in minutes) without spending an attempt", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-06-01", days: 3 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1, code: 17 } as never);
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 120, code: 80004 } as never);
    const [{ id }] = await t.sql`
      select sync.enqueue(${t.connection}, 'backfill', ${t.sql.json({ start_date: "2026-06-01", end_date: "2026-06-03" })}) as id
    `;
    // The first wait (1 s) passes by itself; the second (2 minutes) is waited for here, then skipped.
    await eventually("the second rate limit", async () => (await events(t.sql, id, "rate_limited")).length === 2, 15_000);
    const limited = await events(t.sql, id, "rate_limited");
    assert.deepEqual(limited.map((e) => e.data.retry_after_seconds), [1, 120]);
    assert.match(limited[0].message, /code 17.*User request limit reached/);
    assert.match(limited[1].message, /code 80004.*too many calls to this ad-account.*retrying in 120 s/);
    const [waiting] = await t.sql`select status, attempts, extract(epoch from run_at - now())::int as wait from sync.jobs where id = ${id}`;
    assert.equal(waiting.status, "queued");
    assert.ok(waiting.wait > 100 && waiting.wait <= 120, `waits the 2 minutes Meta named (${waiting.wait} s)`);

    await t.sql`update sync.jobs set run_at = now() where id = ${id}`;
    await t.sql`select sync.dispatch('meta-ads')`;
    const job = await waitForJob(t.sql, id);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1, "the rate-limited runs gave their attempts back");
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("meta-ads: a transient error (code 2) and a hung request are retried with backoff, each spending an attempt", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-06-10", days: 2 });
  try {
    await t.upstream.fault({ kind: "server-error" });
    await t.upstream.fault({ kind: "timeout" });
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-06-10", end_date: "2026-06-11" }, { timeoutMs: 40_000 });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, job.id), [1, 2, 3], "each failure spent an attempt");
    const retries = await events(t.sql, job.id, "retry_scheduled");
    assert.match(retries[0].message, /Meta insights 500, code 2: An unexpected error has occurred/);
    assert.match(retries[1].message, /did not answer within 3 s/);
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("meta-ads: a revoked or expired token (code 190) fails at once and asks the user to reconnect", async () => {
  const t = await setUp({ campaigns: 1, start: "2026-06-01", days: 1 });
  const backfill = { start_date: "2026-06-01", end_date: "2026-06-01" };
  try {
    await t.upstream.fault({ kind: "revoked" });
    const revoked = await runJob(t.sql, t.connection, "backfill", backfill);
    assert.equal(revoked.status, "failed");
    assert.equal(revoked.attempts, 1, "not retried");
    assert.match(revoked.last_error, /The Meta password was changed.*session has been invalidated.*Reconnect the meta-ads account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /password was changed/);

    // The user signs in again: new credentials clear the flag, and the sync works.
    const fresh = newToken();
    await t.upstream.update({ access_token: fresh });
    const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", { credentials: { access_token: fresh } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.reconnect_reason, null);
    assert.equal((await runJob(t.sql, t.connection, "backfill", backfill)).status, "succeeded");

    await t.upstream.fault({ kind: "expired-token" });
    const expired = await runJob(t.sql, t.connection, "backfill", backfill);
    assert.equal(expired.status, "failed");
    assert.equal(expired.attempts, 1);
    assert.match(expired.last_error, /The Meta access token has expired.*Session has expired.*Reconnect/);
  } finally {
    await t.done();
  }
});

e2e("meta-ads: bad settings are refused with the field named; a dry run counts but writes nothing", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-05-01", days: 3 });
  try {
    const post = (account: unknown, credentials: unknown) =>
      callApi(t.user.client, "connections", "POST", { provider: "meta-ads", label: "x", account, credentials });
    const badAccount = await post({ ad_account_id: "act_12a" }, { access_token: "x" });
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.error.message, /account\.ad_account_id: the ad account id in digits/);
    const badTypes = await post({ ad_account_id: "123", conversion_action_types: [] }, { access_token: "x" });
    assert.equal(badTypes.status, 400);
    assert.match(badTypes.body.error.message, /account\.conversion_action_types/);
    const badCredentials = await post({ ad_account_id: "123" }, { token: "x" });
    assert.equal(badCredentials.status, 400);
    assert.match(badCredentials.body.error.message, /credentials/);
    const badJob = await callApi(t.user.client, "jobs", "POST", { connection_id: t.connection, kind: "backfill", params: { start_date: "2026-13-01" } });
    assert.equal(badJob.status, 400);
    assert.match(badJob.body.error.message, /params/);

    const dry = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-05-01", end_date: "2026-05-03" }, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.rows, 6, "counted");
    assert.equal((await t.rows()).length, 0, "wrote nothing");
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.equal(conn.high_watermark, null, "a dry run leaves the high-watermark alone");
    const followUps = await t.sql`select id from sync.jobs where connection_id = ${t.connection} and kind = 'campaign-totals'`;
    assert.equal(followUps.length, 0, "a dry run chains no totals refresh");
  } finally {
    await t.done();
  }
});

e2e("meta-ads: conversions count only the account's conversion_action_types", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-05-10", days: 2 }, { conversion_action_types: ["link_click"] });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-05-10", end_date: "2026-05-11" });
    assert.equal(job.status, "succeeded", job.last_error);
    // The fake reports every click as a link_click action too.
    assert.deepEqual((await t.rows()).map((r) => r.conversions), (await t.truth()).map((r) => r.clicks));
  } finally {
    await t.done();
  }
});

e2e("meta-ads: no token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    await assertNoLeak(sql, tokensUsed);
  } finally {
    await sql.end();
  }
});
