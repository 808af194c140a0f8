/**
 * What the soak syncs: owners, one connection per job across the http-json provider and
 * three named providers, each against its own fake tenant, with faults planted on the
 * upstream requests the job will make. Every source knows how to read back what landed
 * and what the fake served, as comparable row strings.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { ANON_KEY, signUserToken } from "../local-stack/keys.ts";
import type { Fault } from "../tests/fakes/fake.ts";
import { fake } from "../tests/support/fakes.ts";
import { callApi } from "../tests/support/providers.ts";

export interface FaultRates {
  rateLimit: number;
  serverError: number;
  timeout: number;
  /** Connections whose credential is revoked mid-job: only these jobs may fail. */
  permanent: number;
}

export const DEFAULT_RATES: FaultRates = { rateLimit: 0.10, serverError: 0.05, timeout: 0.05, permanent: 0.01 };

export interface Source {
  provider: string;
  fakeName: string;
  tenant: string;
  connectionId: string;
  ownerId: string;
  job: { kind: string; params: Record<string, unknown> };
  /** Credential values planted in this connection: none may show up anywhere but Vault. */
  secrets: string[];
  /** Upstream requests a clean run makes (about), so faults land inside the job. */
  plannedRequests: number;
  planted: Fault[];
  /** The credential is revoked mid-job: the job must fail, and say why. */
  permanent: boolean;
  /** What landed in `synced`, one string per row. */
  rows(sql: postgres.Sql): Promise<string[]>;
  /** What the fake served, one string per row, in the same form. */
  truth(): Promise<string[]>;
}

/** Deterministic randomness, so a soak can be replayed with --seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const token = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;
const digits = (rand: () => number, n: number) => String(between(rand, 1, 9)) + Array.from({ length: n - 1 }, () => between(rand, 0, 9)).join("");

interface Recipe {
  provider: string;
  fakeName: string;
  /** Seeds a fresh tenant; returns what the connection and job need. */
  make(rand: () => number, fakesUrl: string): Promise<{
    tenant: string;
    seed: Record<string, unknown>;
    account: Record<string, unknown>;
    credentials: Record<string, unknown>;
    secrets: string[];
    job: { kind: string; params: Record<string, unknown> };
    plannedRequests: number;
  }>;
  rows(sql: postgres.Sql, connectionId: string): Promise<string[]>;
  truth(raw: unknown): string[];
}

const adRow = (r: Record<string, unknown>) =>
  [r.campaign_id, r.date, r.impressions, r.clicks, Number(r.spend).toFixed(2), Number(r.conversions).toFixed(2)].join("|");

const RECIPES: Recipe[] = [
  {
    provider: "http-json",
    fakeName: "records-api",
    async make(rand, fakesUrl) {
      const key = token("rk_");
      const records = between(rand, 20, 100);
      return {
        tenant: key,
        seed: { records, page_size: 20 },
        account: { url: `${fakesUrl}/records-api/items?page=1`, records_path: "items", next_path: "meta.next", total_path: "meta.total" },
        credentials: { headers: { "x-api-key": key } },
        secrets: [key],
        job: { kind: "incremental", params: {} },
        plannedRequests: Math.ceil(records / 20),
      };
    },
    rows: async (sql, id) =>
      (await sql`select external_id || '=' || (data->>'value') as r from synced.records where connection_id = ${id}`).map((r) => r.r),
    truth: (raw) => (raw as { id: string; value: number }[]).map((r) => `${r.id}=${r.value}`),
  },
  {
    provider: "steam",
    fakeName: "steam",
    async make(rand) {
      const key = crypto.randomUUID().replaceAll("-", "").toUpperCase();
      const days = between(rand, 2, 4);
      const rowsPerDate = between(rand, 3, 8);
      return {
        tenant: key,
        seed: { dates: { start: `2026-10-${String(between(rand, 1, 20)).padStart(2, "0")}`, days }, rows_per_date: rowsPerDate, page_size: 4 },
        account: { partner_id: "4242" },
        credentials: { key },
        secrets: [key],
        job: { kind: "incremental", params: {} },
        plannedRequests: 1 + days * (Math.ceil(rowsPerDate / 4) + 1),
      };
    },
    rows: async (sql, id) =>
      (await sql`
        select concat_ws('|', date, package_id, country_code, platform, sale_price::float8, gross_units_sold, net_sales_usd::float8) as r
        from synced.steam_sales where connection_id = ${id}
      `).map((r) => r.r),
    truth: (raw) =>
      (raw as Record<string, unknown>[]).map((r) =>
        [r.date, r.package_id, r.country_code, r.platform, r.sale_price, r.gross_units_sold, r.net_sales_usd].join("|")
      ),
  },
  {
    provider: "spotify",
    fakeName: "spotify",
    async make(rand) {
      const refreshToken = token("AQ");
      // Spotify keeps a listener's last 50 plays (the fake too): a first sync can land no more.
      const plays = between(rand, 10, 50);
      return {
        tenant: `listener-${crypto.randomUUID()}`,
        seed: { refresh_token: refreshToken, plays, start: "2026-11-01T00:00:00Z", step_minutes: between(rand, 3, 30) },
        account: {},
        credentials: { refresh_token: refreshToken },
        secrets: [refreshToken],
        job: { kind: "incremental", params: {} },
        plannedRequests: 2,
      };
    },
    rows: async (sql, id) =>
      (await sql`
        select to_char(played_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '|' || track_id as r
        from synced.spotify_plays where connection_id = ${id}
      `).map((r) => r.r),
    truth: (raw) => (raw as { plays: { played_at: string; track_id: string }[] }).plays.map((p) => `${p.played_at}|${p.track_id}`),
  },
  {
    provider: "meta-ads",
    fakeName: "meta-ads",
    async make(rand) {
      const account = digits(rand, 15);
      const accessToken = token("EAAB");
      const days = between(rand, 3, 8);
      const start = `2026-09-${String(between(rand, 1, 20)).padStart(2, "0")}`;
      const end = new Date(Date.parse(`${start}T00:00:00Z`) + (days - 1) * 86_400_000).toISOString().slice(0, 10);
      return {
        tenant: account,
        seed: { access_token: accessToken, campaigns: 2, start, days, page_size: 4 },
        account: { ad_account_id: `act_${account}` },
        credentials: { access_token: accessToken },
        secrets: [accessToken],
        job: { kind: "backfill", params: { start_date: start, end_date: end } },
        plannedRequests: Math.ceil((2 * days) / 4),
      };
    },
    rows: async (sql, id) =>
      (await sql`
        select campaign_id, date::text as date, impressions, clicks, spend, conversions
        from synced.ad_metrics_daily where connection_id = ${id}
      `).map(adRow),
    truth: (raw) => (raw as Record<string, unknown>[]).map(adRow),
  },
];

export const SOAK_PROVIDERS = RECIPES.map((r) => r.provider);

/** The faults one job's requests meet: each planned request draws at most one. */
function plantFaults(rand: () => number, planned: number, rates: FaultRates): Fault[] {
  const faults: Fault[] = [];
  for (let at = 1; at <= planned; at++) {
    const r = rand();
    if (r < rates.rateLimit) faults.push({ kind: "rate-limit", retry_after_s: 1, at_request: at });
    else if (r < rates.rateLimit + rates.serverError) faults.push({ kind: "server-error", status: 503, at_request: at });
    else if (r < rates.rateLimit + rates.serverError + rates.timeout) faults.push({ kind: "timeout", at_request: at });
  }
  return faults;
}

export interface Owner {
  id: string;
  client: SupabaseClient;
}

/** Owners as Supabase Auth would have them: a row in auth.users and a signed token. */
export async function createOwners(sql: postgres.Sql, apiUrl: string, count: number): Promise<Owner[]> {
  const owners: Owner[] = [];
  for (let i = 0; i < count; i++) {
    const id = crypto.randomUUID();
    const email = `soak-${id.slice(0, 8)}@example.test`;
    await sql`insert into auth.users (id, email) values (${id}, ${email})`;
    const jwt = await signUserToken({ id, email }, 6 * 3600);
    // Only functions.invoke is used: no Realtime socket is opened.
    owners.push({ id, client: createClient(apiUrl, ANON_KEY, { accessToken: () => Promise.resolve(jwt) }) });
  }
  return owners;
}

/** Runs `fn` over `items`, `width` at a time. */
export async function inParallel<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

/**
 * `jobs` sources spread round-robin over the recipes and the owners: each seeds its
 * fake tenant, plants its faults and connects through sync-api as its owner would.
 */
export async function buildWorkload(
  options: { jobs: number; owners: Owner[]; fakesUrl: string; seed: number; rates: FaultRates; delayMs: number },
  onProgress: (made: number) => void = () => {},
): Promise<Source[]> {
  const rand = random(options.seed);
  // A few revoked credentials (at least two), spread evenly so they fall on different providers.
  const revoked = options.rates.permanent > 0 ? Math.max(2, Math.round(options.jobs * options.rates.permanent)) : 0;
  const revokedAt = new Set(Array.from({ length: revoked }, (_, k) => (Math.floor((k * options.jobs) / revoked) + k) % options.jobs));
  const plans = Array.from({ length: options.jobs }, (_, i) => ({
    recipe: RECIPES[i % RECIPES.length],
    owner: options.owners[i % options.owners.length],
    permanent: revokedAt.has(i),
    rand: random(Math.floor(rand() * 2 ** 32)),
  }));
  let made = 0;
  return await inParallel(plans, 8, async ({ recipe, owner, permanent, rand }) => {
    const m = await recipe.make(rand, options.fakesUrl);
    const upstream = fake(recipe.fakeName, m.tenant, options.fakesUrl);
    await upstream.seed(m.seed);
    if (options.delayMs) await upstream.delay(options.delayMs);
    const planted = plantFaults(rand, m.plannedRequests, options.rates);
    if (permanent) planted.push({ kind: "revoked", at_request: between(rand, 1, m.plannedRequests) });
    for (const f of planted) await upstream.fault(f);
    const res = await callApi(owner.client, "connections", "POST", {
      provider: recipe.provider,
      label: `soak ${recipe.provider}`,
      account: m.account,
      credentials: m.credentials,
    });
    if (res.status !== 201) throw new Error(`creating a ${recipe.provider} connection: ${res.status} ${JSON.stringify(res.body)}`);
    onProgress(++made);
    return {
      provider: recipe.provider,
      fakeName: recipe.fakeName,
      tenant: m.tenant,
      connectionId: res.body.id as string,
      ownerId: owner.id,
      job: m.job,
      secrets: m.secrets,
      plannedRequests: m.plannedRequests,
      planted,
      permanent,
      rows: (sql) => recipe.rows(sql, res.body.id),
      truth: async () => recipe.truth(await upstream.truth()),
    };
  });
}
