import postgres from "postgres";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
const sql = postgres("postgresql://postgres:postgres@127.0.0.1:55322/postgres", { max: 4, prepare: false, onnotice: () => {} });
const [{ uid }] = await sql`insert into auth.users (id, email) values (gen_random_uuid(), 'x'||gen_random_uuid()||'@e.t') returning id as uid`;
await sql`insert into sync.providers (name) values ('steam') on conflict do nothing`;
const [{ cid }] = await sql`insert into sync.connections (owner_id, provider, label) values (${uid}, 'steam', 'x') returning id as cid`;
const COUNTRIES = ["US", "DE", "JP", "BR", "GB"], PLATFORMS = ["Windows", "Mac", "Linux"];
function page(date: string) {
  return Array.from({ length: 1000 }, (_, n) => {
    const units = 1 + (n * 7919 % 40); const price = [4.99, 9.99, 19.99][n % 3]; const sp = n % 4 === 0 ? price / 2 : price;
    return { date, line_item_type: n % 5 === 4 ? "Bundle" : "Package", partner_id: "4242", package_id: String(100000 + n), bundle_id: String(n % 5 === 4 ? 9000 + n : 0), app_id: String(480 + n % 7),
      country_code: COUNTRIES[n % 5], platform: PLATFORMS[n % 3], currency: "USD", base_price: price.toFixed(4), sale_price: sp.toFixed(4),
      gross_units_sold: String(units), gross_units_returned: "0", gross_units_activated: "0", net_units_sold: String(units), gross_sales_usd: (units*sp).toFixed(4),
      gross_returns_usd: "0.0000", net_tax_usd: (units*sp*0.1).toFixed(4), net_sales_usd: (units*sp*0.9).toFixed(4) };
  });
}
const cols = ["date","line_item_type","partner_id","package_id","bundle_id","app_id","country_code","platform","currency","base_price","sale_price","gross_units_sold","gross_units_returned","gross_units_activated","net_units_sold","gross_sales_usd","gross_returns_usd","net_tax_usd","net_sales_usd"] as const;
let day = 0;
const nextDate = () => new Date(Date.UTC(2020, 0, 1) + (day++) * 86400000).toISOString().slice(0, 10);

async function jsonUpsert(rows: any[]) {
  await sql`
    insert into synced.steam_sales (connection_id, owner_id, date, line_item_type, partner_id, package_id, bundle_id, app_id, country_code,
      platform, currency, base_price, sale_price, gross_units_sold, gross_units_returned, gross_units_activated,
      net_units_sold, gross_sales_usd, gross_returns_usd, net_tax_usd, net_sales_usd)
    select ${cid}, ${uid}, r.* from jsonb_to_recordset(${sql.json(rows)}) as r (
      date date, line_item_type text, partner_id bigint, package_id bigint, bundle_id bigint, app_id bigint,
      country_code text, platform text, currency text, base_price numeric, sale_price numeric,
      gross_units_sold bigint, gross_units_returned bigint, gross_units_activated bigint, net_units_sold bigint,
      gross_sales_usd numeric, gross_returns_usd numeric, net_tax_usd numeric, net_sales_usd numeric)
    on conflict on constraint steam_sales_line_item do update set gross_units_sold = excluded.gross_units_sold, synced_at = now()`;
}
const esc = (v: string | null) => v === null ? "\\N" : v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
function copyText(rows: any[]) { let s = ""; for (const r of rows) { s += cols.map((c) => esc(r[c])).join("\t") + "\n"; } return s; }

async function copyUpsert(rows: any[]) {
  await sql.begin(async (tx) => {
    await tx`create temp table steam_page (like synced.steam_sales including defaults) on commit drop`;
    const w = await tx`copy steam_page (${tx.unsafe(cols.join(","))}) from stdin`.writable();
    await pipeline(Readable.from([copyText(rows)]), w);
    await tx`insert into synced.steam_sales (connection_id, owner_id, ${tx.unsafe(cols.join(","))})
      select ${cid}, ${uid}, ${tx.unsafe(cols.join(","))} from steam_page
      on conflict on constraint steam_sales_line_item do update set gross_units_sold = excluded.gross_units_sold, synced_at = now()`;
  });
}
async function copyInsert(rows: any[]) {
  const w = await sql`copy synced.steam_sales (connection_id, owner_id, ${sql.unsafe(cols.join(","))}) from stdin`.writable();
  const text = rows.map((r) => `${cid}\t${uid}\t` + cols.map((c) => esc(r[c])).join("\t")).join("\n") + "\n";
  await pipeline(Readable.from([text]), w);
}
const methods: Record<string, (r: any[]) => Promise<void>> = { copyInsert, jsonUpsert, copyUpsert };
for (const round of [1, 2]) for (const [name, fn] of Object.entries(methods)) {
  const pages = Array.from({ length: 40 }, () => page(nextDate()));
  const t0 = performance.now(); const c0 = Deno.cpuUsage?.() ?? null;
  for (const p of pages) await fn(p);
  const ms = performance.now() - t0;
  console.log(round, name.padEnd(12), `${(ms / 40).toFixed(1)} ms/page`, `${Math.round(40000 / ms * 1000)} rows/s (serial)`);
}
// concurrency 2
for (const [name, fn] of Object.entries(methods)) {
  const pages = Array.from({ length: 40 }, () => page(nextDate()));
  const t0 = performance.now();
  await Promise.all([0, 1].map(async (k) => { for (let i = k; i < 40; i += 2) await fn(pages[i]); }));
  const ms = performance.now() - t0;
  console.log("x2", name.padEnd(12), `${Math.round(40000 / ms * 1000)} rows/s`);
}
await sql`delete from sync.connections where id = ${cid}`; await sql.end();
