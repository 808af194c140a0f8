/**
 * sync-linkedin-ads through the real stack against the fake adAnalytics finder: Rest.li
 * 2.0 query syntax, 30-day slices, answers that reach the element cut split in half,
 * incremental runs over the lookback window, a crash between slices, 429s, refused
 * tokens, and the token never leaving Vault.
 */
import assert from "node:assert/strict";
import { adSetUp, assertTotals, day, digits, events, firstIncrementalRun } from "../support/ads.ts";
import { assertNoLeak, callApi, claimedAttempts, crashMidChunk, followUpOf, runJob } from "../support/providers.ts";
import { db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const tokensUsed: string[] = [];
const newToken = () => {
  const token = `AQV${crypto.randomUUID().replaceAll("-", "")}`;
  tokensUsed.push(token);
  return token;
};

async function setUp(seed: Record<string, unknown>, account: Record<string, unknown> = {}) {
  const id = digits(9);
  const token = newToken();
  const t = await adSetUp("linkedin-ads", id, { access_token: token, ...seed }, { ad_account_id: id, ...account }, { access_token: token });
  const analytics = async () => (await t.upstream.requests()).filter((r) => r.path.startsWith("/rest/adAnalytics"));
  return { ...t, id, token, analytics };
}

/** The fake logs the raw Rest.li dateRange: back to ISO dates. */
function ranges(requests: { query: Record<string, string> }[]) {
  return requests.map((r) => {
    const [y1, m1, d1, y2, m2, d2] = [...r.query.dateRange.matchAll(/\d+/g)].map((m) => m[0]);
    const iso = (y: string, m: string, d: string) => `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
    return `${iso(y1, m1, d1)}..${iso(y2, m2, d2)}`;
  });
}

e2e("linkedin-ads: a backfill lands exactly the fake's campaign-days, asked in Rest.li 2.0 syntax; campaign totals follow", async () => {
  const t = await setUp({ campaigns: 3, start: "2026-09-01", days: 10 }, { currency: "usd" });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-09-01", end_date: "2026-09-10" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), await t.truth());
    assert.deepEqual(job.stats, { rows: 30, days: 10 });

    const [asked] = await t.analytics();
    assert.deepEqual(asked.query, {
      q: "analytics",
      pivot: "CAMPAIGN",
      timeGranularity: "DAILY",
      dateRange: "(start:(year:2026,month:9,day:1),end:(year:2026,month:9,day:10))",
      accounts: `List(urn%3Ali%3AsponsoredAccount%3A${t.id})`,
      fields: "dateRange,pivotValues,impressions,clicks,costInLocalCurrency,externalWebsiteConversions",
    }, "parens as they are, only the URN's colons encoded");
    const [meta] = await t.sql`select distinct account_id, currency from synced.ad_metrics_daily where connection_id = ${t.connection}`;
    assert.deepEqual({ ...meta }, { account_id: t.id, currency: "USD" });

    const totals = await followUpOf(t.sql, job.id);
    assert.equal(totals.status, "succeeded", totals.last_error);
    await assertTotals(t.sql, t.connection, await t.truth());
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: long ranges go in 30-day slices, and an answer that reaches the element cut is asked again in halves", async () => {
  // 4 campaigns x 30 days = 120 elements: past the fake's cut of 100, so that answer is cut short.
  const t = await setUp({ campaigns: 4, start: "2026-07-01", days: 40 });
  try {
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-07-01", end_date: "2026-08-09" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1);
    assert.deepEqual(await t.rows(), await t.truth(), "nothing lost to the cut");
    assert.deepEqual(ranges(await t.analytics()), [
      "2026-07-01..2026-07-30", // cut
      "2026-07-01..2026-07-15",
      "2026-07-16..2026-07-30",
      "2026-07-31..2026-08-09",
    ]);
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: a second incremental run asks only for the lookback window and restated days replace, not duplicate", async () => {
  const t = await setUp({ campaigns: 3, start: day(-9), days: 10 });
  try {
    await firstIncrementalRun(t, day(-9));

    const before = (await t.analytics()).length;
    await t.upstream.update({ restate: [day(0), day(-2)] });
    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    assert.deepEqual(ranges((await t.analytics()).slice(before)), [`${day(-2)}..${day(0)}`], "only the 3-day lookback");
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: a worker killed between slices resumes at the next slice, with no lost or duplicate rows", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-01-01", days: 150 });
  try {
    await t.upstream.delay(400);
    const [{ id }] = await t.sql`
      select sync.enqueue(${t.connection}, 'backfill', ${t.sql.json({ start_date: "2026-01-01", end_date: "2026-05-30" })}) as id
    `;
    const done = await crashMidChunk(t.sql, id, "sync-linkedin-ads", (job) => (job.cursor?.rows ?? 0) >= 120);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), await t.truth());
    const slices = ranges(await t.analytics());
    assert.equal(new Set(slices).size, 5, "150 days in 30-day slices");
    // At a crash the slices past the last checkpoint (being written, or read ahead) are read again.
    assert.ok(slices.length <= 7, `only the slices in flight at the crash were asked twice: ${slices}`);
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: a 429 waits for Retry-After without spending an attempt; a 500 is retried", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-06-01", days: 3 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1 });
    await t.upstream.fault({ kind: "server-error", status: 500 });
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-06-01", end_date: "2026-06-03" });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, job.id), [1, 1, 2], "the 429 gave its attempt back, the 500 spent one");
    const [limited] = await events(t.sql, job.id, "rate_limited");
    assert.equal(limited.data.retry_after_seconds, 1);
    assert.match(limited.message, /LinkedIn adAnalytics 429 TOO_MANY_REQUESTS: Resource level throttle/);
    const [retry] = await events(t.sql, job.id, "retry_scheduled");
    assert.match(retry.message, /LinkedIn adAnalytics 500/);
    assert.deepEqual(await t.rows(), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: a revoked or expired token (401) fails at once and asks the user to reconnect", async () => {
  const t = await setUp({ campaigns: 1, start: "2026-06-01", days: 1 });
  const backfill = { start_date: "2026-06-01", end_date: "2026-06-01" };
  try {
    await t.upstream.fault({ kind: "revoked" });
    const revoked = await runJob(t.sql, t.connection, "backfill", backfill);
    assert.equal(revoked.status, "failed");
    assert.equal(revoked.attempts, 1, "not retried");
    assert.match(revoked.last_error, /LinkedIn refused the access token \(REVOKED_ACCESS_TOKEN: .*revoked by the user\).*Reconnect the linkedin-ads account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /REVOKED_ACCESS_TOKEN/);

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
    assert.match(expired.last_error, /EXPIRED_ACCESS_TOKEN: The token used in the request has expired.*Reconnect/);
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: bad settings are refused with the field named; a dry run counts but writes nothing", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-05-01", days: 3 });
  try {
    const post = (account: unknown, credentials: unknown) =>
      callApi(t.user.client, "connections", "POST", { provider: "linkedin-ads", label: "x", account, credentials });
    const badAccount = await post({ ad_account_id: "urn:li:sponsoredAccount:1" }, { access_token: "x" });
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.error.message, /account\.ad_account_id: the ad account id in digits/);
    const extra = await post({ ad_account_id: "1", currency: "dollars" }, { access_token: "x" });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /account\.currency: a 3-letter currency code/);
    const badCredentials = await post({ ad_account_id: "1" }, { access_token: "" });
    assert.equal(badCredentials.status, 400);
    assert.match(badCredentials.body.error.message, /credentials\.access_token/);

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

e2e("linkedin-ads: a campaign-day the platform no longer sends for a re-read range is removed; days outside it stay", async () => {
  const t = await setUp({ campaigns: 2, start: "2026-08-01", days: 5 });
  try {
    assert.equal((await runJob(t.sql, t.connection, "backfill", { start_date: "2026-08-01", end_date: "2026-08-05" })).status, "succeeded");
    const [{ account_id }] = await t.sql`select account_id from synced.ad_metrics_daily where connection_id = ${t.connection} limit 1`;
    // Numbers an earlier run stored for a campaign the platform has since restated to nothing, in and out of the range.
    for (const date of ["2026-08-03", "2026-07-20"]) {
      await t.sql`
        insert into synced.ad_metrics_daily (connection_id, owner_id, provider, account_id, campaign_id, date, impressions, clicks, spend)
        values (${t.connection}, ${t.user.id}, 'linkedin-ads', ${account_id}, '999', ${date}, 10, 1, 1.5)
      `;
    }
    assert.equal((await runJob(t.sql, t.connection, "backfill", { start_date: "2026-08-01", end_date: "2026-08-05" })).status, "succeeded");
    const stale = await t.sql`select date::text from synced.ad_metrics_daily where connection_id = ${t.connection} and campaign_id = '999'`;
    assert.deepEqual(stale.map((r) => r.date), ["2026-07-20"]);
    assert.deepEqual((await t.rows()).filter((r) => r.campaign_id !== "999"), await t.truth());
  } finally {
    await t.done();
  }
});

e2e("linkedin-ads: no token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    await assertNoLeak(sql, tokensUsed);
  } finally {
    await sql.end();
  }
});
