import postgres from "postgres";
import net from "node:net";
import { copyRows } from "../../functions/_shared/providers/row-writer.ts";
const sql = postgres("postgresql://postgres:postgres@127.0.0.1:55322/postgres", { max: 1, prepare: false, onnotice: () => {}, socket: () => new Promise((res, rej) => { const s = net.connect({ host: "127.0.0.1", port: 55322, noDelay: true }); s.once("connect", () => res(s)); s.once("error", rej); }) } as any);
await sql`create table if not exists public.copytest (id int primary key, v text)`;
await sql`truncate public.copytest`;
await copyRows(sql, "public.copytest", ["id", "v"], [[1, "a"], [2, "b"]]);
console.log("first ok");
const t = setTimeout(() => { console.log("HUNG"); Deno.exit(1); }, 5000);
try { await copyRows(sql, "public.copytest", ["id", "v"], [[2, "b"], [3, "c"]]); console.log("no error?"); } catch (e) { console.log("error", (e as any).code, (e as Error).message); }
const [{ n }] = await sql`select count(*)::int as n from public.copytest`; console.log("after", n);
clearTimeout(t);
await sql`drop table public.copytest`; await sql.end();
