/**
 * Steam partner sales (IPartnerFinancialsService), incremental by changed dates:
 *
 *   1. GetChangedDatesForPartner(highwatermark) lists the dates whose sales changed since
 *      the connection's last `result_highwatermark` (0 the first time);
 *   2. each date is read with GetDetailedSales, paging with max_id as the next
 *      highwatermark_id until max_id comes back equal to the id sent.
 *
 * The cursor is the date list, the date being read and its highwatermark_id, so a run
 * resumes at the page it stopped on. Only when every date is done does the new
 * result_highwatermark become the connection's high-watermark: a run that dies half-way
 * asks for the same changed dates again next time. A backfill reads a date range and
 * leaves the high-watermark as it was.
 */
import { z } from "zod";
import { addDays, backfillParams, backfillRange, daysIn, incrementalParams } from "../dates.ts";
import { Permanent } from "../errors.ts";
import type { JobContext, Provider } from "../provider.ts";
import { responseJson, startedAhead, throwForStatus } from "./upstream.ts";
import { type CopyValue, copyRows, recordsOf, RowWriter } from "./row-writer.ts";
import { WriteBehind } from "./write-behind.ts";

export const account = z.object({
  // Only a label for the user's benefit: the key decides which partner's sales come back.
  partner_id: z.string().regex(/^\d+$/, "digits only").optional(),
}).strict();

export const credentials = z.object({
  key: z.string().regex(/^[A-Fa-f0-9]{32}$/, "a 32-character hex Steam Financial Web API key"),
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

interface Cursor {
  dates: string[];
  index: number;
  highwatermark_id: string;
  /** What becomes the connection's high-watermark when the run finishes (null: keep it). */
  result_highwatermark: string | null;
  rows: number;
}

interface Watermark {
  result_highwatermark?: string;
}

const NO_PERMISSION = "The Steam key has no permission to read partner sales (Steam answered with an empty response). " +
  "Use a Financial Web API key from a Steamworks group with the General/Financial permission.";

/** `YYYY/MM/DD` (as Steam may send it) or `YYYY-MM-DD`, as `YYYY-MM-DD`. */
export function normaliseDate(date: string): string {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})$/.exec(date.trim());
  if (!m) throw new Permanent(`Steam sent a date we cannot read: "${date}"`);
  return `${m[1]}-${m[2]}-${m[3]}`;
}

async function call(ctx: Ctx, method: string, query: Record<string, string>): Promise<Record<string, any>> {
  const base = ctx.env("STEAM_API_BASE") ?? "https://partner.steam-api.com";
  const url = new URL(`${base.replace(/\/$/, "")}/IPartnerFinancialsService/${method}/v001/`);
  for (const [k, v] of Object.entries({ key: ctx.credentials.key, ...query })) url.searchParams.set(k, v);
  const res = await ctx.fetch(url);
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw await ctx.reconnect(`Steam refused the key (${res.status}): it is wrong or was revoked.`);
  }
  if (!res.ok) await throwForStatus(res, `Steam ${method}`);
  const body = await responseJson(res, `Steam ${method}`) as { response?: Record<string, any> };
  const response = body?.response;
  if (!response || Object.keys(response).length === 0) throw new Permanent(NO_PERMISSION);
  return response;
}

/** A number as Steam sends it (a decimal string, a number, or nothing), as text Postgres casts exactly. */
const asText = (v: unknown) => (v === undefined || v === null || v === "" ? null : String(v));

/** The synced.steam_sales columns of a sale, in the order saleRow gives them (save adds the connection's). */
const SALE_COLUMNS = [
  "date", "line_item_type", "partner_id", "package_id", "bundle_id", "app_id", "country_code", "platform", "currency",
  "base_price", "sale_price", "gross_units_sold", "gross_units_returned", "gross_units_activated", "net_units_sold",
  "gross_sales_usd", "gross_returns_usd", "net_tax_usd", "net_sales_usd",
] as const;

function saleRow(r: Record<string, unknown>): CopyValue[] {
  return [
    normaliseDate(String(r.date)),
    String(r.line_item_type ?? "unknown"),
    asText(r.partnerid),
    asText(r.packageid),
    asText(r.bundleid),
    asText(r.appid),
    (r.country_code ?? null) as string | null,
    (r.platform ?? null) as string | null,
    (r.currency ?? null) as string | null,
    asText(r.base_price),
    asText(r.sale_price),
    asText(r.gross_units_sold) ?? "0",
    asText(r.gross_units_returned) ?? "0",
    asText(r.gross_units_activated) ?? "0",
    asText(r.net_units_sold) ?? "0",
    asText(r.gross_sales_usd) ?? "0",
    asText(r.gross_returns_usd) ?? "0",
    asText(r.net_tax_usd) ?? "0",
    asText(r.net_sales_usd) ?? "0",
  ];
}

async function save(ctx: Ctx, writer: RowWriter, results: Record<string, unknown>[]) {
  const { id, owner_id } = ctx.connection;
  const rows = results.map(saleRow);
  await writer.write(
    () => copyRows(ctx.sql, "synced.steam_sales", SALE_COLUMNS, rows, { connection_id: id, owner_id }),
    async () => {
      await ctx.sql`
        insert into synced.steam_sales (${ctx.sql(["connection_id", "owner_id", ...SALE_COLUMNS])})
        select ${id}, ${owner_id}, r.* from jsonb_to_recordset(${ctx.sql.json(recordsOf(SALE_COLUMNS, rows) as never)}) as r (
          date date, line_item_type text, partner_id bigint, package_id bigint, bundle_id bigint, app_id bigint,
          country_code text, platform text, currency text, base_price numeric, sale_price numeric,
          gross_units_sold bigint, gross_units_returned bigint, gross_units_activated bigint, net_units_sold bigint,
          gross_sales_usd numeric, gross_returns_usd numeric, net_tax_usd numeric, net_sales_usd numeric
        )
        on conflict on constraint steam_sales_line_item do update set
          gross_units_sold = excluded.gross_units_sold, gross_units_returned = excluded.gross_units_returned,
          gross_units_activated = excluded.gross_units_activated, net_units_sold = excluded.net_units_sold,
          gross_sales_usd = excluded.gross_sales_usd, gross_returns_usd = excluded.gross_returns_usd,
          net_tax_usd = excluded.net_tax_usd, net_sales_usd = excluded.net_sales_usd, synced_at = now()
      `;
    },
  );
}

async function plan(ctx: Ctx): Promise<Cursor> {
  if (ctx.job.kind === "backfill") {
    const { start, end } = backfillRange(ctx.job.params as z.infer<typeof backfillParams>);
    const dates = Array.from({ length: daysIn(start, end) }, (_, i) => addDays(start, i));
    return { dates, index: 0, highwatermark_id: "0", result_highwatermark: null, rows: 0 };
  }
  const since = (ctx.connection.high_watermark as Watermark | null)?.result_highwatermark ?? "0";
  const changed = await call(ctx, "GetChangedDatesForPartner", { highwatermark: since });
  const dates = [...new Set(((changed.dates ?? []) as string[]).map(normaliseDate))].sort();
  return { dates, index: 0, highwatermark_id: "0", result_highwatermark: String(changed.result_highwatermark ?? since), rows: 0 };
}

export const steam: Provider<Account, Credentials> = {
  name: "steam",
  kinds: ["incremental", "backfill"],
  account,
  credentials,
  params: { incremental: incrementalParams, backfill: backfillParams },
  async *run(ctx) {
    const cursor: Cursor = (ctx.cursor as Cursor | null) ?? await plan(ctx);
    const progress = (message: string, at: Cursor = cursor) => ({
      phase: "downloading",
      done: at.index,
      total: at.dates.length,
      message,
    });
    if (!ctx.cursor) yield { cursor, progress: progress(`${cursor.dates.length} changed dates to read`), done: false };

    const read = (index: number, highwatermarkId: string) =>
      startedAhead(call(ctx, "GetDetailedSales", { date: cursor.dates[index], highwatermark_id: highwatermarkId }));
    // A date's first page is needed whatever the date before it still holds, so it is
    // asked for as soon as that date starts: its fetch overlaps the previous date's
    // last write and its empty end-of-date page. At most two requests are in flight.
    const firstPages = new Map<number, ReturnType<typeof read>>();
    const request = (index: number, highwatermarkId: string) => {
      if (highwatermarkId !== "0") return read(index, highwatermarkId);
      const early = firstPages.get(index) ?? read(index, "0");
      firstPages.delete(index);
      return early;
    };
    const askEarly = (index: number) => {
      if (index < cursor.dates.length && !firstPages.has(index)) firstPages.set(index, read(index, "0"));
    };
    let next = cursor.index < cursor.dates.length ? request(cursor.index, cursor.highwatermark_id) : null;
    askEarly(cursor.index + 1);
    // As in the ad platforms (ad-metrics.ts): a page is written while the next ones are
    // read and written, and checkpointed once its write is stored, in page order.
    const behind = new WriteBehind(2, 100);
    const writer = new RowWriter();
    while (next) {
      const date = cursor.dates[cursor.index];
      const sent = cursor.highwatermark_id;
      const page = await next;
      const results = (page.results ?? []) as Record<string, unknown>[];
      const maxId = String(page.max_id ?? sent);
      const dateDone = maxId === sent || results.length === 0;
      const following = dateDone ? { index: cursor.index + 1, id: "0" } : { index: cursor.index, id: maxId };
      // Read the next page and write this one, both now.
      next = following.index < cursor.dates.length ? request(following.index, following.id) : null;
      askEarly(following.index + 1);
      const write = results.length > 0 && !ctx.job.dry_run ? startedAhead(save(ctx, writer, results)) : null;
      cursor.rows += results.length;
      cursor.index = following.index;
      cursor.highwatermark_id = following.id;
      const after = { ...cursor };
      behind.add(write, async () => {
        await write;
        ctx.log("sales page written", { date, rows: results.length });
        return { cursor: after, progress: progress(`${date}: ${after.rows} sales rows so far`, after), stats: { rows: after.rows, dates: after.index }, done: false };
      });
      const due = await behind.due();
      if (due) yield due;
    }
    const last = await behind.drain();
    if (last) yield last;

    // A backfill hands back the high-watermark it found: the changed-dates feed is not its business.
    const previous = (ctx.connection.high_watermark as Watermark | null)?.result_highwatermark ?? "0";
    yield {
      cursor: { result_highwatermark: cursor.result_highwatermark ?? previous },
      progress: { phase: "done", done: cursor.dates.length, total: cursor.dates.length, message: `${cursor.rows} sales rows from ${cursor.dates.length} dates` },
      stats: { rows: cursor.rows, dates: cursor.dates.length },
      done: true,
    };
  },
};
