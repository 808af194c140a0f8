import http from "node:http";
import { Buffer } from "node:buffer";
const MODE = Deno.args[0] ?? "json";
import { serveFakes } from "../../tests/fakes/server.ts";
const fakes = serveFakes(56999);
const acct = "123456";
await fetch(`${fakes.url}/_control/meta-ads/${acct}`, { method: "PUT", body: JSON.stringify({ access_token: "t", campaigns: 200, start: "2025-01-01", days: 365, page_size: 500 }) }).then((r) => r.text()).then((t) => console.log("seed", t.slice(0, 100)));
import process from "node:process";
const server = new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--config=deno.json", "tests/fakes/server.ts", "--port", "56998"], stdout: "piped" }).spawn();
await new Promise((r) => setTimeout(r, 3000));
const base = "http://127.0.0.1:56998";
await fetch(`${base}/_control/meta-ads/${acct}`, { method: "PUT", body: JSON.stringify({ access_token: "t", campaigns: 200, start: "2025-01-01", days: 365, page_size: 500 }) }).then((r) => r.text());
let after: string | null = null; const times: number[] = [];
const c0 = process.cpuUsage();
for (let i = 0; i < 40; i++) {
  const u = new URL(`${base}/meta-ads/v23.0/act_${acct}/insights`);
  u.searchParams.set("level", "campaign"); u.searchParams.set("fields", "campaign_id,campaign_name,impressions,clicks,spend,actions");
  u.searchParams.set("time_range", JSON.stringify({ since: "2025-01-01", until: "2025-01-30" })); u.searchParams.set("time_increment", "1"); u.searchParams.set("limit", "500");
  u.searchParams.set("access_token", "t"); if (after) u.searchParams.set("after", after);
  const t0 = performance.now();
  if (MODE === "http") { const body: any = await new Promise((res, rej) => http.get(u, (resp) => { const chunks: Buffer[] = []; resp.on("data", (c) => chunks.push(c)); resp.on("end", () => res(JSON.parse(Buffer.concat(chunks).toString("utf8")))); }).on("error", rej)); times.push(performance.now() - t0); after = body.paging?.next ? body.paging.cursors.after : null; continue; }
  const r = await fetch(u); const b = MODE === "json" ? await r.json() : MODE === "text" ? JSON.parse(await r.text()) : JSON.parse(new TextDecoder().decode(await r.arrayBuffer())); times.push(performance.now() - t0);
  if (!r.ok) { console.log(r.status, JSON.stringify(b).slice(0, 200)); break; }
  after = b.paging?.cursors?.after ?? null; if (!b.paging?.next) after = null;
}
const c1 = process.cpuUsage(c0); console.log(MODE, "client cpu per read", ((c1.user + c1.system) / 1000 / times.length).toFixed(2), "ms"); server.kill(); times.sort((a, b) => a - b); console.log("reads", times.length, "p50", times[Math.floor(times.length / 2)].toFixed(1), "ms");
await fakes.close();
