/**
 * The live progress line of `sync start --watch`: phase, percent, rows, rate and ETA.
 *
 * On a terminal it redraws one line in place; anywhere else (a pipe, a CI log) it prints
 * a plain line per change, so logs stay readable. The rate is measured here, from how
 * `done` grows between events, because the job only reports where it is.
 */
import { isFinished, type ProgressEvent } from "../client/mod.ts";

export interface ProgressOutput {
  write(text: string): void;
  isTerminal: boolean;
  columns?: number;
}

const WIDTH = 24;

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function bar(percent: number, width = WIDTH): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
}

export class ProgressBar {
  private first?: { at: number; done: number };
  private lastLine = "";
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Rows per second since the first event that had rows, or null before there is a trend. */
  private rate(done: number): number | null {
    const t = this.now();
    if (!this.first || done < this.first.done) this.first = { at: t, done };
    const seconds = (t - this.first.at) / 1000;
    return seconds >= 0.2 && done > this.first.done ? (done - this.first.done) / seconds : null;
  }

  /** The line for one event, without the terminal's redraw codes. */
  line(event: ProgressEvent): string {
    const p = event.progress;
    const percent = Math.round(p.percent ?? 0);
    const rate = this.rate(p.done ?? 0);
    const rows = p.total != null
      ? `${formatCount(p.done)}/${formatCount(p.total)} rows`
      : `${formatCount(p.done ?? 0)} rows`;
    const parts = [
      `${String(percent).padStart(3)}%`,
      event.status === "running" ? p.phase : event.status,
      rows,
    ];
    if (rate !== null && !isFinished(event.status)) {
      parts.push(`${formatCount(Math.round(rate))} rows/s`);
      if (p.total != null && p.total > p.done) parts.push(`ETA ${formatDuration((p.total - p.done) / rate)}`);
    }
    return this.out.isTerminal ? `${bar(percent)} ${parts.join("  ")}` : parts.join("  ");
  }

  update(event: ProgressEvent) {
    const line = this.line(event);
    if (line === this.lastLine) return;
    this.lastLine = line;
    if (this.out.isTerminal) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.drawn = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }

  /** Ends the redrawn line so what follows starts on its own. */
  done() {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }
}
