/**
 * How a provider tells the worker what went wrong, and so what happens to the job:
 *
 *   RateLimited  wait retryAfterSeconds, then run again; the attempt is given back
 *   Retryable    back off and retry while attempts remain (also: any unexpected error)
 *   Permanent    fail now, with this message (the upstream's own words where it has them)
 */
export class RateLimited extends Error {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
    this.name = "RateLimited";
  }
}

export class Retryable extends Error {
  override name = "Retryable";
}

export class Permanent extends Error {
  override name = "Permanent";
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date); a default if absent. */
export function retryAfterSeconds(header: string | null, fallback = 30): number {
  if (!header) return fallback;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : fallback;
}
