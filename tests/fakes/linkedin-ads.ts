/**
 * Fake LinkedIn Marketing API adAnalytics (PROVIDERS.md, LinkedIn):
 * `GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange=...&accounts=List(...)&fields=...`.
 * A tenant is a sponsored ad account id (digits) with its access token.
 *
 * It reads the raw query the way Rest.li 2.0 does, so an adapter that lets the parens
 * of `dateRange=(start:(...),end:(...))` or `List(...)` be percent-encoded, or leaves the
 * URN's colons unencoded, gets LinkedIn's 400. It wants `Authorization: Bearer`,
 * `LinkedIn-Version: YYYYMM` and `X-Restli-Protocol-Version: 2.0.0`, answers only the
 * requested fields, and has no paging: an answer longer than `max_elements` is cut
 * short without a word, as LinkedIn cuts at about 15,000 (the fake's default is
 * LINKEDIN_FAKE_MAX_ELEMENTS, and the test stack tells the adapter the same cut).
 *
 * Seed: `{access_token, campaigns: 3, start, days, max_elements?}`; update:
 * `{days?, restate?, access_token?}`. Errors are `{status, serviceErrorCode, code, message}`:
 * 401 EXPIRED/REVOKED/INVALID_ACCESS_TOKEN, 429 TOO_MANY_REQUESTS with Retry-After,
 * 500 for a server error.
 */
import { AdBook, type AdDay, type AdSpec, tokenTenantTruth, updateTokenTenant } from "./ad-data.ts";
import { type FakeUpstream, hang, requestLog, sleep, Tenants } from "./fake.ts";

/** Small, so a test can reach it with a few campaigns; baseUrls() hands the adapter the same number. */
export const LINKEDIN_FAKE_MAX_ELEMENTS = 100;

interface LinkedInData {
  book: AdBook;
  accessToken: string;
  maxElements: number;
}

const FIELDS = new Set([
  "dateRange",
  "pivotValues",
  "impressions",
  "clicks",
  "costInLocalCurrency",
  "externalWebsiteConversions",
  "costInUsd",
]);

function linkedInError(status: number, code: string, message: string, serviceErrorCode = 100, headers: Record<string, string> = {}) {
  return Response.json({ status, serviceErrorCode, code, message }, { status, headers });
}

const badQuery = (message = "Invalid query parameters passed to request") => linkedInError(400, "ILLEGAL_ARGUMENT", message);

/** The raw `key=value` pairs, not decoded: Rest.li 2.0 decodes inside its own syntax. */
function rawQuery(url: URL): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const part of url.search.replace(/^\?/, "").split("&").filter(Boolean)) {
    const i = part.indexOf("=");
    pairs.set(i < 0 ? part : part.slice(0, i), i < 0 ? "" : part.slice(i + 1));
  }
  return pairs;
}

const DATE = String.raw`\(year:(\d{4}),month:(\d{1,2}),day:(\d{1,2})\)`;
const DATE_RANGE = new RegExp(String.raw`^\(start:${DATE},end:${DATE}\)$`);
const ACCOUNTS = /^List\(urn%3Ali%3AsponsoredAccount%3A(\d+)\)$/;

const iso = (y: string, m: string, d: string) => `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
function restliDate(date: string) {
  const [year, month, day] = date.split("-").map(Number);
  return { year, month, day };
}

function render(day: AdDay, fields: string[]): Record<string, unknown> {
  const full: Record<string, unknown> = {
    dateRange: { start: restliDate(day.date), end: restliDate(day.date) },
    pivotValues: [`urn:li:sponsoredCampaign:${day.campaign_id}`],
    impressions: day.impressions,
    clicks: day.clicks,
    costInLocalCurrency: day.spend.toFixed(2),
    costInUsd: day.spend.toFixed(2),
    externalWebsiteConversions: day.conversions,
  };
  return Object.fromEntries(fields.map((f) => [f, full[f]]));
}

export class LinkedInAdsFake implements FakeUpstream {
  readonly name = "linkedin-ads";
  #tenants = new Tenants<LinkedInData>("linkedin-ads");

  tenant(account: string) {
    return this.#tenants.find(account);
  }

  seed(account: string, spec: AdSpec & { access_token?: string; max_elements?: number }) {
    if (!/^\d+$/.test(account)) throw new Error("a LinkedIn ad account id is digits");
    if (!spec.access_token) throw new Error("seed needs access_token");
    const book = AdBook.fromSpec(account, spec, 9);
    this.#tenants.set(account, { book, accessToken: spec.access_token, maxElements: spec.max_elements ?? LINKEDIN_FAKE_MAX_ELEMENTS });
    return { campaigns: book.campaigns, start: book.start, days: book.days };
  }

  update(account: string, change: AdSpec & { access_token?: string }) {
    return updateTokenTenant(this.#tenants.get(account), change);
  }

  truth(account: string) {
    return tokenTenantTruth(this.#tenants.get(account));
  }

  async handle(req: Request, path: string): Promise<Response> {
    const url = new URL(req.url);
    if (!/^\/rest\/adAnalytics\/?$/.test(path)) return linkedInError(404, "NOT_FOUND", `No virtual resource found`, 0);
    const query = rawQuery(url);
    // Which tenant, read leniently (so a malformed request still lands in its log), then strictly below.
    const account = /sponsoredAccount(?::|%3A)(\d+)/i.exec(decodeURIComponent(query.get("accounts") ?? ""))?.[1] ??
      /sponsoredAccount%3A(\d+)/i.exec(query.get("accounts") ?? "")?.[1];
    const tenant = this.#tenants.find(account);
    if (!tenant) return linkedInError(403, "ACCESS_DENIED", "Not enough permissions to access: adAnalytics.GET.20251101");
    tenant.requests.push({ ...requestLog(req, path), query: Object.fromEntries(query) });
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return linkedInError(429, "TOO_MANY_REQUESTS", "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.", 101, {
        "retry-after": String(fault.retry_after_s ?? 1),
      });
    }
    if (fault?.kind === "server-error") return linkedInError(fault.status ?? 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", 0);
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "expired-token") {
      return linkedInError(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602);
    }

    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/)?.[1];
    if (!token) return linkedInError(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2 access token", 65604);
    if (tenant.revoked) {
      return linkedInError(401, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user", 65601);
    }
    if (token !== tenant.data.accessToken) return linkedInError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600);

    const version = req.headers.get("linkedin-version");
    if (!version) {
      return linkedInError(400, "VERSION_MISSING", "A version must be present. Please specify a version by adding the LinkedIn-Version header.");
    }
    if (!/^\d{6}$/.test(version)) return linkedInError(400, "INVALID_VERSION", `Invalid version ${version}: use YYYYMM`);
    if (req.headers.get("x-restli-protocol-version") !== "2.0.0") return badQuery();

    if (query.get("q") !== "analytics") return badQuery("Invalid value for param: q");
    if (query.get("pivot") !== "CAMPAIGN") return badQuery("Invalid value for param: pivot (this fake serves CAMPAIGN)");
    if (query.get("timeGranularity") !== "DAILY") return badQuery("Invalid value for param: timeGranularity (this fake serves DAILY)");
    const range = DATE_RANGE.exec(query.get("dateRange") ?? "");
    if (!range) return badQuery();
    if (!ACCOUNTS.test(query.get("accounts") ?? "")) return badQuery();
    const fields = decodeURIComponent(query.get("fields") ?? "").split(",").filter(Boolean);
    const unknown = fields.find((f) => !FIELDS.has(f));
    if (unknown) return badQuery(`Invalid field ${unknown} in fields`);
    const start = iso(range[1], range[2], range[3]);
    const end = iso(range[4], range[5], range[6]);
    if (start > end) return badQuery("dateRange start is after end");

    const { rows } = tenant.data.book.page(start, end, 0, tenant.data.maxElements);
    const elements = rows.map((d) => render(d, fields.length ? fields : ["dateRange", "pivotValues", "impressions", "clicks"]));
    return Response.json({ paging: { start: 0, count: 10, links: [] }, elements });
  }
}
