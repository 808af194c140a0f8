/**
 * sync-tiktok-ads through the real stack against the fake integrated report: JSON-array
 * query params, 30-day slices (the fake refuses longer ones), page/page_size paging,
 * incremental runs over the lookback window, a crash mid-slice, TikTok's HTTP-200 error
 * codes (rate limit, system error, revoked token, unknown advertiser), and the token
 * never leaving Vault.
 */
import assert from "node:assert/strict";
import { adSetUp, assertTotals, day, digits, events, firstIncrementalRun } from "../support/ads.ts";
import { fakesUrl } from "../support/fakes.ts";
import { assertNoLeak, callApi, claimedAttempts, connect, crashMidChunk, followUpOf, runJob } from "../support/providers.ts";
import { db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const tokensUsed: string[] = [];
const newToken = () => {
  const token = crypto.randomUUID().replaceAll("-", "") + "a1b2c3d4";
  tokensUsed.push(token);
  return token;
};

async function setUp(seed: Record<string, unknown>, account: Record<string, unknown> = {}) {
  const id = digits(19);
  const token = newToken();
  const t = await adSetUp("tiktok-ads", id, { access_token: token, ...seed }, { advertiser_id: id, ...account }, { access_token: token });
  const reports = async () => (await t.upstream.requests()).filter((r) => r.path.startsWith("/open_api/v1.3/report/integrated/get"));
  return { ...t, id, token, reports };
}

const ranges = (requests: { query: Record<string, string> }[]) => requests.map((r) => `${r.query.start_date}..${r.query.end_date}`);

e2e("tiktok-ads: a backfill lands exactly the fake's campaign-days, page by page; campaign totals follow", async () => {
  const t = await setUp({ campaigns: 3, start: "2026-09-01", days: 10, page_size: 4 }, { currency: "GBP" });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-09-01", end_date: "2026-09-10" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), await t.truth());
    assert.deepEqual(job.stats, { rows: 30, days: 10 });

    const asked = await t.reports();
    assert.deepEqual(asked.map((r) => r.query.page), ["1", "2", "3", "4", "5", "6", "7", "8"], "30 rows in pages of 4");
    const q = asked[0].query;
    assert.deepEqual(
      [q.advertiser_id, q.report_type, q.data_level, JSON.parse(q.dimensions), JSON.parse(q.metrics).slice(0, 3), q.start_date, q.end_date],
      [t.id, "BASIC", "AUCTION_CAMPAIGN", ["campaign_id", "stat_time_day"], ["spend", "impressions", "clicks"], "2026-09-01", "2026-09-10"],
    );
    const names = await t.sql`select distinct campaign_name, currency from synced.ad_metrics_daily where connection_id = ${t.connection} order by 1`;
    assert.deepEqual(names.map((n) => [n.campaign_name, n.currency]), [["Campaign 1", "GBP"], ["Campaign 2", "GBP"], ["Campaign 3", "GBP"]]);

    const totals = await followUpOf(t.sql, job.id);
    assert.equal(totals.status, "succeeded", totals.last_error);
    await assertTotals(t.sql, t.connection, await t.truth());
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: ranges longer than 30 days are asked in 30-day slices (TikTok refuses more)", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-06-01", days: 45 });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-06-01", end_date: "2026-07-15" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), await t.truth());
    assert.deepEqual(ranges(await t.reports()), ["2026-06-01..2026-06-30", "2026-07-01..2026-07-15"]);

    // What the slicing avoids: the fake answers a 31-day range as TikTok does, HTTP 200 and code 40002.
    const url = new URL(`${fakesUrl}/tiktok-ads/open_api/v1.3/report/integrated/get/`);
    const query = {
      advertiser_id: t.id,
      report_type: "BASIC",
      data_level: "AUCTION_CAMPAIGN",
      dimensions: '["campaign_id","stat_time_day"]',
      metrics: '["spend"]',
      start_date: "2026-06-01",
      end_date: "2026-07-01",
    };
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const res = await fetch(url, { headers: { "access-token": t.token } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.code, 40002);
    assert.match(body.message, /can not exceed 30 days/);
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: a second incremental run asks only for the lookback window and restated days replace, not duplicate", async () => {
  const t = await setUp({ campaigns: 3, start: day(-9), days: 10 });
  try {
    await firstIncrementalRun(t, day(-9));

    const before = (await t.reports()).length;
    await t.upstream.update({ restate: [day(-1)] });
    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    assert.deepEqual(ranges((await t.reports()).slice(before)), [`${day(-2)}..${day(0)}`], "only the 3-day lookback");
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: a worker killed mid-slice resumes at its checkpointed page, with no lost or duplicate rows", async () => {
  const t = await setUp({ campaigns: 3, start: "2026-07-01", days: 10, page_size: 2 });
  try {
    await t.upstream.delay(250);
    const [{ id }] = await t.sql`
      select sync.enqueue(${t.connection}, 'backfill', ${t.sql.json({ start_date: "2026-07-01", end_date: "2026-07-10" })}) as id
    `;
    const done = await crashMidChunk(t.sql, id, "sync-tiktok-ads", (job) => (job.cursor?.rows ?? 0) >= 6);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), await t.truth());
    const pages = (await t.reports()).map((r) => r.query.page);
    const repeated = pages.filter((p, i) => pages.indexOf(p) !== i);
    assert.equal(new Set(pages).size, 15, "30 rows in pages of 2");
    // At a crash the pages past the last checkpoint (being written, or read ahead) are read again.
    assert.ok(repeated.length <= 2, `only the pages in flight at the crash were asked twice: ${repeated}`);
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: code 40100 waits without spending an attempt; system error 50000 (HTTP 200) is retried", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-06-01", days: 3 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1 });
    await t.upstream.fault({ kind: "server-error" });
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-06-01", end_date: "2026-06-03" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, job.id), [1, 1, 2], "the rate limit gave its attempt back, the system error spent one");
    const [limited] = await events(t.sql, job.id, "rate_limited");
    assert.equal(limited.data.retry_after_seconds, 1);
    assert.match(limited.message, /TikTok report 40100 \(request \d+\): Too many requests/);
    const [retry] = await events(t.sql, job.id, "retry_scheduled");
    assert.match(retry.message, /TikTok report 50000 .*System error/);
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: a revoked or expired token (40105) fails at once and asks the user to reconnect", async () => {
  const t = await setUp({ campaigns: 1, start: "2026-06-01", days: 1 });
  const backfill = { start_date: "2026-06-01", end_date: "2026-06-01" };
  try {
    await t.upstream.fault({ kind: "revoked" });
    const revoked = await runJob(t.sql, t.connection, "backfill", backfill);
    assert.equal(revoked.status, "failed");
    assert.equal(revoked.attempts, 1, "not retried");
    assert.match(revoked.last_error, /The TikTok access token is invalid or was revoked \(TikTok 40105: .*\).*Reconnect the tiktok-ads account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /invalid or was revoked/);

    const fresh = newToken();
    await t.upstream.update({ access_token: fresh });
    const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", { credentials: { access_token: fresh } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await runJob(t.sql, t.connection, "backfill", backfill)).status, "succeeded");

    await t.upstream.fault({ kind: "expired-token" });
    const expired = await runJob(t.sql, t.connection, "backfill", backfill);
    assert.equal(expired.status, "failed");
    assert.equal(expired.attempts, 1);
    assert.match(expired.last_error, /Access token has expired.*Reconnect/);
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: an advertiser the token may not read fails for good with TikTok's words and what to check", async () => {
  const t = await setUp({ campaigns: 1, start: "2026-06-01", days: 1 });
  try {
    const other = await connect(t.user, "tiktok-ads", { advertiser_id: digits(19) }, { access_token: t.token });
    const job = await runJob(t.sql, other, "backfill", { start_date: "2026-06-01", end_date: "2026-06-01" });
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.match(job.last_error, /TikTok report 40001 .*No permission to operate advertiser.*Check the connection's advertiser_id/);
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: bad settings are refused with the field named; a dry run counts but writes nothing", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-05-01", days: 3 });
  try {
    const post = (account: unknown, credentials: unknown) =>
      callApi(t.user.client, "connections", "POST", { provider: "tiktok-ads", label: "x", account, credentials });
    const badAccount = await post({ ad_account_id: "1" }, { access_token: "x" });
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.error.message, /account\.advertiser_id/);
    const badCredentials = await post({ advertiser_id: "1" }, { access_token: "x", refresh_token: "y" });
    assert.equal(badCredentials.status, 400);
    assert.match(badCredentials.body.error.message, /credentials/);

    const dry = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-05-01", end_date: "2026-05-03" }, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.rows, 6, "counted");
    assert.equal((await t.rows()).length, 0, "wrote nothing");
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.equal(conn.high_watermark, null);
  } finally {
    await t.done();
  }
});

e2e("tiktok-ads: no token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    await assertNoLeak(sql, tokensUsed);
  } finally {
    await sql.end();
  }
});
