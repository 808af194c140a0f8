/**
 * The interface a provider implements. A provider knows its upstream API and nothing of
 * the queue: the worker (worker.ts) claims jobs, hands the provider a context, and
 * checkpoints each chunk the provider yields.
 */
import type postgres from "postgres";
import type { z } from "zod";
import type { Permanent } from "./errors.ts";

export interface Progress {
  phase: string;
  done?: number;
  total?: number | null;
  percent?: number;
  message?: string | null;
}

/** One unit of work, done: where to resume, how far along, and whether that was the last. */
export interface Chunk {
  cursor: unknown;
  progress: Progress;
  stats?: Record<string, number>;
  done: boolean;
}

export interface Job {
  id: string;
  owner_id: string;
  connection_id: string;
  kind: string;
  params: Record<string, unknown>;
  dry_run: boolean;
  attempts: number;
  cursor: unknown;
  stats: Record<string, number>;
}

export interface JobContext<Account, Credentials> {
  job: Job;
  connection: { id: string; owner_id: string; account: Account; high_watermark: unknown; lookback_days: number };
  credentials: Credentials;
  /**
   * Stores refreshed credentials (a rotated OAuth refresh token) in the connection's
   * Vault secret, committed before it resolves, so call it before using them: a crash
   * after the upstream rotated a token must not lose the new one.
   */
  saveCredentials(credentials: Credentials): Promise<void>;
  /**
   * The upstream refused the credentials for good (a revoked grant): records on the
   * connection that its user must reconnect, and returns the Permanent error to throw,
   * worded for that user.
   */
  reconnect(reason: string): Promise<Permanent>;
  /** The job's last checkpointed cursor (null on a fresh start). */
  cursor: unknown;
  /**
   * fetch, after taking a token from the provider's shared rate limit, and bounded by
   * TRIBUTARY_UPSTREAM_TIMEOUT_MS (a hung upstream becomes a Retryable error).
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** For writing synced rows. */
  sql: postgres.Sql;
  env: (name: string) => string | undefined;
  log(message: string, fields?: Record<string, unknown>): void;
}

export interface Provider<Account = unknown, Credentials = unknown> {
  name: string;
  /** The job kinds it runs; sync-api refuses others with a 400. */
  kinds: readonly string[];
  account: z.ZodType<Account>;
  credentials: z.ZodType<Credentials>;
  /** What `params` each kind takes (a kind not listed takes any object). */
  params?: Readonly<Record<string, z.ZodType>>;
  /**
   * The job kind to chain when a job of this kind succeeds (not for dry runs): enqueued
   * in the same transaction as the completion, so it is never lost in between.
   */
  followUp?(kind: string): string | null;
  /**
   * How many of its jobs a worker claims at once and runs side by side (default 1).
   * For providers whose jobs are small (a Spotify sync writes at most 50 rows), where
   * the queue's cost per statement outweighs the job's own: their claims and
   * completions then go out in batches. A heavy job keeps 1: it is CPU-bound already,
   * and the worker runs such jobs one after another however many it claims.
   */
  batchSize?: number;
  /** Yields after each chunk; the last chunk says done. */
  run(ctx: JobContext<Account, Credentials>): AsyncGenerator<Chunk>;
}
