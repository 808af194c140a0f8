/**
 * LinkedIn ads through the Marketing API's adAnalytics finder (PROVIDERS.md, LinkedIn):
 * one GET per date slice, pivoted by campaign with daily granularity. The shared ad
 * engine (ad-metrics.ts) decides the dates, writes synced.ad_metrics_daily and chains
 * the campaign-totals follow-up; this file speaks LinkedIn.
 *
 *   query      Rest.li 2.0 syntax, built by hand: `dateRange=(start:(year:..),end:(..))`
 *              and `accounts=List(urn%3Ali%3AsponsoredAccount%3A<id>)` must reach
 *              LinkedIn with their parens and commas as they are and only the URN's
 *              colons encoded; URLSearchParams would encode the parens too
 *   no paging  LinkedIn cuts an answer at about 15,000 elements without saying so; an
 *              answer that reaches the cut (LINKEDIN_MAX_ELEMENTS) may be cut, so the
 *              slice is halved and asked again
 *   errors     401 (expired, revoked or invalid token) asks the user to reconnect; 429
 *              waits for Retry-After (a minute when absent); 5xx retries
 */
import { z } from "zod";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { JobContext, Provider } from "../provider.ts";
import { AD_KINDS, adFollowUp, type AdPage, adParams, type AdRow, currencyCode, SplitRange, syncAdMetrics } from "./ad-metrics.ts";
import { messageOf, responseJson } from "./upstream.ts";

export const account = z.object({
  ad_account_id: z.string().trim().regex(/^\d+$/, 'the ad account id in digits, like "502840441"'),
  currency: currencyCode.optional(),
}).strict();

export const credentials = z.object({
  access_token: z.string().trim().min(1, "a LinkedIn access token with the r_ads_reporting scope"),
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

/** Days per request: with the campaign pivot, 30 days stays far below the cut for most accounts. */
const SLICE_DAYS = 30;
/** Where LinkedIn cuts an adAnalytics answer (documented as "about 15,000"). */
const DEFAULT_MAX_ELEMENTS = 15_000;
const DEFAULT_WAIT_S = 60;

/** The metrics asked for; externalWebsiteConversions fills the shared conversions column. */
export const FIELDS = ["dateRange", "pivotValues", "impressions", "clicks", "costInLocalCurrency", "externalWebsiteConversions"];

const restliDate = (date: string) => {
  const [year, month, day] = date.split("-").map(Number);
  return `(year:${year},month:${month},day:${day})`;
};

/** The adAnalytics query string, in Rest.li 2.0 syntax (see the module comment for why by hand). */
export function analyticsQuery(accountId: string, start: string, end: string): string {
  return [
    "q=analytics",
    "pivot=CAMPAIGN",
    "timeGranularity=DAILY",
    `dateRange=(start:${restliDate(start)},end:${restliDate(end)})`,
    `accounts=List(${encodeURIComponent(`urn:li:sponsoredAccount:${accountId}`)})`,
    `fields=${FIELDS.join(",")}`,
  ].join("&");
}

const pad = (n: unknown) => String(n).padStart(2, "0");

export function toRow(element: Record<string, any>): AdRow {
  const start = element.dateRange?.start;
  const urn = String(element.pivotValues?.[0] ?? "");
  const id = /^urn:li:sponsoredCampaign:(\d+)$/.exec(urn)?.[1];
  if (!start?.year || !id) throw new Permanent(`LinkedIn sent an analytics element we cannot read (pivot "${urn}")`);
  return {
    campaign_id: id,
    date: `${start.year}-${pad(start.month)}-${pad(start.day)}`,
    impressions: element.impressions ?? 0,
    clicks: element.clicks ?? 0,
    spend: element.costInLocalCurrency ?? 0,
    conversions: element.externalWebsiteConversions ?? 0,
  };
}

async function fail(ctx: Ctx, res: Response): Promise<never> {
  const text = (await res.text()).slice(0, 500);
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch { /* an HTML error page: the status says enough */ }
  const code = (body as { code?: string } | null)?.code;
  const said = `${messageOf(body) ?? (text || res.statusText)}`.replace(/\.$/, "");
  const where = `LinkedIn adAnalytics ${res.status}${code ? ` ${code}` : ""}`;
  if (res.status === 401) {
    throw await ctx.reconnect(`LinkedIn refused the access token (${code ?? "401"}: ${said}); tokens expire after 60 days or when revoked.`);
  }
  if (res.status === 429) {
    const header = res.headers.get("retry-after");
    const wait = header ? Math.max(1, retryAfterSeconds(header)) : DEFAULT_WAIT_S;
    throw new RateLimited(`${where}: ${said}; retrying in ${wait} s`, wait);
  }
  if (res.status >= 500 || res.status === 408) throw new Retryable(`${where}: ${said}`);
  if (res.status === 403) {
    throw new Permanent(
      `${where}: ${said}. The signed-in member needs a role on ad account ${ctx.connection.account.ad_account_id} and the token the r_ads_reporting scope.`,
    );
  }
  throw new Permanent(`${where}: ${said}`);
}

async function fetchSlice(ctx: Ctx, start: string, end: string): Promise<AdPage> {
  const base = (ctx.env("LINKEDIN_API_BASE") ?? "https://api.linkedin.com").replace(/\/+$/, "");
  const url = `${base}/rest/adAnalytics?${analyticsQuery(ctx.connection.account.ad_account_id, start, end)}`;
  const res = await ctx.fetch(url, {
    headers: {
      authorization: `Bearer ${ctx.credentials.access_token}`,
      "linkedin-version": ctx.env("LINKEDIN_API_VERSION") ?? "202511",
      "x-restli-protocol-version": "2.0.0",
    },
  });
  if (!res.ok) await fail(ctx, res);
  const body = await responseJson(res, "LinkedIn adAnalytics") as { elements?: Record<string, any>[] };
  const elements = body?.elements ?? [];
  const cut = Number(ctx.env("LINKEDIN_MAX_ELEMENTS") ?? DEFAULT_MAX_ELEMENTS);
  if (elements.length >= cut) throw new SplitRange(`${elements.length} elements reach LinkedIn's cut of ${cut}: the answer may be cut short`);
  return { rows: elements.map(toRow), next: null };
}

export const linkedinAds: Provider<Account, Credentials> = {
  name: "linkedin-ads",
  kinds: AD_KINDS,
  account,
  credentials,
  params: adParams,
  followUp: adFollowUp,
  run: (ctx) =>
    syncAdMetrics(ctx as JobContext<unknown, unknown>, {
      provider: "linkedin-ads",
      accountId: ctx.connection.account.ad_account_id,
      currency: ctx.connection.account.currency,
      sliceDays: SLICE_DAYS,
      fetchPage: (start, end) => fetchSlice(ctx, start, end),
    }),
};
