/** Calendar dates as `YYYY-MM-DD` strings, in UTC: the unit every provider reports by. */
import { z } from "zod";

const DAY_MS = 86_400_000;

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `start` to `end`, both included (0 when end is before start). */
export function daysIn(start: string, end: string): number {
  return Math.max(0, Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS) + 1);
}

export const minDate = (a: string, b: string) => (a < b ? a : b);
export const maxDate = (a: string, b: string) => (a > b ? a : b);

/** A real calendar date written `YYYY-MM-DD` (2026-02-30 is refused). */
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date like 2026-01-31").refine(
  // Date.parse, not new Date().toISOString(): month 13 is NaN, and toISOString would throw.
  (s) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(s);
  },
  "not a calendar date",
);

/**
 * What a backfill covers: an explicit `start_date`..`end_date`, or the last
 * `lookback_days` up to today. Shared by every provider that syncs by date.
 */
export const backfillParams = z.union([
  z.object({ start_date: isoDate, end_date: isoDate.optional() }).strict().refine(
    (p) => !p.end_date || p.end_date >= p.start_date,
    { message: "end_date is before start_date", path: ["end_date"] },
  ),
  z.object({ lookback_days: z.number().int().min(1).max(3650) }).strict(),
], { error: () => 'expected {"start_date": "YYYY-MM-DD", "end_date"?: "YYYY-MM-DD"} or {"lookback_days": 1-3650}' });

export type BackfillParams = z.infer<typeof backfillParams>;

/** The backfill's dates, end included. */
export function backfillRange(params: BackfillParams): { start: string; end: string } {
  const end = "start_date" in params ? params.end_date ?? today() : today();
  const start = "start_date" in params ? params.start_date : addDays(end, -(params.lookback_days - 1));
  return { start, end };
}

/**
 * What the scheduler (sync.schedule_due) and users pass to an incremental job: all
 * optional, and unknown keys are kept for providers that want more.
 */
export const incrementalParams = z.object({
  lookback_days: z.number().int().min(0).max(3650).optional(),
  since: isoDate.optional(),
  scheduled: z.boolean().optional(),
}).loose();
