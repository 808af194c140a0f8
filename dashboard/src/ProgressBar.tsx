/** A job's progress: a labelled bar screen readers announce, with phase and counts. */
import type { ProgressEvent } from "../../client/mod.ts";
import { count } from "./format.ts";

export function ProgressBar({ event, label }: { event: ProgressEvent; label: string }) {
  const p = event.progress;
  const percent = Math.round(p.percent ?? 0);
  const detail = `${event.status === "running" ? p.phase : event.status}${
    p.total != null ? `, ${count(p.done)} of ${count(p.total)}` : p.done ? `, ${count(p.done)}` : ""
  }`;
  return (
    <div className="progress" data-job={event.job_id} data-status={event.status}>
      <div
        className="bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%, ${detail}`}
      >
        <div style={{ width: `${percent}%` }} />
      </div>
      <div className="muted" aria-live="polite">
        <span className="percent">{percent}%</span> · {detail}
        {p.message && event.status === "running" ? ` · ${p.message}` : ""}
      </div>
    </div>
  );
}
