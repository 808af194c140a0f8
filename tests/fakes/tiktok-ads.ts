/**
 * Fake TikTok Business API integrated report (PROVIDERS.md, TikTok):
 * `GET /open_api/v1.3/report/integrated/get/` with the `Access-Token` header. A tenant
 * is an advertiser id (digits) with its access token. A BASIC, AUCTION_CAMPAIGN report
 * by `["campaign_id","stat_time_day"]`, metrics as strings, paged by page/page_size
 * with page_info.total_page.
 *
 * Like TikTok, every answer is HTTP 200 `{code, message, request_id, data}` and errors
 * are a `code` other than 0: 40002 for a bad or missing parameter (including a range of
 * more than 30 days), 40104 for no token, 40105 for a wrong, expired or revoked one,
 * 40001 for an advertiser the token may not read, 40100 for a rate limit (with a
 * Retry-After header from `retry_after_s`, so tests wait a second), 50000 for a server
 * error (or the HTTP `status` a fault names).
 *
 * Seed: `{access_token, campaigns: 3, start, days, page_size?}` (page_size caps the
 * page_size asked for); update: `{days?, restate?, access_token?}`.
 */
import { AdBook, type AdDay, type AdSpec, tokenTenantTruth, updateTokenTenant } from "./ad-data.ts";
import { type FakeUpstream, hang, requestLog, sleep, Tenants } from "./fake.ts";

interface TikTokData {
  book: AdBook;
  accessToken: string;
  pageSize: number;
}

const METRICS = new Set(["spend", "impressions", "clicks", "conversion", "campaign_name", "ctr", "cpc"]);
const MAX_DAYS = 30;

let requestNo = 0;
const requestId = () => `2026${String(Date.now()).slice(-9)}${String(++requestNo).padStart(6, "0")}`;

function answer(code: number, message: string, data: unknown = {}, headers: Record<string, string> = {}, status = 200) {
  return Response.json({ code, message, request_id: requestId(), data }, { status, headers });
}

const badParam = (message: string) => answer(40002, message);

function render(day: AdDay, metrics: string[]) {
  const full: Record<string, string> = {
    spend: day.spend.toFixed(2),
    impressions: String(day.impressions),
    clicks: String(day.clicks),
    conversion: String(day.conversions),
    campaign_name: day.campaign_name,
    ctr: (day.clicks / day.impressions * 100).toFixed(2),
    cpc: day.clicks ? (day.spend / day.clicks).toFixed(2) : "0.00",
  };
  return {
    dimensions: { campaign_id: day.campaign_id, stat_time_day: `${day.date} 00:00:00` },
    metrics: Object.fromEntries(metrics.map((m) => [m, full[m]])),
  };
}

function jsonArray(value: string | null): string[] | null {
  try {
    const parsed = JSON.parse(value ?? "");
    return Array.isArray(parsed) && parsed.every((v) => typeof v === "string") ? parsed : null;
  } catch {
    return null;
  }
}

export class TikTokAdsFake implements FakeUpstream {
  readonly name = "tiktok-ads";
  #tenants = new Tenants<TikTokData>("tiktok-ads");

  tenant(advertiser: string) {
    return this.#tenants.find(advertiser);
  }

  seed(advertiser: string, spec: AdSpec & { access_token?: string; page_size?: number }) {
    if (!/^\d+$/.test(advertiser)) throw new Error("a TikTok advertiser id is digits");
    if (!spec.access_token) throw new Error("seed needs access_token");
    const book = AdBook.fromSpec(advertiser, spec, 19);
    this.#tenants.set(advertiser, { book, accessToken: spec.access_token, pageSize: spec.page_size ?? 1000 });
    return { campaigns: book.campaigns, start: book.start, days: book.days };
  }

  update(advertiser: string, change: AdSpec & { access_token?: string }) {
    return updateTokenTenant(this.#tenants.get(advertiser), change);
  }

  truth(advertiser: string) {
    return tokenTenantTruth(this.#tenants.get(advertiser));
  }

  async handle(req: Request, path: string): Promise<Response> {
    if (!/^\/open_api\/v1\.3\/report\/integrated\/get\/?$/.test(path)) return answer(40400, `No such API: ${path}`, {}, {}, 404);
    const q = new URL(req.url).searchParams;
    const advertiser = q.get("advertiser_id");
    if (!advertiser) return badParam("advertiser_id: Missing data for required field.");
    const tenant = this.#tenants.find(advertiser);
    if (!tenant) return answer(40001, `No permission to operate advertiser ${advertiser}, or it does not exist.`);
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return answer(40100, "Too many requests. Please retry in some time.", {}, { "retry-after": String(fault.retry_after_s ?? 1) });
    }
    if (fault?.kind === "server-error") {
      return fault.status ? answer(50000, "Internal error", {}, {}, fault.status) : answer(50000, "System error. Please try again later.");
    }
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "expired-token") return answer(40105, "Access token has expired. Please re-authorize.");

    const token = req.headers.get("access-token");
    if (!token) return answer(40104, "Access token is null, please check the request header.");
    if (tenant.revoked || token !== tenant.data.accessToken) return answer(40105, "Access token is incorrect or has been revoked.");

    if (q.get("report_type") !== "BASIC") return badParam("report_type: Missing data for required field, or not BASIC.");
    if (q.get("data_level") !== "AUCTION_CAMPAIGN") return badParam("data_level: this fake serves AUCTION_CAMPAIGN.");
    const dimensions = jsonArray(q.get("dimensions"));
    if (!dimensions) return badParam("dimensions: Missing data for required field, or not a JSON array.");
    if (dimensions.length !== 2 || !dimensions.includes("campaign_id") || !dimensions.includes("stat_time_day")) {
      return badParam('dimensions: this fake serves ["campaign_id","stat_time_day"].');
    }
    const metrics = jsonArray(q.get("metrics"));
    if (!metrics || metrics.length === 0) return badParam("metrics: Missing data for required field, or not a JSON array.");
    const unknown = metrics.find((m) => !METRICS.has(m));
    if (unknown) return badParam(`metrics: Invalid metric ${unknown}.`);
    const start = q.get("start_date") ?? "";
    const end = q.get("end_date") ?? "";
    const date = /^\d{4}-\d{2}-\d{2}$/;
    if (!date.test(start)) return badParam("start_date: Missing data for required field, or not YYYY-MM-DD.");
    if (!date.test(end)) return badParam("end_date: Missing data for required field, or not YYYY-MM-DD.");
    if (start > end) return badParam("start_date must not be after end_date.");
    const days = Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000) + 1;
    if (days > MAX_DAYS) return badParam(`The time span between start_date and end_date can not exceed ${MAX_DAYS} days.`);
    const page = Number(q.get("page") ?? 1);
    const asked = Number(q.get("page_size") ?? 10);
    if (!Number.isInteger(page) || page < 1) return badParam("page: Must be greater than or equal to 1.");
    if (!Number.isInteger(asked) || asked < 1 || asked > 1000) return badParam("page_size: Must be between 1 and 1000.");

    const size = Math.min(asked, tenant.data.pageSize);
    const { rows, total } = tenant.data.book.page(start, end, (page - 1) * size, size);
    const list = rows.map((d) => render(d, metrics));
    return answer(0, "OK", { list, page_info: { page, page_size: size, total_number: total, total_page: Math.ceil(total / size) } });
  }
}
