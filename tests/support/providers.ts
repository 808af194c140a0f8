/**
 * What every provider's end-to-end test does through the real stack: connect an account
 * through sync-api as its user, run jobs and wait for them, crash the provider's worker
 * mid-chunk, and look everywhere a credential could leak.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { findLeaks } from "./leaks.ts";
import { eventually, type TestUser } from "./stack.ts";

/** Calls sync-api as the client's user and returns the real status and JSON body, 2xx or not. */
export async function callApi(client: SupabaseClient, path: string, method: "GET" | "POST" | "PATCH" | "DELETE", body?: unknown) {
  const { data, error, response } = await client.functions.invoke(`sync-api/${path}`, { method, body: body as never });
  if (error instanceof FunctionsHttpError) {
    const res = error.context as Response;
    return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
  }
  if (error) throw error;
  if (!response) throw new Error("supabase-js returned no response object");
  return { status: response.status, body: data, headers: response.headers };
}

/** A connection made the way a user makes one: POST /connections (credentials go to Vault). */
export async function connect(user: TestUser, provider: string, account: unknown, credentials: unknown): Promise<string> {
  const res = await callApi(user.client, "connections", "POST", { provider, label: `${provider} test`, account, credentials });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id;
}

export type JobRow = Record<string, any>;

export async function waitForJob(sql: postgres.Sql, id: string, timeoutMs = 30_000): Promise<JobRow> {
  return await eventually(`job ${id} to finish`, async () => {
    const [job] = await sql`select * from sync.jobs where id = ${id}`;
    return ["succeeded", "failed", "cancelled"].includes(job.status) && job;
  }, timeoutMs);
}

/** Enqueues a job as the scheduler or an operator would (no trigger cooldown) and waits for it. */
export async function runJob(
  sql: postgres.Sql,
  connectionId: string,
  kind = "incremental",
  params: Record<string, unknown> = {},
  options: { dryRun?: boolean; timeoutMs?: number } = {},
): Promise<JobRow> {
  const id = await sql.begin(async (tx) => {
    const [{ id }] = await tx`select sync.enqueue(${connectionId}, ${kind}, ${tx.json(params as never)}) as id`;
    if (options.dryRun) await tx`update sync.jobs set dry_run = true where id = ${id}`;
    return id as string;
  });
  return await waitForJob(sql, id, options.timeoutMs);
}

/** The follow-up job a succeeded job chained (after_job in its params), once it finishes. */
export async function followUpOf(sql: postgres.Sql, jobId: string): Promise<JobRow> {
  const { id } = await eventually(`the follow-up of ${jobId}`, async () => {
    const [row] = await sql`select id from sync.jobs where params->>'after_job' = ${jobId}`;
    return row;
  });
  return await waitForJob(sql, id);
}

/** The pids of the local worker processes serving a function (its entrypoint is in their environment). */
export function workerPids(functionName: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (environ.includes(`TRIBUTARY_HOST_ENTRYPOINT=`) && environ.includes(`/${functionName}/index.ts`)) pids.push(Number(entry.name));
    } catch { /* gone, or not ours */ }
  }
  return pids;
}

/**
 * Kills the function's workers once `probe` says the job is mid-run, then does what the
 * one-minute tick would once the lease expires (sync.reset_stale, sync.dispatch), and
 * waits for the job to finish.
 */
export async function crashMidChunk(
  sql: postgres.Sql,
  jobId: string,
  functionName: string,
  midRun: (job: JobRow) => boolean,
): Promise<JobRow> {
  await eventually("the job to be mid-run", async () => {
    const [job] = await sql`select * from sync.jobs where id = ${jobId}`;
    return job.status === "running" && midRun(job);
  }, 20_000);
  const pids = workerPids(functionName);
  assert.ok(pids.length > 0, `found the ${functionName} worker process`);
  for (const pid of pids) Deno.kill(pid, "SIGKILL");
  const [killed] = await sql`select status from sync.jobs where id = ${jobId}`;
  assert.equal(killed.status, "running", "the job is orphaned, still leased to the dead worker");
  await eventually("the lease to expire", async () =>
    (await sql`select lease_expires_at < now() as expired from sync.jobs where id = ${jobId}`)[0].expired, 20_000);
  await sql`select sync.reset_stale()`;
  const [{ provider }] = await sql`select provider from sync.jobs where id = ${jobId}`;
  await sql`select sync.dispatch(${provider})`;
  return await waitForJob(sql, jobId);
}

/**
 * The attempt number of each claim of a job, in order (its `claimed` events). A claim
 * counts an attempt; a rate limit gives it back; a checkpoint that moves the cursor sets
 * the count back to 1. So [1, 2] says the first run's failure or crash spent an attempt.
 */
export async function claimedAttempts(sql: postgres.Sql, jobId: string): Promise<number[]> {
  const rows = await sql<{ attempt: number }[]>`
    select attempt from sync.job_events where job_id = ${jobId} and event = 'claimed' order by id
  `;
  return rows.map((r) => r.attempt);
}

/** Fails if any of `secrets` appears in a sync.* or synced.* row, a broadcast, or a function log line. */
export async function assertNoLeak(sql: postgres.Sql, secrets: string[]) {
  const leaks = await findLeaks(sql, secrets);
  assert.deepEqual(leaks.map((l) => `a credential appears in ${l.where}`), []);
}
