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
 * this one is written and the one before it is checkpointed. Writes go out on their own
 * pooled connections, so two pages' upserts can use both of the database's cores. A
 * checkpoint waits for its own page's write, and checkpoints go in page order, so the
 * cursor never passes a row that is not stored. At a crash at most two pages are past
 * the last checkpoint (one written, one read ahead); the next run reads them again and
 * writes onto the same natural keys.
 */
import { z } from "zod";
import { addDays, backfillParams, backfillRange, daysIn, incrementalParams, maxDate, minDate, today } from "../dates.ts";
import { Permanent } from "../errors.ts";
import type { Chunk, JobContext } from "../provider.ts";
import { startedAhead } from "./upstream.ts";

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
   * The database time of the slice's first write in this run: rows of its days older
   * than that were not sent again. Null until the slice writes a row.
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

/**
 * Upserts the rows; returns the write's database time, which every row written now
 * carries, as fixed-width UTC text (so two compare as strings).
 */
async function save(ctx: JobContext<unknown, unknown>, source: AdSource, rows: AdRow[]): Promise<string> {
  const records = rows.map((r) => ({
    campaign_id: String(r.campaign_id),
    campaign_name: r.campaign_name ?? null,
    date: r.date,
    impressions: Math.round(num(r.impressions)),
    clicks: Math.round(num(r.clicks)),
    spend: num(r.spend),
    conversions: num(r.conversions),
  }));
  const [{ now }] = await ctx.sql`
    with saved as (
    insert into synced.ad_metrics_daily (
      connection_id, owner_id, provider, account_id, campaign_id, campaign_name, date,
      impressions, clicks, spend, conversions, currency
    )
    select ${ctx.connection.id}, ${ctx.connection.owner_id}, ${source.provider}, ${source.accountId},
           r.campaign_id, r.campaign_name, r.date, r.impressions, r.clicks, r.spend, r.conversions, ${source.currency ?? null}
    from jsonb_to_recordset(${ctx.sql.json(records as never)}) as r (
      campaign_id text, campaign_name text, date date, impressions bigint, clicks bigint, spend numeric, conversions numeric
    )
    on conflict (connection_id, account_id, campaign_id, date) do update set
      campaign_name = excluded.campaign_name, impressions = excluded.impressions, clicks = excluded.clicks,
      spend = excluded.spend, conversions = excluded.conversions, currency = excluded.currency, synced_at = now()
    )
    select to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now
  `;
  return now;
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
  const total = daysIn(c.start, c.end);

  const sliceEnd = () => minDate(addDays(c.next, c.slice_days - 1), c.end);
  const read = () => startedAhead(source.fetchPage(c.next, sliceEnd(), c.page ?? null));
  // The earliest write of the slice being checkpointed (see Cursor.slice_started_at).
  let sliceStartedAt = c.slice_started_at ?? null;
  // The page before this one: its checkpoint, once its write is stored.
  let checkpointDue: (() => Promise<Chunk>) | null = null;
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
    c.next = sliceDone ? addDays(end, 1) : c.next;
    c.page = sliceDone ? null : page.next;
    c.rows += page.rows.length;
    // Read the next page and write this one, both now.
    pending = c.next <= c.end ? read() : null;
    const write = page.rows.length > 0 && !ctx.job.dry_run ? startedAhead(save(ctx, source, page.rows)) : null;
    const after = { ...c };
    const checkpoint = async (): Promise<Chunk> => {
      const savedAt = write ? await write : null;
      if (savedAt && (sliceStartedAt === null || savedAt < sliceStartedAt)) sliceStartedAt = savedAt;
      if (sliceDone) {
        // Platforms leave out campaign-days without traffic: a day restated to nothing
        // must not keep its old numbers. What the slice did not send again goes.
        if (!ctx.job.dry_run) await forgetUnsent(ctx, source, sliceStart, end, sliceStartedAt);
        sliceStartedAt = null;
      }
      after.slice_started_at = sliceStartedAt;
      const daysDone = daysIn(after.start, addDays(after.next, -1));
      return {
        cursor: after,
        progress: { phase: "downloading", done: daysDone, total, message: `${after.rows} campaign-days through ${minDate(addDays(after.next, -1), after.end)}` },
        stats: { rows: after.rows, days: daysDone },
        done: false,
      };
    };
    if (checkpointDue) yield await checkpointDue();
    checkpointDue = checkpoint;
  }
  if (checkpointDue) yield await checkpointDue();

  const through = (ctx.connection.high_watermark as Watermark | null)?.through;
  yield {
    cursor: { through: through ? maxDate(through, c.end) : c.end },
    progress: { phase: "done", done: total, total, message: `${c.rows} campaign-days from ${c.start} to ${c.end}` },
    stats: { rows: c.rows, days: total },
    done: true,
  };
}
