/**
 * React bindings for the client: one `SyncProvider` near the root watches the signed-in
 * user's jobs over Realtime; components read them with hooks.
 *
 *   <SyncProvider supabase={supabase}> ... </SyncProvider>
 *   const { jobs, start, starting } = useSyncJobs({ onComplete: () => refetchMyData() });
 *   const { event, percent, isActive } = useSyncJob(jobId);
 *
 * `onComplete` is the auto-refresh: it fires once when a job the component saw running
 * (or that finishes while it is mounted) reaches succeeded, failed or cancelled. `start`
 * ignores repeated clicks for the same connection for three seconds.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
// @ts-types="@types/react"
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import {
  createSyncClient,
  isFinished,
  type ProgressEvent,
  type StartedJob,
  type StartSyncOptions,
  type SyncClient,
  type SyncClientOptions,
  type SyncError,
  type WatchMode,
} from "./mod.ts";

/** Clicks on "Sync now" for the same connection within this window start nothing. */
export const START_COOLDOWN_MS = 3_000;

type Listener = (event: ProgressEvent, previous: ProgressEvent | undefined) => void;

interface SyncContextValue {
  sync: SyncClient;
  jobs: ReadonlyMap<string, ProgressEvent>;
  mode: WatchMode;
  error: SyncError | null;
  listen(listener: Listener): () => void;
}

const SyncContext = createContext<SyncContextValue | null>(null);

export interface SyncProviderProps {
  supabase: SupabaseClient;
  options?: SyncClientOptions;
  children?: ReactNode;
}

export function SyncProvider({ supabase, options, children }: SyncProviderProps) {
  const sync = useMemo(() => createSyncClient(supabase, options), [supabase]);
  const [jobs, setJobs] = useState<ReadonlyMap<string, ProgressEvent>>(new Map());
  const [mode, setMode] = useState<WatchMode>("connecting");
  const [error, setError] = useState<SyncError | null>(null);
  const listeners = useRef(new Set<Listener>());
  const latest = useRef(new Map<string, ProgressEvent>());

  useEffect(() => {
    let stopped = false;
    let stop: (() => Promise<void>) | undefined;
    latest.current = new Map();
    setJobs(new Map());
    sync.watchMyJobs((event) => {
      const previous = latest.current.get(event.job_id);
      latest.current.set(event.job_id, event);
      setJobs(new Map(latest.current));
      for (const listener of listeners.current) listener(event, previous);
    }, { onModeChange: setMode }).then((watch) => {
      if (stopped) watch.stop();
      else stop = () => watch.stop();
    }, (e) => !stopped && setError(e));
    return () => {
      stopped = true;
      stop?.();
    };
  }, [sync]);

  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);
  const value = useMemo(() => ({ sync, jobs, mode, error, listen }), [sync, jobs, mode, error, listen]);
  return createElement(SyncContext.Provider, { value }, children);
}

function useSyncContext(): SyncContextValue {
  const value = useContext(SyncContext);
  if (!value) throw new Error("Tributary's hooks need a <SyncProvider supabase={...}> above them.");
  return value;
}

/** The client itself, for calls the hooks do not cover (connections, admin). */
export function useSync(): SyncClient {
  return useSyncContext().sync;
}

/** Fires `onComplete` once per job that finishes while the component is mounted. */
function useOnComplete(onComplete: ((e: ProgressEvent) => void) | undefined, jobId?: string) {
  const callback = useRef(onComplete);
  callback.current = onComplete;
  const mountedAt = useRef(Date.now());
  return useCallback((event: ProgressEvent, previous: ProgressEvent | undefined) => {
    if (jobId !== undefined && event.job_id !== jobId) return;
    if (!isFinished(event.status)) return;
    const sawItRun = previous !== undefined && !isFinished(previous.status);
    const finishedSinceMount = previous === undefined &&
      Date.parse(event.updated_at) >= mountedAt.current - 1_000;
    if (sawItRun || finishedSinceMount) callback.current?.(event);
  }, [jobId]);
}

export interface UseSyncJobsOptions {
  /** Called when one of the user's jobs finishes: refresh what it synced. */
  onComplete?: (event: ProgressEvent) => void;
}

/** The signed-in user's recent jobs, newest first, live; and `start` for a "Sync now" button. */
export function useSyncJobs(options: UseSyncJobsOptions = {}) {
  const { sync, jobs, mode, error, listen } = useSyncContext();
  const onEvent = useOnComplete(options.onComplete);
  useEffect(() => listen(onEvent), [listen, onEvent]);

  const lastStart = useRef(new Map<string, number>());
  const [starting, setStarting] = useState<ReadonlySet<string>>(new Set());
  const start = useCallback(
    async (connectionId: string, opts?: StartSyncOptions): Promise<StartedJob | null> => {
      const now = Date.now();
      if (now - (lastStart.current.get(connectionId) ?? -Infinity) < START_COOLDOWN_MS) return null;
      lastStart.current.set(connectionId, now);
      setStarting((s) => new Set(s).add(connectionId));
      try {
        return await sync.startSync(connectionId, opts);
      } finally {
        setStarting((s) => {
          const next = new Set(s);
          next.delete(connectionId);
          return next;
        });
      }
    },
    [sync],
  );

  const list = useMemo(
    () => [...jobs.values()].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at)),
    [jobs],
  );
  return {
    jobs: list,
    active: list.filter((j) => !isFinished(j.status)),
    /** The latest job of each connection, for a badge per connection. */
    byConnection: useMemo(() => {
      const map = new Map<string, ProgressEvent>();
      for (const job of list) if (!map.has(job.connection_id)) map.set(job.connection_id, job);
      return map;
    }, [list]),
    start,
    starting,
    /** `realtime`, or `polling` when Realtime is unavailable. */
    mode,
    error,
  };
}

export interface UseSyncJobOptions {
  onComplete?: (event: ProgressEvent) => void;
}

/** One job, live: its latest event and the numbers a progress bar needs. */
export function useSyncJob(jobId: string | null | undefined, options: UseSyncJobOptions = {}) {
  const { sync } = useSyncContext();
  const [event, setEvent] = useState<ProgressEvent | null>(null);
  const onEvent = useOnComplete(options.onComplete, jobId ?? undefined);
  useEffect(() => {
    setEvent(null);
    if (!jobId) return;
    let previous: ProgressEvent | undefined;
    const watch = sync.watchJob(jobId, (e) => {
      setEvent(e);
      onEvent(e, previous);
      previous = e;
    });
    return () => void watch.stop();
  }, [sync, jobId, onEvent]);
  return {
    event,
    status: event?.status ?? null,
    percent: event?.progress.percent ?? 0,
    progress: event?.progress ?? null,
    isActive: event !== null && !isFinished(event.status),
    isFinished: event !== null && isFinished(event.status),
  };
}
