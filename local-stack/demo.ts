/**
 * The demo `npm start` runs once the stack is up: a demo user, a connection made
 * through sync-api, one sync triggered through sync-api, and a progress bar drawn from
 * the job's Realtime events. Everything goes through the same paths a real app uses.
 *
 * By default the source is a small orders API on this machine (the http-json
 * provider). `npm start -- --demo <provider>` syncs from that provider's fake upstream
 * (tests/fakes) instead, seeded with demo data.
 */
import { createClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { fake } from "../tests/support/fakes.ts";
import { serviceAccount } from "../tests/support/google.ts";
import { createSyncClient, SyncError } from "../client/mod.ts";
import { ProgressBar } from "../cli/progress-bar.ts";
import { ANON_KEY, signUserToken } from "./keys.ts";

export const DEMO_USER = { id: "00000000-0000-4000-8000-00000000d3e0", email: "demo@tributary.local" };
const ORDERS = 240;
const PAGE_SIZE = 20;

/** A paginated JSON API of orders, slow enough for the progress bar to be seen. */
export function serveDemoApi() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    await new Promise((r) => setTimeout(r, 150));
    const first = (page - 1) * PAGE_SIZE;
    const orders = Array.from({ length: Math.max(0, Math.min(PAGE_SIZE, ORDERS - first)) }, (_, i) => ({
      order_id: `ord_${String(first + i + 1).padStart(4, "0")}`,
      amount: Math.round(((first + i) * 7.31) % 250 * 100) / 100,
      currency: "EUR",
    }));
    return Response.json({
      orders,
      meta: { total: ORDERS, next: first + PAGE_SIZE < ORDERS ? `/orders?page=${page + 1}` : null },
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/orders?page=1`, close: () => server.shutdown() };
}

/** What the demo connects to and how it describes the result. */
export interface DemoSource {
  provider: string;
  label: string;
  account: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  /** The job to run (default: an incremental sync). */
  job?: { kind: string; params: Record<string, unknown> };
  /** "syncing <what>" */
  what: string;
  /** The stats key that counts what landed, and where it landed. */
  counted: string;
  table: string;
}

export const ordersSource = (ordersUrl: string): DemoSource => ({
  provider: "http-json",
  label: "Demo orders",
  account: { url: ordersUrl, records_path: "orders", id_field: "order_id", next_path: "meta.next", total_path: "meta.total" },
  what: `${ORDERS} orders from a local API into synced.records`,
  counted: "records",
  table: "synced.records",
});

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** An ad platform's demo: 90 days of 6 campaigns, read as a backfill (the campaign totals follow). */
function adDemo(provider: string, accountField: string, platform: string, seed: Record<string, unknown> = {}) {
  return async (fakesUrl: string): Promise<DemoSource> => {
    const account = "1000000001";
    const token = `demo-${provider}-token`;
    await fake(provider, account, fakesUrl).seed({ access_token: token, campaigns: 6, start: daysAgo(90), days: 91, ...seed });
    await fake(provider, account, fakesUrl).delay(60);
    return {
      provider,
      label: `Demo ${platform}`,
      account: { [accountField]: account, currency: "USD" },
      credentials: { access_token: token },
      job: { kind: "backfill", params: { lookback_days: 90 } },
      what: `90 days of ${platform} campaign metrics from its fake API into synced.ad_metrics_daily`,
      counted: "rows",
      table: "synced.ad_metrics_daily",
    };
  };
}

/** The providers `--demo` can show, each seeded into its fake upstream. */
export const FAKE_DEMOS: Record<string, (fakesUrl: string) => Promise<DemoSource>> = {
  async "google-sheets"(fakesUrl) {
    const sheet = "DemoSheet000000000001";
    const account = await serviceAccount(fakesUrl);
    const columns = ["order_id", "customer", "amount", "currency", "created"];
    await fake("google-sheets", sheet, fakesUrl).seed({ sheets: { Sheet1: { rows: 20_000, columns } }, shared_with: [account.email] });
    await fake("google-sheets", sheet, fakesUrl).delay(150);
    return {
      provider: "google-sheets",
      label: "Demo Google Sheet",
      account: { spreadsheet_id: sheet, key_column: "order_id", window_rows: 1_000 },
      credentials: { service_account: account.key },
      what: "a 20,000-row sheet from the fake Sheets API into synced.sheet_rows",
      counted: "rows",
      table: "synced.sheet_rows",
    };
  },
  async "google-ads"(fakesUrl) {
    const customer = "1000000001";
    const account = await serviceAccount(fakesUrl);
    await fake("google-ads", customer, fakesUrl).seed({
      developer_token: "demo-developer-token",
      users: [account.email],
      campaigns: 6,
      days: 91,
    });
    await fake("google-ads", customer, fakesUrl).delay(150);
    return {
      provider: "google-ads",
      label: "Demo Google Ads",
      account: { customer_id: customer, currency: "USD" },
      credentials: { developer_token: "demo-developer-token", service_account: account.key },
      job: { kind: "backfill", params: { lookback_days: 90 } },
      what: "90 days of Google Ads campaign metrics from its fake API into synced.ad_metrics_daily",
      counted: "rows",
      table: "synced.ad_metrics_daily",
    };
  },
  "meta-ads": adDemo("meta-ads", "ad_account_id", "Meta Ads", { page_size: 30 }),
  "linkedin-ads": adDemo("linkedin-ads", "ad_account_id", "LinkedIn Ads"),
  "tiktok-ads": adDemo("tiktok-ads", "advertiser_id", "TikTok Ads", { page_size: 30 }),
  async steam(fakesUrl) {
    const key = "DE305EED000000000000000000000001";
    await fake("steam", key, fakesUrl).seed({ dates: { start: daysAgo(30), days: 30 }, rows_per_date: 40, page_size: 20 });
    await fake("steam", key, fakesUrl).delay(40);
    return {
      provider: "steam",
      label: "Demo Steam sales",
      account: { partner_id: "4242" },
      credentials: { key },
      // A backfill, so every start shows the whole month again: the fake forgets its
      // change feed when the stack stops, the database does not.
      job: { kind: "backfill", params: { lookback_days: 30 } },
      what: "30 days of Steam partner sales from the fake Steam API into synced.steam_sales",
      counted: "rows",
      table: "synced.steam_sales",
    };
  },
  async spotify(fakesUrl) {
    const refreshToken = `AQdemo${crypto.randomUUID().replaceAll("-", "")}`;
    const start = new Date(Date.now() - 50 * 4 * 60_000).toISOString();
    await fake("spotify", "demo-listener", fakesUrl).seed({ refresh_token: refreshToken, plays: 50, start, step_minutes: 4, rotate: true });
    return {
      provider: "spotify",
      label: "Demo Spotify",
      account: {},
      credentials: { refresh_token: refreshToken },
      what: "the last 50 plays from the fake Spotify API into synced.spotify_plays",
      counted: "plays",
      table: "synced.spotify_plays",
    };
  },
};

/** The demo user (made once) and an access token for it, valid for a week. */
export async function ensureDemoUser(sql: postgres.Sql): Promise<string> {
  await sql`
    insert into auth.users (id, email) values (${DEMO_USER.id}, ${DEMO_USER.email})
    on conflict (id) do nothing
  `;
  return await signUserToken(DEMO_USER, 7 * 86_400);
}

/** Runs the demo sync against the stack at `stackUrl` from `source`, on the typed client. */
export async function runDemo(stackUrl: string, sql: postgres.Sql, source: DemoSource) {
  const token = await ensureDemoUser(sql);
  const supabase = createClient(stackUrl, ANON_KEY, { accessToken: () => Promise.resolve(token) });
  const sync = createSyncClient(supabase);
  try {
    const connection = (await sync.connections.list()).find((c) => c.label === source.label);
    let connectionId: string;
    if (connection) {
      // A fresh fake (or orders API) each start: point the connection at it again.
      connectionId = connection.id;
      await sql`update sync.connections set account = ${sql.json(source.account as never)} where id = ${connectionId}`;
      if (source.credentials) await sync.connections.update(connectionId, { credentials: source.credentials });
    } else {
      const { provider, label, account, credentials } = source;
      connectionId = (await sync.connections.create({ provider, label, account, credentials })).id;
    }

    console.log(`\nDemo: syncing ${source.what}, as ${DEMO_USER.email}`);
    let jobId: string;
    try {
      jobId = (await sync.startSync(connectionId, source.job)).job_id;
    } catch (e) {
      return { status: "skipped", error: String(e) };
    }
    // The same bar as `sync start --watch`.
    const out = { write: (t: string) => void Deno.stdout.writeSync(new TextEncoder().encode(t)), isTerminal: Deno.stdout.isTerminal() };
    const bar = new ProgressBar(out);
    try {
      const final = await sync.waitForJob(jobId, (e) => bar.update(e), { signal: AbortSignal.timeout(60_000) });
      return { status: final.status as string, error: final.error ?? undefined, records: final.stats[source.counted] as number | undefined };
    } catch (e) {
      if (e instanceof SyncError && e.code === "aborted") return { status: "timed out" };
      throw e;
    } finally {
      bar.done();
    }
  } finally {
    await supabase.removeAllChannels();
  }
}

export function reportDemo(source: DemoSource, outcome: { status: string; error?: string; records?: number }) {
  if (outcome.status === "succeeded") {
    console.log(`Demo sync succeeded: ${outcome.records} ${source.counted} synced into ${source.table}.\n`);
  } else {
    console.log(`Demo sync ${outcome.status}${outcome.error ? `: ${outcome.error}` : ""}\n`);
  }
}
