/**
 * The providers' row writer (functions/_shared/providers/row-writer.ts) on the real
 * Postgres, through the functions' own connection (functions/_shared/database.ts):
 * COPY's text format carries any value, a run copies until its first conflict and
 * upserts from there, and a refused COPY is an error, never a hang.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { dbUrl } from "../support/stack.ts";

Deno.env.set("SUPABASE_DB_URL", dbUrl);
const { db } = await import("../../functions/_shared/database.ts");
const { copyRows, RowWriter } = await import("../../functions/_shared/providers/row-writer.ts");

const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function scratchTable() {
  const sql = db();
  const table = `public.row_writer_${crypto.randomUUID().slice(0, 8)}`;
  await sql.unsafe(`create table ${table} (id integer primary key, label text, amount numeric, data jsonb, synced_at timestamptz not null default now())`);
  const rows = async () =>
    (await sql.unsafe(`select id, label, amount::text, data from ${table} order by id`)).map((r) => ({ ...r }));
  return { sql, table, rows, drop: () => sql.unsafe(`drop table ${table}`) };
}

const COLUMNS = ["id", "label", "amount", "data"];

test("row writer: COPY carries tabs, newlines, backslashes, quotes, unicode, nulls and JSON as sent", async () => {
  const t = await scratchTable();
  try {
    const awkward = [
      [1, "tab\there", "1.5", { nested: { list: [1, "two\tthree"] }, quote: "\"q\"" }],
      [2, "line\nbreak\r\nand CR", null, null],
      [3, "back\\slash \\N not null", "-0.000001", ["a", "b\\c"]],
      [4, "emoji 🐟, accents éà, CJK 漢字", "12345678901234567890.123456", {}],
      [5, "", "0", { empty: "" }],
    ];
    await copyRows(t.sql, t.table, COLUMNS, awkward);
    assert.deepEqual(await t.rows(), [
      { id: 1, label: "tab\there", amount: "1.5", data: { nested: { list: [1, "two\tthree"] }, quote: "\"q\"" } },
      { id: 2, label: "line\nbreak\r\nand CR", amount: null, data: null },
      { id: 3, label: "back\\slash \\N not null", amount: "-0.000001", data: ["a", "b\\c"] },
      { id: 4, label: "emoji 🐟, accents éà, CJK 漢字", amount: "12345678901234567890.123456", data: {} },
      { id: 5, label: "", amount: "0", data: { empty: "" } },
    ]);
  } finally {
    await t.drop();
  }
});

test("row writer: columns fixed for the whole COPY lead every row, escaped like the rest", async () => {
  const t = await scratchTable();
  try {
    await copyRows(t.sql, t.table, ["id", "amount"], [[1, 1.5], [2, null], [3, "-7"]], { label: "same\tfor all\\", data: { k: "v\n" } });
    await copyRows(t.sql, t.table, ["id"], [[4]], { label: null, amount: 0 });
    const fixed = { label: "same\tfor all\\", data: { k: "v\n" } };
    assert.deepEqual(await t.rows(), [
      { id: 1, amount: "1.5", ...fixed },
      { id: 2, amount: null, ...fixed },
      { id: 3, amount: "-7", ...fixed },
      { id: 4, label: null, amount: "0", data: null },
    ]);
  } finally {
    await t.drop();
  }
});

test("row writer: copies while the rows are new, upserts from the first conflict on, and stores each row once", async () => {
  const t = await scratchTable();
  try {
    const writer = new RowWriter();
    const paths: string[] = [];
    const write = (rows: unknown[][]) =>
      writer.write(
        async () => {
          paths.push("copy");
          await copyRows(t.sql, t.table, ["id", "label"], rows as never);
        },
        async () => {
          paths.push("upsert");
          await t.sql.unsafe(
            `insert into ${t.table} (id, label) select * from unnest($1::int[], $2::text[])
             on conflict (id) do update set label = excluded.label, synced_at = now()`,
            [rows.map((r) => r[0]) as never, rows.map((r) => r[1]) as never],
          );
        },
      );
    await write([[1, "a"], [2, "b"], [3, "c"]]);
    // A page read again after a crash: row 3 is stored already.
    await write([[3, "c again"], [4, "d"], [5, "e"]]);
    await write([[6, "f"]]);
    assert.deepEqual(paths, ["copy", "copy", "upsert", "upsert"], "the refused COPY's page went by upsert, and so did every page after it");
    assert.deepEqual((await t.rows()).map((r) => [r.id, r.label]), [[1, "a"], [2, "b"], [3, "c again"], [4, "d"], [5, "e"], [6, "f"]]);
  } finally {
    await t.drop();
  }
});

test("row writer: a value Postgres cannot read fails the COPY at once, stores none of its rows, and leaves the connection usable", async () => {
  const t = await scratchTable();
  try {
    const writer = new RowWriter();
    let upserted = false;
    const refused = writer.write(
      () => copyRows(t.sql, t.table, ["id", "label", "amount"], [[1, "fine", "1"], [2, "bad", "twelve"]]),
      async () => void (upserted = true),
    );
    // Before the fix of row-writer.ts, postgres.js left this promise pending for ever.
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("the refused COPY never settled")), 5_000));
    await assert.rejects(Promise.race([refused, timeout]), (e: { code?: string; message: string }) => {
      assert.equal(e.code, "22P02", e.message);
      return true;
    });
    assert.equal(upserted, false, "only a conflict switches to upserts; bad data is the provider's error");
    assert.deepEqual(await t.rows(), []);
    await copyRows(t.sql, t.table, ["id", "label", "amount"], [[3, "after", "3"]]);
    assert.equal((await t.rows()).length, 1);
  } finally {
    await t.drop();
  }
});

test("row writer: COPYs sharing one connection never meet (postgres.js would pipeline a query behind a COPY's start)", async () => {
  const t = await scratchTable();
  const single = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => copyRows(single, t.table, ["id", "label"], [[i, `row ${i}`]])),
    );
    const failures = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failures, [], "every COPY landed");
    assert.equal((await t.rows()).length, 50);
  } finally {
    await single.end();
    await t.drop();
  }
});
