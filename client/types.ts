/**
 * The shapes Tributary's client speaks: the public contract of SPEC sections 3–5, as
 * sync-api returns it and as the `progress` broadcast carries it.
 */

/** A job's place in its life. A job that will be retried is `queued` with a later `run_at`. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const JOB_STATUSES: readonly JobStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];

/** Statuses a job does not leave on its own (an operator's retry can requeue it). */
export const FINISHED: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export const isFinished = (status: JobStatus): boolean => FINISHED.includes(status);

/** How far a job has come: `done` of `total` units (rows, dates, pages) in `phase`. */
export interface Progress {
  phase: string;
  done: number;
  total: number | null;
  percent: number;
  message: string | null;
}

/** The `progress` broadcast on `sync:job:<id>` and `sync:user:<owner>` (SPEC section 5). */
export interface ProgressEvent {
  job_id: string;
  connection_id: string;
  provider: string;
  kind: string;
  status: JobStatus;
  progress: Progress;
  stats: Record<string, unknown>;
  error: string | null;
  updated_at: string;
}

/** A job as its owner sees it through sync-api. */
export interface Job {
  id: string;
  connection_id: string;
  provider: string;
  kind: string;
  status: JobStatus;
  priority: number;
  run_at: string;
  /** Runs in a row that made no progress, this one included: a run that moves the cursor sets it back to 1. */
  attempts: number;
  /** The job fails when a run fails or dies with `attempts` at this number. */
  max_attempts: number;
  progress: Progress;
  stats: Record<string, unknown>;
  params: Record<string, unknown>;
  dry_run: boolean;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A job as an admin sees it: every owner's, with the worker that holds it. */
export interface AdminJob extends Job {
  owner_id: string;
  worker: string | null;
}

/** A data source a user connected. Credentials stay in Vault and never come back. */
export interface Connection {
  id: string;
  provider: string;
  label: string;
  account: Record<string, unknown>;
  auto_sync: boolean;
  cadence: string;
  lookback_days: number;
  next_sync_at: string | null;
  high_watermark: unknown;
  last_synced_at: string | null;
  /** Set when the upstream stopped accepting the credentials: the user must reconnect. */
  reconnect_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewConnection {
  provider: string;
  label: string;
  account?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
}

export interface ConnectionPatch {
  label?: string;
  auto_sync?: boolean;
  /** An interval such as "6 hours" or "1 day" (at least 5 minutes). */
  cadence?: string;
  lookback_days?: number;
  /** New credentials replace the old ones in Vault and clear `reconnect_reason`. */
  credentials?: Record<string, unknown>;
}

export interface StartSyncOptions {
  kind?: string;
  params?: Record<string, unknown>;
  /** Fetch and count, write nothing. */
  dryRun?: boolean;
}

export interface StartedJob {
  job_id: string;
  status: JobStatus;
  /** True when a queued or running job of this connection and kind already existed. */
  deduplicated: boolean;
}

/** Who the client's token belongs to. */
export interface Me {
  id: string;
  email: string | null;
  is_admin: boolean;
}

/** What a provider needs to connect: JSON Schemas generated from its zod schemas. */
export interface ProviderInfo {
  name: string;
  kinds: string[];
  account: Record<string, unknown>;
  credentials: Record<string, unknown>;
}

/** One row of the view sync.queue_health. */
export interface QueueHealth {
  provider: string;
  queued: number;
  runnable: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  oldest_runnable_age_seconds: number;
  failures_last_hour: number;
  max_concurrency: number;
  requests_per_minute: number | null;
  processing_enabled: boolean;
  paused_reason: string | null;
  cron_failures_last_hour: number;
  last_tick_at: string | null;
}

export interface Health {
  providers: QueueHealth[];
  settings: {
    paused: boolean;
    paused_reason: string | null;
    paused_at: string | null;
    last_tick_at: string | null;
  };
  recent_runs: AdminJob[];
  cron_runs: Record<string, unknown>[];
  /** Per minute of the last hour that had finished jobs (UTC, oldest first). */
  timeline: { minute: string; finished: number; failed: number; dispatch_p50_ms: number | null }[];
}

/** A job's event built from the job itself: what the catch-up read and polling deliver. */
export function eventOf(job: Job): ProgressEvent {
  return {
    job_id: job.id,
    connection_id: job.connection_id,
    provider: job.provider,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    stats: job.stats,
    error: job.last_error,
    updated_at: job.updated_at,
  };
}
