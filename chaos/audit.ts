/**
 * What the soak checks once the dust settles: every row the fakes served landed once
 * (none lost, none extra), only the jobs whose credential was revoked failed, no
 * credential escaped Vault, and how the tables and their indexes carry the churn (dead
 * tuples, autovacuum, index leaf density).
 */
import type postgres from "postgres";
import { findLeaks, type Leak } from "../tests/support/leaks.ts";
import { fake } from "../tests/support/fakes.ts";
import { inParallel, type Source } from "./workload.ts";

export interface RowAudit {
  expected: number;
  landed: number;
  /** Rows the fake served that are not in `synced` (or differ there). */
  lost: number;
  /** Rows in `synced` beyond what the fake served: written twice, or made up. */
  duplicated: number;
  /** Connections with a difference, for the report. */
  offenders: { provider: string; connection: string; lost: number; duplicated: number }[];
}

/** Multiset difference: how many of `a` are not matched one for one in `b`. */
function unmatched(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  let n = 0;
  for (const x of a) {
    const c = counts.get(x) ?? 0;
    if (c > 0) counts.set(x, c - 1);
    else n++;
  }
  return n;
}

export async function auditRows(sql: postgres.Sql, sources: Source[]): Promise<RowAudit> {
  const audit: RowAudit = { expected: 0, landed: 0, lost: 0, duplicated: 0, offenders: [] };
  await inParallel(sources, 8, async (s) => {
    const [rows, truth] = await Promise.all([s.rows(sql), s.truth()]);
    // A job failed by a revoked credential stops part way: it owes no rows, but may not invent any.
    const lost = s.permanent ? 0 : unmatched(truth, rows);
    const duplicated = unmatched(rows, truth);
    audit.expected += s.permanent ? 0 : truth.length;
    audit.landed += rows.length;
    audit.lost += lost;
    audit.duplicated += duplicated;
    if (lost || duplicated) audit.offenders.push({ provider: s.provider, connection: s.connectionId, lost, duplicated });
  });
  return audit;
}

export interface JobAudit {
  byStatus: Record<string, number>;
  /** Jobs (sync and follow-up) that failed although their credential was good. */
  unexpectedFailures: { id: string; connection: string; provider: string; kind: string; attempts: number; error: string | null }[];
  /** Revoked-credential jobs that did not fail, or failed without saying why. */
  permanentNotFailed: string[];
  unfinished: number;
  attempts: { max: number; mean: number };
}

export async function auditJobs(sql: postgres.Sql, sources: Source[], jobIds: Map<string, string>): Promise<JobAudit> {
  const permanent = new Set(sources.filter((s) => s.permanent).map((s) => s.connectionId));
  const jobs = await sql<{ id: string; connection_id: string; provider: string; kind: string; status: string; attempts: number; last_error: string | null }[]>`
    select id, connection_id, provider, kind, status::text, attempts, last_error
    from sync.jobs where connection_id = any(${sources.map((s) => s.connectionId)})
  `;
  const byStatus: Record<string, number> = {};
  for (const j of jobs) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
  const mainJobs = new Set(jobIds.values());
  return {
    byStatus,
    unexpectedFailures: jobs
      .filter((j) => ["failed", "cancelled"].includes(j.status) && !permanent.has(j.connection_id))
      .map((j) => ({ id: j.id, connection: j.connection_id, provider: j.provider, kind: j.kind, attempts: j.attempts, error: j.last_error })),
    permanentNotFailed: jobs
      .filter((j) => mainJobs.has(j.id) && permanent.has(j.connection_id) && !(j.status === "failed" && j.last_error))
      .map((j) => `${j.provider} job ${j.id}: ${j.status}`),
    unfinished: jobs.filter((j) => j.status === "queued" || j.status === "running").length,
    attempts: {
      max: Math.max(0, ...jobs.map((j) => j.attempts)),
      mean: jobs.length ? jobs.reduce((n, j) => n + j.attempts, 0) / jobs.length : 0,
    },
  };
}

/** Upstream requests the fakes answered (every chunk makes at least one) and the planted faults they served. */
export async function auditUpstream(sources: Source[], fakesUrl: string) {
  let requests = 0;
  const served: Record<string, number> = {};
  await inParallel(sources, 8, async (s) => {
    const upstream = fake(s.fakeName, s.tenant, fakesUrl);
    const [asked, pending] = await Promise.all([upstream.requests(), upstream.pendingFaults()]);
    requests += asked.length;
    const left = new Map<string, number>();
    for (const f of pending) left.set(f.kind, (left.get(f.kind) ?? 0) + (f.times ?? 1));
    for (const f of s.planted) served[f.kind] = (served[f.kind] ?? 0) + 1;
    for (const [kind, n] of left) served[kind] -= n;
  });
  return { requests, faultsServed: served };
}

export async function auditLeaks(sql: postgres.Sql, sources: Source[], logFile?: string): Promise<Leak[]> {
  return await findLeaks(sql, sources.flatMap((s) => s.secrets), logFile);
}

export interface TableBloat {
  table: string;
  live: number;
  dead: number;
  deadPercent: number;
  autovacuums: number;
  autoanalyzes: number;
  lastAutovacuum: string | null;
}

/** Dead tuples and autovacuum runs of the queue's hot tables and the synced tables. */
export async function tableBloat(sql: postgres.Sql): Promise<TableBloat[]> {
  // The statistics are flushed at most once a second per backend; give them that second.
  await new Promise((r) => setTimeout(r, 1500));
  const rows = await sql`
    select format('%s.%s', schemaname, relname) as table, n_live_tup::int as live, n_dead_tup::int as dead,
           autovacuum_count::int as autovacuums, autoanalyze_count::int as autoanalyzes,
           to_char(last_autovacuum, 'HH24:MI:SS') as last_autovacuum
    from pg_stat_user_tables
    where schemaname in ('sync', 'synced', 'realtime', 'net') and n_live_tup + n_dead_tup > 0
    order by n_dead_tup desc
  `;
  return rows.map((r) => ({
    table: r.table,
    live: r.live,
    dead: r.dead,
    deadPercent: r.live + r.dead ? Math.round((1000 * r.dead) / (r.live + r.dead)) / 10 : 0,
    autovacuums: r.autovacuums,
    autoanalyzes: r.autoanalyzes,
    lastAutovacuum: r.last_autovacuum,
  }));
}

export interface IndexBloat {
  index: string;
  sizeKb: number;
  /** How full the B-tree's leaf pages are: 90 % when freshly built (fillfactor), lower as churn leaves holes. */
  leafDensity: number;
}

/**
 * Leaf density of the hot tables' B-tree indexes, by pgstattuple's pgstatindex (a
 * contrib extension, on hosted Supabase too; created for the measurement and dropped
 * after it). Dead entries that VACUUM has removed leave half-empty pages behind.
 */
export async function indexBloat(sql: postgres.Sql): Promise<IndexBloat[]> {
  const [{ existed }] = await sql`select exists (select from pg_extension where extname = 'pgstattuple') as existed`;
  if (!existed) await sql`create extension pgstattuple with schema extensions`;
  const rows = await sql`
    select format('%s.%s', n.nspname, c.relname) as index, s.index_size / 1024 as size_kb, s.avg_leaf_density as leaf_density
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_am am on am.oid = c.relam and am.amname = 'btree'
    cross join lateral extensions.pgstatindex(c.oid) s
    where i.indrelid in ('sync.jobs'::regclass, 'sync.job_events'::regclass, 'realtime.messages'::regclass)
    order by s.index_size desc
  `;
  if (!existed) await sql`drop extension pgstattuple`;
  return rows.map((r) => ({ index: r.index, sizeKb: Number(r.size_kb), leafDensity: Number(r.leaf_density) }));
}
