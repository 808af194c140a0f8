/**
 * Google Ads campaign metrics by day (PROVIDERS.md, Google Ads), on the shared ad-metrics
 * engine (ad-metrics.ts: date slices, synced.ad_metrics_daily, the campaign-totals
 * follow-up). This file only reads one slice: a GAQL query over
 * `segments.date BETWEEN start AND end`, sent to googleAds:searchStream, which answers
 * the whole slice at once as an array of batches (no pages).
 *
 * Auth is a service account (google-auth.ts, adwords scope) plus the developer token,
 * which belongs to the user's manager account and so is a per-connection credential.
 * A customer reached through a manager account needs its id as login_customer_id.
 */
import { z } from "zod";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { JobContext, Provider } from "../provider.ts";
import { AD_KINDS, adFollowUp, adParams, type AdRow, type AdSource, currencyCode, syncAdMetrics } from "./ad-metrics.ts";
import { forgetAccessToken, googleAccessToken, googleRetryDelay, serviceAccountKey } from "./google-auth.ts";

const SCOPE = "https://www.googleapis.com/auth/adwords";
/** searchStream has no size limit, so a slice is only as large as keeps one answer modest. */
const SLICE_DAYS = 30;

const customerId = z.string().trim()
  .regex(/^\d(?:-?\d){9}$/, "a 10-digit Google Ads customer id, like 123-456-7890")
  .transform((id) => id.replaceAll("-", ""));

export const account = z.object({
  customer_id: customerId,
  /** The manager account's id, when access to the customer comes through one. */
  login_customer_id: customerId.optional(),
  /** Only a label for the rows: the GAQL query does not ask for it. */
  currency: currencyCode.optional(),
}).strict();

export const credentials = z.object({
  developer_token: z.string().regex(/^[A-Za-z0-9_-]{10,}$/, "the developer token from the Google Ads API Center of your manager account"),
  service_account: serviceAccountKey,
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

interface GoogleError {
  code?: number;
  status?: string;
  message?: string;
  details?: { errors?: { errorCode?: Record<string, string>; message?: string }[] }[];
}

interface Batch {
  results?: {
    campaign?: { id?: string; name?: string };
    metrics?: { impressions?: string; clicks?: string; costMicros?: string; conversions?: number };
    segments?: { date?: string };
  }[];
  error?: GoogleError;
}

export const gaql = (start: string, end: string) =>
  "SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros, " +
  `metrics.conversions FROM campaign WHERE segments.date BETWEEN '${start}' AND '${end}'`;

const dashed = (id: string) => `${id.slice(0, 3)}-${id.slice(3, 6)}-${id.slice(6)}`;

/** The error of an answer: array-wrapped (searchStream), bare, or a batch that failed mid-stream. */
function errorOf(body: unknown): GoogleError | null {
  if (Array.isArray(body)) return (body.find((b) => b && typeof b === "object" && "error" in b) as Batch | undefined)?.error ?? null;
  return (body as { error?: GoogleError } | null)?.error ?? null;
}

/** Why the credentials were refused, said so the user knows what to fix. */
function refusal(code: string | undefined, ctx: Ctx): string {
  const customer = dashed(ctx.connection.account.customer_id);
  if (code?.startsWith("DEVELOPER_TOKEN")) {
    return "Check the developer token in the Google Ads API Center of your manager account " +
      "(a token with only test access cannot read real accounts).";
  }
  if (code === "USER_PERMISSION_DENIED" || code === "CUSTOMER_NOT_FOUND" || code === "NOT_ADS_USER") {
    return `Give the service account ${ctx.credentials.service_account.client_email} access to customer ${customer}` +
      (ctx.connection.account.login_customer_id ? "." : ", or set login_customer_id to the manager account it is reached through.");
  }
  return "The service account's key was revoked or disabled: create a new key.";
}

async function searchStream(ctx: Ctx, query: string, retried = false): Promise<Batch[]> {
  const { customer_id, login_customer_id } = ctx.connection.account;
  const key = ctx.credentials.service_account;
  const token = await googleAccessToken(ctx as JobContext<unknown, unknown>, key, SCOPE);
  const base = (ctx.env("GOOGLE_ADS_API_BASE") ?? "https://googleads.googleapis.com").replace(/\/$/, "");
  const version = ctx.env("GOOGLE_ADS_API_VERSION") ?? "v21";
  const res = await ctx.fetch(`${base}/${version}/customers/${customer_id}/googleAds:searchStream`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "developer-token": ctx.credentials.developer_token,
      "content-type": "application/json",
      ...(login_customer_id ? { "login-customer-id": login_customer_id } : {}),
    },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    if (res.ok) throw new Retryable(`Google Ads answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`);
  }
  const error = errorOf(body);
  if (res.ok && !error && Array.isArray(body)) return body as Batch[];
  if (res.ok && !error) throw new Retryable(`Google Ads answered searchStream with something other than an array of batches`);

  const failures = (error?.details ?? []).flatMap((d) => d.errors ?? []);
  const codes = failures.map((f) => Object.entries(f.errorCode ?? {})[0] ?? []);
  const has = (kind: string, values?: string[]) => codes.some(([k, v]) => k === kind && (!values || values.includes(v)));
  const code = codes[0]?.[1];
  const message = failures[0]?.message ?? error?.message ?? (text.slice(0, 200) || res.statusText);
  const said = `${codes[0] ? `${codes[0][0]} ${codes[0][1]}` : error?.status ?? `HTTP ${res.status}`}: ${message}`;

  if (has("quotaError", ["RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"]) || res.status === 429 || error?.status === "RESOURCE_EXHAUSTED") {
    const wait = googleRetryDelay(error) ?? retryAfterSeconds(res.headers.get("retry-after"), 30);
    throw new RateLimited(`Google Ads quota exhausted (${said}); retrying in ${wait} s`, wait);
  }
  const authentication = has("authenticationError") || (res.status === 401 && codes.length === 0);
  if (authentication && !retried && (codes.length === 0 || has("authenticationError", ["OAUTH_TOKEN_EXPIRED", "OAUTH_TOKEN_INVALID"]))) {
    // A cached token can expire early or be dropped upstream: one fresh token before giving up.
    forgetAccessToken(key, SCOPE);
    return await searchStream(ctx, query, true);
  }
  if (authentication) {
    forgetAccessToken(key, SCOPE);
    throw await ctx.reconnect(`Google Ads refused the credentials (${said}). ${refusal(code, ctx)}`);
  }
  if (has("authorizationError") || res.status === 403) {
    throw await ctx.reconnect(`Google Ads denied access to customer ${dashed(customer_id)} (${said}). ${refusal(code, ctx)}`);
  }
  if (res.status >= 500 || has("internalError") || ["UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"].includes(error?.status ?? "")) {
    throw new Retryable(`Google Ads ${res.status} (${said})`);
  }
  throw new Permanent(`Google Ads refused the request (${res.status} ${said})`);
}

function source(ctx: Ctx): AdSource {
  const { customer_id, currency } = ctx.connection.account;
  return {
    provider: "google-ads",
    accountId: customer_id,
    currency: currency ?? null,
    sliceDays: SLICE_DAYS,
    async fetchPage(start, end) {
      const batches = await searchStream(ctx, gaql(start, end));
      const rows: AdRow[] = [];
      for (const batch of batches) {
        for (const r of batch.results ?? []) {
          if (!r.campaign?.id || !r.segments?.date) throw new Retryable("Google Ads sent a result without campaign.id or segments.date");
          // proto3 JSON leaves zero metrics out; int64s come as strings and cost in micros.
          rows.push({
            campaign_id: r.campaign.id,
            campaign_name: r.campaign.name ?? null,
            date: r.segments.date,
            impressions: r.metrics?.impressions ?? 0,
            clicks: r.metrics?.clicks ?? 0,
            spend: Number(r.metrics?.costMicros ?? 0) / 1e6,
            conversions: r.metrics?.conversions ?? 0,
          });
        }
      }
      return { rows, next: null };
    },
  };
}

export const googleAds: Provider<Account, Credentials> = {
  name: "google-ads",
  kinds: AD_KINDS,
  account,
  credentials,
  params: adParams,
  followUp: adFollowUp,
  run: (ctx) => syncAdMetrics(ctx as JobContext<unknown, unknown>, source(ctx)),
};
