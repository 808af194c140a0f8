/**
 * TikTok ads through the Business API's integrated report (PROVIDERS.md, TikTok): a
 * BASIC report at campaign level by day, paged with page/page_size. The shared ad
 * engine (ad-metrics.ts) decides the dates, writes synced.ad_metrics_daily and chains
 * the campaign-totals follow-up; this file speaks TikTok.
 *
 *   dates   start_date..end_date may span at most 30 days, so slices are 30 days
 *   paging  page numbers, until page_info.total_page; the cursor keeps the next page
 *   errors  TikTok answers HTTP 200 with a `code` other than 0:
 *             40100             rate limit: wait (Retry-After when present, else 10 s)
 *             40102/40104/40105 the token is expired, missing or revoked: reconnect
 *             50000, 51xxx      TikTok's own trouble: retry
 *             anything else     fails with TikTok's message (40002: a bad parameter)
 */
import { z } from "zod";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { JobContext, Provider } from "../provider.ts";
import { AD_KINDS, adFollowUp, type AdPage, adParams, type AdRow, currencyCode, syncAdMetrics } from "./ad-metrics.ts";
import { responseJson, throwForStatus } from "./upstream.ts";

export const account = z.object({
  advertiser_id: z.string().trim().regex(/^\d+$/, 'the advertiser id in digits, like "7012345678901234567"'),
  currency: currencyCode.optional(),
}).strict();

export const credentials = z.object({
  access_token: z.string().trim().min(1, "a TikTok for Business access token"),
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

/** TikTok allows at most 30 days per daily report. */
const SLICE_DAYS = 30;
/** TikTok's largest page. */
const PAGE_SIZE = 1000;
/** TikTok's limits are per second and minute, and its 40100 names no wait. */
const DEFAULT_WAIT_S = 10;

export const DIMENSIONS = ["campaign_id", "stat_time_day"];
/** The documented three, plus conversions for the shared column and the campaign's name. */
export const METRICS = ["spend", "impressions", "clicks", "conversion", "campaign_name"];

const RECONNECT: Record<number, string> = {
  40102: "the TikTok access token has expired",
  40104: "TikTok received no access token",
  40105: "the TikTok access token is invalid or was revoked",
};

async function throwTikTokError(ctx: Ctx, res: Response, body: { code?: number; message?: string; request_id?: string }): Promise<never> {
  const code = Number(body.code);
  const said = `${body.message ?? "no message"}`.replace(/\.$/, "");
  const where = `TikTok report ${code}${body.request_id ? ` (request ${body.request_id})` : ""}`;
  if (code === 40100) {
    const header = res.headers.get("retry-after");
    const wait = header ? Math.max(1, retryAfterSeconds(header)) : DEFAULT_WAIT_S;
    throw new RateLimited(`${where}: ${said}; retrying in ${wait} s`, wait);
  }
  if (RECONNECT[code]) {
    const what = RECONNECT[code];
    throw await ctx.reconnect(`${what[0].toUpperCase()}${what.slice(1)} (TikTok ${code}: ${said}).`);
  }
  if (code === 50000 || (code >= 51000 && code < 52000)) throw new Retryable(`${where}: ${said}`);
  if (code === 40001) {
    throw new Permanent(`${where}: ${said}. Check the connection's advertiser_id and that the app is authorised for that advertiser.`);
  }
  throw new Permanent(`${where}: ${said}`);
}

/** `2026-10-01 00:00:00` as `2026-10-01`. */
export function toRow(item: { dimensions?: Record<string, any>; metrics?: Record<string, any> }): AdRow {
  const d = item.dimensions ?? {};
  const m = item.metrics ?? {};
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(String(d.stat_time_day ?? ""))?.[1];
  if (!d.campaign_id || !date) throw new Permanent(`TikTok sent a report row we cannot read: ${JSON.stringify(d)}`);
  return {
    campaign_id: String(d.campaign_id),
    campaign_name: m.campaign_name ?? null,
    date,
    impressions: m.impressions ?? 0,
    clicks: m.clicks ?? 0,
    spend: m.spend ?? 0,
    conversions: m.conversion ?? 0,
  };
}

async function fetchPage(ctx: Ctx, start: string, end: string, page: unknown): Promise<AdPage> {
  const base = (ctx.env("TIKTOK_API_BASE") ?? "https://business-api.tiktok.com").replace(/\/+$/, "");
  const url = new URL(`${base}/open_api/v1.3/report/integrated/get/`);
  const pageNo = Number(page ?? 1);
  const query: Record<string, string> = {
    advertiser_id: ctx.connection.account.advertiser_id,
    report_type: "BASIC",
    data_level: "AUCTION_CAMPAIGN",
    dimensions: JSON.stringify(DIMENSIONS),
    metrics: JSON.stringify(METRICS),
    start_date: start,
    end_date: end,
    page: String(pageNo),
    page_size: String(PAGE_SIZE),
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await ctx.fetch(url, { headers: { "access-token": ctx.credentials.access_token } });
  if (!res.ok) await throwForStatus(res, "TikTok report");
  const body = await responseJson(res, "TikTok report") as {
    code?: number;
    message?: string;
    request_id?: string;
    data?: { list?: Record<string, any>[]; page_info?: { page?: number; total_page?: number } };
  };
  if (Number(body?.code) !== 0) await throwTikTokError(ctx, res, body ?? {});
  const rows = (body.data?.list ?? []).map(toRow);
  const info = body.data?.page_info ?? {};
  const next = rows.length > 0 && Number(info.page ?? pageNo) < Number(info.total_page ?? 0) ? pageNo + 1 : null;
  return { rows, next };
}

export const tiktokAds: Provider<Account, Credentials> = {
  name: "tiktok-ads",
  kinds: AD_KINDS,
  account,
  credentials,
  params: adParams,
  followUp: adFollowUp,
  run: (ctx) =>
    syncAdMetrics(ctx as JobContext<unknown, unknown>, {
      provider: "tiktok-ads",
      accountId: ctx.connection.account.advertiser_id,
      currency: ctx.connection.account.currency,
      sliceDays: SLICE_DAYS,
      fetchPage: (start, end, page) => fetchPage(ctx, start, end, page),
    }),
};
