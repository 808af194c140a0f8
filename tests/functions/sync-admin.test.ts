/** sync-admin: only admins and service_role; pause and resume, retry and cancel, every owner's jobs. */
import assert from "node:assert/strict";
import { apiUrl, createUser, db, eventually, serviceRoleKey } from "../support/stack.ts";

const admin = (token: string, path: string, init: RequestInit = {}) =>
  fetch(`${apiUrl}/functions/v1/sync-admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });

Deno.test("sync-admin refuses ordinary users and anonymous callers", async () => {
  const sql = db();
  try {
    const user = await createUser(sql);
    const res = await admin(user.token, "/health");
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "forbidden");
    const anonymous = await fetch(`${apiUrl}/functions/v1/sync-admin/health`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await sql.end();
  }
});

Deno.test("an admin pauses and resumes, retries a failed job from its cursor and sees every owner's jobs", async () => {
  const sql = db();
  try {
    const boss = await createUser(sql, { appMetadata: { role: "admin" } });
    const owner = await createUser(sql);
    // A provider no worker serves: once retried, the job must stay queued until the
    // cancel below, and http-json workers woken by other test files would claim it.
    const provider = `admin-test-${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into sync.providers (name) values (${provider})`;
    const [{ id: conn }] = await sql`
      insert into sync.connections (owner_id, provider, label) values (${owner.id}, ${provider}, 'x') returning id
    `;
    const [{ job }] = await sql`select sync.enqueue(${conn}, 'admin-test', '{}', now() + interval '1 hour') as job`;
    await sql`update sync.jobs set status = 'failed', finished_at = now(), last_error = 'boom', cursor = '{"page": 4}' where id = ${job}`;

    const paused = await admin(boss.token, "/pause", { method: "POST", body: JSON.stringify({ reason: "maintenance" }) });
    assert.equal(paused.status, 200);
    await paused.body?.cancel();
    const health = await (await admin(serviceRoleKey, "/health")).json();
    assert.equal(health.settings.paused, true);
    assert.equal(health.settings.paused_reason, "maintenance");
    assert.ok(health.providers.some((p: { provider: string }) => p.provider === "http-json"));
    assert.ok(health.providers.every((p: { processing_enabled: boolean }) => p.processing_enabled === false));

    const bad = await admin(boss.token, "/pause", { method: "POST", body: JSON.stringify({}) });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /reason/);
    const resumed = await admin(boss.token, "/resume", { method: "POST" });
    assert.equal(resumed.status, 200);
    await resumed.body?.cancel();
    assert.equal((await sql`select paused from sync.settings`)[0].paused, false);

    const all = await (await admin(boss.token, `/jobs?status=failed&provider=${provider}&limit=500`)).json();
    assert.ok(all.jobs.some((j: { id: string }) => j.id === job), "jobs of other owners are listed");

    const retried = await admin(boss.token, `/jobs/${job}/retry`, { method: "POST" });
    assert.equal(retried.status, 200);
    assert.equal((await retried.json()).job_id, job);
    const [row] = await sql`select status, cursor from sync.jobs where id = ${job}`;
    assert.equal(row.status, "queued");
    assert.deepEqual(row.cursor, { page: 4 });
    const again = await admin(boss.token, `/jobs/${job}/retry`, { method: "POST" });
    assert.equal(again.status, 409, "a queued job cannot be retried");
    await again.body?.cancel();

    const cancelled = await admin(boss.token, `/jobs/${job}/cancel`, { method: "POST" });
    assert.equal((await cancelled.json()).cancelled, true);
    await eventually("the cancel", async () => (await sql`select status from sync.jobs where id = ${job}`)[0].status === "cancelled");
    const unknown = await admin(boss.token, `/jobs/${crypto.randomUUID()}/cancel`, { method: "POST" });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  } finally {
    await sql`select sync.resume()`;
    await sql`delete from sync.connections where provider like 'admin-test-%'`;
    await sql`delete from sync.providers where name like 'admin-test-%'`;
    await sql.end();
  }
});
