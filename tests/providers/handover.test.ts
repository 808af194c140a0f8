/**
 * A sync handed on between invocations at every checkpoint, as a worker hands it on when
 * its CPU budget is spent (hosted: 2 s of CPU a worker), lands exactly the rows of one
 * uninterrupted run. Each invocation releases the job with its cursor and dispatches
 * the next, which resumes there: the sheet mid-stream, Meta with pages read ahead and
 * writes still in flight when the job is released.
 *
 * The fixture functions sync-handover-<provider> serve the real providers under another
 * provider name, with a CPU budget spent at once (tests/fixtures/functions).
 */
import assert from "node:assert/strict";
import { adSetUp, digits } from "../support/ads.ts";
import { fake } from "../support/fakes.ts";
import { serviceAccount } from "../support/google.ts";
import { connect, type JobRow, runJob } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { createUser, db } from "../support/stack.ts";
import type postgres from "postgres";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Moves a connection to the handover twin of its provider, whose worker hands on at every checkpoint. */
async function handOverEveryCheckpoint(sql: postgres.Sql, connection: string, provider: string) {
  await sql`insert into sync.providers (name) values (${`handover-${provider}`}) on conflict do nothing`;
  await sql`update sync.connections set provider = ${`handover-${provider}`} where id = ${connection}`;
}

/** How often the job was released and claimed again, and the attempts it spent. */
async function handovers(sql: postgres.Sql, job: JobRow) {
  const [{ released }] = await sql`
    select count(*)::int as released from sync.job_events where job_id = ${job.id} and event = 'released'
  `;
  return { released, attempts: job.attempts };
}

e2e("handover: a sheet released at every checkpoint, mid-stream, lands every row once", async () => {
  const sql = db();
  const user = await createUser(sql);
  try {
    const sa = await serviceAccount();
    const spreadsheetId = `1Handover${crypto.randomUUID().replaceAll("-", "")}`;
    const upstream = fake("google-sheets", spreadsheetId);
    await upstream.seed({ sheets: { Sheet1: { rows: 1_500, columns: ["id", "name", "amount"] } }, shared_with: [sa.email] });
    const connection = await connect(user, "google-sheets", { spreadsheet_id: spreadsheetId, key_column: "id", window_rows: 200 }, {
      service_account: sa.key,
    });
    await handOverEveryCheckpoint(sql, connection, "google-sheets");

    const job = await runJob(sql, connection, "full", {}, { timeoutMs: 60_000 });
    assert.equal(job.status, "succeeded", job.last_error);
    const { released, attempts } = await handovers(sql, job);
    // Not at the "downloading" and "processing" checkpoints, which keep the cursor where
    // the invocation found it: released there, the next would start over, for ever.
    assert.equal(released, 9, "released once the plan was made, then once each of the 8 windows was saved");
    assert.equal(attempts, 1, "a release spends no attempt");

    const truth = (await upstream.truth<{ sheets: Record<string, { header: string[]; rows: { row_number: number; values: string[] }[] }> }>())
      .sheets.Sheet1;
    const rows = await sql`select row_key, row_number, data from synced.sheet_rows where connection_id = ${connection} order by row_number`;
    assert.equal(rows.length, 1_500);
    assert.deepEqual(
      rows.map((r) => ({ row_key: r.row_key, row_number: r.row_number, data: r.data })),
      truth.rows.map(({ row_number, values }) => {
        const data = Object.fromEntries(truth.header.map((name, i) => [name, values[i] ?? null]));
        return { row_key: String(data.id), row_number, data };
      }),
    );
    assert.deepEqual(job.stats.rows, 1_500, "the rows count carried across the invocations in the cursor");
  } finally {
    await closeClient(user.client);
    await sql.end();
  }
});

e2e("handover: Meta released at every checkpoint, with pages read ahead and writes in flight, lands every campaign-day once", async () => {
  const id = digits(15);
  const token = `EAAB${crypto.randomUUID().replaceAll("-", "")}`;
  const t = await adSetUp("meta-ads", id, { access_token: token, campaigns: 3, start: "2026-08-01", days: 40, page_size: 4 }, {
    ad_account_id: `act_${id}`,
  }, { access_token: token });
  try {
    await handOverEveryCheckpoint(t.sql, t.connection, "meta-ads");
    const job = await runJob(t.sql, t.connection, "backfill", { start_date: "2026-08-01", end_date: "2026-09-09" }, { timeoutMs: 60_000 });
    assert.equal(job.status, "succeeded", job.last_error);
    const { released, attempts } = await handovers(t.sql, job);
    assert.ok(released >= 10, `30 pages, checkpointed as their writes land: released ${released} times`);
    assert.equal(attempts, 1, "a release spends no attempt");
    assert.deepEqual(await t.rows(), await t.truth(), "every campaign-day, once, with the fake's numbers");
    assert.deepEqual(job.stats, { rows: 120, days: 40 });
  } finally {
    await t.done();
  }
});
