/**
 * Concurrent claimers on one queue: separate Postgres sessions claiming at once never
 * get the same job, every job is claimed exactly once, and a provider's concurrency cap
 * holds across sessions.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { db, dbUrl } from "../support/stack.ts";

async function arrange(sql: postgres.Sql, jobs: number, cap: number | null) {
  const [{ name }] = await sql`
    insert into sync.providers (name, max_concurrency) values (${"test-" + crypto.randomUUID().slice(0, 8)}, ${cap})
    returning name
  `;
  const [{ id: owner }] = await sql`insert into auth.users (id, email) values (gen_random_uuid(), ${crypto.randomUUID() + "@example.test"}) returning id`;
  const [{ id: conn }] = await sql`insert into sync.connections (owner_id, provider, label) values (${owner}, ${name}, 'load') returning id`;
  await sql`select sync.enqueue(${conn}, 'k' || i) from generate_series(1, ${jobs}) i`;
  return name as string;
}

async function claimUntilEmpty(session: postgres.Sql, provider: string, worker: string, batch: number) {
  const seen: string[] = [];
  while (true) {
    const rows = await session`select id, lease_token from sync.claim(${provider}, ${worker}, ${batch})`;
    if (rows.length === 0) return seen;
    for (const row of rows) {
      seen.push(row.id);
      await session`select sync.complete(${row.id}, ${row.lease_token})`;
    }
  }
}

for (const sessions of [2, 8]) {
  Deno.test(`${sessions} concurrent sessions claim every job exactly once`, async () => {
    const sql = db();
    const clients = Array.from({ length: sessions }, () => postgres(dbUrl, { max: 1, onnotice: () => {} }));
    try {
      const provider = await arrange(sql, 300, null);
      const claimed = await Promise.all(clients.map((c, i) => claimUntilEmpty(c, provider, `worker-${i}`, 3)));
      const all = claimed.flat();
      assert.equal(all.length, 300, "every job was claimed");
      assert.equal(new Set(all).size, 300, "no job was claimed twice");
      assert.ok(claimed.filter((c) => c.length > 0).length > 1, "the work was shared between sessions");
      const [{ n }] = await sql`select count(*)::int as n from sync.jobs where provider = ${provider} and status = 'succeeded'`;
      assert.equal(n, 300);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await sql.end();
    }
  });
}

Deno.test("the concurrency cap holds when eight sessions claim at the same moment", async () => {
  const sql = db();
  const clients = Array.from({ length: 8 }, () => postgres(dbUrl, { max: 1, onnotice: () => {} }));
  try {
    const provider = await arrange(sql, 40, 3);
    const claimed = await Promise.all(clients.map((c, i) => c`select id from sync.claim(${provider}, ${"w" + i}, 5)`));
    assert.equal(claimed.flat().length, 3, "exactly the cap, not 8 x 5");
    const [{ n }] = await sql`select count(*)::int as n from sync.jobs where provider = ${provider} and status = 'running'`;
    assert.equal(n, 3);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await sql.end();
  }
});
