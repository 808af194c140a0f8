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
 * Pages flow through three steps at once: the next pages are read from the platform while
 * earlier ones are written, two batches at a time, the pages that come meanwhile going
 * together in the next batch (write-behind.ts); checkpoints follow the writes in page
 * order, so the cursor never passes a row that is not stored. Rows go in by COPY while
 * they are new (row-writer.ts). At a crash the pages past the last checkpoint (at most
 * PAGES_UNSTORED being written or waiting to be, and those read ahead) are read again,
 * and written onto the same natural keys.
 */
import { z } from "zod";
import { addDays, backfillParams, backfillRange, daysIn, incrementalParams, maxDate, minDate, today } from "../dates.ts";
import { Batcher } from "../batcher.ts";
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

/** The columns a platform's rows fill; the connection's own (see `save`) are the same in every row. */
const AD_COLUMNS = ["campaign_id", "campaign_name", "date", "impressions", "clicks", "spend", "conversions"] as const;

/** The database's time, as fixed-width UTC text (so two compare as strings). */
async function databaseTime(ctx: JobContext<unknown, unknown>): Promise<string> {
  const [{ now }] = await ctx.sql`select to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`;
  return now;
}

function save(ctx: JobContext<unknown, unknown>, source: AdSource, writer: RowWriter, rows: AdRow[]): Promise<void> {
  const { id, owner_id } = ctx.connection;
  const records: CopyValue[][] = rows.map((r) => [
    String(r.campaign_id), r.campaign_name ?? null, r.date,
    Math.round(num(r.impressions)), Math.round(num(r.clicks)), num(r.spend), num(r.conversions),
  ]);
  return writer.write(
    () =>
      copyRows(ctx.sql, "synced.ad_metrics_daily", AD_COLUMNS, records, {
        connection_id: id, owner_id, provider: source.provider, account_id: source.accountId, currency: source.currency ?? null,
      }),
    async () => {
      await ctx.sql`
        insert into synced.ad_metrics_daily (${ctx.sql(["connection_id", "owner_id", "provider", "account_id", "currency", ...AD_COLUMNS])})
        select ${id}, ${owner_id}, ${source.provider}, ${source.accountId}, ${source.currency ?? null}, r.*
        from jsonb_to_recordset(${ctx.sql.json(recordsOf(AD_COLUMNS, records) as never)}) as r (
          campaign_id text, campaign_name text, date date, impressions bigint, clicks bigint, spend numeric, conversions numeric
        )
        on conflict (connection_id, account_id, campaign_id, date) do update set
          campaign_name = excluded.campaign_name, impressions = excluded.impressions, clicks = excluded.clicks,
          spend = excluded.spend, conversions = excluded.conversions, currency = excluded.currency, synced_at = now()
      `;
    },
  );
}

/**
 * The first and last date from `start` to `end` that hold rows of this account as the
 * run begins (nulls when none do). Only a slice that overlaps them can leave rows
 * behind: every other row in its dates is one this run writes. One scan of the
 * connection's rows per run spares the same scan at the end of every slice of a
 * backfill into new dates. Rows of a killed run of the same job count as stored,
 * so a resumed run still sweeps after it.
 */
async function storedDates(ctx: JobContext<unknown, unknown>, source: AdSource, start: string, end: string) {
  const [{ first, last }] = await ctx.sql`
    select min(date)::text as first, max(date)::text as last from synced.ad_metrics_daily
    where connection_id = ${ctx.connection.id} and account_id = ${source.accountId} and date between ${start} and ${end}
  `;
  return { first: first as string | null, last: last as string | null };
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

/** How many pages a slice read in advance may hold before they are used. */
const AHEAD_PAGES = 16;
/**
 * Pages read but not yet stored: two batches being written, and the pages waiting to go
 * together in the next (write-behind.ts). A crash reads them again.
 */
const PAGES_UNSTORED = 8;

/**
 * One slice's pages, in order. A page can be asked for only once the one before it has
 * come (it carries the next page's token), so one slice is one request at a time. The
 * sync reads the slice after the current one with a reader of its own, which overlaps
 * the two chains of requests; that reader holds at most AHEAD_PAGES pages. Its pages
 * are written only when the sync reaches them, so reading ahead moves no cursor and
 * writes nothing a crash could lose.
 */
class SliceReader {
  readonly #pages: Promise<AdPage>[] = [];
  /** The token of the page to ask for once there is room again. */
  #paused: unknown = undefined;
  #stopped = false;

  constructor(private readonly source: AdSource, readonly start: string, readonly end: string, first: unknown) {
    this.#ask(first);
  }

  #ask(token: unknown) {
    const page = startedAhead(this.source.fetchPage(this.start, this.end, token));
    this.#pages.push(page);
    page.then((p) => {
      if (this.#stopped || p.next === null || p.next === undefined) return;
      if (this.#pages.length < AHEAD_PAGES) this.#ask(p.next);
      else this.#paused = p.next;
    }, () => {});
  }

  /** The slice's next page (SplitRange when the platform says the slice is too large). */
  async next(): Promise<AdPage> {
    const page = this.#pages.shift();
    if (!page) throw new Error(`read past the end of the slice ${this.start}..${this.end}`);
    if (this.#paused !== undefined) {
      const token = this.#paused;
      this.#paused = undefined;
      this.#ask(token);
    }
    return await page;
  }

  /** No more requests: the sync has no use for this slice's pages (a split, the end of the run). */
  stop() {
    this.#stopped = true;
  }
}

export async function* syncAdMetrics(ctx: JobContext<unknown, unknown>, source: AdSource): AsyncGenerator<Chunk> {
  if (ctx.job.kind === "campaign-totals") return yield* refreshTotals(ctx);

  const planned = plannedRange(ctx);
  const c: Cursor = (ctx.cursor as Cursor | null) ??
    { ...planned, next: planned.start, slice_days: source.sliceDays, page: null, rows: 0 };
  c.slice_started_at ??= null;
  const total = daysIn(c.start, c.end);

  const slice = (from: string, token: unknown) =>
    from <= c.end ? new SliceReader(source, from, minDate(addDays(from, c.slice_days - 1), c.end), token) : null;
  // `current` reads the slice the cursor is in, from the cursor's page; `ahead`, the
  // next one, once the platform has answered for the current one (so that a slice the
  // platform finds too large is split before anything past it is asked for).
  let current = slice(c.next, c.page ?? null);
  let ahead: SliceReader | null = null;
  const stored = ctx.job.dry_run ? null : await storedDates(ctx, source, c.next, c.end);
  const behind = new WriteBehind(PAGES_UNSTORED, 100);
  const writer = new RowWriter();
  const batches = new Batcher<AdRow>((rows) => save(ctx, source, writer, rows), 2);
  try {
    while (current) {
      const end = current.end;
      let page: AdPage;
      try {
        page = await current.next();
      } catch (e) {
        if (!(e instanceof SplitRange)) throw e;
        const days = daysIn(c.next, end);
        if (days === 1) throw new Permanent(`${source.provider} has too much data even for the single day ${c.next}: ${e.message}`);
        c.slice_days = Math.ceil(days / 2);
        c.page = null;
        ctx.log("range too large; splitting", { from: c.next, to: end, slice_days: c.slice_days });
        ahead?.stop();
        ahead = null;
        current = slice(c.next, null);
        continue;
      }
      ahead ??= slice(addDays(end, 1), null);
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
      if (sliceDone) {
        c.slice_started_at = null;
        // Read ahead already (a split would have dropped it, with its size).
        current = ahead ?? slice(c.next, null);
        ahead = null;
      }
      // This page is written while the next ones are read.
      const write = writes ? startedAhead(batches.add(page.rows)) : null;
      const after = { ...c };
      behind.add(write, async (): Promise<Chunk> => {
        await write;
        // Platforms leave out campaign-days without traffic: a day restated to nothing
        // must not keep its old numbers. What the slice did not send again goes.
        if (sliceDone && stored?.first && sliceStart <= stored.last! && end >= stored.first) {
          await forgetUnsent(ctx, source, sliceStart, end, since);
        }
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
  } finally {
    // A run that stops early (an error, a refused checkpoint) asks for no more pages.
    current?.stop();
    ahead?.stop();
  }

  const through = (ctx.connection.high_watermark as Watermark | null)?.through;
  yield {
    cursor: { through: through ? maxDate(through, c.end) : c.end },
    progress: { phase: "done", done: total, total, message: `${c.rows} campaign-days from ${c.start} to ${c.end}` },
    stats: { rows: c.rows, days: total },
    done: true,
  };
}
