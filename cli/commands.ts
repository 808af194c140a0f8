/**
 * What each `sync` command does, on the typed client. Output goes through `Output` so
 * the same code prints tables for people and JSON for scripts (--json).
 */
import { createClient } from "@supabase/supabase-js";
import {
  type Connection,
  createSyncClient,
  type Job,
  JOB_STATUSES,
  type JobStatus,
  type ProgressEvent,
  type SyncClient,
  SyncError,
} from "../client/mod.ts";
import { LOCAL_ANON_KEY, LOCAL_URL, type Login, readLogin, saveLogin } from "./config.ts";
import { formatCount, formatDuration, ProgressBar } from "./progress-bar.ts";

/** A mistake on the command line: exit status 2. */
export class UsageError extends Error {}

/** A failure the user can act on, with the message already saying how. */
export class CommandError extends Error {}

export interface Flags {
  token?: string;
  url?: string;
  "anon-key"?: string;
  label?: string;
  account?: string;
  credentials?: string;
  "auto-sync"?: string;
  cadence?: string;
  "lookback-days"?: string;
  kind?: string;
  params?: string;
  "dry-run"?: boolean;
  watch?: boolean;
  status?: string;
  provider?: string;
  limit?: string;
  json?: boolean;
}

export interface Output {
  json: boolean;
  stdout: { write(text: string): void; isTerminal: boolean; columns?: number };
  stderr: { write(text: string): void };
  readStdin(): Promise<string>;
  onInterrupt(handler: () => void): () => void;
}

const say = (out: Output, text = ""): void => {
  out.stdout.write(text + "\n");
};
/** JSON for --json, else the human rendering. Returns nothing, so a command's result is its exit status. */
const emit = (out: Output, value: unknown, human: () => void): void => {
  if (out.json) say(out, JSON.stringify(value, null, 2));
  else human();
};

async function connect(): Promise<{ sync: SyncClient; login: Login }> {
  const login = await readLogin();
  if (!login.token) throw new CommandError("Not logged in: run `sync login --token <access token>` first.");
  const full = { url: login.url ?? LOCAL_URL, anonKey: login.anonKey ?? LOCAL_ANON_KEY, token: login.token };
  const supabase = createClient(full.url, full.anonKey, {
    accessToken: () => Promise.resolve(full.token),
    realtime: { params: { apikey: full.anonKey } },
  });
  return { sync: createSyncClient(supabase), login: full };
}

function parseJson(flag: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new UsageError(`--${flag} must be a JSON object, such as '{"key": "value"}'.`);
}

/** A JSON flag whose value may be `-`: read from stdin, so secrets stay out of shell history. */
async function jsonFlag(out: Output, flag: string, text: string | undefined) {
  return parseJson(flag, text === "-" ? await out.readStdin() : text);
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`Missing ${what}.`);
  return value;
}

function status(value: string | undefined): JobStatus | undefined {
  if (value === undefined) return undefined;
  if (!JOB_STATUSES.includes(value as JobStatus)) {
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(", ")}.`);
  }
  return value as JobStatus;
}

function limit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError("--limit must be a positive whole number.");
  return n;
}

/** A connection named by id or by label. */
async function findConnection(sync: SyncClient, ref: string): Promise<Connection> {
  const all = await sync.connections.list();
  const byId = all.find((c) => c.id === ref);
  if (byId) return byId;
  const byLabel = all.filter((c) => c.label.toLowerCase() === ref.toLowerCase());
  if (byLabel.length === 1) return byLabel[0];
  if (byLabel.length > 1) {
    throw new CommandError(
      `${byLabel.length} connections are labelled "${ref}"; use an id: ${
        byLabel.map((c) => c.id).join(", ")
      }.`,
    );
  }
  throw new CommandError(`No connection "${ref}". See yours with \`sync connections list\`.`);
}

function table(out: Output, rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) return say(out, "(none)");
  const cells = rows.map((r) => columns.map((c) => r[c] == null ? "" : String(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  say(out, columns.map((c, i) => c.toUpperCase().padEnd(widths[i])).join("  ").trimEnd());
  for (const row of cells) say(out, row.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd());
}

const seconds = (job: Job) =>
  job.started_at && job.finished_at
    ? formatDuration((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000)
    : "";

function statsLine(stats: Record<string, unknown>): string {
  return Object.entries(stats).filter(([, v]) => typeof v === "number").map(([k, v]) =>
    `${formatCount(v as number)} ${k}`
  ).join(", ");
}

function jobRows(jobs: Job[]) {
  return jobs.map((j) => ({
    id: j.id,
    provider: j.provider,
    kind: j.kind,
    status: j.status,
    progress: `${Math.round(j.progress.percent ?? 0)}%`,
    rows: statsLine(j.stats),
    duration: seconds(j),
    created: j.created_at.slice(0, 19).replace("T", " "),
  }));
}

/**
 * Draws the job's progress until it ends. Ctrl-C stops watching, not the job.
 * Resolves true when the job succeeded.
 */
async function watch(out: Output, sync: SyncClient, jobId: string): Promise<boolean> {
  const bar = new ProgressBar(out.stdout);
  const abort = new AbortController();
  const release = out.onInterrupt(() => abort.abort());
  const started = performance.now();
  let final: ProgressEvent;
  try {
    final = await sync.waitForJob(jobId, (e) => out.json ? say(out, JSON.stringify(e)) : bar.update(e), {
      signal: abort.signal,
    });
  } catch (e) {
    bar.done();
    if (e instanceof SyncError && e.code === "aborted") {
      say(out, `Stopped watching. The job keeps going; follow it again with \`sync jobs watch ${jobId}\`.`);
      return false;
    }
    throw e;
  } finally {
    release();
  }
  bar.done();
  if (out.json) return final.status === "succeeded";
  const took = formatDuration((performance.now() - started) / 1000);
  if (final.status === "succeeded") {
    say(out, `Done in ${took}: ${statsLine(final.stats) || "nothing new"}.`);
    return true;
  }
  if (final.status === "cancelled") {
    say(out, `Cancelled. Queue it again with \`sync jobs retry ${jobId}\`.`);
    return false;
  }
  const connection = (await sync.connections.list()).find((c) => c.id === final.connection_id);
  if (connection?.reconnect_reason) {
    throw new CommandError(
      `Failed: connection needs reconnecting: ${connection.reconnect_reason}\n` +
        `Give it new credentials with \`sync connections update ${connection.id} --credentials -\` (reads JSON from stdin).`,
    );
  }
  throw new CommandError(
    `Failed: ${
      final.error ?? "no reason given"
    }\nRetry it from where it stopped with \`sync jobs retry ${jobId}\`.`,
  );
}

export const commands: Record<string, (out: Output, args: string[], flags: Flags) => Promise<number | void>> =
  {
    async login(out, _args, flags) {
      const saved = await readLogin();
      const token = flags.token === "-" ? (await out.readStdin()).trim() : flags.token;
      if (!token) {
        throw new UsageError("login needs --token <access token> (or --token - to read it from stdin).");
      }
      const url = (flags.url ?? saved.url ?? LOCAL_URL).replace(/\/+$/, "");
      const anonKey = flags["anon-key"] ?? (url === saved.url ? saved.anonKey : undefined) ?? LOCAL_ANON_KEY;
      const supabase = createClient(url, anonKey, { accessToken: () => Promise.resolve(token) });
      const me = await createSyncClient(supabase).me().catch((e) => {
        if (e instanceof SyncError && e.unauthenticated) {
          throw new CommandError(`That token was refused: ${e.message}`);
        }
        throw e;
      });
      const path = await saveLogin({ url, anonKey, token });
      emit(
        out,
        { ...me, url },
        () =>
          say(
            out,
            `Logged in to ${url} as ${me.email ?? me.id}${me.is_admin ? " (admin)" : ""}. Saved in ${path}.`,
          ),
      );
    },

    async logout(out) {
      const saved = await readLogin();
      if (saved.token) {
        await saveLogin({ url: saved.url ?? LOCAL_URL, anonKey: saved.anonKey ?? LOCAL_ANON_KEY, token: "" });
      }
      say(out, "Logged out.");
    },

    async whoami(out) {
      const { sync, login } = await connect();
      const me = await sync.me();
      emit(
        out,
        { ...me, url: login.url },
        () => say(out, `${me.email ?? me.id}${me.is_admin ? " (admin)" : ""} on ${login.url}`),
      );
    },

    async providers(out) {
      const { sync } = await connect();
      const providers = await sync.providers();
      emit(out, providers, () =>
        table(
          out,
          providers.map((p) => ({
            provider: p.name,
            kinds: p.kinds.join(", "),
            account: Object.keys((p.account.properties ?? {}) as object).join(", "),
            credentials: Object.keys((p.credentials.properties ?? {}) as object).join(", "),
          })),
          ["provider", "kinds", "account", "credentials"],
        ));
    },

    async connections(out, [verb, ref], flags) {
      const { sync } = await connect();
      if (verb === "list" || verb === undefined) {
        const rows = await sync.connections.list();
        return emit(out, rows, () =>
          table(
            out,
            rows.map((c) => ({
              id: c.id,
              label: c.label,
              provider: c.provider,
              "auto-sync": c.auto_sync ? `every ${c.cadence}` : "off",
              "last synced": c.last_synced_at?.slice(0, 19).replace("T", " ") ?? "never",
              attention: c.reconnect_reason ? `reconnect: ${c.reconnect_reason}` : "",
            })),
            ["id", "label", "provider", "auto-sync", "last synced", "attention"],
          ));
      }
      if (verb === "add") {
        const provider = need(ref, "the provider (see `sync providers`)");
        const { id } = await sync.connections.create({
          provider,
          label: need(flags.label, "--label"),
          account: parseJson("account", flags.account) ?? {},
          credentials: await jsonFlag(out, "credentials", flags.credentials) ?? {},
        });
        return emit(
          out,
          { id },
          () =>
            say(
              out,
              `Connected ${provider} as "${flags.label}" (${id}). Sync it with \`sync start ${id} --watch\`.`,
            ),
        );
      }
      if (verb === "update") {
        const connection = await findConnection(sync, need(ref, "the connection"));
        const autoSync = flags["auto-sync"];
        if (autoSync !== undefined && !["on", "off"].includes(autoSync)) {
          throw new UsageError("--auto-sync must be on or off.");
        }
        const lookback = flags["lookback-days"];
        if (lookback !== undefined && !/^\d+$/.test(lookback)) {
          throw new UsageError("--lookback-days must be a whole number of days.");
        }
        const updated = await sync.connections.update(connection.id, {
          ...(flags.label !== undefined ? { label: flags.label } : {}),
          ...(autoSync !== undefined ? { auto_sync: autoSync === "on" } : {}),
          ...(flags.cadence !== undefined ? { cadence: flags.cadence } : {}),
          ...(lookback !== undefined ? { lookback_days: Number(lookback) } : {}),
          ...(flags.credentials !== undefined
            ? { credentials: await jsonFlag(out, "credentials", flags.credentials) }
            : {}),
        });
        return emit(out, updated, () => say(out, `Updated "${updated.label}".`));
      }
      if (verb === "remove") {
        const connection = await findConnection(sync, need(ref, "the connection"));
        await sync.connections.remove(connection.id);
        return emit(
          out,
          { id: connection.id, removed: true },
          () => say(out, `Removed "${connection.label}" and its credentials.`),
        );
      }
      throw new UsageError(`Unknown \`connections ${verb}\`; use list, add, update or remove.`);
    },

    async start(out, [ref], flags) {
      const { sync } = await connect();
      const connection = await findConnection(sync, need(ref, "the connection to sync (its id or label)"));
      const started = await sync.startSync(connection.id, {
        kind: flags.kind,
        params: parseJson("params", flags.params),
        dryRun: flags["dry-run"],
      });
      if (!flags.watch) {
        return emit(
          out,
          started,
          () =>
            say(
              out,
              `${
                started.deduplicated ? "Already queued or running" : "Queued"
              }: job ${started.job_id}. Follow it with \`sync jobs watch ${started.job_id}\`.`,
            ),
        );
      }
      if (!out.json) {
        say(
          out,
          `${
            started.deduplicated ? "Already running" : "Syncing"
          } "${connection.label}" (job ${started.job_id})`,
        );
      }
      return (await watch(out, sync, started.job_id)) ? 0 : 1;
    },

    async jobs(out, [verb, id], flags) {
      const { sync } = await connect();
      if (verb === "list" || verb === undefined) {
        const jobs = await sync.listJobs({ status: status(flags.status), limit: limit(flags.limit) });
        return emit(
          out,
          jobs,
          () =>
            table(out, jobRows(jobs), [
              "id",
              "provider",
              "kind",
              "status",
              "progress",
              "rows",
              "duration",
              "created",
            ]),
        );
      }
      const jobId = need(id, "the job id");
      if (verb === "show") {
        const job = await sync.getJob(jobId);
        return emit(out, job, () => {
          const p = job.progress;
          const lines: [string, string][] = [
            ["job", job.id],
            ["provider", `${job.provider} (${job.kind}${job.dry_run ? ", dry run" : ""})`],
            [
              "status",
              job.status +
              (job.status === "queued" && Date.parse(job.run_at) > Date.now()
                ? ` (retry at ${job.run_at})`
                : ""),
            ],
            [
              "progress",
              `${Math.round(p.percent ?? 0)}% ${p.phase}${
                p.total != null ? ` ${formatCount(p.done)}/${formatCount(p.total)}` : ""
              }${p.message ? ` — ${p.message}` : ""}`,
            ],
            ["attempts", `${job.attempts} of ${job.max_attempts}`],
            ["synced", statsLine(job.stats) || "-"],
            ["created", job.created_at],
            ["duration", seconds(job) || "-"],
          ];
          if (job.last_error) lines.push(["error", job.last_error]);
          for (const [k, v] of lines) say(out, `${k.padStart(9)}: ${v}`);
        });
      }
      if (verb === "watch") return (await watch(out, sync, jobId)) ? 0 : 1;
      if (verb === "cancel") {
        const cancelled = await sync.cancel(jobId);
        return emit(
          out,
          { job_id: jobId, cancelled },
          () =>
            say(
              out,
              cancelled ? `Cancelled job ${jobId}.` : `Job ${jobId} had already finished; nothing to cancel.`,
            ),
        );
      }
      if (verb === "retry") {
        const retried = await sync.retry(jobId);
        if (flags.watch) return (await watch(out, sync, retried)) ? 0 : 1;
        return emit(
          out,
          { job_id: retried },
          () =>
            say(
              out,
              retried === jobId
                ? `Queued job ${jobId} again, from its last cursor.`
                : `That connection already has job ${retried} queued or running.`,
            ),
        );
      }
      throw new UsageError(`Unknown \`jobs ${verb}\`; use list, show, watch, cancel or retry.`);
    },

    async admin(out, [verb, ...rest], flags) {
      const { sync } = await connect();
      if (verb === "health") {
        const health = await sync.admin.health();
        return emit(out, health, () => {
          const s = health.settings;
          say(
            out,
            s.paused
              ? `PAUSED: ${s.paused_reason ?? "no reason given"} (since ${s.paused_at})`
              : "Processing: on",
          );
          table(
            out,
            health.providers.map((p) => ({
              provider: p.provider,
              queued: p.queued,
              running: p.running,
              succeeded: p.succeeded,
              failed: p.failed,
              "oldest runnable": p.oldest_runnable_age_seconds
                ? formatDuration(p.oldest_runnable_age_seconds)
                : "",
              "failures 1h": p.failures_last_hour,
            })),
            ["provider", "queued", "running", "succeeded", "failed", "oldest runnable", "failures 1h"],
          );
        });
      }
      if (verb === "pause") {
        const reason = rest.join(" ").trim();
        if (!reason) {
          throw new UsageError("admin pause needs a reason, such as `sync admin pause upstream outage`.");
        }
        await sync.admin.pause(reason);
        return emit(
          out,
          { paused: true, reason },
          () => say(out, `Paused: ${reason}. Resume with \`sync admin resume\`.`),
        );
      }
      if (verb === "resume") {
        await sync.admin.resume();
        return emit(out, { paused: false }, () => say(out, "Resumed."));
      }
      if (verb === "jobs") {
        const jobs = await sync.admin.listJobs({
          status: status(flags.status),
          provider: flags.provider,
          limit: limit(flags.limit),
        });
        return emit(
          out,
          jobs,
          () =>
            table(
              out,
              jobs.map((j) => ({
                ...jobRows([j])[0],
                owner: j.owner_id,
                error: (j.last_error ?? "").slice(0, 60),
              })),
              [
                "id",
                "owner",
                "provider",
                "status",
                "progress",
                "created",
                "error",
              ],
            ),
        );
      }
      if (verb === "retry" || verb === "cancel") {
        const jobId = need(rest[0], "the job id");
        if (verb === "retry") {
          const retried = await sync.admin.retry(jobId);
          return emit(out, { job_id: retried }, () => say(out, `Queued job ${retried}.`));
        }
        const cancelled = await sync.admin.cancel(jobId);
        return emit(
          out,
          { job_id: jobId, cancelled },
          () => say(out, cancelled ? `Cancelled job ${jobId}.` : `Job ${jobId} had already finished.`),
        );
      }
      throw new UsageError(
        `Unknown \`admin ${verb ?? ""}\`; use health, pause, resume, jobs, retry or cancel.`,
      );
    },
  };
