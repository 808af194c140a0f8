/** A provider's refreshed credentials are written back to Vault, never to a row. */
import assert from "node:assert/strict";
import { createUser, db, eventually } from "../support/stack.ts";

Deno.test("ctx.saveCredentials stores the rotated credentials in the connection's Vault secret", async () => {
  const sql = db();
  try {
    await sql`insert into sync.providers (name) values ('fixture-refresh') on conflict do nothing`;
    const user = await createUser(sql);
    const [{ secret }] = await sql`select vault.create_secret(${JSON.stringify({ token: "token-1", generation: 1 })}) as secret`;
    const [{ id: conn }] = await sql`
      insert into sync.connections (owner_id, provider, label, credentials_secret_id)
      values (${user.id}, 'fixture-refresh', 'rotating', ${secret}) returning id
    `;
    for (const expected of [2, 3]) {
      const [{ job }] = await sql`select sync.enqueue(${conn}, ${"run-" + expected}) as job`;
      const done = await eventually("the job", async () => {
        const [j] = await sql`select status, stats, last_error from sync.jobs where id = ${job}`;
        return ["succeeded", "failed"].includes(j.status) && j;
      }, 15_000);
      assert.equal(done.status, "succeeded", done.last_error);
      const [{ stored }] = await sql`select decrypted_secret as stored from vault.decrypted_secrets where id = ${secret}`;
      assert.deepEqual(JSON.parse(stored), { token: `token-${expected}`, generation: expected });
    }
    const [{ leaks }] = await sql`
      select (select count(*) from sync.jobs where connection_id = ${conn} and jobs::text like '%token-%')
           + (select count(*) from sync.connections c where c.id = ${conn} and c::text like '%token-%') as leaks
    `;
    assert.equal(Number(leaks), 0, "the token is in Vault only");
  } finally {
    await sql.end();
  }
});
