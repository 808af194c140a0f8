import postgres from "postgres";
import net from "node:net";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
const sql = postgres("postgresql://postgres:postgres@127.0.0.1:55322/postgres", { max: 1, prepare: false, onnotice: () => {}, socket: () => new Promise((res, rej) => { const s = net.connect({ host: "127.0.0.1", port: 55322, noDelay: true }); s.once("connect", () => res(s)); s.once("error", rej); }) });
const [{ uid }] = await sql`insert into auth.users (id, email) values (gen_random_uuid(), 'x'||gen_random_uuid()||'@e.t') returning id as uid`;
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
const cols = ["date","line_item_type","partner_id","package_id","bundle_id","app_id","country_code","platform","currency","base_price","sale_price","gross_units_sold","gross_units_returned","gross_units_activated","net_units_sold","gross_sales_usd","gross_returns_usd","net_tax_usd","net_sales_usd"];
const types = ["date","text","bigint","bigint","bigint","bigint","text","text","text","numeric","numeric","bigint","bigint","bigint","bigint","numeric","numeric","numeric","numeric"];
let day = 0;
const nextDate = () => new Date(Date.UTC(2020, 0, 1) + (day++) * 86400000).toISOString().slice(0, 10);
const onConflict = "on conflict on constraint steam_sales_line_item do update set gross_units_sold = excluded.gross_units_sold, synced_at = now()";
const recordDef = cols.map((c, i) => `${c} ${types[i]}`).join(", ");
const m0: Record<string, (rows: any[]) => Promise<unknown>> = {
  jsonUpsert: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, r.* from jsonb_to_recordset($3::text::jsonb) r (${recordDef}) ${onConflict}`, [cid, uid, JSON.stringify(rows)]),
  jsonInsert: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, r.* from jsonb_to_recordset($3::text::jsonb) r (${recordDef})`, [cid, uid, JSON.stringify(rows)]),
  jsonUpsertJson: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, r.* from json_to_recordset($3::text::json) r (${recordDef}) ${onConflict}`, [cid, uid, JSON.stringify(rows)]),
  arraysUpsert: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, * from unnest(${cols.map((_, i) => `$${i + 3}::${types[i]}[]`).join(", ")}) ${onConflict}`,
    [cid, uid, ...cols.map((c) => "{" + rows.map((r) => r[c] === null ? "NULL" : `"${String(r[c]).replace(/["\\]/g, "\\$&")}"`).join(",") + "}")]),
  jsonArraysUpsert: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, * from unnest(${cols.map((_, i) => `array(select json_array_elements_text($3::text::json -> ${i}))::${types[i]}[]`).join(", ")}) ${onConflict}`,
    [cid, uid, JSON.stringify(cols.map((c) => rows.map((r) => r[c])))]),
  arraysInsert: (rows) => sql.unsafe(`insert into synced.steam_sales (connection_id, owner_id, ${cols}) select $1, $2, * from unnest(${cols.map((_, i) => `$${i + 3}::${types[i]}[]`).join(", ")})`,
    [cid, uid, ...cols.map((c) => "{" + rows.map((r) => r[c] === null ? "NULL" : `"${String(r[c]).replace(/["\\]/g, "\\$&")}"`).join(",") + "}")]),
  serverCopy: async (rows) => {
    const f = `/tmp/steam-page-${crypto.randomUUID()}.tsv`;
    Deno.writeTextFileSync(f, rows.map((r) => `${cid}\t${uid}\t` + cols.map((c) => r[c] ?? "\\N").join("\t")).join("\n") + "\n");
    const t0 = performance.now();
    await sql.unsafe(`copy synced.steam_sales (connection_id, owner_id, ${cols}) from '${f}'`);
    Deno.removeSync(f);
  },
  clientCopy: async (rows) => {
    const text = rows.map((r) => `${cid}\t${uid}\t` + cols.map((c) => r[c] ?? "\\N").join("\t")).join("\n") + "\n";
    const w = await sql.unsafe(`copy synced.steam_sales (connection_id, owner_id, ${cols}) from stdin`).writable();
    await pipeline(Readable.from([text]), w);
  },
  clientCopyTx: async (rows) => {
    const text = rows.map((r) => `${cid}\t${uid}\t` + cols.map((c) => r[c] ?? "\\N").join("\t")).join("\n") + "\n";
    await sql.begin(async (tx) => {
      await tx`select now()`;
      const w = await tx.unsafe(`copy synced.steam_sales (connection_id, owner_id, ${cols}) from stdin`).writable();
      await pipeline(Readable.from([text]), w);
    });
  },
  noop: (rows) => sql.unsafe(`select length($1)`, [JSON.stringify(rows)]),
};
const m = Object.fromEntries(Object.entries(m0).filter(([k]) => ["jsonUpsert", "arraysUpsert", "serverCopy", "clientCopy", "clientCopyTx"].includes(k)));
const [{ pid }] = await sql`select pg_backend_pid() as pid`;
const ticks = () => { const f = Deno.readTextFileSync(`/proc/${pid}/stat`); const x = f.slice(f.lastIndexOf(")") + 2).split(" "); return Number(x[11]) + Number(x[12]); };
import process from "node:process";
for (const round of [1, 2, 3]) for (const [name, fn] of Object.entries(m)) {
  const pages = Array.from({ length: 50 }, () => page(nextDate()));
  const t0 = performance.now(); const k0 = ticks(); const c0 = process.cpuUsage();
  for (const p of pages) await fn(p);
  const ms = performance.now() - t0; const c1 = process.cpuUsage(c0);
  if (round > 1) console.log(round, name.padEnd(16), `${(ms / 50).toFixed(1)} ms/page`, `server cpu ${((ticks() - k0) * 10 / 50).toFixed(1)} ms/page`, `client cpu ${((c1.user + c1.system) / 1000 / 50).toFixed(1)} ms/page`);
}
await sql`delete from sync.connections where id = ${cid}`; await sql.end();
