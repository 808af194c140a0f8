/**
 * What every fake upstream shares: tenants (one per account, key or token, so tests
 * running side by side never see each other's data), a log of the requests each tenant
 * received, and faults queued on demand. Each fake renders a fault in its provider's
 * own dialect (Spotify's 429 with Retry-After, Google's RESOURCE_EXHAUSTED, Meta's code
 * 17, TikTok's HTTP-200 error codes); the kinds are common:
 *
 *   rate-limit     the provider's rate-limit reply, asking to wait `retry_after_s`
 *   server-error   a 5xx (`status`, default 503)
 *   timeout        no answer for `ms` (default 60 s), as a hung upstream
 *   expired-token  the access token is refused as expired (a fresh one works)
 *   revoked        the credential is refused for good (revoked grant, invalid token)
 */
export type FaultKind = "rate-limit" | "server-error" | "timeout" | "expired-token" | "revoked";

export interface Fault {
  kind: FaultKind;
  /** How many requests it hits (default 1). */
  times?: number;
  /** Only requests whose path contains this. */
  path?: string;
  /**
   * Strikes no earlier than the tenant's n-th request (counting from 1), so a fault can
   * land mid-job instead of on its first request (the chaos soak spreads them so).
   */
  at_request?: number;
  retry_after_s?: number;
  status?: number;
  ms?: number;
}

export interface LoggedRequest {
  /** When it arrived (ms since the epoch), for spacing under a rate limit. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

export class Tenant<Data> {
  faults: Fault[] = [];
  requests: LoggedRequest[] = [];
  /** Added to every answer: lets a test catch the worker mid-chunk. */
  delayMs = 0;
  /** Set by a `revoked` fault: the credential stays refused until the tenant is re-seeded. */
  revoked = false;
  /** Requests that reached takeFault, for `at_request`. */
  seen = 0;
  constructor(public data: Data) {}

  /** The first queued fault due for this request, used up by one. */
  takeFault(path: string): Fault | undefined {
    this.seen++;
    const i = this.faults.findIndex((f) => (!f.path || path.includes(f.path)) && (f.at_request ?? 0) <= this.seen);
    if (i < 0) return undefined;
    const fault = this.faults[i];
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(i, 1);
    if (fault.kind === "revoked") this.revoked = true;
    return fault;
  }
}

export interface FakeUpstream {
  /** The path prefix it is served under, and its name in the control API. */
  readonly name: string;
  /** (Re)creates a tenant from a seed description; returns what the test may need (ids, tokens). */
  seed(tenant: string, spec: Record<string, unknown>): unknown;
  /** Upstream data changing between runs (new plays, changed dates, new days). */
  update(tenant: string, change: Record<string, unknown>): unknown;
  /** The data the fake holds, in plain units: what a full sync must land. */
  truth(tenant: string): unknown;
  tenant(tenant: string): Tenant<unknown> | undefined;
  handle(req: Request, path: string): Promise<Response>;
}

/** Answers a `timeout` fault: hold the request until the client gives up (or `ms` pass). */
export async function hang(req: Request, fault: Fault): Promise<Response> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, fault.ms ?? 60_000);
    req.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return new Response("upstream timed out", { status: 504 });
}

export function requestLog(req: Request, path: string, body?: unknown): LoggedRequest {
  const url = new URL(req.url);
  return { at: Date.now(), method: req.method, path, query: Object.fromEntries(url.searchParams), ...(body !== undefined ? { body } : {}) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tenant map with the control-API plumbing every fake needs. */
export class Tenants<Data> {
  #all = new Map<string, Tenant<Data>>();
  constructor(private readonly what: string) {}

  set(id: string, data: Data): Tenant<Data> {
    const t = new Tenant(data);
    this.#all.set(id, t);
    return t;
  }
  find(id: string | null | undefined): Tenant<Data> | undefined {
    return id ? this.#all.get(id) : undefined;
  }
  get(id: string): Tenant<Data> {
    const t = this.#all.get(id);
    if (!t) throw new Error(`no ${this.what} tenant "${id}": seed it first`);
    return t;
  }
  values() {
    return this.#all.entries();
  }
}

/** Deterministic pseudo-random integers from a string, so seeded data is the same every run. */
export function hashInt(text: string, max: number): number {
  return (fnv(text) >>> 0) % max;
}

/**
 * The FNV-1a state after `text`, continuing from `from`: fnv(b, fnv(a)) is fnv(a + b),
 * so hashes of one key with several suffixes share the key's work.
 */
export function fnv(text: string, from = 2166136261): number {
  let h = from;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}

export function dateRange(start: string, days: number): string[] {
  return Array.from({ length: days }, (_, i) => new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));
}
