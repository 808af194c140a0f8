/**
 * What the provider benchmark syncs from each fake upstream: a tenant seeded through
 * the fakes' control API, and the connection and job that read it. `scale` multiplies
 * the data.
 */
import { fake } from "../../tests/support/fakes.ts";
import { serviceAccount } from "../../tests/support/google.ts";

/** One connection to sync: its settings and its credentials (which go to Vault). */
export interface Source {
  account: Record<string, unknown>;
  credentials: Record<string, unknown>;
}

export interface Scenario {
  description: string;
  /** One for a large account; many where the provider caps what one sync can get (Spotify). */
  connections: Source[];
  kind: string;
  params: Record<string, unknown>;
  /** Where the rows land (compared against COPY into the same table). */
  table: string;
}

/** Ad platforms: `campaigns` campaigns over a year, as a backfill. */
function adScenario(provider: string, accountField: string, seed: Record<string, unknown> = {}) {
  return async (fakesUrl: string, scale: number): Promise<Scenario> => {
    const account = "2000000002";
    const campaigns = Math.round(200 * scale);
    await fake(provider, account, fakesUrl).seed({ access_token: "bench-token", campaigns, start: "2025-01-01", days: 365, ...seed });
    return {
      description: `${campaigns} campaigns x 365 days`,
      connections: [{ account: { [accountField]: account }, credentials: { access_token: "bench-token" } }],
      kind: "backfill",
      params: { start_date: "2025-01-01", end_date: "2025-12-31" },
      table: "synced.ad_metrics_daily",
    };
  };
}

export const SCENARIOS: Record<string, (fakesUrl: string, scale: number) => Promise<Scenario>> = {
  async "google-sheets"(fakesUrl, scale) {
    const rows = Math.round(1_000_000 * scale);
    const sheet = "BenchSheet000000000001";
    const account = await serviceAccount(fakesUrl);
    await fake("google-sheets", sheet, fakesUrl).seed({
      sheets: { Sheet1: { rows, columns: ["id", "name", "email", "amount", "country", "created"] } },
      shared_with: [account.email],
    });
    return {
      description: `one sheet of ${rows.toLocaleString("en")} rows x 6 columns, windows of 5,000 rows`,
      connections: [{ account: { spreadsheet_id: sheet, key_column: "id" }, credentials: { service_account: account.key } }],
      kind: "full",
      params: {},
      table: "synced.sheet_rows",
    };
  },
  async "google-ads"(fakesUrl, scale) {
    const customer = "3000000003";
    const campaigns = Math.round(200 * scale);
    const account = await serviceAccount(fakesUrl);
    await fake("google-ads", customer, fakesUrl).seed({
      developer_token: "bench-developer-token",
      users: [account.email],
      campaigns,
      start: "2025-01-01",
      end: "2025-12-31",
    });
    return {
      description: `${campaigns} campaigns x 365 days`,
      connections: [{ account: { customer_id: customer }, credentials: { developer_token: "bench-developer-token", service_account: account.key } }],
      kind: "backfill",
      params: { start_date: "2025-01-01", end_date: "2025-12-31" },
      table: "synced.ad_metrics_daily",
    };
  },
  "meta-ads": adScenario("meta-ads", "ad_account_id", { page_size: 500 }),
  "linkedin-ads": adScenario("linkedin-ads", "ad_account_id", { max_elements: 15_000 }),
  "tiktok-ads": adScenario("tiktok-ads", "advertiser_id", { page_size: 1000 }),
  /**
   * Spotify keeps only a listener's last 50 plays, so one sync writes at most 50 rows and
   * its cost is per job (a token refresh, a request, a write). Its rate is taken over
   * many listeners synced at once, as an app with many users runs them.
   */
  async spotify(fakesUrl, scale) {
    const listeners = Math.round(200 * scale);
    const connections: Source[] = [];
    for (let i = 0; i < listeners; i++) {
      const refresh_token = `AQbench${String(i).padStart(6, "0")}${crypto.randomUUID().replaceAll("-", "")}`;
      await fake("spotify", `bench-listener-${crypto.randomUUID()}`, fakesUrl).seed({ refresh_token, plays: 50 });
      connections.push({ account: {}, credentials: { refresh_token } });
    }
    return {
      description: `${listeners} listeners x their last 50 plays (all Spotify keeps), synced at once`,
      connections,
      kind: "incremental",
      params: {},
      table: "synced.spotify_plays",
    };
  },
  async steam(fakesUrl, scale) {
    const key = "BE4C0000000000000000000000000001";
    const days = Math.round(100 * scale);
    await fake("steam", key, fakesUrl).seed({ dates: { start: "2025-01-01", days }, rows_per_date: 1000, page_size: 1000 });
    return {
      description: `${days} changed dates x 1,000 sales rows, pages of 1,000`,
      connections: [{ account: {}, credentials: { key } }],
      kind: "incremental",
      params: {},
      table: "synced.steam_sales",
    };
  },
};
