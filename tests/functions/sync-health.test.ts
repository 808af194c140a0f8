/** sync-health: open to anyone, reports database and scheduler, nothing more. */
import assert from "node:assert/strict";
import { apiUrl, db } from "../support/stack.ts";

const health = (init?: RequestInit) => fetch(`${apiUrl}/functions/v1/sync-health`, init);

Deno.test("sync-health answers 200 healthy without a token, and says nothing owner-specific", async () => {
  const res = await health();
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  const body = await res.json();
  assert.equal(body.status, "healthy");
  assert.equal(body.checks.database, "ok");
  assert.match(body.checks.scheduler, /^(ok|waiting for first tick)$/);
  assert.deepEqual(Object.keys(body.checks).sort(), ["database", "last_tick_at", "processing", "scheduler"]);
});

Deno.test("sync-health answers 503 unhealthy when the scheduler has stalled", async () => {
  const sql = db();
  const [{ last_tick_at: before }] = await sql`select last_tick_at from sync.settings`;
  try {
    await sql`update sync.settings set last_tick_at = now() - interval '1 hour'`;
    const res = await health();
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.status, "unhealthy");
    assert.equal(body.checks.scheduler, "stalled");
  } finally {
    await sql`update sync.settings set last_tick_at = ${before}`;
    await sql.end();
  }
});

Deno.test("sync-health refuses other methods with a JSON 405 and answers preflights", async () => {
  const res = await health({ method: "POST", body: "{}" });
  assert.equal(res.status, 405);
  assert.deepEqual(await res.json(), { error: { code: "method_not_allowed", message: "Use GET." } });
  const pre = await health({ method: "OPTIONS" });
  assert.equal(pre.status, 200);
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/);
  await pre.body?.cancel();
});
