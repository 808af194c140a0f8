/**
 * sync-spotify through the real stack against the fake Spotify: recently played plays
 * and tracks, incremental `after`, the daily-summary follow-up, token refresh with
 * rotation (stored before use), expired tokens, rate limits and revoked grants.
 */
import assert from "node:assert/strict";
import { fake } from "../support/fakes.ts";
import { assertNoLeak, callApi, connect, crashMidChunk, followUpOf, runJob } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { createUser, db, eventually } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const secretsUsed: string[] = [];

interface Truth {
  plays: { played_at: string; track_id: string }[];
  refresh_token: string;
  refreshes: number;
}

async function setUp(spec: Record<string, unknown>) {
  const sql = db();
  const user = await createUser(sql);
  const listener = `listener-${crypto.randomUUID()}`;
  const refreshToken = `AQ${crypto.randomUUID().replaceAll("-", "")}`;
  secretsUsed.push(refreshToken);
  const upstream = fake("spotify", listener);
  await upstream.seed({ refresh_token: refreshToken, ...spec });
  const connection = await connect(user, "spotify", {}, { refresh_token: refreshToken });
  const plays = async () =>
    (await sql`
      select to_char(played_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as played_at, track_id
      from synced.spotify_plays where connection_id = ${connection} order by played_at
    `).map((r) => ({ ...r }));
  const stored = async () => {
    const [row] = await sql`
      select s.decrypted_secret from sync.connections c join vault.decrypted_secrets s on s.id = c.credentials_secret_id
      where c.id = ${connection}
    `;
    return JSON.parse(row.decrypted_secret);
  };
  const done = async () => {
    await closeClient(user.client);
    await sql.end();
  };
  return { sql, user, upstream, connection, plays, stored, refreshToken, done };
}

e2e("spotify: a sync lands every play once, then the daily summary follows as its own job", async () => {
  const t = await setUp({ plays: 12, start: "2026-11-01T22:00:00Z", step_minutes: 20 });
  try {
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    const truth = await t.upstream.truth<Truth>();
    assert.deepEqual(await t.plays(), truth.plays);
    const [{ n }] = await t.sql`select count(*)::int as n from synced.spotify_tracks where connection_id = ${t.connection}`;
    assert.equal(n, 7, "each track once");
    assert.deepEqual(
      { phase: job.progress.phase, percent: job.progress.percent, done: job.progress.done, message: job.progress.message },
      { phase: "done", percent: 100, done: 12, message: "12 new plays" },
      "the finished job shows its count, though its one chunk was never checkpointed",
    );

    const summary = await followUpOf(t.sql, job.id);
    assert.equal(summary.kind, "daily-summary");
    assert.equal(summary.status, "succeeded", summary.last_error);
    const days = await t.sql`select day::text, plays, top_tracks from synced.spotify_daily_summary where connection_id = ${t.connection} order by day`;
    assert.deepEqual(days.map((d) => [d.day, d.plays]), [["2026-11-01", 6], ["2026-11-02", 6]]);
    assert.equal(days[0].top_tracks[0].plays, 1);
  } finally {
    await t.done();
  }
});

e2e("spotify: a second incremental run asks only for plays after the newest one and adds no duplicates", async () => {
  const t = await setUp({ plays: 5 });
  try {
    assert.equal((await runJob(t.sql, t.connection)).status, "succeeded");
    const newest = Date.parse((await t.upstream.truth<Truth>()).plays.at(-1)!.played_at);
    const before = (await t.upstream.requests()).length;
    await t.upstream.update({ plays: 3 });
    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    assert.equal(second.stats.plays, 3);
    const asked = (await t.upstream.requests()).slice(before).filter((r) => r.path.includes("recently-played"));
    assert.deepEqual(asked.map((r) => r.query.after), [String(newest)]);
    assert.deepEqual(await t.plays(), (await t.upstream.truth<Truth>()).plays);
  } finally {
    await t.done();
  }
});

// Upstream keeps only the last 50 plays, so a run is one page: the crash comes while that
// page is being read, after the refresh token has rotated. The rerun must find the new
// tokens in Vault (the old refresh token is dead), not ask the user to reconnect.
e2e("spotify: a worker killed mid-run after its token rotated resumes on the next lease and lands every play once", async () => {
  const t = await setUp({ plays: 30, rotate: true });
  try {
    await t.upstream.delay(1500);
    const [{ id }] = await t.sql`select sync.enqueue(${t.connection}) as id`;
    await eventually("the worker to be reading plays", async () =>
      (await t.upstream.requests()).some((r) => r.path.includes("recently-played")), 20_000);
    const done = await crashMidChunk(t.sql, id, "sync-spotify", () => true);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.equal(done.attempts, 2, "the crashed run counted as an attempt");
    const truth = await t.upstream.truth<Truth>();
    secretsUsed.push(truth.refresh_token);
    assert.deepEqual(await t.plays(), truth.plays);
    assert.equal(truth.refreshes, 1, "the rerun used the access token stored before the crash");
    assert.equal((await t.stored()).refresh_token, truth.refresh_token, "Vault holds the rotated refresh token");
    const [{ reconnect_reason }] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.equal(reconnect_reason, null);
  } finally {
    await t.done();
  }
});

e2e("spotify: a rotated refresh token is in Vault before it is used; an expired access token is refreshed", async () => {
  const t = await setUp({ plays: 4, rotate: true });
  try {
    await t.upstream.fault({ kind: "expired-token", path: "recently-played" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1);
    const truth = await t.upstream.truth<Truth>();
    secretsUsed.push(truth.refresh_token);
    assert.equal(truth.refreshes, 2, "one refresh to start, one after the expired token");
    const stored = await t.stored();
    assert.equal(stored.refresh_token, truth.refresh_token, "Vault holds the newest rotated refresh token");
    assert.notEqual(stored.refresh_token, t.refreshToken);
    secretsUsed.push(stored.access_token);
    // The stored access token is still good, so the next run does not refresh at all.
    await t.upstream.update({ plays: 1 });
    assert.equal((await runJob(t.sql, t.connection)).status, "succeeded");
    assert.equal((await t.upstream.truth<Truth>()).refreshes, 2);
    assert.equal((await t.plays()).length, 5);
  } finally {
    await t.done();
  }
});

e2e("spotify: a 429 with Retry-After is waited out without spending an attempt", async () => {
  const t = await setUp({ plays: 3 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1, path: "recently-played" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1);
    const events = await t.sql`select event, message from sync.job_events where job_id = ${job.id} order by id`;
    assert.ok(events.some((e) => e.event === "rate_limited" && /429/.test(e.message)));
    assert.equal((await t.plays()).length, 3);
  } finally {
    await t.done();
  }
});

e2e("spotify: a revoked grant fails at once, marks the connection for reconnecting, and says so", async () => {
  const t = await setUp({ plays: 3 });
  try {
    await t.upstream.fault({ kind: "revoked", path: "token" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.match(job.last_error, /Spotify no longer accepts this account's sign-in \(invalid_grant.*Reconnect the spotify account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /invalid_grant/);
    const listed = await callApi(t.user.client, "connections", "GET");
    assert.match(listed.body.connections[0].reconnect_reason, /invalid_grant/, "the user sees why");

    const bad = await callApi(t.user.client, "connections", "POST", { provider: "spotify", label: "x", credentials: { token: "x" } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /credentials\.refresh_token/);
  } finally {
    await t.done();
  }
});

e2e("spotify: a dry run counts plays but writes nothing and chains no follow-up", async () => {
  const t = await setUp({ plays: 4 });
  try {
    const dry = await runJob(t.sql, t.connection, "incremental", {}, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.plays, 4);
    assert.equal((await t.plays()).length, 0);
    const [{ n }] = await t.sql`select count(*)::int as n from sync.jobs where connection_id = ${t.connection} and kind = 'daily-summary'`;
    assert.equal(n, 0);
  } finally {
    await t.done();
  }
});

e2e("spotify: no token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    await assertNoLeak(sql, secretsUsed);
  } finally {
    await sql.end();
  }
});
