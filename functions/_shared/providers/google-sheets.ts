/**
 * Google Sheets rows (PROVIDERS.md, Google Sheets): one tab of a spreadsheet into
 * synced.sheet_rows, streamed in windows of rows so that a sheet of a million rows never
 * sits in memory.
 *
 *   1. the tab's grid size (GET spreadsheets/<id>?fields=sheets.properties) and its
 *      header row, which names the columns (data is {header: cell});
 *   2. windows of `window_rows` rows (GET .../values/'Tab'!A<from>:<last column><to>),
 *      each downloaded (the next one while this one is saved), processed and saved in
 *      one write (row-writer.ts), with a checkpoint after each of the three (the phases
 *      of the old sheet sync: downloading 0-60 %, processing 60-80 %, saving 80-100 % of
 *      the window's share), until the grid ends or a window comes back without values;
 *   3. rows this job did not see (deleted from the sheet) are deleted, only once the
 *      whole sheet was read: the job's started_at (set at its first claim, kept across
 *      retries) splits what this job wrote from what earlier jobs left.
 *
 * A sheet has no change feed, so `incremental` and `full` both read the whole tab. The
 * cursor is {offset: the next sheet row to read, header, total, rows}: a run resumes at
 * the first window not yet saved. A row is keyed by its key_column's value when the
 * account names one (rows keep their identity when the sheet is re-sorted), else by its
 * row number.
 */
import { z } from "zod";
import { incrementalParams } from "../dates.ts";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { Chunk, JobContext, Provider } from "../provider.ts";
import { forgetAccessToken, googleAccessToken, googleRetryDelay, serviceAccountKey } from "./google-auth.ts";
import { copyRows, RowWriter } from "./row-writer.ts";

const SCOPE = "https://www.googleapis.com/auth/spreadsheets.readonly";
/** When Sheets says "quota exceeded" without saying for how long: its quotas are per minute. */
const DEFAULT_RATE_LIMIT_WAIT_S = 60;

export const account = z.object({
  spreadsheet_id: z.string().regex(/^[A-Za-z0-9_-]{10,}$/, "the id in the sheet's URL (docs.google.com/spreadsheets/d/<id>/edit)"),
  /** The tab's name, as on the tab at the bottom of the sheet. */
  sheet: z.string().min(1).max(100).default("Sheet1"),
  /** A header whose cell keys each row; without one, rows are keyed by row number. */
  key_column: z.string().min(1).optional(),
  header_row: z.number().int().min(1).max(1_000).default(1),
  /** Rows read per request: larger is fewer requests, smaller is less memory and finer checkpoints. */
  window_rows: z.number().int().min(1).max(20_000).default(5_000),
}).strict();

export const credentials = z.object({ service_account: serviceAccountKey }).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

interface TabProperties {
  title?: string;
  gridProperties?: { rowCount?: number; columnCount?: number };
}

interface Cursor {
  /** The next sheet row (1-based) to read. */
  offset: number;
  /** The column names, from the header row. */
  header: string[];
  /** Data rows in the tab's grid (below the header). */
  total: number;
  /** Rows saved (or, on a dry run, counted) so far. */
  rows: number;
  /** The grid's last column, as a letter: the right edge of every window. */
  last_column: string;
}

export function columnLetter(n: number): string {
  let s = "";
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

/** A tab name as A1 notation wants it: always quoted, a quote doubled. */
const quoted = (tab: string) => `'${tab.replaceAll("'", "''")}'`;

/**
 * Column names from the header row's cells: blank ones named by their column letter
 * (`column_C`), repeated ones numbered (`name_2`), so every name is unique and stays
 * the same while the header does.
 */
export function columnNames(cells: unknown[]): string[] {
  const names: string[] = [];
  const taken = new Set<string>();
  cells.forEach((cell, i) => {
    const base = String(cell ?? "").trim() || `column_${columnLetter(i + 1)}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    names.push(name);
  });
  return names;
}

async function call(ctx: Ctx, path: string, what: string, retried = false): Promise<Record<string, unknown>> {
  const key = ctx.credentials.service_account;
  const token = await googleAccessToken(ctx as JobContext<unknown, unknown>, key, SCOPE);
  const base = (ctx.env("GOOGLE_SHEETS_API_BASE") ?? "https://sheets.googleapis.com").replace(/\/$/, "");
  const res = await ctx.fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text);
  } catch { /* an error page: the status says enough */ }
  if (res.ok) {
    if (!body || typeof body !== "object") throw new Retryable(`Google Sheets answered ${what} with a body that is not JSON`);
    return body;
  }

  const error = body?.error as { code?: number; status?: string; message?: string } | undefined;
  const said = `${res.status} ${error?.status ?? res.statusText}: ${error?.message ?? text.slice(0, 200)}`;
  const { spreadsheet_id, sheet } = ctx.connection.account;
  if (res.status === 429 || error?.status === "RESOURCE_EXHAUSTED") {
    const header = res.headers.get("retry-after");
    const wait = header ? retryAfterSeconds(header) : googleRetryDelay(error) ?? DEFAULT_RATE_LIMIT_WAIT_S;
    throw new RateLimited(`Google Sheets quota exceeded reading ${what} (${said}); retrying in ${wait} s`, wait);
  }
  if (res.status === 401 && !retried) {
    // A cached token can expire early: one fresh token before giving up.
    forgetAccessToken(key, SCOPE);
    return await call(ctx, path, what, true);
  }
  if (res.status === 401) {
    forgetAccessToken(key, SCOPE);
    throw await ctx.reconnect(`Google Sheets refused the service account's token (${said}): its key was revoked or disabled.`);
  }
  if (res.status === 403) {
    throw await ctx.reconnect(
      `Google Sheets denied access to spreadsheet ${spreadsheet_id} (${said}). ` +
        `Share the sheet with the service account ${key.client_email} (Viewer is enough).`,
    );
  }
  if (res.status === 404) {
    throw new Permanent(`Google Sheets has no spreadsheet ${spreadsheet_id} (${said}): check spreadsheet_id in the sheet's URL.`);
  }
  if (res.status >= 500 || res.status === 408) throw new Retryable(`Google Sheets ${said} reading ${what}`);
  throw new Permanent(`Google Sheets refused to read ${what} of tab "${sheet}" (${said})`);
}

async function values(ctx: Ctx, range: string): Promise<unknown[][] | null> {
  const id = encodeURIComponent(ctx.connection.account.spreadsheet_id);
  const body = await call(ctx, `/v4/spreadsheets/${id}/values/${encodeURIComponent(range)}?majorDimension=ROWS`, range);
  // An empty range has no `values` at all.
  return Array.isArray(body.values) ? body.values as unknown[][] : null;
}

/** The tab's grid and header: where the first run of a job starts. */
async function plan(ctx: Ctx): Promise<Cursor> {
  const { spreadsheet_id, sheet, header_row, key_column } = ctx.connection.account;
  const meta = await call(ctx, `/v4/spreadsheets/${encodeURIComponent(spreadsheet_id)}?fields=sheets.properties`, "the spreadsheet's tabs");
  const tabs = ((meta.sheets ?? []) as { properties?: TabProperties }[]).map((s) => s.properties ?? {});
  const tab = tabs.find((p) => p.title === sheet);
  if (!tab) {
    const names = tabs.map((p) => `"${p.title}"`).join(", ") || "none";
    throw new Permanent(`The spreadsheet has no tab named "${sheet}" (its tabs: ${names}); set sheet to one of them.`);
  }
  const rowCount = Number(tab.gridProperties?.rowCount ?? 0);
  const columnCount = Math.max(1, Number(tab.gridProperties?.columnCount ?? 26));
  const last = columnLetter(columnCount);
  const headerCells = header_row <= rowCount ? await values(ctx, `${quoted(sheet)}!A${header_row}:${last}${header_row}`) : null;
  const header = columnNames(headerCells?.[0] ?? []);
  if (key_column && !header.includes(key_column)) {
    throw new Permanent(
      `key_column "${key_column}" is not in the header row (row ${header_row}) of tab "${sheet}"` +
        (header.length ? `: its columns are ${header.join(", ")}.` : ", which is empty.") + " Set key_column to one of them, or leave it out.",
    );
  }
  return { offset: header_row + 1, header, total: Math.max(0, rowCount - header_row), rows: 0, last_column: last };
}

interface SheetRow {
  row_key: string;
  row_number: number;
  data: Record<string, unknown>;
}

/** A window's cells as rows: {header: value}, missing trailing cells null, blank rows skipped. */
function toRows(ctx: Ctx, c: Cursor, cells: unknown[][]): SheetRow[] {
  const keyIndex = ctx.connection.account.key_column ? c.header.indexOf(ctx.connection.account.key_column) : -1;
  // By key: a key repeated within one write would make Postgres refuse it; the lower row wins, as across windows.
  const rows = new Map<string, SheetRow>();
  cells.forEach((row, i) => {
    if (!Array.isArray(row) || row.every((v) => v === "" || v === null || v === undefined)) return;
    const rowNumber = c.offset + i;
    const data: Record<string, unknown> = {};
    c.header.forEach((name, j) => (data[name] = row[j] === undefined || row[j] === "" ? null : row[j]));
    // Cells beyond the header's last named column still count, under their column's letter.
    for (let j = c.header.length; j < row.length; j++) {
      if (row[j] !== "" && row[j] !== undefined && row[j] !== null) data[`column_${columnLetter(j + 1)}`] = row[j];
    }
    const keyCell = keyIndex >= 0 ? data[c.header[keyIndex]] : null;
    // A row whose key cell is blank is still kept, under its row number.
    const rowKey = keyIndex < 0 ? String(rowNumber) : keyCell === null ? `row ${rowNumber}` : String(keyCell);
    rows.delete(rowKey);
    rows.set(rowKey, { row_key: rowKey, row_number: rowNumber, data });
  });
  return [...rows.values()];
}

async function save(ctx: Ctx, writer: RowWriter, rows: SheetRow[]) {
  const { id, owner_id, account } = ctx.connection;
  await writer.write(
    () =>
      copyRows(ctx.sql, "synced.sheet_rows", ["row_key", "row_number", "data"], rows.map((r) => [r.row_key, r.row_number, r.data]), {
        connection_id: id, owner_id, sheet: account.sheet,
      }),
    async () => {
      await ctx.sql`
        insert into synced.sheet_rows (connection_id, owner_id, sheet, row_key, row_number, data, synced_at)
        select ${id}, ${owner_id}, ${account.sheet}, r.row_key, r.row_number, r.data, now()
        from jsonb_to_recordset(${ctx.sql.json(rows as never)}) as r (row_key text, row_number integer, data jsonb)
        on conflict (connection_id, sheet, row_key) do update set
          row_number = excluded.row_number, data = excluded.data, synced_at = excluded.synced_at
      `;
    },
  );
}

/** Rows of this tab that this job did not write: gone from the sheet. */
async function deleteUnseen(ctx: Ctx): Promise<number> {
  const result = await ctx.sql`
    delete from synced.sheet_rows r
    where r.connection_id = ${ctx.connection.id} and r.sheet = ${ctx.connection.account.sheet}
      and r.synced_at < (select j.started_at from sync.jobs j where j.id = ${ctx.job.id})
  `;
  return result.count;
}

export const googleSheets: Provider<Account, Credentials> = {
  name: "google-sheets",
  kinds: ["incremental", "full"],
  account,
  credentials,
  params: { incremental: incrementalParams, full: z.object({}).strict() },
  async *run(ctx): AsyncGenerator<Chunk> {
    const { sheet, header_row, window_rows } = ctx.connection.account;
    const c: Cursor = (ctx.cursor as Cursor | null) ?? await plan(ctx);
    const lastRow = header_row + c.total;
    const progress = (phase: string, done: number, percent: number, message: string) => ({
      phase,
      done,
      total: c.total,
      // Explicit, so sync.normalize_progress keeps it rather than derive it from done/total.
      percent: Math.round(Math.min(100, percent) * 10) / 10,
      message,
    });
    const share = (before: number, span: number, f: number) => (c.total > 0 ? (100 * (before + span * f)) / c.total : 100 * f);
    if (!ctx.cursor) {
      yield { cursor: c, progress: progress("downloading", 0, 0, `${c.total} rows to read from "${sheet}"`), done: false };
    }

    const writer = new RowWriter();
    const download = (offset: number) => {
      const to = Math.min(offset + window_rows - 1, lastRow);
      const cells = values(ctx, `${quoted(sheet)}!A${offset}:${c.last_column}${to}`);
      // A window read ahead may be left behind (a hand-over, a failure elsewhere): its own
      // failure must then not go unhandled. Whoever awaits it still gets the error.
      cells.catch(() => {});
      return { to, cells };
    };
    // One window ahead: the next window downloads (the upstream's time, and the worker's
    // parsing) while this one is processed and saved (the database's), so the two
    // overlap. A crash or hand-over drops the window read ahead; the cursor never passes it.
    let next = c.offset <= lastRow ? download(c.offset) : null;
    while (next) {
      const { to } = next;
      const before = c.offset - header_row - 1;
      const span = to - c.offset + 1;
      const cells = await next.cells;
      next = cells && to < lastRow ? download(to + 1) : null;
      yield {
        cursor: c,
        progress: progress("downloading", before, share(before, span, 0.6), `rows ${c.offset}-${to} downloaded`),
        done: false,
      };
      if (!cells) {
        // An empty range: nothing more below it.
        c.offset = lastRow + 1;
        break;
      }
      const rows = toRows(ctx, c, cells);
      yield {
        cursor: c,
        progress: progress("processing", before, share(before, span, 0.8), `rows ${c.offset}-${to}: ${rows.length} rows`),
        done: false,
      };
      if (rows.length > 0 && !ctx.job.dry_run) await save(ctx, writer, rows);
      c.rows += rows.length;
      c.offset = to + 1;
      yield {
        cursor: c,
        progress: progress("saving", before + span, share(before, span, 1), `${c.rows} rows saved through row ${to}`),
        stats: { rows: c.rows },
        done: false,
      };
    }

    // Only a complete read may say which rows are gone; a dry run deletes nothing either.
    const deleted = ctx.job.dry_run ? 0 : await deleteUnseen(ctx);
    if (deleted > 0) ctx.log("rows no longer in the sheet deleted", { deleted });
    yield {
      cursor: { sheet, rows: c.rows, total: c.total },
      progress: progress("done", c.total, 100, `${c.rows} rows from "${sheet}"${deleted ? `, ${deleted} removed rows deleted` : ""}`),
      stats: { rows: c.rows, deleted },
      done: true,
    };
  },
};
