/** How the dashboard words numbers, times and what to do about an error. */
import type { Connection, Job, ProgressEvent } from "../../client/mod.ts";

export const count = (n: number) => n.toLocaleString("en-US");

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function jobDuration(job: Job): string {
  return job.started_at && job.finished_at
    ? duration(Date.parse(job.finished_at) - Date.parse(job.started_at))
    : "–";
}

export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "never");

/** "1,200 rows, 3 pages" from a job's stats. */
export function stats(s: Record<string, unknown>): string {
  return Object.entries(s).filter(([, v]) => typeof v === "number").map(([k, v]) =>
    `${count(v as number)} ${k}`
  ).join(", ") || "–";
}

/** The next step for a job that did not succeed. */
export function nextStep(job: Pick<ProgressEvent, "status" | "error">, connection?: Connection): string {
  if (connection?.reconnect_reason) {
    return "Reconnect the account: enter new credentials for this connection.";
  }
  if (job.status === "cancelled") return "Retry picks it up from where it stopped.";
  if (/rate.?limit|429/i.test(job.error ?? "")) {
    return "The provider is limiting requests; Retry later, or wait for the next automatic sync.";
  }
  return "Check the error above, then Retry: it resumes from where it stopped.";
}
