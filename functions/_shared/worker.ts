/**
 * The worker runtime every sync-<provider> function runs on.
 *
 * One request (from sync.dispatch, or an operator with the service_role key):
 *   1. claim up to max_jobs jobs of this provider, or its batchSize if larger (sync.claim:
 *      a lease per job), run them (batchSize at a time side by side), and claim again
 *      after them, until none is runnable or the time or CPU budget is spent;
 *   2. for each, load the connection and its credentials from Vault, validate both with
 *      the provider's zod schemas, and run the provider's chunks, checkpointing after
 *      each (a false checkpoint means cancelled or lease lost: stop at once);
 *   3. finish with sync.complete_and_chain_many (the completion and the provider's
 *      follow-up job; completions that come while one is written go out together), or
 *      sync.fail classified by the error (rate limit, retryable, permanent),
 *      or, when the time or CPU budget is spent, sync.release at a checkpoint;
 *   4. dispatch at its first claim, so that other workers take the jobs beyond its own,
 *      and again at the end if runnable work remains (a budget ran out).
 *
 * Logs are one JSON object per line with job, provider, attempt, chunk and duration,
 * never a credential.
 */
import process from "node:process";
import { z } from "zod";
import { Batcher } from "./batcher.ts";
import { db } from "./database.ts";
import { Permanent, RateLimited, Retryable } from "./errors.ts";
import { error, json, preflight, zodIssues } from "./http.ts";
import type { Chunk, Job, JobContext, Progress, Provider } from "./provider.ts";

/** Well inside the Edge Function wall clock (150 s free, 400 s paid). */
const DEFAULT_BUDGET_MS = 50_000;
/**
 * Hosted, a worker isolate is retired past 1 s of CPU (new requests go to a fresh one)
 * and terminated past 2 s, with no beforeunload: its jobs would wait out their leases.
 * So past this much of the isolate's CPU a request claims no more jobs and runs no more
 * chunks: it releases the job at its checkpoint and dispatches a fresh invocation,
 * leaving the rest for the chunk already running (a few tens of ms for the largest).
 */
const DEFAULT_CPU_BUDGET_MS = 1_700;
/** The CPU past which the platform retires a worker: no request starts later than that. */
const CPU_SOFT_LIMIT_MS = 1_000;
/** A lease outlives a chunk comfortably; each checkpoint renews it. */
const LEASE_SECONDS = Number(Deno.env.get("TRIBUTARY_WORKER_LEASE_SECONDS") ?? 60);

/** An upstream that has not answered by then is treated as down (retryable). */
const UPSTREAM_TIMEOUT_MS = Number(Deno.env.get("TRIBUTARY_UPSTREAM_TIMEOUT_MS") ?? 30_000);

const requestBody = z.object({ max_jobs: z.number().int().min(1).max(10).default(1) }).strict();

type Outcome = "succeeded" | "failed" | "retrying" | "yielded" | "stopped";

function log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}) {
  console.log(JSON.stringify({ level, msg, ...fields, at: new Date().toISOString() }));
}

let cachedSecret: { value: string | null; at: number } | undefined;

/** The worker secret sync.dispatch sends, read from Vault (cached for a minute). */
async function workerSecret(): Promise<string | null> {
  if (!cachedSecret || Date.now() - cachedSecret.at > 60_000) {
    const [row] = await db()<{ secret: string }[]>`
      select decrypted_secret as secret from vault.decrypted_secrets where name = 'tributary_worker_secret'
    `;
    cachedSecret = { value: row?.secret ?? null, at: Date.now() };
  }
  return cachedSecret.value;
}

/** Constant-time comparison, so the secret cannot be guessed byte by byte from timings. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

async function authorized(req: Request): Promise<boolean> {
  const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return false;
  const serviceKey = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
  if (serviceKey && sameSecret(token, serviceKey)) return true;
  const secret = await workerSecret();
  return secret !== null && sameSecret(token, secret);
}

function describe(e: unknown): string {
  return e instanceof z.ZodError
    ? zodIssues(e)
    : e instanceof Error
    ? e.message
    : String(e);
}

interface Completion {
  job_id: string;
  lease_token: string;
  stats: Record<string, number>;
  cursor: unknown;
  progress: Progress;
  follow_up: string | null;
  follow_up_params: Record<string, unknown>;
}

/**
 * Completions go out together when they come while one is being written: jobs run side
 * by side finish within milliseconds of each other, and a completion's cost is mostly
 * per statement (its triggers write the broadcasts and the follow-ups' events once per
 * statement). Shared by every request this isolate serves. Resolves with the ids the
 * database completed: a job missing from them had lost its lease.
 */
let completions: Batcher<Completion, Set<string>> | undefined;

function complete(completion: Completion): Promise<Set<string>> {
  completions ??= new Batcher(async (batch) => {
    const rows = await db()<{ id: string }[]>`select sync.complete_and_chain_many(${db().json(batch as never)}) as id`;
    return new Set(rows.map((r) => r.id));
  }, 1);
  return completions.add([completion]);
}

/** When a request stops taking work: its wall-clock deadline and its CPU budget. */
interface Budget {
  deadline: number;
  /** Why no more work should start, or null while there is budget left. */
  spent(): string | null;
}

async function runJob<A, C>(
  provider: Provider<A, C>,
  job: Job & { lease_token: string },
  budget: Budget,
): Promise<Outcome> {
  const { deadline } = budget;
  const sql = db();
  const fields = { job: job.id, provider: provider.name, attempt: job.attempts };
  const started = performance.now();
  let chunkNo = 0;

  // If the platform stops this worker mid-job, hand the job back rather than let its
  // lease run out: it resumes from its last checkpoint straight away.
  const onUnload = () => void sql`select sync.release(${job.id}, ${job.lease_token})`.catch(() => {});
  addEventListener("beforeunload", onUnload);
  try {
    // The credentials come in the same round trip: a small job is mostly round trips.
    const [connection] = await sql`
      select c.id, c.owner_id, c.account, c.high_watermark, c.lookback_days, c.credentials_secret_id,
             s.decrypted_secret
      from sync.connections c
      left join vault.decrypted_secrets s on s.id = c.credentials_secret_id
      where c.id = ${job.connection_id}
    `;
    if (!connection) throw new Permanent("the connection was deleted");
    if (!provider.kinds.includes(job.kind)) {
      throw new Permanent(`${provider.name} has no job kind "${job.kind}"; use one of ${provider.kinds.join(", ")}`);
    }
    const paramsSchema = provider.params?.[job.kind];
    if (paramsSchema) {
      const parsed = paramsSchema.safeParse(job.params);
      if (!parsed.success) throw new Permanent(`the job's params are invalid (${zodIssues(parsed.error, "params")})`);
      job.params = parsed.data as Record<string, unknown>;
    }
    let account: A, credentials: C;
    try {
      account = provider.account.parse(connection.account);
      credentials = provider.credentials.parse(connection.decrypted_secret ? JSON.parse(connection.decrypted_secret) : {});
    } catch (e) {
      throw new Permanent(`the connection's settings are invalid (${describe(e)}); update the connection`);
    }

    const takeToken = () => sql<{ wait: number }[]>`select sync.take_token(${provider.name}) as wait`.then(([r]) => r.wait);

    const ctx: JobContext<A, C> = {
      job,
      connection: {
        id: connection.id,
        owner_id: connection.owner_id,
        account,
        high_watermark: connection.high_watermark,
        lookback_days: connection.lookback_days,
      },
      credentials,
      async saveCredentials(next) {
        const validated = provider.credentials.parse(next);
        const text = JSON.stringify(validated);
        if (connection.credentials_secret_id) {
          await sql`select vault.update_secret(${connection.credentials_secret_id}, ${text})`;
        } else {
          await sql.begin(async (tx) => {
            const [{ id }] = await tx`select vault.create_secret(${text}, null, 'tributary connection credentials') as id`;
            await tx`update sync.connections set credentials_secret_id = ${id} where id = ${connection.id}`;
            connection.credentials_secret_id = id;
          });
        }
        ctx.credentials = validated;
        log("info", "credentials refreshed and stored in Vault", { ...fields, chunk: chunkNo });
      },
      async reconnect(reason) {
        await sql`update sync.connections set reconnect_reason = ${reason}, updated_at = now() where id = ${connection.id}`;
        log("warn", "credentials refused for good; the connection needs reconnecting", { ...fields, chunk: chunkNo });
        return new Permanent(`${reason} Reconnect the ${provider.name} account (PATCH /connections/${connection.id} with new credentials).`);
      },
      cursor: job.cursor,
      sql,
      env: (name) => Deno.env.get(name),
      log: (message, extra) => log("info", message, { ...fields, chunk: chunkNo, ...extra }),
      async fetch(input, init) {
        let wait = await takeToken();
        while (wait > 0) {
          if (Date.now() + wait * 1000 > deadline) {
            throw new RateLimited(`${provider.name} rate limit: next request allowed in ${wait.toFixed(1)} s`, Math.ceil(wait));
          }
          await new Promise((r) => setTimeout(r, wait * 1000));
          // Another worker may have taken the token that came free meanwhile.
          wait = await takeToken();
        }
        try {
          return await fetch(input, { ...init, signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
        } catch (e) {
          if (e instanceof DOMException && e.name === "TimeoutError") {
            throw new Retryable(`${new URL(input).host} did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s`);
          }
          throw new Retryable(`${new URL(input).host} could not be reached: ${describe(e)}`);
        }
      },
    };

    const resumedAt = JSON.stringify(job.cursor ?? null);
    for await (const chunk of provider.run(ctx) as AsyncGenerator<Chunk>) {
      chunkNo++;
      const chunkFields = { ...fields, chunk: chunkNo, duration_ms: Math.round(performance.now() - started) };
      if (chunk.done) {
        const next = job.dry_run ? null : provider.followUp?.(job.kind) ?? null;
        // Atomic: the follow-up exists if and only if the completion went through.
        const completed = await complete({
          job_id: job.id,
          lease_token: job.lease_token,
          stats: chunk.stats ?? {},
          cursor: chunk.cursor ?? null,
          progress: chunk.progress,
          follow_up: next,
          follow_up_params: { after_job: job.id },
        });
        const ok = completed.has(job.id);
        log("info", ok ? "job succeeded" : "job was taken away before completing", { ...chunkFields, follow_up: next });
        return ok ? "succeeded" : "stopped";
      }
      const [{ ok }] = await sql`
        select sync.checkpoint(${job.id}, ${job.lease_token}, ${sql.json(chunk.cursor as never)},
                               ${sql.json(chunk.progress as never)}, ${chunk.stats ? sql.json(chunk.stats as never) : null}) as ok
      `;
      if (!ok) {
        log("warn", "checkpoint refused: job cancelled or lease lost; stopping", chunkFields);
        return "stopped";
      }
      // Released only once the cursor has moved in this run: a provider may checkpoint
      // progress alone (the sheet's "downloading" phase keeps its cursor), and a run
      // that handed the job on there would leave the next one where it started.
      const spent = budget.spent();
      if (spent && JSON.stringify(chunk.cursor) !== resumedAt) {
        await sql`select sync.release(${job.id}, ${job.lease_token})`;
        log("info", `${spent}; job released to continue in the next run`, chunkFields);
        return "yielded";
      }
    }
    throw new Permanent(`${provider.name} stopped without finishing the job`);
  } catch (e) {
    const message = describe(e);
    const failFields = { ...fields, chunk: chunkNo, duration_ms: Math.round(performance.now() - started), error: message };
    if (e instanceof RateLimited) {
      await sql`select sync.fail(${job.id}, ${job.lease_token}, ${message}, true, ${e.retryAfterSeconds})`;
      log("warn", "rate limited; job waits without spending an attempt", { ...failFields, retry_after_s: e.retryAfterSeconds });
      return "retrying";
    }
    const permanent = e instanceof Permanent;
    await sql`select sync.fail(${job.id}, ${job.lease_token}, ${message}, ${!permanent})`;
    log(permanent ? "warn" : "error", permanent ? "job failed permanently" : "job failed; will retry", failFields);
    return permanent ? "failed" : "retrying";
  } finally {
    removeEventListener("beforeunload", onUnload);
  }
}

/** Jobs due again soon (a short rate-limit wait, a first backoff) should not wait for the cron tick. */
const SOON_S = 30;

/**
 * More to do: wake a fresh invocation now if jobs are runnable (a yielded job, jobs
 * beyond max_jobs), and, if the soonest waiting job is due within SOON_S, once more when
 * it is, keeping this worker alive until then with EdgeRuntime.waitUntil.
 */
async function wakeAgain(providerName: string) {
  const sql = db();
  await sql`select sync.dispatch(${providerName})`;
  const [{ wait }] = await sql<{ wait: number | null }[]>`
    select extract(epoch from min(run_at) - now())::float8 as wait
    from sync.jobs where provider = ${providerName} and status = 'queued' and run_at > now()
  `;
  if (wait !== null && wait <= SOON_S) {
    EdgeRuntime.waitUntil(
      new Promise((r) => setTimeout(r, wait * 1000 + 50)).then(() => sql`select sync.dispatch(${providerName})`),
    );
  }
}

/**
 * The CPU this isolate has used, as the platform counts it: its own thread's, read from
 * /proc/thread-self (sync ops run on the isolate's thread). Counted from the thread's
 * start, a little before the platform's count begins. Null where /proc is not readable.
 */
function isolateCpuMs(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    // utime and stime, fields 14 and 15, in ticks of 10 ms; the name (field 2) may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** CPU this process has used, in ms (0 where the runtime cannot tell). */
function processCpuMs(): number {
  try {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  } catch {
    return 0;
  }
}

/**
 * Whether a request has spent its share of the isolate's CPU. Where the isolate's own
 * count is readable, that is the measure. Elsewhere only the process's CPU is, which
 * may include other requests and isolates: then the request counts what the process
 * used since it started, against what its isolate can have left, since it started below
 * the soft limit. Both err towards stopping early, which costs a hand-over, never a job.
 */
function cpuBudget(budgetMs: number): () => boolean {
  if (isolateCpuMs() !== null) return () => isolateCpuMs()! >= budgetMs;
  const atStart = processCpuMs();
  return () => processCpuMs() - atStart >= budgetMs - CPU_SOFT_LIMIT_MS;
}

export interface WorkerOptions {
  budgetMs?: number;
  /** The isolate's CPU past which a request starts no more work (TRIBUTARY_WORKER_CPU_BUDGET_MS). */
  cpuBudgetMs?: number;
}

/** Serves a provider as a sync-<provider> Edge Function. */
export function serveProvider<A, C>(provider: Provider<A, C>, options: WorkerOptions = {}) {
  const workerId = `sync-${provider.name}/${crypto.randomUUID().slice(0, 8)}`;

  Deno.serve(async (req) => {
    if (req.method === "OPTIONS") return preflight();
    if (req.method !== "POST") return error(405, "method_not_allowed", "Use POST.");
    if (!(await authorized(req))) {
      return error(401, "unauthorized", "This function is called by sync.dispatch with the worker secret, or with the service_role key.");
    }
    let body: z.infer<typeof requestBody>;
    try {
      const text = await req.text();
      body = requestBody.parse(text.trim() ? JSON.parse(text) : {});
    } catch (e) {
      return error(400, "invalid_body", `Expected {"max_jobs"?: 1-10}: ${describe(e)}`);
    }

    const budgetMs = Number(Deno.env.get("TRIBUTARY_WORKER_BUDGET_MS") ?? options.budgetMs ?? DEFAULT_BUDGET_MS);
    const cpuBudgetMs = Number(Deno.env.get("TRIBUTARY_WORKER_CPU_BUDGET_MS") ?? options.cpuBudgetMs ?? DEFAULT_CPU_BUDGET_MS);
    const cpuSpent = cpuBudget(cpuBudgetMs);
    const budget: Budget = {
      deadline: Date.now() + budgetMs,
      spent: () => Date.now() >= budget.deadline ? "time budget spent" : cpuSpent() ? "CPU budget spent" : null,
    };
    const sql = db();
    const result = { claimed: 0, succeeded: 0, failed: 0, yielded: 0 };
    // Claim again until nothing is runnable or the budget is spent. A wake-up is a round
    // trip through pg_net and the gateway, and a claim is one statement: for small jobs
    // (a Spotify sync writes at most 50 rows) the wake-up cost more than the job.
    // A request always claims and runs its first job (and a job runs until its cursor
    // moves), so that every invocation moves the queue on, however little budget it has.
    let started = 0;
    const mayStart = () => started === 0 || !budget.spent();
    const batch = Math.max(body.max_jobs, provider.batchSize ?? 1);
    while (mayStart()) {
      const jobs = await sql<(Job & { lease_token: string })[]>`
        select * from sync.claim(${provider.name}, ${workerId}, ${batch}, ${LEASE_SECONDS})
      `;
      if (jobs.length === 0) break;
      // Found work: wake help for whatever else is runnable, once per invocation. Enqueueing
      // many jobs in one transaction woke workers for the first of them only, and the
      // loop below would run the rest one by one.
      if (result.claimed === 0) await sql`select sync.dispatch(${provider.name})`;
      result.claimed += jobs.length;
      // A provider's batchSize jobs run side by side: one job's round trips overlap
      // another's, and their completions meet in one statement. Heavy jobs run one after
      // the other, however many were claimed: each may take much of the isolate's memory
      // and CPU. The budget is looked at as each job starts and at its checkpoints.
      const sideBySide = provider.batchSize ?? 1;
      for (let i = 0; i < jobs.length; i += sideBySide) {
        const outcomes = await Promise.all(jobs.slice(i, i + sideBySide).map(async (job): Promise<Outcome> => {
          if (!mayStart()) {
            // Claimed in the batch but never started: hand it straight back.
            await sql`select sync.release(${job.id}, ${job.lease_token})`;
            return "yielded";
          }
          started++;
          return await runJob(provider, job, budget);
        }));
        for (const outcome of outcomes) {
          if (outcome === "succeeded") result.succeeded++;
          else if (outcome === "failed") result.failed++;
          else if (outcome === "yielded") result.yielded++;
        }
      }
    }
    if (result.claimed > 0) await wakeAgain(provider.name);
    return json(result);
  });
}
