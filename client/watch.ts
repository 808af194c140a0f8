/**
 * Watching jobs: Realtime first, a catch-up read so nothing is missed, polling when
 * Realtime is unavailable.
 *
 * The broadcast is the fast path, but a subscriber only hears what is sent after it
 * joined, and a socket can drop. So every time the channel (re)joins, the watcher reads
 * the current state through sync-api and reports what changed while it was not
 * listening. If the channel cannot join (Realtime down, blocked by a proxy, refused), it
 * polls sync-api until the channel joins again. Either way each change reaches
 * `onEvent` once, in order per job: an event older than what was last reported for its
 * job is dropped, and so is a repeat of it.
 */
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import type { ProgressEvent } from "./types.ts";

export interface WatchOptions {
  /** How often to poll sync-api while Realtime is unavailable (default 2,000 ms). */
  pollIntervalMs?: number;
  /** How long to wait for the channel to join before polling (default 5,000 ms). */
  joinTimeoutMs?: number;
  /** Told when the watcher switches between Realtime and polling. */
  onModeChange?: (mode: WatchMode) => void;
}

/** `connecting` until the first join or timeout; then `realtime` or `polling`. */
export type WatchMode = "connecting" | "realtime" | "polling";

export interface Watch {
  readonly mode: WatchMode;
  /** Leaves the channel and stops polling. */
  stop(): Promise<void>;
}

const stamp = (e: ProgressEvent) => Date.parse(e.updated_at);
const sameState = (a: ProgressEvent, b: ProgressEvent) =>
  a.status === b.status && JSON.stringify(a.progress) === JSON.stringify(b.progress) &&
  JSON.stringify(a.stats) === JSON.stringify(b.stats);

/**
 * Reports the `progress` events of `topic` to `onEvent`, with `read` as the catch-up and
 * polling source (the current state of the jobs the topic covers).
 */
export function watchTopic(
  supabase: SupabaseClient,
  topic: string,
  read: () => Promise<ProgressEvent[]>,
  onEvent: (event: ProgressEvent) => void,
  options: WatchOptions = {},
): Watch {
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const joinTimeoutMs = options.joinTimeoutMs ?? 5_000;
  const last = new Map<string, ProgressEvent>();
  let mode: WatchMode = "connecting";
  let stopped = false;
  let poller: ReturnType<typeof setInterval> | undefined;

  const deliver = (event: ProgressEvent) => {
    if (stopped) return;
    const seen = last.get(event.job_id);
    // Timestamps from the broadcast carry microseconds and the API's milliseconds, so
    // an equal stamp is a repeat only if the state is the same too.
    if (seen && (stamp(event) < stamp(seen) || (stamp(event) === stamp(seen) && sameState(event, seen)))) {
      return;
    }
    last.set(event.job_id, event);
    onEvent(event);
  };

  const catchUp = async () => {
    try {
      for (const event of await read()) deliver(event);
    } catch {
      // The next poll or rejoin reads again; a watcher never throws at its caller.
    }
  };

  const setMode = (next: WatchMode) => {
    if (mode === next || stopped) return;
    mode = next;
    options.onModeChange?.(next);
  };

  const startPolling = () => {
    setMode("polling");
    if (poller !== undefined) return;
    poller = setInterval(catchUp, pollIntervalMs);
    catchUp();
  };
  const stopPolling = () => {
    if (poller !== undefined) clearInterval(poller);
    poller = undefined;
  };

  const channel: RealtimeChannel = supabase.channel(topic, { config: { private: true } })
    .on("broadcast", { event: "progress" }, ({ payload }) => deliver(payload as ProgressEvent));
  const joinTimer = setTimeout(() => mode === "connecting" && startPolling(), joinTimeoutMs);
  channel.subscribe((status) => {
    if (stopped) return;
    if (status === "SUBSCRIBED") {
      clearTimeout(joinTimer);
      stopPolling();
      setMode("realtime");
      catchUp();
    } else if (status === "CHANNEL_ERROR" || status === "TIMED_OUT" || status === "CLOSED") {
      clearTimeout(joinTimer);
      startPolling();
    }
  });

  return {
    get mode() {
      return mode;
    },
    async stop() {
      stopped = true;
      clearTimeout(joinTimer);
      stopPolling();
      await supabase.removeChannel(channel);
    },
  };
}
