/**
 * What the ad-platform end-to-end tests share: a connection to a seeded fake tenant,
 * the synced campaign-days and campaign totals read back in the fakes' plain units,
 * and dates relative to today (incremental runs end today).
 */
import assert from "node:assert/strict";
import { type AdDay, adTotals } from "../fakes/ad-data.ts";
import { fake } from "./fakes.ts";
import { callApi, connect, runJob } from "./providers.ts";
import { closeClient } from "./realtime.ts";
import { createUser, db } from "./stack.ts";

export type AdTruth = Omit<AdDay, "campaign_name">;

/** Today (UTC, as the workers see it) plus `days`. */
export function day(days = 0): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A random id of `digits` digits (no leading zero): a fresh fake tenant per test. */
export function digits(n: number): string {
  return String(1 + Math.floor(Math.random() * 9)) + Array.from({ length: n - 1 }, () => Math.floor(Math.random() * 10)).join("");
}

export const byDay = (a: AdTruth, b: AdTruth) => a.date.localeCompare(b.date) || a.campaign_id.localeCompare(b.campaign_id);

/**
 * A user with a connection to `provider`, whose fake tenant `tenant` is seeded with
 * `seed` (which must carry the access token the credentials hold).
 */
export async function adSetUp(provider: string, tenant: string, seed: Record<string, unknown>, account: unknown, credentials: unknown) {
  const sql = db();
  const user = await createUser(sql);
  const upstream = fake(provider, tenant);
  await upstream.seed(seed);
  const connection = await connect(user, provider, account, credentials);
  const rows = async (): Promise<AdTruth[]> =>
    (await sql`
      select campaign_id, date::text as date, impressions::int as impressions, clicks::int as clicks,
             spend::float8 as spend, conversions::float8 as conversions
      from synced.ad_metrics_daily where connection_id = ${connection} order by date, campaign_id
    `).map((r) => ({ ...r }) as AdTruth);
  const truth = async () => (await upstream.truth<AdTruth[]>()).sort(byDay);
  const done = async () => {
    await closeClient(user.client);
    await sql.end();
  };
  return { sql, user, upstream, connection, rows, truth, done };
}

/**
 * The opening of the "second incremental run" scenario: a 3-day lookback, then a first
 * incremental run from `since` that must land exactly the fake's truth.
 */
export async function firstIncrementalRun(t: Awaited<ReturnType<typeof adSetUp>>, since: string) {
  const patched = await callApi(t.user.client, `connections/${t.connection}`, "PATCH", { lookback_days: 3 });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const first = await runJob(t.sql, t.connection, "incremental", { since });
  assert.equal(first.status, "succeeded", first.last_error);
  assert.deepEqual(await t.rows(), await t.truth());
}

/** synced.ad_campaign_totals for the connection equals the per-campaign sums of `truth`. */
export async function assertTotals(sql: ReturnType<typeof db>, connection: string, truth: AdTruth[]) {
  const totals = await sql`
    select campaign_id, days, impressions::int as impressions, clicks::int as clicks,
           spend::float8 as spend, conversions::float8 as conversions
    from synced.ad_campaign_totals where connection_id = ${connection} order by campaign_id
  `;
  assert.deepEqual(
    totals.map((t) => ({ ...t })),
    adTotals(truth.map((t) => ({ ...t, campaign_name: "" }))),
    "campaign totals are the sums of the synced days",
  );
}

/** The job events of one kind, oldest first. */
export async function events(sql: ReturnType<typeof db>, jobId: string, event: string) {
  return await sql`select event, message, data from sync.job_events where job_id = ${jobId} and event = ${event} order by id`;
}
