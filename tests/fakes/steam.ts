/**
 * Fake IPartnerFinancialsService (PROVIDERS.md, Steam). A tenant is a Financial Web API
 * key. Changed dates carry a rising highwatermark; a date's sales page by max_id, and
 * paging ends when max_id comes back equal to the highwatermark_id sent. A key without
 * the sales permission gets 200 `{"response":{}}`; an unknown or revoked key gets
 * Steam's 403 page.
 */
import { dateRange, type FakeUpstream, hang, hashInt, requestLog, sleep, Tenants } from "./fake.ts";

interface Sale {
  id: number;
  row: Record<string, unknown>;
}

interface SteamData {
  highwatermark: number;
  /** Each change to a date, in order: GetChangedDatesForPartner answers those after a highwatermark. */
  changes: { highwatermark: number; date: string }[];
  sales: Map<string, Sale[]>;
  nextId: number;
  pageSize: number;
  slashDates: boolean;
  noPermission: boolean;
}

const FORBIDDEN = "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. " +
  "Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>";
const COUNTRIES = ["US", "DE", "JP", "BR", "GB"];
const PLATFORMS = ["Windows", "Mac", "Linux"];

function sale(date: string, n: number, id: number): Sale {
  const units = 1 + hashInt(`${date}/${n}`, 40);
  const price = [4.99, 9.99, 19.99][n % 3];
  const salePrice = n % 4 === 0 ? price / 2 : price;
  return {
    id,
    row: {
      partnerid: 4242,
      date: date.replaceAll("-", "/"),
      line_item_type: n % 5 === 4 ? "Bundle" : "Package",
      packageid: 100_000 + n,
      bundleid: n % 5 === 4 ? 9_000 + n : 0,
      appid: 480 + (n % 7),
      country_code: COUNTRIES[n % COUNTRIES.length],
      platform: PLATFORMS[n % PLATFORMS.length],
      currency: "USD",
      base_price: price.toFixed(4),
      sale_price: salePrice.toFixed(4),
      gross_units_sold: units,
      gross_units_returned: n % 6 === 0 ? 1 : 0,
      gross_sales_usd: (units * salePrice).toFixed(4),
      gross_returns_usd: (n % 6 === 0 ? salePrice : 0).toFixed(4),
      net_tax_usd: (units * salePrice * 0.1).toFixed(4),
      net_units_sold: units - (n % 6 === 0 ? 1 : 0),
      net_sales_usd: ((units - (n % 6 === 0 ? 1 : 0)) * salePrice * 0.9).toFixed(4),
      gross_units_activated: 0,
    },
  };
}

export class SteamFake implements FakeUpstream {
  readonly name = "steam";
  #tenants = new Tenants<SteamData>("steam");

  tenant(key: string) {
    return this.#tenants.find(key);
  }

  /** `{dates: ["2026-11-01", ...] | {start, days}, rows_per_date, page_size?, slash_dates?, no_permission?}` */
  seed(key: string, spec: Record<string, any>) {
    const data: SteamData = {
      highwatermark: 1000,
      changes: [],
      sales: new Map(),
      nextId: 1,
      pageSize: spec.page_size ?? 50,
      slashDates: spec.slash_dates ?? true,
      noPermission: spec.no_permission ?? false,
    };
    this.#tenants.set(key, data);
    this.update(key, spec);
    return { highwatermark: data.highwatermark };
  }

  /** New sales on some dates: `{dates, rows_per_date}`; each date becomes a change. */
  update(key: string, change: Record<string, any>) {
    const data = this.#tenants.get(key).data;
    const dates: string[] = Array.isArray(change.dates) ? change.dates : dateRange(change.dates.start, change.dates.days);
    for (const date of dates) {
      const list = data.sales.get(date) ?? [];
      const first = list.length;
      for (let n = first; n < first + (change.rows_per_date ?? 3); n++) list.push(sale(date, n, data.nextId++));
      data.sales.set(date, list);
      data.changes.push({ highwatermark: ++data.highwatermark, date });
    }
    return { highwatermark: data.highwatermark };
  }

  truth(key: string) {
    const data = this.#tenants.get(key).data;
    return [...data.sales.entries()].sort().flatMap(([date, list]) =>
      list.map(({ row }) => ({
        date,
        package_id: row.packageid,
        country_code: row.country_code,
        platform: row.platform,
        sale_price: Number(row.sale_price),
        gross_units_sold: row.gross_units_sold,
        net_sales_usd: Number(row.net_sales_usd),
      }))
    );
  }

  async handle(req: Request, path: string): Promise<Response> {
    const url = new URL(req.url);
    const key = url.searchParams.get("key");
    const tenant = this.#tenants.find(key);
    if (!tenant || tenant.revoked) return new Response(FORBIDDEN, { status: 403, headers: { "content-type": "text/html" } });
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return new Response("Too Many Requests", { status: 429, headers: { "retry-after": String(fault.retry_after_s ?? 1) } });
    }
    if (fault?.kind === "server-error") return new Response("Service Unavailable", { status: fault.status ?? 503 });
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "revoked" || fault?.kind === "expired-token") {
      return new Response(FORBIDDEN, { status: 403, headers: { "content-type": "text/html" } });
    }

    const data = tenant.data;
    if (data.noPermission) return Response.json({ response: {} });
    const method = path.split("/").filter(Boolean)[1];
    if (method === "GetChangedDatesForPartner") {
      const since = Number(url.searchParams.get("highwatermark") ?? "0");
      const dates = [...new Set(data.changes.filter((c) => c.highwatermark > since).map((c) => c.date))];
      return Response.json({
        response: {
          dates: dates.map((d) => (data.slashDates ? d.replaceAll("-", "/") : d)),
          result_highwatermark: String(data.highwatermark),
        },
      });
    }
    if (method === "GetDetailedSales") {
      const date = url.searchParams.get("date") ?? "";
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        return Response.json({ response: { error: "date must be YYYY-MM-DD" } }, { status: 400 });
      }
      const after = Number(url.searchParams.get("highwatermark_id") ?? "0");
      const page = (data.sales.get(date) ?? []).filter((s) => s.id > after).slice(0, data.pageSize);
      return Response.json({
        response: {
          results: page.map((s) => s.row),
          max_id: String(page.at(-1)?.id ?? after),
          app_info: [...new Set(page.map((s) => s.row.appid))].map((appid) => ({ appid, app_name: `Game ${appid}` })),
          package_info: page.map((s) => ({ packageid: s.row.packageid, package_name: `Package ${s.row.packageid}` })),
          country_info: [...new Set(page.map((s) => s.row.country_code))].map((c) => ({ country_code: c, country_name: c })),
        },
      });
    }
    return Response.json({ error: `no such method ${method}` }, { status: 404 });
  }
}
