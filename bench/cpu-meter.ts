/**
 * Where a run's CPU went, by part of the stack, from /proc: the Postgres sessions,
 * Realtime's walsender (it decodes all WAL), Postgres's background processes, the edge
 * workers, and the bench process itself, which hosts the gateway, the pg_net and
 * Realtime stand-ins and the fake upstreams.
 *
 * Processes are sampled every 100 ms, so one that exits between samples (a worker that
 * retired) loses at most its last 100 ms.
 */
import { processCpuMs } from "../local-stack/edge-runtime/cpu.ts";

function part(pid: number, cmdline: string): string | null {
  if (pid === Deno.pid) return "bench (gateway, pg_net, Realtime, fakes)";
  if (cmdline.includes("worker-host.ts")) return "edge workers";
  if (cmdline.startsWith("postgres: walsender")) return "walsender";
  if (/^postgres: \S+ \S+ /.test(cmdline)) return "postgres sessions";
  if (cmdline.startsWith("postgres: ") || cmdline.includes("/bin/postgres")) return "postgres background";
  return null;
}

export class CpuMeter {
  #parts = new Map<number, string | null>();
  #first = new Map<number, number>();
  #last = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  start(): void {
    this.#sample(true);
    this.#timer = setInterval(() => this.#sample(false), 100);
  }

  /** CPU ms by part since start(), largest first. */
  stop(): [string, number][] {
    clearInterval(this.#timer);
    this.#sample(false);
    const byPart = new Map<string, number>();
    for (const [pid, ms] of this.#last) {
      const name = this.#parts.get(pid)!;
      byPart.set(name, (byPart.get(name) ?? 0) + ms - (this.#first.get(pid) ?? 0));
    }
    return [...byPart].sort((a, b) => b[1] - a[1]);
  }

  #sample(first: boolean) {
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      if (!this.#parts.has(pid)) {
        let cmdline = "";
        try {
          cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
        } catch { /* gone */ }
        this.#parts.set(pid, part(pid, cmdline));
      }
      if (this.#parts.get(pid) === null) continue;
      const ms = processCpuMs(pid);
      if (Number.isNaN(ms)) continue;
      if (first) this.#first.set(pid, ms);
      this.#last.set(pid, ms);
    }
  }
}

export function formatCpu(parts: [string, number][]): string {
  const total = parts.reduce((s, [, ms]) => s + ms, 0);
  return `CPU ${(total / 1000).toFixed(2)} s: ` + parts.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)}`).join(", ");
}
