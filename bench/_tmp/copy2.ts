import postgres from "postgres";
import net from "node:net";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
const sql = postgres("postgresql://postgres:postgres@127.0.0.1:55322/postgres", { max: 1, prepare: false, onnotice: () => {}, socket: () => new Promise((res, rej) => { const s = net.connect({ host: "127.0.0.1", port: 55322, noDelay: true }); s.once("connect", () => res(s)); s.once("error", rej); }) });
await sql`create temp table t (a int, b text)`;
const text = Array.from({ length: 1000 }, (_, i) => `${i}\tsome text ${i}`).join("\n") + "\n";
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const w = await sql`copy t from stdin`.writable();
  const t1 = performance.now();
  await pipeline(Readable.from([text]), w);
  const t2 = performance.now();
  const [{ n }] = await sql`select count(*)::int as n from t`;
  console.log(`writable ${(t1 - t0).toFixed(1)} pipeline ${(t2 - t1).toFixed(1)} count ${(performance.now() - t2).toFixed(1)} n=${n}`);
}
await sql.end();
