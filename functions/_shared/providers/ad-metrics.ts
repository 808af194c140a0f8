/**
 * What the four ad platforms (Google, Meta, LinkedIn, TikTok) share: which dates a job
 * covers, reading them in date slices, writing synced.ad_metrics_daily, and the
 * campaign-totals follow-up. A platform supplies only `fetchPage`: one page of one
 * slice, in its own API's words, normalised to AdRow.
 *
 *   incremental  from the connection's last synced date minus the lookback window (ad
 *                platforms restate recent days as conversions arrive) up to today;
 *                the first time, the last lookback_days
 *   backfill     params {start_date, end_date?} or {lookback_days}
 *
 * The cursor is the range, the next slice's first date, the slice size and the page
 * token within the slice: a run resumes at the page it stopped on. A platform that says
 * a slice holds too much data throws SplitRange, and the slice is halved.
 *
 * Pages flow through three steps at once: the next page is read from the platform while
 * this one and the one before it are written (write-behind.ts), and checkpoints follow
 * the writes in page order, so the cursor never passes a row that is not stored. Rows
 * go in by COPY while they are new (row-writer.ts). At a crash the pages past the last
 * checkpoint (two being written, one read ahead) are read again, and written onto the
 * same natural keys.
 */
import { z } from "zod";
import { addDays, backfillParams, backfillRange, daysIn, incrementalParams, maxDate, minDate, today } from "../dates.ts";
import { Permanent } from "../errors.ts";
import type { Chunk, JobContext } from "../provider.ts";
import { type CopyValue, copyRows, recordsOf, RowWriter } from "./row-writer.ts";
import { startedAhead } from "./upstream.ts";
import { WriteBehind } from "./write-behind.ts";

export const AD_KINDS = ["incremental", "backfill", "campaign-totals"] as const;

export const adParams = {
  incremental: incrementalParams,
  backfill: backfillParams,
  "campaign-totals": z.object({ after_job: z.string().uuid().optional() }).strict(),
};

/** An ad account's currency (ISO 4217), for the rows' currency column; any case, stored upper. */
export const currencyCode = z.string().regex(/^[A-Za-z]{3}$/, "a 3-letter currency code like USD").transform((c) => c.toUpperCase());

/** Every sync that wrote rows is followed by a refresh of the campaign totals. */
export function adFollowUp(kind: string): string | null {
  return kind === "incremental" || kind === "backfill" ? "campaign-totals" : null;
}

/** One campaign on one day, in plain units (spend in the account's currency, not micros). */
export interface AdRow {
  campaign_id: string;
  campaign_name?: string | null;
  date: string;
  impressions: number | string;
  clicks: number | string;
  spend: number | string;
  conversions?: number | string | null;
}

export interface AdPage {
  rows: AdRow[];
  /** The next page of the same slice (a cursor, a page number), or null when the slice is done. */
  next: unknown;
}

/** The platform says the slice is too large to answer: read it in smaller slices. */
export class SplitRange extends Error {
  override name = "SplitRange";
}

export interface AdSource {
  provider: string;
  accountId: string;
  currency?: string | null;
  /** The largest slice to ask for (a platform limit, or what keeps a page small). */
  sliceDays: number;
  fetchPage(start: string, end: string, page: unknown): Promise<AdPage>;
}

interface Cursor {
  start: string;
  end: string;
  next: string;
  slice_days: number;
  page: unknown;
  rows: number;
  /**
   * A database time taken just before the slice's first write (kept across a resumed
   * run): rows of its days older than that were not sent again. Null until the slice
   * writes a row.
   */
  slice_started_at?: string | null;
}

interface Watermark {
  through?: string;
}

/** The dates the job covers, end included. */
export function plannedRange(ctx: JobContext<unknown, unknown>): { start: string; end: string } {
  if (ctx.job.kind === "backfill") return backfillRange(ctx.job.params as z.infer<typeof backfillParams>);
  const params = ctx.job.params as z.infer<typeof incrementalParams>;
  const end = today();
  const lookback = params.lookback_days ?? ctx.connection.lookback_days;
  const through = (ctx.connection.high_watermark as Watermark | null)?.through;
  if (through) return { start: addDays(through, 1 - lookback), end };
  return { start: params.since ?? addDays(end, 1 - Math.max(lookback, 1)), end };
}

const num = (v: unknown) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

const AD_COLUMNS = [
  "connection_id", "owner_id", "provider", "account_id", "campaign_id", "campaign_name", "date",
  "impressions", "clicks", "spend", "conversions", "currency",
] as const;

/** The database's time, as fixed-width UTC text (so two compare as strings). */
async function databaseTime(ctx: JobContext<unknown, unknown>): Promise<string> {
  const [{ now }] = await ctx.sql`select to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`;
  return now;
}

function save(ctx: JobContext<unknown, unknown>, source: AdSource, writer: RowWriter, rows: AdRow[]): Promise<void> {
  const { id, owner_id } = ctx.connection;
  const records: CopyValue[][] = rows.map((r) => [
    id, owner_id, source.provider, source.accountId, String(r.campaign_id), r.campaign_name ?? null, r.date,
    Math.round(num(r.impressions)), Math.round(num(r.clicks)), num(r.spend), num(r.conversions), source.currency ?? null,
  ]);
  return writer.write(
    () => copyRows(ctx.sql, "synced.ad_metrics_daily", AD_COLUMNS, records),
    async () => {
      await ctx.sql`
        insert into synced.ad_metrics_daily (${ctx.sql(AD_COLUMNS)})
        select r.* from jsonb_to_recordset(${ctx.sql.json(recordsOf(AD_COLUMNS, records) as never)}) as r (
          connection_id uuid, owner_id uuid, provider text, account_id text, campaign_id text, campaign_name text,
          date date, impressions bigint, clicks bigint, spend numeric, conversions numeric, currency text
        )
        on conflict (connection_id, account_id, campaign_id, date) do update set
          campaign_name = excluded.campaign_name, impressions = excluded.impressions, clicks = excluded.clicks,
          spend = excluded.spend, conversions = excluded.conversions, currency = excluded.currency, synced_at = now()
      `;
    },
  );
}

/** Removes the slice's rows written before `since` (all of them when the slice wrote none). */
async function forgetUnsent(ctx: JobContext<unknown, unknown>, source: AdSource, start: string, end: string, since: string | null) {
  await ctx.sql`
    delete from synced.ad_metrics_daily
    where connection_id = ${ctx.connection.id} and account_id = ${source.accountId}
      and date between ${start} and ${end} and synced_at < coalesce(${since}::timestamptz, now())
  `;
}

/** The campaign-totals follow-up: rebuild synced.ad_campaign_totals for the connection. */
async function* refreshTotals(ctx: JobContext<unknown, unknown>): AsyncGenerator<Chunk> {
  const [{ n }] = await ctx.sql`select synced.refresh_ad_campaign_totals(${ctx.connection.id}) as n`;
  yield {
    // No cursor: the connection's high-watermark stays as the sync left it.
    cursor: null,
    progress: { phase: "done", done: 1, total: 1, message: `totals for ${n} campaigns` },
    stats: { campaigns: n },
    done: true,
  };
}

export async function* syncAdMetrics(ctx: JobContext<unknown, unknown>, source: AdSource): AsyncGenerator<Chunk> {
  if (ctx.job.kind === "campaign-totals") return yield* refreshTotals(ctx);

  const planned = plannedRange(ctx);
  const c: Cursor = (ctx.cursor as Cursor | null) ??
    { ...planned, next: planned.start, slice_days: source.sliceDays, page: null, rows: 0 };
  c.slice_started_at ??= null;
  const total = daysIn(c.start, c.end);

  const sliceEnd = () => minDate(addDays(c.next, c.slice_days - 1), c.end);
  const read = () => startedAhead(source.fetchPage(c.next, sliceEnd(), c.page ?? null));
  const behind = new WriteBehind();
  const writer = new RowWriter();
  // `pending` is always the request for the page the cursor points at.
  let pending = c.next <= c.end ? read() : null;
  while (pending) {
    const end = sliceEnd();
    let page: AdPage;
    try {
      page = await pending;
    } catch (e) {
      if (!(e instanceof SplitRange)) throw e;
      const days = daysIn(c.next, end);
      if (days === 1) throw new Permanent(`${source.provider} has too much data even for the single day ${c.next}: ${e.message}`);
      c.slice_days = Math.ceil(days / 2);
      c.page = null;
      ctx.log("range too large; splitting", { from: c.next, to: end, slice_days: c.slice_days });
      pending = read();
      continue;
    }
    const sliceDone = page.next === null || page.next === undefined;
    const sliceStart = c.next;
    const writes = page.rows.length > 0 && !ctx.job.dry_run;
    // Taken before the slice's first write, so every row the slice writes from here on
    // (in this run or, through the cursor, a resumed one) is at least as new.
    if (writes && c.slice_started_at === null) c.slice_started_at = await databaseTime(ctx);
    const since = c.slice_started_at;
    c.next = sliceDone ? addDays(end, 1) : c.next;
    c.page = sliceDone ? null : page.next;
    c.rows += page.rows.length;
    if (sliceDone) c.slice_started_at = null;
    // Read the next page and write this one, both now.
    pending = c.next <= c.end ? read() : null;
    const write = writes ? startedAhead(save(ctx, source, writer, page.rows)) : null;
    const after = { ...c };
    behind.add(write, async (): Promise<Chunk> => {
      await write;
      // Platforms leave out campaign-days without traffic: a day restated to nothing
      // must not keep its old numbers. What the slice did not send again goes.
      if (sliceDone && !ctx.job.dry_run) await forgetUnsent(ctx, source, sliceStart, end, since);
      const daysDone = daysIn(after.start, addDays(after.next, -1));
      return {
        cursor: after,
        progress: { phase: "downloading", done: daysDone, total, message: `${after.rows} campaign-days through ${minDate(addDays(after.next, -1), after.end)}` },
        stats: { rows: after.rows, days: daysDone },
        done: false,
      };
    });
    const due = await behind.due();
    if (due) yield due;
  }
  const last = await behind.drain();
  if (last) yield last;

  const through = (ctx.connection.high_watermark as Watermark | null)?.through;
  yield {
    cursor: { through: through ? maxDate(through, c.end) : c.end },
    progress: { phase: "done", done: total, total, message: `${c.rows} campaign-days from ${c.start} to ${c.end}` },
    stats: { rows: c.rows, days: total },
    done: true,
  };
}
