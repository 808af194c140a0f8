import { toRow } from "../../functions/_shared/providers/meta-ads.ts";
const page = { data: Array.from({ length: 500 }, (_, i) => ({ campaign_id: String(1000 + i % 200), campaign_name: `Campaign ${i % 200}`, impressions: String(1000 + i), clicks: String(10 + i % 50), spend: String(12.5 + i),
  actions: [{ action_type: "purchase", value: "3" }, { action_type: "lead", value: "2" }, { action_type: "complete_registration", value: "1" }, { action_type: "link_click", value: "40" }, { action_type: "video_view", value: "300" }],
  date_start: "2025-03-01", date_stop: "2025-03-01" })), paging: { cursors: { after: "abc" }, next: "https://x/y?after=abc" } };
const text = JSON.stringify(page);
console.log("page bytes", text.length);
const num = (v: unknown) => { const n = Number(v ?? 0); return Number.isFinite(n) ? n : 0; };
const field = (v: any): string => { if (v === null || v === undefined) return "\\N"; const t = typeof v === "object" ? JSON.stringify(v) : String(v); return /[\\\t\n\r]/.test(t) ? t.replace(/[\\\t\n\r]/g, (c) => "\\" + c) : t; };
const N = 300;
let t = performance.now(); for (let i = 0; i < N; i++) JSON.parse(text); const parse = (performance.now() - t) / N;
const body = JSON.parse(text);
t = performance.now(); let rows: any[] = []; for (let i = 0; i < N; i++) rows = body.data.map((r: any) => toRow(r, ["purchase", "lead", "complete_registration"])); const map = (performance.now() - t) / N;
t = performance.now(); let recs: any[] = []; for (let i = 0; i < N; i++) recs = rows.map((r) => ["c0a80101-0000-0000-0000-000000000000", "c0a80101-0000-0000-0000-000000000001", "meta-ads", "123", String(r.campaign_id), r.campaign_name ?? null, r.date, Math.round(num(r.impressions)), Math.round(num(r.clicks)), num(r.spend), num(r.conversions), "USD"]); const rec = (performance.now() - t) / N;
t = performance.now(); for (let i = 0; i < N; i++) { let s = ""; for (const r of recs) s += r.map(field).join("\t") + "\n"; } const copy = (performance.now() - t) / N;
console.log(`per 500-row page: parse ${parse.toFixed(2)} ms, toRow ${map.toFixed(2)} ms, records ${rec.toFixed(2)} ms, copy text ${copy.toFixed(2)} ms`);
