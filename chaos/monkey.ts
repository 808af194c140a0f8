/**
 * The faults the soak injects into the running stack itself (the upstream faults are
 * planted in the fakes by workload.ts): workers killed mid-chunk, a Postgres restart,
 * and a pause and resume.
 */
import type postgres from "postgres";
import { restartCluster } from "../local-stack/postgres.ts";
import type { Profile } from "../local-stack/profile.ts";
import { workerPids } from "../tests/support/providers.ts";

/**
 * SIGKILLs the worker processes of every provider that has running jobs, the way the
 * platform kills an isolate (out of memory, wall clock): no `beforeunload`, no release.
 * Returns, per provider whose workers were killed, how many running jobs (each inside a
 * chunk) were cut off.
 */
export async function killBusyWorkers(sql: postgres.Sql, providers: string[]): Promise<Map<string, number>> {
  const busy = await sql<{ provider: string; n: number }[]>`
    select provider, count(*)::int as n from sync.jobs
    where status = 'running' and provider = any(${providers}) group by provider
  `;
  const cut = new Map<string, number>();
  for (const { provider, n } of busy) {
    const pids = workerPids(`sync-${provider}`);
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    if (pids.length > 0) cut.set(provider, n);
  }
  return cut;
}

/** `pg_ctl restart -m fast`: every connection of every process is cut; returns the seconds it took. */
export async function restartPostgres(profile: Profile): Promise<number> {
  const started = performance.now();
  await restartCluster(profile);
  return (performance.now() - started) / 1000;
}

/**
 * Pauses the queue for `seconds`, then resumes it and wakes the workers. Returns how many
 * jobs were claimed while paused (it must be none: running jobs carry on, nothing new starts).
 */
export async function pauseAndResume(sql: postgres.Sql, seconds: number): Promise<{ claimedWhilePaused: number }> {
  await sql`select sync.pause('chaos soak: pause and resume mid-run')`;
  // Read after the pause committed: a claim that started later must have seen it.
  const [{ at }] = await sql`select clock_timestamp() as at`;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const [{ n }] = await sql`
    select count(*)::int as n from sync.job_events where event = 'claimed' and created_at > ${at}
  `;
  await sql`select sync.resume()`;
  await sql`select sync.dispatch()`;
  return { claimedWhilePaused: n };
}
