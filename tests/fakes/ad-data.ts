/**
 * Deterministic ad metrics for the ad-platform fakes (Google, Meta, LinkedIn, TikTok):
 * the same tenant, campaign and date always give the same impressions, clicks, spend and
 * conversions, so a fake needs no stored data beyond which days exist and which were
 * restated. Values are in plain units (spend in the account's currency with two
 * decimals, conversions whole): each fake renders them in its own dialect (micros,
 * decimal strings, action lists) and `truth` hands them back as they are.
 *
 *   const book = AdBook.fromSpec(tenant, {campaigns: 3, start: "2026-10-01", days: 10});
 *   book.update({days: 2});                  // two new days after the last one
 *   book.update({restate: ["2026-10-09"]});  // late conversions: those days change
 *   book.rows("2026-10-01", "2026-10-07");   // what the API answers for a range
 *   book.truth();                            // every campaign-day, sorted
 */
import { dateRange, fnv, hashInt, type Tenant } from "./fake.ts";

export interface AdCampaign {
  id: string;
  name: string;
}

export interface AdMetrics {
  impressions: number;
  clicks: number;
  /** In the account's currency, two decimals. */
  spend: number;
  conversions: number;
}

export interface AdDay extends AdMetrics {
  campaign_id: string;
  campaign_name: string;
  date: string;
}

/** `count` distinct numeric campaign ids of `digits` digits (platforms differ: Meta 17, LinkedIn 9). */
export function adCampaigns(tenant: string, count: number, digits = 12): AdCampaign[] {
  if (digits < 6) throw new Error("campaign ids need at least 6 digits");
  const lead = String(1 + hashInt(`${tenant}/lead`, 9));
  const middle = Array.from({ length: digits - 4 }, (_, k) => hashInt(`${tenant}/ids/${k}`, 10)).join("");
  return Array.from({ length: count }, (_, i) => ({ id: `${lead}${middle}${String(i + 1).padStart(3, "0")}`, name: `Campaign ${i + 1}` }));
}

/** One campaign's metrics on one day; a restated day (version > 0) has different numbers. */
export function adMetrics(tenant: string, campaignId: string, date: string, version = 0): AdMetrics {
  // hashInt(`${key}/i`, n) and so on, with the key hashed once (see fnv).
  const key = fnv(`${tenant}/${campaignId}/${date}/${version}`);
  const hash = (suffix: string, max: number) => (fnv(suffix, key) >>> 0) % max;
  const impressions = 200 + hash("/i", 5000);
  const clicks = Math.floor((impressions * (1 + hash("/c", 8))) / 100);
  const cents = clicks * (15 + hash("/s", 300));
  const conversions = hash("/v", Math.floor(clicks / 4) + 1);
  return { impressions, clicks, spend: cents / 100, conversions };
}

/** Every campaign-day of `days` days from `start`, sorted by date then campaign. */
export function adTruth(tenant: string, campaigns: number | AdCampaign[], start: string, days: number): AdDay[] {
  const list = typeof campaigns === "number" ? adCampaigns(tenant, campaigns) : campaigns;
  return dateRange(start, days).flatMap((date) =>
    list.map((c) => ({ campaign_id: c.id, campaign_name: c.name, date, ...adMetrics(tenant, c.id, date) }))
  );
}

/** Per-campaign sums of campaign-days, as synced.ad_campaign_totals holds them. */
export function adTotals(rows: AdDay[]) {
  const totals = new Map<string, { campaign_id: string; days: number } & AdMetrics>();
  for (const r of rows) {
    const t = totals.get(r.campaign_id) ?? { campaign_id: r.campaign_id, days: 0, impressions: 0, clicks: 0, spend: 0, conversions: 0 };
    t.days++;
    t.impressions += r.impressions;
    t.clicks += r.clicks;
    t.spend = Math.round((t.spend + r.spend) * 100) / 100;
    t.conversions += r.conversions;
    totals.set(r.campaign_id, t);
  }
  return [...totals.values()].sort((a, b) => a.campaign_id.localeCompare(b.campaign_id));
}

/** What a seed or update may say (other keys are the fake's own). */
export interface AdSpec {
  /** How many campaigns, or their ids. */
  campaigns?: number | string[];
  /** The first day with data (YYYY-MM-DD). */
  start?: string;
  /** How many days from `start` have data (seed), or how many new days follow the last (update). */
  days?: number;
  /** Days whose numbers change (update): conversions arrive late, platforms restate. */
  restate?: string[];
}

/** One tenant's campaigns and the days they have data for. */
export class AdBook {
  /** How often each day was restated (absent: never). */
  #versions = new Map<string, number>();
  /** `dates`, made once per change of `days` (every page asks for them). */
  #dates: { days: number; start: string; list: string[] } | null = null;

  constructor(readonly tenant: string, readonly campaigns: AdCampaign[], public start: string, public days: number) {}

  static fromSpec(tenant: string, spec: AdSpec, idDigits = 12): AdBook {
    if (!spec.start || !/^\d{4}-\d{2}-\d{2}$/.test(spec.start)) throw new Error("seed needs start: YYYY-MM-DD");
    const campaigns = Array.isArray(spec.campaigns)
      ? spec.campaigns.map((id, i) => ({ id: String(id), name: `Campaign ${i + 1}` }))
      : adCampaigns(tenant, spec.campaigns ?? 3, idDigits);
    return new AdBook(tenant, campaigns, spec.start, spec.days ?? 7);
  }

  get dates(): string[] {
    if (this.#dates?.days !== this.days || this.#dates.start !== this.start) {
      this.#dates = { days: this.days, start: this.start, list: dateRange(this.start, this.days) };
    }
    return this.#dates.list;
  }

  /** New days after the last one, and/or restated days. Returns the range the book now covers. */
  update(change: AdSpec) {
    if (change.days) this.days += change.days;
    for (const date of change.restate ?? []) this.#versions.set(date, (this.#versions.get(date) ?? 0) + 1);
    return { start: this.start, end: this.dates.at(-1) ?? null, days: this.days };
  }

  /** The campaign-days from `start` to `end` (both included) that have data, by date then campaign. */
  rows(start: string, end: string): AdDay[] {
    return this.page(start, end, 0, Infinity).rows;
  }

  /**
   * `size` of those campaign-days from `offset` on, and how many there are in all.
   * Only the page's rows are computed: a paging fake that built the whole range for
   * every page spent more CPU than the sync it served (the benchmark runs both on one
   * machine).
   */
  page(start: string, end: string, offset: number, size: number): { rows: AdDay[]; total: number } {
    const dates = this.dates.filter((d) => d >= start && d <= end);
    const total = dates.length * this.campaigns.length;
    const rows: AdDay[] = [];
    for (let i = offset; i < Math.min(total, offset + size); i++) {
      const date = dates[Math.floor(i / this.campaigns.length)];
      const c = this.campaigns[i % this.campaigns.length];
      rows.push({ campaign_id: c.id, campaign_name: c.name, date, ...adMetrics(this.tenant, c.id, date, this.#versions.get(date) ?? 0) });
    }
    return { rows, total };
  }

  truth(): AdDay[] {
    const dates = this.dates;
    return dates.length ? this.rows(dates[0], dates.at(-1)!) : [];
  }
}

/** What the ad fakes that take an access token (Meta, LinkedIn, TikTok) keep per tenant, at the least. */
export interface TokenAdData {
  book: AdBook;
  accessToken: string;
}

/** Their `update`: new or restated days, and a new access token, which lifts a revocation. */
export function updateTokenTenant(tenant: Tenant<TokenAdData>, change: AdSpec & { access_token?: string }) {
  if (change.access_token) {
    tenant.data.accessToken = change.access_token;
    tenant.revoked = false;
  }
  return tenant.data.book.update(change);
}

/** Their `truth`: every campaign-day in plain units, without the campaign names tests do not compare. */
export function tokenTenantTruth(tenant: Tenant<TokenAdData>) {
  return tenant.data.book.truth().map(({ campaign_name: _, ...row }) => row);
}
