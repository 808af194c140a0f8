/**
 * Tributary's client: start syncs, watch their progress live, manage connections, and
 * (for admins) run the queue. It runs in browsers, Deno and Node, on the app's own
 * SupabaseClient, so it uses whatever session the app signed in with.
 *
 *   const sync = createSyncClient(supabase);
 *   const { job_id } = await sync.startSync(connectionId);
 *   const done = await sync.waitForJob(job_id, (e) => render(e.progress.percent));
 *
 * Everything goes through the `sync-api` and `sync-admin` Edge Functions and the private
 * Realtime topics `sync:job:<id>` and `sync:user:<id>`; nothing reads tables directly.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { SyncError } from "./errors.ts";
import { call, queryString } from "./request.ts";
import {
  type AdminJob,
  type Connection,
  type ConnectionPatch,
  eventOf,
  type Health,
  isFinished,
  type Job,
  type JobStatus,
  type Me,
  type NewConnection,
  type ProgressEvent,
  type ProviderInfo,
  type StartedJob,
  type StartSyncOptions,
} from "./types.ts";
import { type Watch, type WatchOptions, watchTopic } from "./watch.ts";

export * from "./types.ts";
export { SyncError } from "./errors.ts";
export type { Watch, WatchMode, WatchOptions } from "./watch.ts";

export interface SyncClientOptions extends WatchOptions {
  /** The user-facing function (default `sync-api`). */
  apiFunction?: string;
  /** The operators' function (default `sync-admin`). */
  adminFunction?: string;
}

export interface ListJobsOptions {
  status?: JobStatus;
  /** 1–200 (default 50). */
  limit?: number;
}

export type SyncClient = ReturnType<typeof createSyncClient>;

export function createSyncClient(supabase: SupabaseClient, options: SyncClientOptions = {}) {
  const api = options.apiFunction ?? "sync-api";
  const admin = options.adminFunction ?? "sync-admin";
  const user = <T>(path: string, method?: "GET" | "POST" | "PATCH" | "DELETE", body?: unknown) =>
    call<T>(supabase, api, path, method, body);
  const operator = <T>(path: string, method?: "GET" | "POST", body?: unknown) =>
    call<T>(supabase, admin, path, method, body);
  const watchDefaults = (extra?: WatchOptions): WatchOptions => ({
    pollIntervalMs: options.pollIntervalMs,
    joinTimeoutMs: options.joinTimeoutMs,
    onModeChange: options.onModeChange,
    ...extra,
  });
  let me: Promise<Me> | undefined;

  const client = {
    /** Who the current token belongs to (cached; `refresh` asks again). */
    me(refresh = false): Promise<Me> {
      if (!me || refresh) {
        me = user<Me>("me").catch((e) => {
          me = undefined;
          throw e;
        });
      }
      return me;
    },

    /** The providers this project runs, with JSON Schemas for their settings. */
    async providers(): Promise<ProviderInfo[]> {
      return (await user<{ providers: ProviderInfo[] }>("providers")).providers;
    },

    /** Queues a sync of the connection; if one is already queued or running, returns that one. */
    startSync(connectionId: string, opts: StartSyncOptions = {}): Promise<StartedJob> {
      return user<StartedJob>("jobs", "POST", {
        connection_id: connectionId,
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.params ? { params: opts.params } : {}),
        ...(opts.dryRun ? { dry_run: true } : {}),
      });
    },

    getJob(jobId: string): Promise<Job> {
      return user<Job>(`jobs/${encodeURIComponent(jobId)}`);
    },

    async listJobs(opts: ListJobsOptions = {}): Promise<Job[]> {
      return (await user<{ jobs: Job[] }>(`jobs${queryString({ status: opts.status, limit: opts.limit })}`))
        .jobs;
    },

    /** Cancels a queued or running job; false if it had already finished. */
    async cancel(jobId: string): Promise<boolean> {
      return (await user<{ cancelled: boolean }>(`jobs/${encodeURIComponent(jobId)}/cancel`, "POST"))
        .cancelled;
    },

    /** Queues a failed or cancelled job again, resuming from its last cursor; returns the job to watch. */
    async retry(jobId: string): Promise<string> {
      return (await user<{ job_id: string }>(`jobs/${encodeURIComponent(jobId)}/retry`, "POST")).job_id;
    },

    /** Every change of one job, from now on (and its current state first). */
    watchJob(jobId: string, onEvent: (event: ProgressEvent) => void, opts?: WatchOptions): Watch {
      return watchTopic(
        supabase,
        `sync:job:${jobId}`,
        async () => [eventOf(await client.getJob(jobId))],
        onEvent,
        watchDefaults(opts),
      );
    },

    /**
     * Every change of the signed-in user's jobs. The first read reports each recent job
     * once, so a list can be kept from the events alone.
     */
    async watchMyJobs(onEvent: (event: ProgressEvent) => void, opts?: WatchOptions): Promise<Watch> {
      const { id } = await client.me();
      return watchTopic(
        supabase,
        `sync:user:${id}`,
        async () => (await client.listJobs({ limit: 50 })).map(eventOf),
        onEvent,
        watchDefaults(opts),
      );
    },

    /**
     * Resolves with the job's final event (succeeded, failed or cancelled), reporting
     * every change on the way. A failed job resolves too: check `status`.
     */
    waitForJob(
      jobId: string,
      onEvent?: (event: ProgressEvent) => void,
      opts?: WatchOptions & { signal?: AbortSignal },
    ): Promise<ProgressEvent> {
      return new Promise((resolve, reject) => {
        const finish = (settle: () => void) => {
          watch.stop().finally(settle);
        };
        const watch = client.watchJob(jobId, (event) => {
          onEvent?.(event);
          if (isFinished(event.status)) finish(() => resolve(event));
        }, opts);
        opts?.signal?.addEventListener(
          "abort",
          () => finish(() => reject(new SyncError(0, "aborted", "Stopped watching the job."))),
        );
      });
    },

    connections: {
      async list(): Promise<Connection[]> {
        return (await user<{ connections: Connection[] }>("connections")).connections;
      },
      /** Validates the account and credentials against the provider, stores the credentials in Vault. */
      create(input: NewConnection): Promise<{ id: string }> {
        return user<{ id: string }>("connections", "POST", input);
      },
      update(id: string, patch: ConnectionPatch): Promise<Connection> {
        return user<Connection>(`connections/${encodeURIComponent(id)}`, "PATCH", patch);
      },
      async remove(id: string): Promise<void> {
        await user<unknown>(`connections/${encodeURIComponent(id)}`, "DELETE");
      },
    },

    /** Operators' controls: an admin's token (app_metadata.role = "admin") or the service_role key. */
    admin: {
      health(): Promise<Health> {
        return operator<Health>("health");
      },
      async pause(reason: string): Promise<void> {
        await operator("pause", "POST", { reason });
      },
      async resume(): Promise<void> {
        await operator("resume", "POST");
      },
      async retry(jobId: string): Promise<string> {
        return (await operator<{ job_id: string }>(`jobs/${encodeURIComponent(jobId)}/retry`, "POST")).job_id;
      },
      async cancel(jobId: string): Promise<boolean> {
        return (await operator<{ cancelled: boolean }>(`jobs/${encodeURIComponent(jobId)}/cancel`, "POST"))
          .cancelled;
      },
      async listJobs(opts: ListJobsOptions & { provider?: string } = {}): Promise<AdminJob[]> {
        const query = queryString({ status: opts.status, provider: opts.provider, limit: opts.limit });
        return (await operator<{ jobs: AdminJob[] }>(`jobs${query}`)).jobs;
      },
    },
  };
  return client;
}
