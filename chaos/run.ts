/**
 * One chaos soak against a running stack: build the workload, enqueue every job, then,
 * while the workers run, kill them mid-chunk, pause and resume the queue and restart
 * Postgres, watching all along for a job stuck past its lease plus one tick. When every
 * job has finished (or time is up) it audits rows, jobs, upstream requests, credentials
 * and bloat. `chaos/soak.ts` runs it on a stack of its own; a small one runs in npm test.
 */
import postgres from "postgres";
import { bar, formatDuration } from "../cli/progress-bar.ts";
import type { Profile } from "../local-stack/profile.ts";
import {
  auditJobs,
  auditLeaks,
  auditRows,
  auditUpstream,
  type IndexBloat,
  indexBloat,
  type JobAudit,
  type RowAudit,
  type TableBloat,
  tableBloat,
} from "./audit.ts";
import { killBusyWorkers, pauseAndResume, restartPostgres } from "./monkey.ts";
import { buildWorkload, createOwners, DEFAULT_RATES, type FaultRates, SOAK_PROVIDERS, type Source } from "./workload.ts";

export interface SoakOptions {
  profile: Profile;
  fakesUrl: string;
  functionLog?: string;
  jobs: number;
  /** Owners the jobs are spread over (default: one per 20 jobs, at least 3). */
  owners?: number;
  seed: number;
  rates?: FaultRates;
  /** Share of chunks whose worker is killed mid-chunk. */
  killRate?: number;
  /** Every fake answer is slowed by this much, so a kill lands inside a chunk. */
  delayMs?: number;
  /**
   * The scheduler tick: sync.tick() every this many seconds, as pg_cron 1.6 does on hosted
   * Supabase. 0 leaves it to the local pg_cron 1.4, which ticks once a minute.
   */
  tickSeconds?: number;
  pauseSeconds?: number;
  restart?: boolean;
  /** Attempts each job gets (default 10; the queue's default is 5). */
  maxAttempts?: number;
  maxSeconds: number;
  /** Where progress goes (a redrawn bar on a terminal, a line every few seconds elsewhere). */
  out?: { write(text: string): void; isTerminal: boolean };
}

export interface SoakReport {
  jobs: number;
  providers: string[];
  owners: number;
  seed: number;
  wallSeconds: number;
  setupSeconds: number;
  jobAudit: JobAudit;
  rows: RowAudit;
  upstreamRequests: number;
  faultsServed: Record<string, number>;
  kills: { events: number; chunks: number; percentOfRequests: number };
  pause: { claimedWhilePaused: number } | null;
  restart: { seconds: number } | null;
  /** The most jobs seen at once running past their lease plus one tick (and their ids). */
  stuck: { max: number; jobs: string[] };
  leaks: { secretsPlanted: number; found: { where: string }[] };
  bloat: TableBloat[];
  indexBloat: IndexBloat[];
  tickSeconds: number;
}

/** What the soak requires: nothing lost, duplicated, stuck or leaked, and only planted failures. */
export function verdict(r: SoakReport): string[] {
  const problems: string[] = [];
  if (r.rows.lost) problems.push(`${r.rows.lost} rows lost`);
  if (r.rows.duplicated) problems.push(`${r.rows.duplicated} rows duplicated`);
  if (r.stuck.max) problems.push(`${r.stuck.max} jobs stuck past their lease plus one tick`);
  if (r.jobAudit.unfinished) problems.push(`${r.jobAudit.unfinished} jobs unfinished when time ran out`);
  if (r.jobAudit.unexpectedFailures.length) problems.push(`${r.jobAudit.unexpectedFailures.length} jobs failed that should not have`);
  if (r.jobAudit.permanentNotFailed.length) problems.push(`${r.jobAudit.permanentNotFailed.length} revoked-credential jobs did not fail`);
  if (r.pause?.claimedWhilePaused) problems.push(`${r.pause.claimedWhilePaused} jobs claimed while paused`);
  if (r.leaks.found.length) problems.push(`${r.leaks.found.length} credential leaks`);
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const rates = o.rates ?? DEFAULT_RATES;
  const killRate = o.killRate ?? 0.10;
  const tickSeconds = o.tickSeconds ?? 10;
  const out = o.out ?? { write: () => {}, isTerminal: false };
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  // Queries fail while Postgres restarts; the soak's own pool reconnects like everyone else's.
  const sql = postgres(o.profile.dbUrl, { max: 4, onnotice: () => {}, connection: { application_name: "tributary-soak" } });
  try {
    out.write(`Setting up ${o.jobs} jobs on ${SOAK_PROVIDERS.join(", ")}...\n`);
    const owners = await createOwners(sql, o.profile.apiUrl, o.owners ?? Math.max(3, Math.ceil(o.jobs / 20)));
    const sources = await buildWorkload({ jobs: o.jobs, owners, fakesUrl: o.fakesUrl, seed: o.seed, rates, delayMs: o.delayMs ?? 100 });
    const connections = sources.map((s) => s.connectionId);
    const plannedByProvider = new Map<string, number>();
    const jobsByProvider = new Map<string, number>();
    for (const s of sources) {
      plannedByProvider.set(s.provider, (plannedByProvider.get(s.provider) ?? 0) + s.plannedRequests);
      jobsByProvider.set(s.provider, (jobsByProvider.get(s.provider) ?? 0) + 1);
    }
    const killedChunks = new Map<string, number>();
    const setupSeconds = elapsed();

    // Enqueued as the scheduler would, a batch per transaction (each wakes its providers once).
    // Each job gets more attempts than the default 5, as an operator would for a flaky
    // upstream: here about one request in five fails and a tenth of chunks are killed, so
    // with 5 attempts about one chunk in 3,000 runs out by chance before it checkpoints
    // (session 7's full soak lost a Steam job that way). A failure that way is the design
    // working, not what the soak looks for.
    const jobIds = new Map<string, string>();
    for (let i = 0; i < sources.length; i += 50) {
      await sql.begin(async (tx) => {
        for (const s of sources.slice(i, i + 50)) {
          const [{ id }] = await tx`select sync.enqueue(${s.connectionId}, ${s.job.kind}, ${tx.json(s.job.params as never)}) as id`;
          await tx`update sync.jobs set max_attempts = ${o.maxAttempts ?? 10} where id = ${id}`;
          jobIds.set(s.connectionId, id);
        }
      });
    }
    const mainJobs = [...jobIds.values()];
    const runStarted = elapsed();

    const kills = { events: 0, chunks: 0 };
    let pause: SoakReport["pause"] = null;
    let restart: SoakReport["restart"] = null;
    const stuck = { max: 0, jobs: new Set<string>() };
    let lastTick = 0;
    let lastKill = 0;
    let lastLine = 0;
    let finished = 0;
    let open = o.jobs;

    while (elapsed() - runStarted < o.maxSeconds) {
      try {
        // One read per round: open jobs (follow-ups included) and finished main jobs, per provider.
        const byProvider = await sql<{ provider: string; open: number; finished: number }[]>`
          select provider, count(*) filter (where status in ('queued', 'running'))::int as open,
                 count(*) filter (where id = any(${mainJobs}) and status in ('succeeded', 'failed', 'cancelled'))::int as finished
          from sync.jobs where connection_id = any(${connections}) group by provider
        `;
        open = byProvider.reduce((n, p) => n + p.open, 0);
        finished = byProvider.reduce((n, p) => n + p.finished, 0);
        if (open === 0) break;

        // Stuck: running, its lease gone for longer than one tick, so reset_stale should have had it.
        const overdue = await sql<{ id: string }[]>`
          select id from sync.jobs
          where connection_id = any(${connections}) and status = 'running'
            and lease_expires_at < now() - make_interval(secs => ${(tickSeconds || 60) + 5})
        `;
        stuck.max = Math.max(stuck.max, overdue.length);
        for (const { id } of overdue) stuck.jobs.add(id);

        if (tickSeconds && elapsed() - lastTick >= tickSeconds) {
          lastTick = elapsed();
          await sql`select sync.tick()`;
        }

        const fraction = finished / o.jobs;
        // Kills are paced per provider by its own progress, so a provider that finishes
        // last (Steam, under its 100 requests a minute) is not killed for everyone's share.
        if (elapsed() - lastKill >= 2) {
          const due = byProvider.filter((p) =>
            (killedChunks.get(p.provider) ?? 0) < killRate * (plannedByProvider.get(p.provider) ?? 0) * (p.finished / (jobsByProvider.get(p.provider) ?? 1))
          ).map((p) => p.provider);
          const cut = due.length ? await killBusyWorkers(sql, due) : new Map<string, number>();
          if (cut.size > 0) {
            kills.events++;
            for (const [provider, n] of cut) {
              kills.chunks += n;
              killedChunks.set(provider, (killedChunks.get(provider) ?? 0) + n);
            }
            lastKill = elapsed();
          }
        }
        if (!pause && fraction >= 0.25) pause = await pauseAndResume(sql, o.pauseSeconds ?? 5);
        if (!restart && o.restart !== false && fraction >= 0.5) restart = { seconds: await restartPostgres(o.profile) };
      } catch (e) {
        // Only the restart may break a query; anything else would repeat and show in the audit.
        if (!restart || elapsed() - runStarted > o.maxSeconds) console.error(`[soak] ${(e as Error).message}`);
      }

      const line = `${bar((100 * finished) / o.jobs)} ${finished}/${o.jobs} jobs  ${open} open  ` +
        `killed ${kills.chunks} chunks in ${kills.events} kills  pause ${pause ? "done" : "to come"}  ` +
        `restart ${restart ? "done" : o.restart === false ? "off" : "to come"}  ${formatDuration(elapsed() - runStarted)}`;
      if (out.isTerminal) out.write(`\r\x1b[2K${line}`);
      else if (elapsed() - lastLine >= 5) {
        out.write(`${line}\n`);
        lastLine = elapsed();
      }
      await sleep(500);
    }
    const wallSeconds = elapsed() - runStarted;
    if (out.isTerminal) out.write("\n");
    out.write(`Auditing...\n`);

    const [jobAudit, rows, upstream, leaks, bloat, indexes] = [
      await auditJobs(sql, sources, jobIds),
      await auditRows(sql, sources),
      await auditUpstream(sources, o.fakesUrl),
      await auditLeaks(sql, sources, o.functionLog),
      await tableBloat(sql),
      await indexBloat(sql),
    ];
    return {
      jobs: o.jobs,
      providers: SOAK_PROVIDERS,
      owners: owners.length,
      seed: o.seed,
      wallSeconds,
      setupSeconds,
      jobAudit,
      rows,
      upstreamRequests: upstream.requests,
      faultsServed: upstream.faultsServed,
      kills: { ...kills, percentOfRequests: upstream.requests ? Math.round((1000 * kills.chunks) / upstream.requests) / 10 : 0 },
      pause,
      restart,
      stuck: { max: stuck.max, jobs: [...stuck.jobs] },
      leaks: { secretsPlanted: sources.reduce((n, s) => n + s.secrets.length, 0), found: leaks.map((l) => ({ where: l.where })) },
      bloat,
      indexBloat: indexes,
      tickSeconds: tickSeconds || 60,
    };
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** The report as people read it (BENCHMARKS.md quotes it). */
export function formatReport(r: SoakReport): string {
  const pct = (n: number, of: number) => (of ? `${((100 * n) / of).toFixed(1)} %` : "-");
  const f = r.faultsServed;
  const lines = [
    `Chaos soak: ${r.jobs} jobs (${r.providers.join(", ")}) for ${r.owners} owners, seed ${r.seed}`,
    `  wall time            ${formatDuration(r.wallSeconds)} (${r.wallSeconds.toFixed(1)} s; set-up ${r.setupSeconds.toFixed(1)} s)`,
    `  jobs                 ${Object.entries(r.jobAudit.byStatus).map(([s, n]) => `${n} ${s}`).join(", ")} (follow-ups included)`,
    `  failed as planted    ${r.jobAudit.permanentNotFailed.length === 0 ? "every revoked-credential job failed, with its reason" : r.jobAudit.permanentNotFailed.join("; ")}`,
    `  unexpected failures  ${r.jobAudit.unexpectedFailures.length}${r.jobAudit.unexpectedFailures.slice(0, 5).map((j) =>
      `\n    ${j.provider} ${j.kind} job ${j.id} (connection ${j.connection}), ${j.attempts} attempts: ${j.error}`
    ).join("")}`,
    `  rows                 ${r.rows.expected} expected, ${r.rows.landed} landed, ${r.rows.lost} lost, ${r.rows.duplicated} duplicated${r.rows.offenders.slice(0, 5).map((o) =>
      `\n    ${o.provider} connection ${o.connection}: ${o.lost} lost, ${o.duplicated} duplicated` +
      (r.jobAudit.unexpectedFailures.some((j) => j.connection === o.connection) ? " (its job failed, above)" : "")
    ).join("")}`,
    `  stuck past lease+tick ${r.stuck.max} (tick ${r.tickSeconds} s)`,
    `  upstream requests    ${r.upstreamRequests}; faults served: ${f["rate-limit"] ?? 0} rate limits (${pct(f["rate-limit"] ?? 0, r.upstreamRequests)}), ` +
    `${f["server-error"] ?? 0} 5xx (${pct(f["server-error"] ?? 0, r.upstreamRequests)}), ${f.timeout ?? 0} timeouts (${pct(f.timeout ?? 0, r.upstreamRequests)}), ` +
    `${f.revoked ?? 0} revocations`,
    `  workers killed       ${r.kills.events} times, cutting ${r.kills.chunks} chunks (${r.kills.percentOfRequests} % of requests)`,
    `  pause and resume     ${r.pause ? `${r.pause.claimedWhilePaused} jobs claimed while paused` : "not reached"}`,
    `  Postgres restart     ${r.restart ? `done, ${r.restart.seconds.toFixed(1)} s` : "not done"}`,
    `  credential leaks     ${r.leaks.found.length} (of ${r.leaks.secretsPlanted} planted credentials)`,
    `  attempts per job     mean ${r.jobAudit.attempts.mean.toFixed(2)}, max ${r.jobAudit.attempts.max}`,
    `  bloat after the soak (dead tuples; autovacuum runs):`,
    ...r.bloat.slice(0, 8).map((b) =>
      `    ${b.table.padEnd(30)} ${String(b.live).padStart(7)} live ${String(b.dead).padStart(7)} dead (${b.deadPercent} %)  ` +
      `autovacuum ${b.autovacuums}x${b.lastAutovacuum ? `, last ${b.lastAutovacuum}` : ""}`
    ),
    `  index leaf density after the soak (90 % when freshly built):`,
    ...r.indexBloat.map((i) =>
      `    ${i.index.padEnd(44)} ${String(i.sizeKb).padStart(7)} kB  ${i.leafDensity.toFixed(1)} % full`
    ),
  ];
  const problems = verdict(r);
  lines.push(problems.length ? `FAILED: ${problems.join("; ")}` : "PASSED: nothing lost, duplicated, stuck or leaked");
  return lines.join("\n");
}
