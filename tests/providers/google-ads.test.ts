/**
 * sync-google-ads through the real stack against the fake searchStream and the fake
 * Google token endpoint: campaign-days in plain units, the campaign-totals follow-up,
 * incremental runs over the lookback window, a crash between date slices, quota errors,
 * refused credentials, and no credential leaving Vault.
 */
import assert from "node:assert/strict";
import { fake } from "../support/fakes.ts";
import { googleSecrets, type ServiceAccount, serviceAccount } from "../support/google.ts";
import { assertNoLeak, callApi, claimedAttempts, connect, crashMidChunk, followUpOf, runJob } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const accountsUsed: ServiceAccount[] = [];
const developerTokens: string[] = [];

const DAY_MS = 86_400_000;
const today = () => new Date().toISOString().slice(0, 10);
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
const newDeveloperToken = () => {
  const token = `devtok_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  developerTokens.push(token);
  return token;
};
const dashed = (id: string) => `${id.slice(0, 3)}-${id.slice(3, 6)}-${id.slice(6)}`;

interface Truth {
  campaign_id: string;
  campaign_name: string;
  date: string;
  impressions: number;
  clicks: number;
  spend: number;
  conversions: number;
}

async function setUp(spec: Record<string, unknown>, account: Record<string, unknown> = {}) {
  const sql = db();
  const user = await createUser(sql);
  const sa = await serviceAccount();
  accountsUsed.push(sa);
  const developerToken = newDeveloperToken();
  const customer = String(1_000_000_000 + Math.floor(Math.random() * 8_999_999_999));
  const upstream = fake("google-ads", customer);
  await upstream.seed({ developer_token: developerToken, users: [sa.email], ...spec });
  const connection = await connect(user, "google-ads", { customer_id: dashed(customer), ...account }, {
    developer_token: developerToken,
    service_account: sa.key,
  });
  const rows = async () =>
    (await sql`
      select campaign_id, campaign_name, date::text as date, impressions::int as impressions, clicks::int as clicks,
             spend::float8 as spend, conversions::float8 as conversions
      from synced.ad_metrics_daily where connection_id = ${connection} order by date, campaign_id
    `).map((r) => ({ ...r }));
  const truth = async () =>
    (await upstream.truth<Truth[]>()).sort((a, b) => a.date.localeCompare(b.date) || a.campaign_id.localeCompare(b.campaign_id));
  /** The date ranges searchStream was asked for, in order. */
  const asked = async (from = 0) =>
    (await upstream.requests()).slice(from).map((r) => {
      const m = /BETWEEN '([\d-]+)' AND '([\d-]+)'/.exec((r.body as { query: string }).query)!;
      return { start: m[1], end: m[2] };
    });
  const done = async () => {
    await closeClient(user.client);
    await sql.end();
  };
  return { sql, user, sa, customer, developerToken, upstream, connection, rows, truth, asked, done };
}

e2e("google-ads: a full sync lands exactly the fake's campaign-days, and the follow-up totals them", async () => {
  const start = addDays(today(), -10);
  const t = await setUp({ campaigns: 3, start, batch_size: 4, manager: "1112223333" }, { login_customer_id: "111-222-3333", currency: "EUR" });
  try {
    const job = await runJob(t.sql, t.connection, "incremental", { since: start });
    assert.equal(job.status, "succeeded", job.last_error);
    const truth = await t.truth();
    assert.ok(truth.length > 20 && truth.length < 33, "most campaign-days had traffic, some none");
    assert.deepEqual(await t.rows(), truth);
    assert.equal(job.stats.rows, truth.length);
    const [meta] = await t.sql`
      select count(distinct account_id)::int as accounts, min(account_id) as account_id, min(currency) as currency, min(provider) as provider
      from synced.ad_metrics_daily where connection_id = ${t.connection}
    `;
    assert.deepEqual({ ...meta }, { accounts: 1, account_id: t.customer, currency: "EUR", provider: "google-ads" });

    const requests = await t.upstream.requests();
    assert.equal(requests.length, 1, "one searchStream for the one slice");
    assert.equal(requests[0].path, `/v21/customers/${t.customer}/googleAds:searchStream`);
    assert.deepEqual((requests[0] as { headers?: unknown }).headers, { "login-customer-id": "1112223333" });
    assert.deepEqual(await t.asked(), [{ start, end: today() }]);

    const followUp = await followUpOf(t.sql, job.id);
    assert.equal(followUp.kind, "campaign-totals");
    assert.equal(followUp.status, "succeeded", followUp.last_error);
    const totals = await t.sql`
      select campaign_id, campaign_name, first_date::text as first_date, last_date::text as last_date, days, impressions::int as impressions,
             clicks::int as clicks, spend::float8 as spend, conversions::float8 as conversions, cpc::float8 as cpc, currency
      from synced.ad_campaign_totals where connection_id = ${t.connection} order by campaign_id
    `;
    const campaigns = [...new Set(truth.map((r) => r.campaign_id))].sort();
    assert.equal(totals.length, campaigns.length);
    for (const [i, id] of campaigns.entries()) {
      const days = truth.filter((r) => r.campaign_id === id);
      const sum = (f: (r: Truth) => number) => days.reduce((n, r) => n + f(r), 0);
      const spend = Math.round(sum((r) => r.spend) * 1e6) / 1e6;
      const clicks = sum((r) => r.clicks);
      const { cpc, ...rest } = totals[i];
      // cpc is rounded by numeric in SQL and by float here: equal to the last digit.
      assert.ok(clicks ? Math.abs(cpc - spend / clicks) < 1e-6 : cpc === null, `cpc ${cpc}`);
      assert.deepEqual({ ...rest }, {
        campaign_id: id,
        campaign_name: days[0].campaign_name,
        first_date: days[0].date,
        last_date: days.at(-1)!.date,
        days: days.length,
        impressions: sum((r) => r.impressions),
        clicks,
        spend,
        conversions: sum((r) => r.conversions),
        currency: "EUR",
      });
    }
  } finally {
    await t.done();
  }
});

e2e("google-ads: a second incremental run asks only for the lookback window and writes no duplicates", async () => {
  const start = addDays(today(), -20);
  const t = await setUp({ campaigns: 2, start, end: addDays(today(), -1) });
  try {
    const first = await runJob(t.sql, t.connection, "incremental", { since: start });
    assert.equal(first.status, "succeeded", first.last_error);
    const before = (await t.upstream.requests()).length;
    const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", { lookback_days: 3 });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    // Late conversions restate the last two days, and today's numbers arrive.
    await t.upstream.update({ restate: [addDays(today(), -2), addDays(today(), -1)], end: today() });

    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    const ranges = await t.asked(before);
    assert.ok(ranges.length > 0);
    const firstEnd = today();
    for (const r of ranges) assert.ok(r.start >= addDays(firstEnd, 1 - 3), `asked from ${r.start}, not from the beginning`);
    assert.deepEqual(ranges, [{ start: addDays(today(), -2), end: today() }]);
    const truth = await t.truth();
    assert.deepEqual(await t.rows(), truth, "restated days updated in place, today added");
    const [{ n, distinct }] = await t.sql`
      select count(*)::int as n, count(distinct (campaign_id, date))::int as distinct from synced.ad_metrics_daily where connection_id = ${t.connection}
    `;
    assert.equal(n, distinct);
    assert.equal(n, truth.length);
  } finally {
    await t.done();
  }
});

e2e("google-ads: a worker killed between date slices resumes at the next slice, with no lost or duplicate rows", async () => {
  const start = addDays(today(), -75);
  const end = addDays(today(), -1);
  const t = await setUp({ campaigns: 2, start, end });
  try {
    await t.upstream.delay(1_500);
    const [{ id }] = await t.sql`select sync.enqueue(${t.connection}, 'backfill', ${t.sql.json({ start_date: start, end_date: end })}) as id`;
    const done = await crashMidChunk(t.sql, id, "sync-google-ads", (job) => job.cursor?.next && job.cursor.next > job.cursor.start);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), await t.truth());
    const ranges = await t.asked();
    assert.equal(ranges.filter((r) => r.start === start).length, 1, "the slice saved before the crash was not read again");
    assert.deepEqual([...new Set(ranges.map((r) => `${r.start}..${r.end}`))], [
      `${start}..${addDays(start, 29)}`,
      `${addDays(start, 30)}..${addDays(start, 59)}`,
      `${addDays(start, 60)}..${end}`,
    ], "30-day slices");
  } finally {
    await t.done();
  }
});

e2e("google-ads: a quota error waits its retryDelay without spending an attempt; UNAVAILABLE spends one; an expired token is replaced", async () => {
  const start = addDays(today(), -4);
  const t = await setUp({ campaigns: 2, start });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1 });
    await t.upstream.fault({ kind: "expired-token" });
    await t.upstream.fault({ kind: "server-error", status: 503 });
    const job = await runJob(t.sql, t.connection, "incremental", { since: start }, { timeoutMs: 30_000 });
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, job.id), [1, 1, 2], "only the 503 spent an attempt");
    const events = await t.sql`select event, message from sync.job_events where job_id = ${job.id} order by id`;
    const limited = events.find((e) => e.event === "rate_limited");
    assert.ok(limited, JSON.stringify(events));
    assert.match(limited.message, /Google Ads quota exhausted \(quotaError RESOURCE_EXHAUSTED: .*\); retrying in 1 s/);
    const retried = events.find((e) => e.event === "retry_scheduled");
    assert.match(retried?.message ?? "", /Google Ads 503 \(internalError TRANSIENT_ERROR/);
    assert.deepEqual(await t.rows(), await t.truth());
    assert.ok((await fake("google-oauth", t.sa.email).truth<{ issued: string[] }>()).issued.length >= 2, "a fresh token after the expired one");
  } finally {
    await t.done();
  }
});

e2e("google-ads: a revoked key, a service account without access and a bad developer token fail at once, asking to reconnect", async () => {
  const start = addDays(today(), -3);
  const t = await setUp({ campaigns: 1, start });
  try {
    await fake("google-oauth", t.sa.email).fault({ kind: "revoked" });
    const revoked = await runJob(t.sql, t.connection, "incremental", { since: start });
    assert.equal(revoked.status, "failed");
    assert.equal(revoked.attempts, 1, "not retried");
    assert.match(revoked.last_error, /Google refused the service account \(invalid_grant: Invalid JWT Signature\.\).*Reconnect the google-ads account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /Invalid JWT Signature/);

    // Reconnected with a new key, of a service account the customer never granted access.
    const stranger = await serviceAccount();
    accountsUsed.push(stranger);
    const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", {
      credentials: { developer_token: t.developerToken, service_account: stranger.key },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.reconnect_reason, null);
    const denied = await runJob(t.sql, t.connection, "incremental", { since: start });
    assert.equal(denied.status, "failed");
    assert.equal(denied.attempts, 1);
    assert.match(
      denied.last_error,
      new RegExp(`denied access to customer ${dashed(t.customer)} \\(authorizationError USER_PERMISSION_DENIED: .*\\)\\. ` +
        `Give the service account ${stranger.email} access to customer ${dashed(t.customer)}, or set login_customer_id`),
    );

    await t.upstream.update({ users: [t.sa.email, stranger.email] });
    await callApi(t.user.client, `connections/${t.connection}`, "PATCH", {
      credentials: { developer_token: newDeveloperToken(), service_account: stranger.key },
    });
    const badToken = await runJob(t.sql, t.connection, "incremental", { since: start });
    assert.equal(badToken.status, "failed");
    assert.equal(badToken.attempts, 1);
    assert.match(badToken.last_error, /authenticationError DEVELOPER_TOKEN_INVALID.*Check the developer token in the Google Ads API Center/);
    const [after] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(after.reconnect_reason, /DEVELOPER_TOKEN_INVALID/);
  } finally {
    await t.done();
  }
});

e2e("google-ads: bad settings are refused with the field named; a dry run counts but writes nothing", async () => {
  const start = addDays(today(), -5);
  const t = await setUp({ campaigns: 2, start });
  try {
    const badAccount = await callApi(t.user.client, "connections", "POST", {
      provider: "google-ads",
      label: "x",
      account: { customer_id: "123-456" },
      credentials: { developer_token: t.developerToken, service_account: t.sa.key },
    });
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.error.message, /account\.customer_id: a 10-digit Google Ads customer id/);
    const badCredentials = await callApi(t.user.client, "connections", "POST", {
      provider: "google-ads",
      label: "x",
      account: { customer_id: dashed(t.customer) },
      credentials: { service_account: t.sa.key },
    });
    assert.equal(badCredentials.status, 400);
    assert.match(badCredentials.body.error.message, /credentials\.developer_token/);
    const badJob = await callApi(t.user.client, "jobs", "POST", { connection_id: t.connection, kind: "backfill", params: { start_date: "2026-02-30" } });
    assert.equal(badJob.status, 400);
    assert.match(badJob.body.error.message, /params/);

    const dry = await runJob(t.sql, t.connection, "incremental", { since: start }, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.rows, (await t.truth()).length, "counted");
    assert.equal((await t.rows()).length, 0, "wrote nothing");
    const [conn] = await t.sql`select high_watermark from sync.connections where id = ${t.connection}`;
    assert.equal(conn.high_watermark, null, "a dry run leaves the high-watermark alone");
    const followUps = await t.sql`select id from sync.jobs where params->>'after_job' = ${dry.id}`;
    assert.equal(followUps.length, 0, "no totals follow a dry run");
  } finally {
    await t.done();
  }
});

e2e("google-ads: no private key, access token or developer token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    const secrets = [...(await googleSecrets(accountsUsed)), ...developerTokens];
    assert.ok(secrets.length > accountsUsed.length * 2 + developerTokens.length);
    await assertNoLeak(sql, secrets);
  } finally {
    await sql.end();
  }
});
