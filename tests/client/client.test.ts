/**
 * The typed client (client/mod.ts) against the real stack, through the unmodified
 * supabase-js client: connections, starting and watching a sync over Realtime, the
 * catch-up read, the polling fallback when Realtime is unavailable, and its errors.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { createSyncClient, type ProgressEvent, SyncError } from "../../client/mod.ts";
import { anonKey, apiUrl, createUser, db } from "../support/stack.ts";
import { pagedApi } from "../support/paged-api.ts";

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

e2e(
  "connections: create, list, update and remove, with the provider's validation as a 400 naming the field",
  async () => {
    const sql = db();
    const user = await createUser(sql);
    const sync = createSyncClient(user.client);
    try {
      const bad = await sync.connections.create({ provider: "http-json", label: "x", account: { url: 42 } })
        .catch((e) => e);
      assert.ok(bad instanceof SyncError);
      assert.equal(bad.status, 400);
      assert.match(bad.message, /account\.url/);

      const { id } = await sync.connections.create({
        provider: "http-json",
        label: "Orders",
        account: { url: "http://127.0.0.1:9/orders" },
        credentials: { headers: { "x-api-key": "k-123" } },
      });
      const [listed] = await sync.connections.list();
      assert.equal(listed.id, id);
      assert.equal(listed.label, "Orders");
      assert.ok(!JSON.stringify(listed).includes("k-123"), "credentials never come back");

      const updated = await sync.connections.update(id, { auto_sync: true, cadence: "6 hours" });
      assert.equal(updated.auto_sync, true);
      assert.equal(updated.cadence, "06:00:00");

      await sync.connections.remove(id);
      assert.deepEqual(await sync.connections.list(), []);
      const gone = await sync.connections.update(id, { label: "y" }).catch((e) => e);
      assert.equal(gone.status, 404);
    } finally {
      await sql.end();
    }
  },
);

e2e("me and providers: who the token is, and a JSON Schema per provider for its forms", async () => {
  const sql = db();
  const user = await createUser(sql);
  try {
    const sync = createSyncClient(user.client);
    assert.deepEqual(await sync.me(), { id: user.id, email: user.email, is_admin: false });
    const providers = await sync.providers();
    const httpJson = providers.find((p) => p.name === "http-json")!;
    assert.ok(httpJson.kinds.includes("incremental"));
    assert.ok((httpJson.account.required as string[]).includes("url"));
    assert.ok(providers.some((p) => p.name === "steam" && "key" in (p.credentials.properties as object)));
  } finally {
    await sql.end();
  }
});

e2e("startSync then waitForJob: every progress event over Realtime, in order, ending at 100%", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 4, perPage: 5, delayMs: 80 });
  const sync = createSyncClient(user.client);
  try {
    const { id } = await sync.connections.create({
      provider: "http-json",
      label: "Paged",
      account: upstream.account,
    });
    const modes: string[] = [];
    const events: ProgressEvent[] = [];
    const started = await sync.startSync(id);
    assert.equal(started.deduplicated, false);
    assert.equal(
      (await sync.startSync(id)).deduplicated,
      true,
      "a second start while queued or running is the same job",
    );

    const final = await sync.waitForJob(started.job_id, (e) => events.push(e), {
      onModeChange: (m) => modes.push(m),
    });
    assert.equal(final.status, "succeeded", final.error ?? "");
    assert.equal(final.progress.percent, 100);
    assert.deepEqual(final.stats, { records: 20, pages: 4 });
    assert.deepEqual(modes, ["realtime"]);
    assert.ok(
      events.some((e) => e.status === "running" && e.progress.percent > 0 && e.progress.percent < 100),
      "saw it move",
    );
    const stamps = events.map((e) => Date.parse(e.updated_at));
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), "in order");
    assert.equal(events.filter((e) => e.status === "succeeded").length, 1, "the end is reported once");

    const [job] = await sync.listJobs({ status: "succeeded" });
    assert.equal(job.id, started.job_id);
  } finally {
    upstream.close();
    await sql.end();
  }
});

e2e("watchJob on a job that already finished reports its final state from the catch-up read", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 1, perPage: 3 });
  const sync = createSyncClient(user.client);
  try {
    const { id } = await sync.connections.create({
      provider: "http-json",
      label: "Small",
      account: upstream.account,
    });
    const { job_id } = await sync.startSync(id);
    await sync.waitForJob(job_id);

    const late: ProgressEvent[] = [];
    const watch = sync.watchJob(job_id, (e) => late.push(e));
    await waitUntil(() => late.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    await watch.stop();
    assert.equal(late.length, 1);
    assert.equal(late[0].status, "succeeded");
    assert.equal(watch.mode, "realtime");
  } finally {
    upstream.close();
    await sql.end();
  }
});

e2e("watchMyJobs: the user's recent jobs first, then each change as it happens", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 2, perPage: 2, delayMs: 50 });
  const sync = createSyncClient(user.client);
  try {
    const { id } = await sync.connections.create({
      provider: "http-json",
      label: "Mine",
      account: upstream.account,
    });
    const first = await sync.startSync(id);
    await sync.waitForJob(first.job_id);

    const events: ProgressEvent[] = [];
    const watch = await sync.watchMyJobs((e) => events.push(e));
    await waitUntil(() => events.length > 0);
    assert.equal(events[0].job_id, first.job_id, "the catch-up read reports the finished job");

    await new Promise((r) => setTimeout(r, 10_500)); // sync-api's cooldown between triggers
    const second = await sync.startSync(id);
    await waitUntil(() => events.some((e) => e.job_id === second.job_id && e.status === "succeeded"), 20_000);
    await watch.stop();
    assert.ok(
      events.filter((e) => e.job_id === second.job_id).length >= 2,
      "queued or running, then succeeded",
    );
  } finally {
    upstream.close();
    await sql.end();
  }
});

/** A WebSocket that never connects: Realtime as seen from behind a proxy that blocks it. */
class BlockedWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 3;
  onopen: unknown = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessage: unknown = null;
  binaryType = "arraybuffer";
  constructor(_url: string) {
    super();
    setTimeout(() => {
      this.onerror?.(new Event("error"));
      this.onclose?.({ code: 1006, reason: "blocked" });
    }, 10);
  }
  send() {}
  close() {}
}

e2e("without Realtime the watcher polls sync-api and still sees the job finish", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 3, perPage: 2, delayMs: 100 });
  const offline = createClient(apiUrl, anonKey, {
    accessToken: () => Promise.resolve(user.token),
    realtime: { transport: BlockedWebSocket as never, params: { apikey: anonKey } },
  });
  const sync = createSyncClient(offline, { pollIntervalMs: 150, joinTimeoutMs: 500 });
  try {
    const { id } = await sync.connections.create({
      provider: "http-json",
      label: "Polled",
      account: upstream.account,
    });
    const modes: string[] = [];
    const { job_id } = await sync.startSync(id);
    const final = await sync.waitForJob(job_id, undefined, { onModeChange: (m) => modes.push(m) });
    assert.equal(final.status, "succeeded");
    assert.equal(final.progress.percent, 100);
    assert.equal(modes[0], "polling");
  } finally {
    upstream.close();
    await offline.removeAllChannels();
    await sql.end();
  }
});

e2e(
  "errors are SyncErrors: 401 for a forged token, 404 for someone else's job, 403 for a user on admin routes",
  async () => {
    const sql = db();
    const owner = await createUser(sql);
    const other = await createUser(sql);
    const upstream = pagedApi({ pages: 1, perPage: 1 });
    try {
      const mine = createSyncClient(owner.client);
      const { id } = await mine.connections.create({
        provider: "http-json",
        label: "Own",
        account: upstream.account,
      });
      const { job_id } = await mine.startSync(id);

      const theirs = await createSyncClient(other.client).getJob(job_id).catch((e) => e);
      assert.equal(theirs.status, 404);
      assert.equal(theirs.code, "not_found");

      const forged = createClient(apiUrl, anonKey, {
        accessToken: () => Promise.resolve(owner.token.slice(0, -4) + "AAAA"),
      });
      const denied = await createSyncClient(forged).listJobs().catch((e) => e);
      assert.ok(denied instanceof SyncError && denied.unauthenticated, String(denied));

      const forbidden = await mine.admin.health().catch((e) => e);
      assert.ok(forbidden instanceof SyncError && forbidden.forbidden);
      await mine.waitForJob(job_id);
    } finally {
      upstream.close();
      await sql.end();
    }
  },
);

e2e("admin: health and every owner's jobs with an admin's token", async () => {
  const sql = db();
  const admin = await createUser(sql, { appMetadata: { role: "admin" } });
  const sync = createSyncClient(admin.client);
  try {
    assert.equal((await sync.me()).is_admin, true);
    const health = await sync.admin.health();
    assert.ok(health.providers.some((p) => p.provider === "http-json"));
    assert.equal(typeof health.settings.paused, "boolean");
    const failed = await sync.admin.listJobs({ status: "failed", limit: 5 });
    assert.ok(Array.isArray(failed));

    // Another user's connection and job: the admin sees them through admin calls, but
    // the admin's own lists (sync-api: "my" connections and jobs) leave them out.
    const other = await createUser(sql);
    const upstream = pagedApi({ pages: 1, perPage: 1 });
    const theirs = createSyncClient(other.client);
    const { id } = await theirs.connections.create({
      provider: "http-json",
      label: "Not the admin's",
      account: upstream.account,
    });
    const { job_id } = await theirs.startSync(id);
    await theirs.waitForJob(job_id);
    upstream.close();
    assert.deepEqual(await sync.connections.list(), []);
    assert.deepEqual(await sync.listJobs(), []);
    assert.ok((await sync.admin.listJobs({ limit: 500 })).some((j) => j.id === job_id));
  } finally {
    await sql.end();
  }
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}
