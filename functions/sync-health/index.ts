/**
 * sync-health: is the sync system up? For uptime monitors, so it needs no token and
 * says nothing about any owner's data and nothing secret.
 *
 *   200 {status: "healthy", checks}    the database answers and the scheduler ticks
 *   503 {status: "unhealthy", checks}  either does not
 */
import { db, type Row } from "../_shared/database.ts";
import { error, json, preflight } from "../_shared/http.ts";

/** pg_cron ticks every 10 s (or every minute on pg_cron 1.4); three minutes of silence is a stall. */
const TICK_STALE_AFTER_MS = 3 * 60 * 1000;

Deno.serve(async (req) => {
  if (req.method === "OPTIONS") return preflight();
  if (req.method !== "GET") return error(405, "method_not_allowed", "Use GET.");

  let settings: Pick<Row<"sync", "settings">, "paused" | "last_tick_at">;
  try {
    [settings] = await db()<Row<"sync", "settings">[]>`select paused, last_tick_at from sync.settings`;
  } catch (e) {
    console.error(JSON.stringify({ msg: "health: database unreachable", error: String(e) }));
    return json({ status: "unhealthy", checks: { database: "unreachable" } }, 503);
  }

  const lastTick = settings.last_tick_at ? new Date(settings.last_tick_at) : null;
  const tickAgeMs = lastTick ? Date.now() - lastTick.getTime() : null;
  const scheduler = tickAgeMs === null ? "waiting for first tick" : tickAgeMs > TICK_STALE_AFTER_MS ? "stalled" : "ok";
  const healthy = scheduler !== "stalled";
  return json({
    status: healthy ? "healthy" : "unhealthy",
    checks: {
      database: "ok",
      scheduler,
      last_tick_at: lastTick?.toISOString() ?? null,
      processing: settings.paused ? "paused" : "enabled",
    },
  }, healthy ? 200 : 503);
});
