/**
 * sync-admin: operators' controls, for users whose JWT says app_metadata.role = "admin",
 * or the service_role key.
 *
 *   GET  /health                          queue_health rows, recent runs, the pause switch, and
 *                                         per minute of the last hour: jobs finished, dispatch latency
 *   POST /pause {reason}   POST /resume
 *   POST /jobs/:id/retry   POST /jobs/:id/cancel
 *   GET  /jobs?status=&provider=&limit=   every owner's jobs
 */
import { z } from "zod";
import { caller } from "../_shared/auth.ts";
import { db } from "../_shared/database.ts";
import { error, json, readJson, serveRoutes, validate } from "../_shared/http.ts";
import { retryJob } from "../_shared/retry.ts";

const pauseBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
const jobList = z.object({
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional(),
  provider: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
}).strict();
const uuid = z.string().uuid();

const JOB_FIELDS = `id, owner_id, connection_id, provider, kind, status, priority, run_at, attempts, max_attempts,
  worker, progress, stats, params, dry_run, last_error, created_at, updated_at, started_at, finished_at`;

async function route(req: Request): Promise<Response> {
  const who = await caller(req);
  if (!who.isAdmin) return error(403, "forbidden", "sync-admin is for admins (app_metadata.role = \"admin\") and the service_role key.");
  const url = new URL(req.url);
  const path = url.pathname.replace(/^\/sync-admin/, "").replace(/\/+$/, "") || "/";
  const sql = db();

  if (req.method === "GET" && path === "/health") {
    const [providers, settings, runs, cron, timeline] = await Promise.all([
      sql`select * from sync.queue_health order by provider`,
      sql`select paused, paused_reason, paused_at, last_tick_at from sync.settings`,
      sql.unsafe(`select ${JOB_FIELDS} from sync.jobs where finished_at is not null order by finished_at desc limit 20`),
      sql`
        select j.jobname, d.status, d.return_message, d.start_time, d.end_time
        from cron.job_run_details d join cron.job j using (jobid)
        where j.jobname like 'tributary-%' order by d.start_time desc limit 10
      `.catch(() => []),
      // The dashboard's chart: per minute of the last hour, jobs finished and the median
      // time from enqueue to first claim (dispatch latency). One pass over the finished
      // jobs' index, not a query per minute.
      sql`
        select to_char(date_trunc('minute', finished_at) at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as minute,
               count(*)::int as finished,
               count(*) filter (where status = 'failed')::int as failed,
               round((percentile_cont(0.5) within group (order by extract(epoch from started_at - created_at)) * 1000)::numeric, 1)::float8
                 as dispatch_p50_ms
        from sync.jobs
        where status in ('succeeded', 'failed', 'cancelled') and finished_at > now() - interval '1 hour'
        group by 1 order by 1
      `,
    ]);
    return json({ providers, settings: settings[0], recent_runs: runs, cron_runs: cron, timeline });
  }
  if (req.method === "POST" && path === "/pause") {
    const { reason } = await readJson(req, pauseBody);
    await sql`select sync.pause(${reason})`;
    return json({ paused: true, reason });
  }
  if (req.method === "POST" && path === "/resume") {
    await sql`select sync.resume()`;
    await sql`select sync.dispatch()`;
    return json({ paused: false });
  }
  if (req.method === "GET" && path === "/jobs") {
    const { status, provider, limit } = validate(jobList, Object.fromEntries(url.searchParams));
    const rows = await sql.unsafe(
      `select ${JOB_FIELDS} from sync.jobs
       where ($1::sync.job_status is null or status = $1::sync.job_status) and ($2::text is null or provider = $2)
       order by created_at desc limit $3`,
      [status ?? null, provider ?? null, limit],
    );
    return json({ jobs: rows });
  }
  const action = path.match(/^\/jobs\/([^/]+)\/(retry|cancel)$/);
  if (req.method === "POST" && action) {
    const [, id, verb] = action;
    const [job] = uuid.safeParse(id).success ? await sql`select provider from sync.jobs where id = ${id}` : [];
    if (!job) return error(404, "not_found", "No job with that id.");
    if (verb === "cancel") {
      const [{ cancelled }] = await sql`select sync.cancel(${id}) as cancelled`;
      return json({ job_id: id, cancelled });
    }
    return json(await retryJob(id, job.provider));
  }
  return error(404, "no_route", `${req.method} ${path} is not a sync-admin route.`);
}

serveRoutes("sync-admin", route);
