/**
 * Fake Marketing API Insights (PROVIDERS.md, Meta): `GET /v<N>.0/act_<id>/insights`. A
 * tenant is an ad account id (digits) with its access token. Answers campaign-level,
 * daily rows with metrics as strings and conversions inside `actions`, paged by base64
 * `after` cursors with a `next` URL that carries the access token (as Meta's does).
 *
 * Seed: `{access_token, campaigns: 3, start: "2026-10-01", days: 10, page_size?, max_days?}`.
 * `page_size` caps `limit`; a time_range longer than `max_days` gets Meta's "too much
 * data" error (code 100, subcode 1487534). Update: `{days?, restate?, access_token?}`
 * (a new token also lifts a revocation).
 *
 * Errors are Meta's `{"error": {message, type, code, error_subcode, fbtrace_id}}`:
 * a missing token is code 104, a wrong one 190, a revoked one 190/460, an expired one
 * 190/463, a rate limit (`code`: 4, 17, 613 or 80004, default 80004) carries
 * X-Business-Use-Case-Usage with estimated_time_to_regain_access in whole minutes:
 * `retry_after_s` of 60 or more is rounded up to minutes, and a shorter one is sent as
 * 0 minutes plus a Retry-After header so tests can wait a second. A server error is
 * code 2 (is_transient) with HTTP 500.
 */
import { AdBook, type AdDay, type AdSpec, tokenTenantTruth, updateTokenTenant } from "./ad-data.ts";
import { dateRange, type Fault, type FakeUpstream, hang, hashInt, requestLog, sleep, Tenants } from "./fake.ts";

interface MetaData {
  book: AdBook;
  accessToken: string;
  pageSize: number;
  maxDays: number | null;
}

const FIELDS = new Set(["campaign_id", "campaign_name", "impressions", "clicks", "spend", "actions", "date_start", "date_stop"]);
/** How the fake splits a day's conversions over action types, plus actions that are not conversions. */
const CONVERSION_TYPES = ["purchase", "lead", "complete_registration"];

const trace = (seed: string) => `A${hashInt(seed, 1e9).toString(36)}${hashInt(`${seed}#`, 1e9).toString(36)}`;

function metaError(status: number, error: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { type: "OAuthException", ...error, fbtrace_id: trace(String(Date.now())) } }, { status, headers });
}

function actions(day: AdDay) {
  // Conversions spread over the three default types; link clicks and video views are not conversions.
  const out: { action_type: string; value: string }[] = [];
  let left = day.conversions;
  CONVERSION_TYPES.forEach((type, i) => {
    const n = i === CONVERSION_TYPES.length - 1 ? left : Math.floor(left / 2);
    left -= n;
    if (n > 0) out.push({ action_type: type, value: String(n) });
  });
  out.push({ action_type: "link_click", value: String(day.clicks) });
  out.push({ action_type: "video_view", value: String(Math.floor(day.impressions / 3)) });
  return out;
}

function render(day: AdDay, fields: string[]): Record<string, unknown> {
  // The asked-for fields in the order asked, then the row's dates, which Meta always adds.
  const row: Record<string, unknown> = {};
  for (const f of fields) {
    if (f === "campaign_id") row.campaign_id = day.campaign_id;
    else if (f === "campaign_name") row.campaign_name = day.campaign_name;
    else if (f === "impressions") row.impressions = String(day.impressions);
    else if (f === "clicks") row.clicks = String(day.clicks);
    // Meta drops trailing zeros: "5339.5", "12"
    else if (f === "spend") row.spend = String(day.spend);
    else if (f === "actions") row.actions = actions(day);
  }
  row.date_start = day.date;
  row.date_stop = day.date;
  return row;
}

const encodeCursor = (offset: number) => btoa(`offset:${offset}`).replace(/=+$/, "");
function decodeCursor(cursor: string): number | null {
  try {
    const m = /^offset:(\d+)$/.exec(atob(cursor + "=".repeat((4 - (cursor.length % 4)) % 4)));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function rateLimited(fault: Fault, account: string): Response {
  const seconds = fault.retry_after_s ?? 1;
  const minutes = seconds >= 60 ? Math.ceil(seconds / 60) : 0;
  const code = Number((fault as { code?: number }).code ?? 80004);
  const messages: Record<number, string> = {
    4: "Application request limit reached",
    17: "User request limit reached",
    613: "Calls to this api have exceeded the rate limit.",
    80004: "There have been too many calls to this ad-account. Wait a bit and try again.",
  };
  const usage = {
    [account]: [{ type: "ads_insights", call_count: 100, total_cputime: 30, total_time: 40, estimated_time_to_regain_access: minutes }],
  };
  const headers: Record<string, string> = { "x-business-use-case-usage": JSON.stringify(usage) };
  if (minutes === 0) headers["retry-after"] = String(seconds);
  return metaError(400, { message: messages[code] ?? "Rate limit reached", code, error_subcode: code === 80004 ? 2446079 : undefined, is_transient: true }, headers);
}

export class MetaAdsFake implements FakeUpstream {
  readonly name = "meta-ads";
  #tenants = new Tenants<MetaData>("meta-ads");

  tenant(account: string) {
    return this.#tenants.find(account);
  }

  seed(account: string, spec: AdSpec & { access_token?: string; page_size?: number; max_days?: number }) {
    if (!/^\d+$/.test(account)) throw new Error("a Meta ad account id is digits (without act_)");
    if (!spec.access_token) throw new Error("seed needs access_token");
    const book = AdBook.fromSpec(account, spec, 17);
    this.#tenants.set(account, { book, accessToken: spec.access_token, pageSize: spec.page_size ?? 500, maxDays: spec.max_days ?? null });
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
    const q = url.searchParams;
    const m = /^\/(v\d+\.\d+)\/act_([^/]+)\/insights\/?$/.exec(path);
    if (!m) {
      return metaError(400, { message: `Unknown path components: ${path}`, code: 2500 });
    }
    const account = m[2];
    const tenant = this.#tenants.find(account);
    if (!tenant) {
      return metaError(400, {
        message: `Unsupported get request. Object with ID 'act_${account}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        code: 100,
        error_subcode: 33,
      });
    }
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") return rateLimited(fault, account);
    if (fault?.kind === "server-error") {
      return metaError(fault.status ?? 500, { message: "An unexpected error has occurred. Please retry your request later.", code: 2, is_transient: true });
    }
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "expired-token") {
      return metaError(400, {
        message: "Error validating access token: Session has expired on Sunday, 22-Nov-26 08:00:00 PST.",
        code: 190,
        error_subcode: 463,
      });
    }

    const token = q.get("access_token") ?? req.headers.get("authorization")?.replace(/^Bearer\s+/i, "");
    if (!token) return metaError(400, { message: "An access token is required to request this resource.", code: 104 });
    if (tenant.revoked) {
      return metaError(400, {
        message: "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        code: 190,
        error_subcode: 460,
      });
    }
    if (token !== tenant.data.accessToken) {
      return metaError(400, { message: "Invalid OAuth access token - Cannot parse access token", code: 190 });
    }

    const bad = (message: string) => metaError(400, { message: `(#100) ${message}`, code: 100 });
    if (q.get("level") !== "campaign") return bad("level must be one of: ad, adset, campaign, account (this fake serves campaign)");
    if (q.get("time_increment") !== "1") return bad("time_increment must be 1 (daily rows) in this fake");
    const fields = (q.get("fields") ?? "").split(",").filter(Boolean);
    const unknown = fields.find((f) => !FIELDS.has(f));
    if (unknown) return bad(`${unknown} is not valid for fields param.`);
    if (!fields.includes("campaign_id")) return bad("fields must include campaign_id");
    let range: { since?: string; until?: string };
    try {
      range = JSON.parse(q.get("time_range") ?? "");
    } catch {
      return bad("param time_range must be a JSON object with since and until");
    }
    const date = /^\d{4}-\d{2}-\d{2}$/;
    if (!range || !date.test(range.since ?? "") || !date.test(range.until ?? "") || range.since! > range.until!) {
      return bad("param time_range must be a JSON object with since and until, since not after until");
    }
    const limit = Number(q.get("limit") ?? 25);
    if (!Number.isInteger(limit) || limit < 1) return bad("param limit must be a positive integer");

    const data = tenant.data;
    const days = dateRange(range.since!, 1 + Math.round((Date.parse(range.until!) - Date.parse(range.since!)) / 86_400_000)).length;
    if (data.maxDays !== null && days > data.maxDays) {
      return metaError(400, {
        message: "Please reduce the amount of data you're asking for, then retry your request",
        code: 100,
        error_subcode: 1487534,
        error_user_title: "Too much data requested",
      });
    }

    let offset = 0;
    const after = q.get("after");
    if (after !== null) {
      const decoded = decodeCursor(after);
      if (decoded === null) return bad("The after cursor is invalid");
      offset = decoded;
    }
    const { rows: page, total } = data.book.page(range.since!, range.until!, offset, Math.min(limit, data.pageSize));
    const end = offset + page.length;
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(offset), after: encodeCursor(end) } };
    if (end < total) {
      // Like Meta: the full request again with `after`, access token included.
      const next = new URL(url);
      next.searchParams.set("after", encodeCursor(end));
      paging.next = next.toString();
    }
    return Response.json({ data: page.map((d) => render(d, fields)), paging });
  }
}
