import postgres from "postgres";
import { copyRows } from "../../functions/_shared/providers/row-writer.ts";
const sql = postgres("postgresql://postgres:postgres@127.0.0.1:55322/postgres", { max: 1, onnotice: () => {} });
await sql`create table if not exists public.copyrace (id int primary key)`; await sql`truncate public.copyrace`;
let failed = 0;
await Promise.all(Array.from({ length: 200 }, (_, i) => copyRows(sql, "public.copyrace", ["id"], [[i]]).catch((e) => { failed++; if (failed < 3) console.log((e as Error).message); })));
console.log("failed", failed, "of 200");
await sql`drop table public.copyrace`; await sql.end();
