/**
 * Fake Google Ads API searchStream (PROVIDERS.md, Google Ads). A tenant is a customer
 * id (10 digits). Requests need a `developer-token` header (the seeded one) and a bearer
 * token the google-oauth fake issued for the adwords scope to a service account with
 * access to the customer; a customer managed through a manager account also needs
 * `login-customer-id` set to it.
 *
 *   POST /v<N>/customers/<customer id>/googleAds:searchStream  {"query": "<GAQL>"}
 *
 * The dates are read from the GAQL's `segments.date BETWEEN 'A' AND 'B'`. The answer is
 * a JSON array of batches of `batch_size` results: camelCase keys, int64 as strings,
 * cost in micros, zero metrics left out (proto3 JSON). Errors come array-wrapped with a
 * GoogleAdsFailure in details; quota errors carry a RetryInfo retryDelay.
 *
 * Metrics are deterministic per customer, campaign and day (and a `revision` per day,
 * so an update can restate recent days as conversions arrive late): the fake holds
 * nothing but the seed.
 */
import type { GoogleOAuthFake } from "./google-oauth.ts";
import { dateRange, type FakeUpstream, hang, hashInt, requestLog, sleep, Tenants } from "./fake.ts";

const SCOPE = "https://www.googleapis.com/auth/adwords";
const DAY_MS = 86_400_000;

interface Campaign {
  id: string;
  name: string;
}

interface AdsData {
  campaigns: Campaign[];
  start: string;
  end: string;
  /** Bumped per day by an update: the day's metrics are restated. */
  revisions: Record<string, number>;
  batchSize: number;
  developerToken: string;
  /** Service accounts with access to the customer (any issued token when empty). */
  users: string[];
  manager: string | null;
  /** The developer token is only approved for test accounts: every request is refused. */
  tokenNotApproved: boolean;
}

interface Metrics {
  impressions: number;
  clicks: number;
  cost_micros: number;
  conversions: number;
}

const today = () => new Date().toISOString().slice(0, 10);
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
const daysIn = (start: string, end: string) => Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / DAY_MS) + 1);

function metrics(customer: string, campaign: string, date: string, revision: number): Metrics | null {
  const seed = `${customer}/${campaign}/${date}/${revision}`;
  // Some campaign-days had no traffic: GAQL leaves those rows out altogether.
  if (hashInt(`${seed}/skip`, 9) === 0) return null;
  const impressions = 50 + hashInt(`${seed}/i`, 5_000);
  const clicks = hashInt(`${seed}/c`, Math.floor(impressions / 8) + 1);
  const cpcMicros = 10_000 * (5 + hashInt(`${seed}/cpc`, 200));
  const conversions = hashInt(`${seed}/v`, Math.floor(clicks / 4) + 1) + (hashInt(`${seed}/h`, 2) ? 0.5 : 0);
  return { impressions, clicks, cost_micros: clicks * cpcMicros, conversions: clicks ? conversions : 0 };
}

/** A Google API error as searchStream sends it: wrapped in an array, details holding a GoogleAdsFailure. */
function adsError(
  code: number,
  status: string,
  message: string,
  errorCode: Record<string, string>,
  extra: Record<string, unknown>[] = [],
  headers: Record<string, string> = {},
): Response {
  const requestId = crypto.randomUUID().replaceAll("-", "").slice(0, 22);
  return Response.json([{
    error: {
      code,
      message,
      status,
      details: [
        {
          "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
          errors: [{ errorCode, message: errorMessage(errorCode, message) }],
          requestId,
        },
        ...extra,
      ],
    },
  }], { status: code, headers });
}

function errorMessage(errorCode: Record<string, string>, fallback: string): string {
  const value = Object.values(errorCode)[0];
  const known: Record<string, string> = {
    RESOURCE_EXHAUSTED: "Too many requests. Retry in the time given by retryDelay.",
    RESOURCE_TEMPORARILY_EXHAUSTED: "Too many requests in a short time. Retry in the time given by retryDelay.",
    USER_PERMISSION_DENIED: "User doesn't have permission to access customer. Note: If you're accessing a client customer, " +
      "the manager's customer id must be set in the 'login-customer-id' header.",
    DEVELOPER_TOKEN_NOT_APPROVED: "The developer token is only approved for use with test accounts. " +
      "To access non-test accounts, apply for Basic or Standard access.",
    DEVELOPER_TOKEN_INVALID: "The developer token is not valid.",
    OAUTH_TOKEN_INVALID: "OAuth token in the header is not valid.",
    OAUTH_TOKEN_EXPIRED: "OAuth token in the header has expired.",
  };
  return known[value] ?? fallback;
}

export class GoogleAdsFake implements FakeUpstream {
  readonly name = "google-ads";
  #tenants = new Tenants<AdsData>("google-ads");

  constructor(private readonly oauth: GoogleOAuthFake) {}

  tenant(customer: string) {
    return this.#tenants.find(customer);
  }

  /**
   * `{campaigns: N | [{id, name}], start?: date, days?: N (through yesterday by default),
   * end?: date, batch_size?, developer_token, users?: [client_email], manager?: customer id,
   * token_not_approved?}`
   */
  seed(customer: string, spec: Record<string, any>) {
    if (!/^\d{10}$/.test(customer)) throw new Error("a google-ads tenant is a 10-digit customer id");
    if (!spec.developer_token) throw new Error("seed google-ads with the developer_token it accepts");
    const campaigns: Campaign[] = Array.isArray(spec.campaigns)
      ? spec.campaigns.map((c: Campaign) => ({ id: String(c.id), name: c.name }))
      : Array.from({ length: spec.campaigns ?? 3 }, (_, i) => {
        const id = String(20_000_000_000 + hashInt(`${customer}/${i}`, 1_000_000) * 10 + i);
        return { id, name: `Campaign ${i + 1} (${["Search", "Display", "Video", "Shopping"][i % 4]})` };
      });
    const end = spec.end ?? addDays(today(), -1);
    const start = spec.start ?? addDays(end, 1 - (spec.days ?? 10));
    this.#tenants.set(customer, {
      campaigns,
      start,
      end,
      revisions: {},
      batchSize: spec.batch_size ?? 10_000,
      developerToken: spec.developer_token,
      users: spec.users ?? [],
      manager: spec.manager ?? null,
      tokenNotApproved: spec.token_not_approved ?? false,
    });
    return { campaigns, start, end };
  }

  /**
   * `{end?: date}` new days up to it; `{restate?: [date, ...]}` those days' metrics change
   * (late conversions); `{rename?: {campaign_id: name}}`; `{users?: [client_email]}` who has access.
   */
  update(customer: string, change: Record<string, any>) {
    const data = this.#tenants.get(customer).data;
    if (change.end) data.end = change.end;
    if (change.users) data.users = change.users;
    for (const date of change.restate ?? []) data.revisions[date] = (data.revisions[date] ?? 0) + 1;
    for (const [id, name] of Object.entries(change.rename ?? {})) {
      const campaign = data.campaigns.find((c) => c.id === id);
      if (campaign) campaign.name = name as string;
    }
    return { start: data.start, end: data.end };
  }

  #rows(customer: string, data: AdsData, from: string, to: string) {
    const start = from > data.start ? from : data.start;
    const end = to < data.end ? to : data.end;
    const rows: { campaign: Campaign; date: string; m: Metrics }[] = [];
    for (const date of dateRange(start, daysIn(start, end))) {
      for (const campaign of data.campaigns) {
        const m = metrics(customer, campaign.id, date, data.revisions[date] ?? 0);
        if (m) rows.push({ campaign, date, m });
      }
    }
    return rows;
  }

  /** Every campaign-day in plain units (spend in currency, not micros), by date then campaign. */
  truth(customer: string) {
    const data = this.#tenants.get(customer).data;
    return this.#rows(customer, data, data.start, data.end).map(({ campaign, date, m }) => ({
      campaign_id: campaign.id,
      campaign_name: campaign.name,
      date,
      impressions: m.impressions,
      clicks: m.clicks,
      spend: m.cost_micros / 1e6,
      conversions: m.conversions,
    }));
  }

  async handle(req: Request, path: string): Promise<Response> {
    const match = /^\/v(\d+)\/customers\/([^/]+)\/googleAds:searchStream$/.exec(path);
    if (!match || req.method !== "POST") {
      return Response.json({ error: { code: 404, message: `no such method: ${req.method} ${path}`, status: "NOT_FOUND" } }, { status: 404 });
    }
    const customer = match[2];
    const tenant = this.#tenants.find(customer);
    if (!tenant) {
      return adsError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", {
        authenticationError: "CUSTOMER_NOT_FOUND",
      });
    }
    const body = await req.json().catch(() => ({})) as { query?: string };
    tenant.requests.push({
      ...requestLog(req, path, body),
      // The login-customer-id a test checks; never the tokens.
      headers: { "login-customer-id": req.headers.get("login-customer-id") },
    } as ReturnType<typeof requestLog>);
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const data = tenant.data;
    if (req.headers.get("developer-token") !== data.developerToken) {
      return adsError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", {
        authenticationError: "DEVELOPER_TOKEN_INVALID",
      });
    }
    const who = this.oauth.bearer(req, [SCOPE]);
    if ("error" in who) {
      return who.error === "insufficient_scope"
        ? adsError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", { authorizationError: "ACTION_NOT_PERMITTED" })
        : adsError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", {
          authenticationError: "OAUTH_TOKEN_INVALID",
        });
    }

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      const delay = `${fault.retry_after_s ?? 1}s`;
      return adsError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", { quotaError: "RESOURCE_EXHAUSTED" }, [
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: delay },
      ]);
    }
    if (fault?.kind === "server-error") {
      return (fault.status ?? 503) === 500
        ? adsError(500, "INTERNAL", "Internal error encountered.", { internalError: "INTERNAL_ERROR" })
        : adsError(fault.status ?? 503, "UNAVAILABLE", "The service is currently unavailable.", { internalError: "TRANSIENT_ERROR" });
    }
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "expired-token") {
      this.oauth.expire(req);
      return adsError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", {
        authenticationError: "OAUTH_TOKEN_EXPIRED",
      });
    }
    if (fault?.kind === "revoked") {
      return adsError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", {
        authenticationError: "OAUTH_TOKEN_REVOKED",
      });
    }

    if (data.tokenNotApproved) {
      return adsError(403, "PERMISSION_DENIED", "The caller does not have permission", { authorizationError: "DEVELOPER_TOKEN_NOT_APPROVED" });
    }
    const loginCustomer = req.headers.get("login-customer-id");
    if ((data.users.length > 0 && !data.users.includes(who.email)) || (data.manager && loginCustomer !== data.manager)) {
      return adsError(403, "PERMISSION_DENIED", "The caller does not have permission", { authorizationError: "USER_PERMISSION_DENIED" });
    }

    const query = body.query ?? "";
    const between = /segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'/i.exec(query);
    if (!/\bFROM\s+campaign\b/i.test(query) || !between) {
      return adsError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", { queryError: "UNEXPECTED_END_OF_QUERY" });
    }
    const rows = this.#rows(customer, data, between[1], between[2]);
    const fieldMask = "campaign.id,campaign.name,segments.date,metrics.impressions,metrics.clicks,metrics.costMicros,metrics.conversions";
    const requestId = crypto.randomUUID().replaceAll("-", "").slice(0, 22);
    const results = rows.map(({ campaign, date, m }) => ({
      campaign: { resourceName: `customers/${customer}/campaigns/${campaign.id}`, id: campaign.id, name: campaign.name },
      // proto3 JSON: int64 as strings, and zero values left out.
      metrics: Object.fromEntries(Object.entries({
        impressions: m.impressions ? String(m.impressions) : undefined,
        clicks: m.clicks ? String(m.clicks) : undefined,
        costMicros: m.cost_micros ? String(m.cost_micros) : undefined,
        conversions: m.conversions || undefined,
      }).filter(([, v]) => v !== undefined)),
      segments: { date },
    }));
    const batches = [];
    for (let i = 0; i < results.length; i += data.batchSize) {
      batches.push({ results: results.slice(i, i + data.batchSize), fieldMask, requestId });
    }
    // Nothing to report is still one batch, without results.
    if (batches.length === 0) batches.push({ fieldMask, requestId });
    return Response.json(batches);
  }
}
