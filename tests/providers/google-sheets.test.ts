/**
 * sync-google-sheets through the real stack against the fake Sheets API and the fake
 * Google token endpoint: rows by header, keyed by row number or a key column, windows
 * with the downloading/processing/saving phases, re-reads that add and remove rows, a
 * crash mid-sheet, rate limits, a revoked key, a sheet not shared, and the key never
 * leaving Vault.
 */
import assert from "node:assert/strict";
import { googleSheets } from "../../functions/_shared/providers/google-sheets.ts";
import { baseUrls } from "../fakes/server.ts";
import { fake, fakesUrl } from "../support/fakes.ts";
import { googleSecrets, type ServiceAccount, serviceAccount } from "../support/google.ts";
import { assertNoLeak, callApi, claimedAttempts, connect, crashMidChunk, runJob } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const accountsUsed: ServiceAccount[] = [];

interface TabTruth {
  header: string[];
  header_row: number;
  row_count: number;
  rows: { row_number: number; values: string[] }[];
}

interface Row {
  row_key: string;
  row_number: number;
  data: Record<string, string | null>;
}

async function setUp(sheets: Record<string, unknown>, account: Record<string, unknown> = {}, seed: Record<string, unknown> = {}) {
  const sql = db();
  const user = await createUser(sql);
  const sa = await serviceAccount();
  accountsUsed.push(sa);
  const spreadsheetId = `1Sheet${crypto.randomUUID().replaceAll("-", "")}`;
  const upstream = fake("google-sheets", spreadsheetId);
  await upstream.seed({ sheets, ...seed });
  const connection = await connect(user, "google-sheets", { spreadsheet_id: spreadsheetId, ...account }, { service_account: sa.key });
  const rows = async (): Promise<Row[]> =>
    (await sql`
      select row_key, row_number, data from synced.sheet_rows where connection_id = ${connection} order by row_number
    `).map((r) => ({ row_key: r.row_key, row_number: r.row_number, data: r.data }));
  const tab = async (name = "Sheet1") => (await upstream.truth<{ sheets: Record<string, TabTruth> }>()).sheets[name];
  const done = async () => {
    await closeClient(user.client);
    await sql.end();
  };
  return { sql, user, sa, spreadsheetId, upstream, connection, rows, tab, done };
}

/** What the rows must be: the fake's cells under the expected column names, absent cells null. */
function expected(tab: TabTruth, names: string[], keyColumn?: string): Row[] {
  return tab.rows.map(({ row_number, values }) => {
    const data = Object.fromEntries(names.map((name, i) => [name, values[i] === undefined || values[i] === "" ? null : values[i]]));
    return { row_key: keyColumn ? String(data[keyColumn]) : String(row_number), row_number, data };
  });
}

/** The job's progress as it was broadcast on sync:job:<id>, in order. */
async function progressHistory(sql: ReturnType<typeof db>, jobId: string) {
  const messages = await sql`
    select payload->'progress' as progress from realtime.messages
    where topic = ${`sync:job:${jobId}`} order by inserted_at, (payload->>'updated_at')
  `;
  return messages.map((m) => m.progress as { phase?: string; percent?: number } | null)
    .filter((p): p is { phase?: string; percent: number } => typeof p?.percent === "number");
}

e2e("google-sheets: a full sync lands every row under its header, in windows, with the phases of the old sync", async () => {
  const columns = ["id", "name", "", "amount", "name", "note"];
  const t = await setUp({ Sheet1: { rows: 12, columns, blank_every: { note: 3 } } }, { window_rows: 5 });
  try {
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    const truth = await t.tab();
    assert.equal(truth.rows.length, 12);
    assert.ok(truth.rows.some((r) => r.values.length === 5), "some rows lost their empty last cell upstream");
    const want = expected(truth, ["id", "name", "column_C", "amount", "name_2", "note"]);
    assert.deepEqual(await t.rows(), want);
    assert.equal((await t.rows()).filter((r) => r.data.note === null).length, 4, "missing trailing cells are null");
    assert.deepEqual(job.stats, { rows: 12, deleted: 0 });
    assert.equal(job.progress.percent, 100);

    const history = await progressHistory(t.sql, job.id);
    const phases = new Set(history.map((p) => p.phase));
    for (const phase of ["downloading", "processing", "saving"]) assert.ok(phases.has(phase), `phase ${phase} was broadcast`);
    const percents = history.map((p) => p.percent);
    assert.deepEqual(percents, [...percents].sort((a, b) => a - b), `percent never goes backwards: ${percents}`);
    assert.equal(percents.at(-1), 100);
    // Three windows of 5, 5 and 2 of 12 rows: each downloaded (60 % of its share), processed (80 %), saved (100 %).
    const saving = history.filter((p) => p.phase === "saving").map((p) => p.percent);
    assert.deepEqual([...new Set(saving)], [41.7, 83.3, 100]);

    const values = (await t.upstream.requests()).filter((r) => r.path.includes("/values/")).map((r) => decodeURIComponent(r.path.split("/values/")[1]));
    assert.deepEqual(values, ["'Sheet1'!A1:Z1", "'Sheet1'!A2:Z6", "'Sheet1'!A7:Z11", "'Sheet1'!A12:Z13"], "the header, then windows of 5 rows");
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a sheet that fits one window goes 0, 60, 80, 100 %; a key column keys the rows below a later header row", async () => {
  const t = await setUp(
    { "Q3 Budget": { rows: 6, columns: ["sku", "name", "amount"], header_row: 3 } },
    { sheet: "Q3 Budget", key_column: "sku", header_row: 3 },
  );
  try {
    const job = await runJob(t.sql, t.connection, "full");
    assert.equal(job.status, "succeeded", job.last_error);
    assert.deepEqual(await t.rows(), expected(await t.tab("Q3 Budget"), ["sku", "name", "amount"], "sku"));
    assert.equal((await t.rows())[0].row_number, 4, "data starts below the header row");
    const percents = (await progressHistory(t.sql, job.id)).map((p) => p.percent);
    assert.deepEqual([...new Set(percents)], [0, 60, 80, 100]);
    const asked = (await t.upstream.requests()).map((r) => decodeURIComponent(r.path));
    assert.ok(asked.includes(`/v4/spreadsheets/${t.spreadsheetId}/values/'Q3 Budget'!A4:Z9`), asked.join("\n"));
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a second run writes appended and edited rows, deletes a removed one, and duplicates nothing", async () => {
  const t = await setUp({ Sheet1: { rows: 10, columns: ["id", "name", "amount"] } }, { key_column: "id", window_rows: 4 });
  try {
    assert.equal((await runJob(t.sql, t.connection)).status, "succeeded");
    const names = ["id", "name", "amount"];
    assert.deepEqual(await t.rows(), expected(await t.tab(), names, "id"));

    // Row 5 (ID-000004) removed, the rows below move up; an amount changed; three rows added.
    await t.upstream.update({ delete_rows: [5], set: [{ row: 3, column: "amount", value: "999.99" }], append: 3 });
    const second = await runJob(t.sql, t.connection);
    assert.equal(second.status, "succeeded", second.last_error);
    const truth = await t.tab();
    assert.equal(truth.row_count, 12);
    const rows = await t.rows();
    assert.deepEqual(rows, expected(truth, names, "id"));
    assert.ok(!rows.some((r) => r.row_key === "ID-000004"), "the removed row is gone");
    assert.equal(rows.find((r) => r.row_key === "ID-000002")?.data.amount, "999.99");
    assert.equal(new Set(rows.map((r) => r.row_key)).size, 12, "no duplicates");
    assert.deepEqual(second.stats, { rows: 12, deleted: 1 });

    // Keyed by row number, a removed row takes the last row number with it.
    await t.sql`update sync.connections set account = account - 'key_column' where id = ${t.connection}`;
    await t.upstream.update({ delete_rows: [2] });
    const third = await runJob(t.sql, t.connection, "full");
    assert.equal(third.status, "succeeded", third.last_error);
    assert.deepEqual(await t.rows(), expected(await t.tab(), names));
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a worker killed mid-sheet resumes at the first unsaved window, losing and repeating nothing", async () => {
  const t = await setUp({ Sheet1: { rows: 40, columns: ["id", "name", "amount"] } }, { key_column: "id", window_rows: 5 });
  try {
    await t.upstream.delay(300);
    const [{ id }] = await t.sql`select sync.enqueue(${t.connection}) as id`;
    const done = await crashMidChunk(t.sql, id, "sync-google-sheets", (job) => (job.cursor?.offset ?? 0) >= 12);
    assert.equal(done.status, "succeeded", done.last_error);
    assert.deepEqual(await claimedAttempts(t.sql, id), [1, 2], "the crashed run counted as an attempt");
    assert.equal(done.attempts, 1, "the next run moved the cursor, which gave the attempts back");
    assert.deepEqual(await t.rows(), expected(await t.tab(), ["id", "name", "amount"], "id"));
    assert.deepEqual(done.stats, { rows: 40, deleted: 0 }, "rows saved before the crash were not deleted as unseen");
    const windows = (await t.upstream.requests()).map((r) => decodeURIComponent(r.path)).filter((p) => /!A\d+:Z\d+$/.test(p));
    assert.equal(windows.filter((p) => p.endsWith("!A2:Z6")).length, 1, "the first saved window was not read again");
    assert.equal(windows.filter((p) => p.endsWith("!A7:Z11")).length, 1, "the second saved window was not read again");
    assert.equal(windows.filter((p) => p.endsWith("!A1:Z1")).length, 1, "the header came from the cursor");
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a 429 is waited out without spending an attempt; an expired token is replaced", async () => {
  const t = await setUp({ Sheet1: { rows: 8, columns: ["id", "name", "amount"] } }, { window_rows: 4 });
  try {
    await t.upstream.fault({ kind: "rate-limit", retry_after_s: 1, path: "/values/" });
    await t.upstream.fault({ kind: "expired-token", path: "/values/" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "succeeded", job.last_error);
    assert.equal(job.attempts, 1, "the rate-limited run gave its attempt back");
    const events = await t.sql`select event, message from sync.job_events where job_id = ${job.id} order by id`;
    const limited = events.find((e) => e.event === "rate_limited");
    assert.ok(limited, JSON.stringify(events));
    assert.match(limited.message, /Google Sheets quota exceeded.*RESOURCE_EXHAUSTED.*retrying in 1 s/);
    assert.deepEqual(await t.rows(), expected(await t.tab(), ["id", "name", "amount"]));
    assert.ok((await fake("google-oauth", t.sa.email).truth<{ issued: string[] }>()).issued.length >= 2, "a fresh token after the expired one");
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a revoked service account key fails at once and asks the user to reconnect", async () => {
  const t = await setUp({ Sheet1: { rows: 3, columns: ["id", "name"] } });
  try {
    await fake("google-oauth", t.sa.email).fault({ kind: "revoked" });
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1, "not retried");
    assert.match(job.last_error, /Google refused the service account \(invalid_grant: Invalid JWT Signature\.\).*Reconnect the google-sheets account/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /Invalid JWT Signature/);
    assert.equal((await t.rows()).length, 0);
  } finally {
    await t.done();
  }
});

e2e("google-sheets: a sheet not shared with the service account, a missing tab and an unknown key column say what to do", async () => {
  const t = await setUp({ Sheet1: { rows: 3, columns: ["id", "name"] } }, {}, { shared_with: ["someone-else@example.iam.gserviceaccount.com"] });
  try {
    const job = await runJob(t.sql, t.connection);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.match(job.last_error, /PERMISSION_DENIED.*Share the sheet with the service account sync-[0-9a-f]+@tributary-test\.iam\.gserviceaccount\.com/);
    const [conn] = await t.sql`select reconnect_reason from sync.connections where id = ${t.connection}`;
    assert.match(conn.reconnect_reason, /Share the sheet/);

    await t.upstream.update({ shared_with: [t.sa.email] });
    await t.sql`update sync.connections set account = account || '{"sheet": "Budget"}' where id = ${t.connection}`;
    const noTab = await runJob(t.sql, t.connection);
    assert.equal(noTab.status, "failed");
    assert.equal(noTab.attempts, 1);
    assert.match(noTab.last_error, /no tab named "Budget" \(its tabs: "Sheet1"\)/);

    await t.sql`update sync.connections set account = account || '{"sheet": "Sheet1", "key_column": "sku"}' where id = ${t.connection}`;
    const noKey = await runJob(t.sql, t.connection);
    assert.equal(noKey.status, "failed");
    assert.match(noKey.last_error, /key_column "sku" is not in the header row \(row 1\) of tab "Sheet1": its columns are id, name/);
  } finally {
    await t.done();
  }
});

e2e("google-sheets: bad settings are refused with the field named; a dry run counts but writes and deletes nothing", async () => {
  const t = await setUp({ Sheet1: { rows: 7, columns: ["id", "name"] } }, { window_rows: 3 });
  try {
    const badAccount = await callApi(t.user.client, "connections", "POST", {
      provider: "google-sheets",
      label: "x",
      account: { spreadsheet_id: "no/slashes" },
      credentials: { service_account: t.sa.key },
    });
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.error.message, /account\.spreadsheet_id: the id in the sheet's URL/);
    const badKey = await callApi(t.user.client, "connections", "POST", {
      provider: "google-sheets",
      label: "x",
      account: { spreadsheet_id: t.spreadsheetId },
      credentials: { service_account: { ...t.sa.key, private_key: "not a key" } },
    });
    assert.equal(badKey.status, 400);
    assert.match(badKey.body.error.message, /credentials\.service_account\.private_key: a PEM PKCS#8 key/);
    assert.doesNotMatch(JSON.stringify(badKey.body), /PRIVATE KEY|not a key/, "the refusal does not echo the key");

    const dry = await runJob(t.sql, t.connection, "incremental", {}, { dryRun: true });
    assert.equal(dry.status, "succeeded", dry.last_error);
    assert.equal(dry.stats.rows, 7, "counted");
    assert.equal((await t.rows()).length, 0, "wrote nothing");

    assert.equal((await runJob(t.sql, t.connection)).status, "succeeded");
    await t.upstream.update({ delete_rows: [2, 3] });
    const dryAgain = await runJob(t.sql, t.connection, "full", {}, { dryRun: true });
    assert.equal(dryAgain.status, "succeeded", dryAgain.last_error);
    assert.equal(dryAgain.stats.rows, 5);
    assert.equal((await t.rows()).length, 7, "a dry run deletes nothing either");
  } finally {
    await t.done();
  }
});

e2e("google-sheets: the next window is downloaded while this one is processed and saved", async () => {
  // The provider alone, on a dry run, against the fake: when each window was asked for,
  // against the chunks the worker was handed.
  const sa = await serviceAccount();
  accountsUsed.push(sa);
  const spreadsheetId = `1Ahead${crypto.randomUUID().replaceAll("-", "")}`;
  await fake("google-sheets", spreadsheetId).seed({ sheets: { Sheet1: { rows: 9, columns: ["id"] } }, shared_with: [sa.email] });
  const env = baseUrls(fakesUrl);
  const seen: string[] = [];
  const ctx = {
    job: { id: crypto.randomUUID(), kind: "full", params: {}, dry_run: true, attempts: 1, cursor: null, stats: {} },
    connection: {
      id: crypto.randomUUID(),
      owner_id: crypto.randomUUID(),
      account: googleSheets.account.parse({ spreadsheet_id: spreadsheetId, window_rows: 3 }),
      high_watermark: null,
      lookback_days: 0,
    },
    credentials: { service_account: sa.key },
    cursor: null,
    env: (name: string) => env[name],
    fetch: (input: string | URL, init?: RequestInit) => {
      const range = decodeURIComponent(String(input)).match(/values\/'Sheet1'!(A\d+):/)?.[1];
      if (range) seen.push(`asked ${range}`);
      return fetch(input, init);
    },
    log: () => {},
  } as unknown as Parameters<typeof googleSheets.run>[0];
  for await (const chunk of googleSheets.run(ctx)) {
    if (chunk.progress.phase !== "downloading" || chunk.progress.done) seen.push(`${chunk.progress.phase} ${chunk.progress.done}`);
    // The worker's checkpoint is a round trip; the read ahead goes out meanwhile.
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(seen, [
    "asked A1", // the header
    "asked A2",
    "asked A5", // window 2 while window 1 (rows 2-4) is processed and saved
    "processing 0",
    "saving 3",
    "asked A8",
    "downloading 3",
    "processing 3",
    "saving 6",
    "downloading 6",
    "processing 6",
    "saving 9",
    "done 9",
  ]);
});

e2e("google-sheets: no private key or access token appears in any row, broadcast or log line", async () => {
  const sql = db();
  try {
    const secrets = await googleSecrets(accountsUsed);
    assert.ok(secrets.length > accountsUsed.length * 2, "private key parts and issued tokens to look for");
    await assertNoLeak(sql, secrets);
  } finally {
    await sql.end();
  }
});
