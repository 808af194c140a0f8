/**
 * What the provider benchmark syncs from each fake upstream: a tenant seeded through
 * the fakes' control API, and the connection and job that read it. `scale` multiplies
 * the data.
 */
export interface Scenario {
  description: string;
  account: Record<string, unknown>;
  credentials: Record<string, unknown>;
  kind: string;
  params: Record<string, unknown>;
  /** Where the rows land (compared against COPY into the same table). */
  table: string;
}

async function seed(fakesUrl: string, path: string, spec: unknown) {
  const res = await fetch(`${fakesUrl}/_control/${path}`, { method: "PUT", body: JSON.stringify(spec) });
  if (!res.ok) throw new Error(`seeding ${path}: ${await res.text()}`);
  await res.body?.cancel();
}

export const SCENARIOS: Record<string, (fakesUrl: string, scale: number) => Promise<Scenario>> = {
  async steam(fakesUrl, scale) {
    const key = "BE4C0000000000000000000000000001";
    const days = Math.round(100 * scale);
    await seed(fakesUrl, `steam/${key}`, { dates: { start: "2025-01-01", days }, rows_per_date: 1000, page_size: 1000 });
    return {
      description: `${days} changed dates x 1,000 sales rows, pages of 1,000`,
      account: {},
      credentials: { key },
      kind: "incremental",
      params: {},
      table: "synced.steam_sales",
    };
  },
};
