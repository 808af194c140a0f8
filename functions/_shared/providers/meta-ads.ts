/**
 * Meta (Facebook and Instagram) ads through the Marketing API's Insights edge
 * (PROVIDERS.md, Meta): one GET per page of `act_<id>/insights` at campaign level, one
 * row per campaign and day (time_increment=1). The shared ad engine (ad-metrics.ts)
 * decides the dates, slices them, writes synced.ad_metrics_daily and chains the
 * campaign-totals follow-up; this file speaks Meta.
 *
 *   paging       Meta's `paging.next` URL carries the access token, so the cursor keeps
 *                only `paging.cursors.after` and the next request sends it as `after=`
 *   conversions  the sum of `actions[].value` whose action_type the account counts
 *                (conversion_action_types; purchases, leads and registrations by default)
 *   too much     code 100 / subcode 1487534 asks for less data: the slice is halved
 *   limits       codes 4, 17, 613 and 80000-80014 wait for the time Meta names in
 *                X-Business-Use-Case-Usage (estimated_time_to_regain_access, minutes),
 *                or Retry-After when it says 0 minutes, or a minute
 *   tokens       code 190 (expired, revoked, invalid) and missing permissions ask the
 *                user to reconnect; Meta's user tokens cannot be refreshed by us
 */
import { z } from "zod";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { JobContext, Provider } from "../provider.ts";
import { AD_KINDS, adFollowUp, type AdPage, adParams, type AdRow, currencyCode, SplitRange, syncAdMetrics } from "./ad-metrics.ts";
import { responseJson } from "./upstream.ts";

const DEFAULT_CONVERSIONS = ["purchase", "lead", "complete_registration"];

export const account = z.object({
  ad_account_id: z.string().trim().regex(/^(act_)?\d+$/, 'the ad account id in digits, like "1234567890" or "act_1234567890"')
    .transform((id) => id.replace(/^act_/, "")),
  currency: currencyCode.optional(),
  conversion_action_types: z.array(z.string().trim().min(1)).min(1, "at least one action type, like purchase")
    .default(DEFAULT_CONVERSIONS),
}).strict();

export const credentials = z.object({
  access_token: z.string().trim().min(1, "a Meta access token with the ads_read permission"),
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

/** Campaign-days per page: Meta's own ceiling for insights is well above this. */
const PAGE_LIMIT = 500;
/** Days per request: small enough that Meta rarely answers "too much data". */
const SLICE_DAYS = 30;
/** When Meta says 0 minutes (or nothing) and sends no Retry-After. */
const DEFAULT_WAIT_S = 60;

const RATE_LIMIT_CODES = new Set([4, 17, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014]);

interface MetaError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_msg?: string;
  fbtrace_id?: string;
}

/** Seconds to wait from Meta's usage headers: the longest estimated_time_to_regain_access, in minutes. */
export function regainSeconds(headers: Headers): number {
  let minutes = 0;
  const usage = headers.get("x-business-use-case-usage");
  if (usage) {
    try {
      for (const entries of Object.values(JSON.parse(usage) as Record<string, unknown>)) {
        for (const e of Array.isArray(entries) ? entries : []) {
          minutes = Math.max(minutes, Number((e as Record<string, unknown>)?.estimated_time_to_regain_access) || 0);
        }
      }
    } catch { /* not JSON: fall through to the other hints */ }
  }
  if (minutes > 0) return Math.ceil(minutes * 60);
  // 0 minutes means "under a minute": a Retry-After (from a proxy, or our fake) says how much under.
  const retryAfter = headers.get("retry-after");
  return retryAfter ? Math.max(1, retryAfterSeconds(retryAfter)) : DEFAULT_WAIT_S;
}

const TOKEN_PROBLEMS: Record<number, string> = {
  458: "the Meta app was removed from the user's account",
  459: "the Meta user account is checkpointed (Meta wants the user to log in)",
  460: "the Meta password was changed, which invalidates the token",
  463: "the Meta access token has expired",
  464: "the Meta user account is unconfirmed",
  467: "the Meta access token is invalid",
};

async function throwMetaError(ctx: Ctx, res: Response, body: unknown): Promise<never> {
  const e: MetaError = (body as { error?: MetaError } | null)?.error ?? {};
  const code = Number(e.code);
  const sub = Number(e.error_subcode);
  const said = `${e.message ?? res.statusText}${e.error_user_msg ? ` (${e.error_user_msg})` : ""}`.replace(/\.$/, "");
  const where = `Meta insights ${res.status}, code ${Number.isFinite(code) ? code : "none"}${Number.isFinite(sub) ? `/${sub}` : ""}`;
  if (code === 100 && sub === 1487534) throw new SplitRange(said);
  if (RATE_LIMIT_CODES.has(code) || res.status === 429) {
    const wait = regainSeconds(res.headers);
    throw new RateLimited(`${where}: ${said}; retrying in ${wait} s`, wait);
  }
  if (code === 190 || code === 102) {
    const what = TOKEN_PROBLEMS[sub] ?? "Meta refused the access token (expired, revoked or invalid)";
    throw await ctx.reconnect(`${what[0].toUpperCase()}${what.slice(1)}: ${said}.`);
  }
  if (code === 10 || (code >= 200 && code <= 299)) {
    throw await ctx.reconnect(`The Meta token may not read this ad account's insights (${said}); sign in again granting ads_read.`);
  }
  if (code === 1 || code === 2 || e.is_transient || res.status >= 500) throw new Retryable(`${where}: ${said}`);
  if (code === 100 && sub === 33) {
    throw new Permanent(`${where}: ${said}. Check the connection's ad_account_id (act_${ctx.connection.account.ad_account_id}).`);
  }
  throw new Permanent(`${where}: ${said}`);
}

const num = (v: unknown) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/** `counted`: the action types the account counts as conversions. */
export function toRow(row: Record<string, any>, counted: ReadonlySet<string>): AdRow {
  let conversions = 0;
  if (Array.isArray(row.actions)) {
    for (const a of row.actions as { action_type?: string; value?: unknown }[]) {
      if (counted.has(String(a?.action_type))) conversions += num(a?.value);
    }
  }
  return {
    campaign_id: String(row.campaign_id),
    campaign_name: row.campaign_name ?? null,
    date: String(row.date_start),
    impressions: row.impressions ?? 0,
    clicks: row.clicks ?? 0,
    spend: row.spend ?? 0,
    conversions,
  };
}

/** The `after` cursor of the next page (never the `next` URL itself: it embeds the token), or null at the end. */
function nextCursor(paging: Record<string, any> | undefined): string | null {
  if (!paging?.next) return null;
  const after = paging.cursors?.after ?? new URL(paging.next).searchParams.get("after");
  if (!after) throw new Retryable("Meta announced a next page without an after cursor");
  return String(after);
}

/**
 * The token travels in the query string, as Meta documents; should any error message
 * quote the URL (a transport error, an upstream echoing the request), the token is
 * blanked before the message reaches the job's last_error, events and logs.
 */
function scrubbed(e: unknown, token: string): unknown {
  if (e instanceof Error) {
    for (const form of [token, encodeURIComponent(token)]) e.message = e.message.replaceAll(form, "[access_token]");
  }
  return e;
}

async function fetchPage(ctx: Ctx, start: string, end: string, after: unknown): Promise<AdPage> {
  try {
    return await requestPage(ctx, start, end, after);
  } catch (e) {
    throw scrubbed(e, ctx.credentials.access_token);
  }
}

async function requestPage(ctx: Ctx, start: string, end: string, after: unknown): Promise<AdPage> {
  const base = (ctx.env("META_GRAPH_API_BASE") ?? "https://graph.facebook.com").replace(/\/+$/, "");
  const version = ctx.env("META_GRAPH_API_VERSION") ?? "v23.0";
  const url = new URL(`${base}/${version}/act_${ctx.connection.account.ad_account_id}/insights`);
  url.searchParams.set("level", "campaign");
  url.searchParams.set("fields", "campaign_id,campaign_name,impressions,clicks,spend,actions");
  url.searchParams.set("time_range", JSON.stringify({ since: start, until: end }));
  url.searchParams.set("time_increment", "1");
  url.searchParams.set("limit", String(PAGE_LIMIT));
  if (after) url.searchParams.set("after", String(after));
  url.searchParams.set("access_token", ctx.credentials.access_token);

  const res = await ctx.fetch(url);
  const body = await responseJson(res, "Meta insights") as { data?: Record<string, any>[]; paging?: Record<string, any>; error?: unknown };
  if (!res.ok || body?.error) await throwMetaError(ctx, res, body);
  const counted = new Set(ctx.connection.account.conversion_action_types);
  const rows = (body.data ?? []).map((r) => toRow(r, counted));
  return { rows, next: nextCursor(body.paging) };
}

export const metaAds: Provider<Account, Credentials> = {
  name: "meta-ads",
  kinds: AD_KINDS,
  account,
  credentials,
  params: adParams,
  followUp: adFollowUp,
  run: (ctx) =>
    syncAdMetrics(ctx as JobContext<unknown, unknown>, {
      provider: "meta-ads",
      accountId: ctx.connection.account.ad_account_id,
      currency: ctx.connection.account.currency,
      sliceDays: SLICE_DAYS,
      fetchPage: (start, end, page) => fetchPage(ctx, start, end, page),
    }),
};
