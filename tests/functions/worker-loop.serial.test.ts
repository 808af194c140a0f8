/**
 * One worker invocation claims again after its jobs until nothing is runnable, and the
 * follow-ups its jobs chain are among what it claims: no wake-up per job. A provider of
 * small jobs (Spotify) claims them in batches and runs each batch side by side. Past its CPU
 * budget it claims no more, and a job in hand stops at its next checkpoint; a fresh
 * invocation takes the rest.
 *
 * Serial: any other file's Spotify job, or its wake-up, could take a job of this one.
 */
import assert from "node:assert/strict";
import { fake } from "../support/fakes.ts";
import { connect } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import type postgres from "postgres";
import { apiUrl, clearOfTheTick, createUser, db, eventually, functionLogMark, functionLogSince, serviceRoleKey, type TestUser } from "../support/stack.ts";

/** A serial test with a fresh user and its own database session, both closed after. */
function withUser(name: string, fn: (sql: postgres.Sql, user: TestUser) => Promise<void>) {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const sql = db();
      const user = await createUser(sql);
      try {
        await fn(sql, user);
      } finally {
        await closeClient(user.client);
        await sql.end();
      }
    },
  });
}

/**
 * An incremental job for each connection, all due at once and none woken: enqueued for
 * later (so the enqueue wakes nobody), then made due clear of the tick.
 */
async function dueUnwoken(sql: postgres.Sql, connections: string[], params = {}): Promise<string[]> {
  const jobs = await sql`
    select sync.enqueue(c, 'incremental', ${sql.json(params)}, now() + interval '1 hour') as id
    from unnest(${connections}::uuid[]) c
  `;
  const ids = jobs.map((j) => j.id as string);
  await clearOfTheTick();
  await sql`update sync.jobs set run_at = now() where id = any(${ids})`;
  return ids;
}

/** One request to a worker function, as an operator makes it, and its `{claimed, ...}` answer. */
async function callWorker(name: string, body: Record<string, unknown>) {
  const res = await fetch(`${apiUrl}/functions/v1/${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

withUser("worker loop: one invocation runs every runnable job and the follow-ups they chain", async (sql, user) => {
  const connections: string[] = [];
  for (let i = 0; i < 3; i++) {
    const refresh_token = `AQloop${crypto.randomUUID().replaceAll("-", "")}`;
    await fake("spotify", `loop-${crypto.randomUUID()}`).seed({ refresh_token, plays: 5 });
    connections.push(await connect(user, "spotify", {}, { refresh_token }));
  }
  await dueUnwoken(sql, connections);
  // Spotify's batch (10) takes the three at once, so its first claim leaves nothing to wake help for.
  assert.deepEqual(await callWorker("sync-spotify", {}), { claimed: 6, succeeded: 6, failed: 0, yielded: 0 },
    "the three syncs, then the three daily summaries they chained, in one invocation");
  // Events written by one statement share its transaction's time.
  const claims = await sql`
    select j.kind, count(distinct e.created_at)::int as statements, count(*)::int as jobs
    from sync.job_events e join sync.jobs j on j.id = e.job_id
    where j.connection_id = any(${connections}) and e.event = 'claimed'
    group by j.kind order by j.kind
  `;
  assert.deepEqual(claims.map((c) => ({ ...c })), [
    { kind: "daily-summary", statements: 1, jobs: 3 },
    { kind: "incremental", statements: 1, jobs: 3 },
  ], "each batch was claimed in one statement: the syncs, then the summaries they chained");

  const kinds = await sql`
    select kind, status from sync.jobs where connection_id = any(${connections}) order by kind, status
  `;
  assert.deepEqual(kinds.map((k) => `${k.kind} ${k.status}`), [
    ...Array(3).fill("daily-summary succeeded"),
    ...Array(3).fill("incremental succeeded"),
  ]);
  const [{ plays }] = await sql`select count(*)::int as plays from synced.spotify_plays where connection_id = any(${connections})`;
  assert.equal(plays, 15);
});

withUser("worker loop: heavy jobs claimed together still run one after another", async (sql, user) => {
  // http-json has no batchSize: its jobs may be large pages into memory. An upstream that
  // answers after 300 ms shows whether the next job started before this one finished.
  const arrivals: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    arrivals.push(Date.now());
    await new Promise((r) => setTimeout(r, 300));
    return Response.json({ items: [{ id: arrivals.length }] });
  });
  try {
    const connections: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [{ id }] = await sql`
        insert into sync.connections (owner_id, provider, label, account)
        values (${user.id}, 'http-json', 'slow api', ${sql.json({ url: `http://127.0.0.1:${server.addr.port}/${i}`, records_path: "items" })})
        returning id
      `;
      connections.push(id);
    }
    await dueUnwoken(sql, connections);
    assert.deepEqual(await callWorker("sync-http-json", { max_jobs: 3 }), { claimed: 3, succeeded: 3, failed: 0, yielded: 0 });
    assert.equal(arrivals.length, 3);
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]);
    assert.ok(gaps.every((gap) => gap >= 300), `each job asked only once the one before had its answer (gaps ${gaps} ms)`);
  } finally {
    await server.shutdown();
  }
});

/** `count` connections of the fixture-cpu provider (tests/fixtures/functions/sync-fixture-cpu). */
async function busyConnections(sql: postgres.Sql, user: TestUser, count: number): Promise<string[]> {
  await sql`insert into sync.providers (name) values ('fixture-cpu') on conflict do nothing`;
  const rows = await sql`
    insert into sync.connections (owner_id, provider, label)
    select ${user.id}, 'fixture-cpu', 'busy ' || i from generate_series(1, ${count}::int) i returning id
  `;
  return rows.map((c) => c.id as string);
}

withUser("worker loop: past its CPU budget a request claims no more, and fresh invocations run the rest", async (sql, user) => {
  // 60 ms of CPU a job, a budget of 50 ms.
  const jobs = await dueUnwoken(sql, await busyConnections(sql, user, 5));
  assert.deepEqual(await callWorker("sync-fixture-cpu", {}), { claimed: 1, succeeded: 1, failed: 0, yielded: 0 },
    "one job spent the budget: the request claimed no second");
  // Its closing dispatch woke fresh invocations, each running one job and waking the next.
  await eventually("the other four jobs to run", async () => {
    const [{ n }] = await sql`select count(*)::int as n from sync.jobs where id = any(${jobs}) and status = 'succeeded'`;
    return n === 5;
  }, 20_000);
});

withUser("worker loop: past its CPU budget a job stops at its checkpoint, and the next invocation resumes it", async (sql, user) => {
  // Four chunks of 60 ms of CPU, a budget of 50 ms: one chunk per invocation.
  const [job] = await dueUnwoken(sql, await busyConnections(sql, user, 1), { chunks: 4 });
  const from = await functionLogMark();
  assert.deepEqual(await callWorker("sync-fixture-cpu", {}), { claimed: 1, succeeded: 0, failed: 0, yielded: 1 },
    "one chunk spent the budget: the job was released at its checkpoint");
  await eventually("the job to finish in later invocations", async () => {
    const [{ status }] = await sql`select status from sync.jobs where id = ${job}`;
    return status === "succeeded";
  }, 20_000);
  const [done] = await sql`select cursor, attempts from sync.jobs where id = ${job}`;
  assert.deepEqual(done.cursor, { n: 4 });
  assert.equal(done.attempts, 1, "a release spends no attempt");
  const ran = (await functionLogSince(from, "sync-fixture-cpu")).filter((e) => e.job === job && e.msg === "chunk ran").map((e) => e.n);
  assert.deepEqual(ran, [0, 1, 2, 3], "each chunk ran once, in order: every invocation resumed from the last checkpoint");
});
