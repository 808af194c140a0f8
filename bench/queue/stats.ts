/** Small helpers for benchmark figures. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

export interface ThroughputOptions {
  dbUrl: string;
  jobs: number;
  concurrency: number;
  batch: number;
  /** A run stops after this long even if jobs remain; its rate is then jobs done / time. */
  maxSeconds: number;
}

export interface ThroughputResult {
  system: string;
  batch: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
}

export const result = (system: string, o: ThroughputOptions, seconds: number, done = o.jobs): ThroughputResult => ({
  system,
  batch: o.batch,
  jobs: done,
  seconds,
  jobsPerSecond: done / seconds,
});

/** Resolves when `finished` does or the run's time cap passes, whichever is first. */
export function capped(finished: Promise<void>, maxSeconds: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxSeconds * 1000)));
  return Promise.race([finished, cap]).finally(() => clearTimeout(timer));
}
