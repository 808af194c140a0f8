/**
 * sync-api: what a signed-in user does with their data sources.
 *
 *   POST   /connections          {provider, label, account, credentials} -> 201 {id}
 *   GET    /connections
 *   PATCH  /connections/:id      {auto_sync?, cadence?, lookback_days?, label?, credentials?}
 *                                (new credentials replace the old in Vault: how a user
 *                                reconnects an account the upstream stopped accepting)
 *   DELETE /connections/:id
 *   POST   /jobs                 {connection_id, kind?, params?, dry_run?} -> 202 {job_id, status, deduplicated}
 *   GET    /jobs/:id
 *   GET    /jobs?status=&limit=
 *   POST   /jobs/:id/cancel
 *   POST   /jobs/:id/retry       a failed or cancelled job again, from its last cursor
 *   GET    /me                   {id, email, is_admin}: who the token belongs to
 *   GET    /providers            each provider's kinds, and JSON Schemas (from its zod
 *                                schemas) for its account and credentials: what a form needs
 *
 * Reads run as the caller (RLS decides; someone else's row is a 404). Writes to queue
 * state go through the sync.* functions, only after the caller was shown to own the row.
 * Credentials go straight into Vault; no response ever carries them.
 */
import { z } from "zod";
import { caller, Unauthorized } from "../_shared/auth.ts";
import { asUser, db } from "../_shared/database.ts";
import { HttpError, json, readJson, serveRoutes, validate } from "../_shared/http.ts";
import { providers } from "../_shared/providers/index.ts";
import { retryJob } from "../_shared/retry.ts";

/** A new trigger this soon after the previous job of the connection started is refused (429). */
const TRIGGER_COOLDOWN_S = 10;

const uuid = z.string().uuid();
const cadence = z.string().regex(/^\d+\s*(minutes?|hours?|days?|weeks?)$/, 'an interval such as "6 hours" or "1 day"');

const newConnection = z.object({
  provider: z.string().min(1),
  label: z.string().trim().min(1).max(200),
  account: z.record(z.string(), z.unknown()).default({}),
  credentials: z.record(z.string(), z.unknown()).default({}),
}).strict();

const connectionPatch = z.object({
  label: z.string().trim().min(1).max(200).optional(),
  auto_sync: z.boolean().optional(),
  cadence: cadence.optional(),
  lookback_days: z.number().int().min(0).max(3650).optional(),
  credentials: z.record(z.string(), z.unknown()).optional(),
}).strict().refine((p) => Object.keys(p).length > 0, "send at least one of label, auto_sync, cadence, lookback_days, credentials");

const newJob = z.object({
  connection_id: uuid,
  kind: z.string().min(1).max(100).default("incremental"),
  params: z.record(z.string(), z.unknown()).default({}),
  dry_run: z.boolean().default(false),
}).strict();

const jobList = z.object({
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const notFound = (what: string) => new HttpError(404, "not_found", `No ${what} with that id is yours.`);

async function createConnection(req: Request, userId: string) {
  const input = await readJson(req, newConnection);
  const provider = providers[input.provider];
  if (!provider) {
    throw new HttpError(400, "unsupported_provider", `provider: "${input.provider}" is not available; use one of ${Object.keys(providers).join(", ")}`);
  }
  validate(provider.account, input.account, "account");
  validate(provider.credentials, input.credentials, "credentials");
  const sql = db();
  const id = await sql.begin(async (tx) => {
    const [{ secret }] = await tx`select vault.create_secret(${JSON.stringify(input.credentials)}, null, 'tributary connection credentials') as secret`;
    const [row] = await tx`
      insert into sync.connections (owner_id, provider, label, account, credentials_secret_id)
      values (${userId}, ${input.provider}, ${input.label}, ${tx.json(input.account as never)}, ${secret})
      returning id
    `;
    return row.id as string;
  });
  return json({ id }, 201);
}

// What users see of their rows: never credentials_secret_id.
const CONNECTION_FIELDS =
  "id, provider, label, account, auto_sync, cadence::text as cadence, lookback_days, next_sync_at, high_watermark, last_synced_at, reconnect_reason, created_at, updated_at";
const JOB_FIELDS = "id, connection_id, provider, kind, status, priority, run_at, attempts, max_attempts, progress, stats, params, dry_run, last_error, created_at, updated_at, started_at, finished_at";

/** New credentials for a connection: validated like new ones, stored in Vault, and the reconnect flag cleared. */
async function replaceCredentials(
  id: string,
  connection: { provider: string; credentials_secret_id: string | null },
  credentials: Record<string, unknown>,
) {
  const provider = providers[connection.provider];
  if (provider) validate(provider.credentials, credentials, "credentials");
  await db().begin(async (tx) => {
    const text = JSON.stringify(credentials);
    if (connection.credentials_secret_id) {
      await tx`select vault.update_secret(${connection.credentials_secret_id}, ${text})`;
    } else {
      const [{ secret }] = await tx`select vault.create_secret(${text}, null, 'tributary connection credentials') as secret`;
      await tx`update sync.connections set credentials_secret_id = ${secret} where id = ${id}`;
    }
    await tx`update sync.connections set reconnect_reason = null where id = ${id}`;
  });
}

/** The job's kind and params, checked against what the connection's provider runs. */
function validateJob(providerName: string, kind: string, params: Record<string, unknown>): Record<string, unknown> {
  const provider = providers[providerName];
  if (!provider) return params;
  if (!provider.kinds.includes(kind)) {
    throw new HttpError(400, "invalid_request", `kind: ${providerName} runs ${provider.kinds.join(", ")}, not "${kind}"`);
  }
  const schema = provider.params?.[kind];
  return schema ? validate(schema, params, "params") as Record<string, unknown> : params;
}

let schemas: unknown[] | undefined;
/** Computed once per worker: the schemas do not change while it runs. */
function providerSchemas() {
  const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  schemas ??= Object.values(providers).map((p) => ({
    name: p.name,
    kinds: p.kinds,
    account: jsonSchema(p.account),
    credentials: jsonSchema(p.credentials),
  }));
  return schemas;
}

async function route(req: Request): Promise<Response> {
  const who = await caller(req);
  if (!who.userId) throw new Unauthorized("sync-api is for signed-in users: send a user's access token (operators use sync-admin).");
  const userId = who.userId;
  const url = new URL(req.url);
  const path = url.pathname.replace(/^\/sync-api/, "").replace(/\/+$/, "") || "/";
  const [, resource, id, action] = path.split("/");
  const method = req.method;

  if (method === "GET" && resource === "me" && !id) {
    return json({ id: userId, email: typeof who.claims.email === "string" ? who.claims.email : null, is_admin: who.isAdmin });
  }
  if (method === "GET" && resource === "providers" && !id) return json({ providers: providerSchemas() });

  if (resource === "connections" && !id) {
    if (method === "POST") return await createConnection(req, userId);
    if (method === "GET") {
      // The caller's own: RLS also lets admins read everyone's, but sync-api lists what is
      // "mine" (operators list every owner's jobs through sync-admin).
      const rows = await asUser(who.claims, (tx) =>
        tx.unsafe(`select ${CONNECTION_FIELDS} from sync.connections where owner_id = $1 order by created_at`, [userId]));
      return json({ connections: rows });
    }
  }
  // Every route below acts on the caller's own connections and jobs only. RLS would let an
  // admin reach everyone's; an admin acts on other owners' jobs through sync-admin, and
  // never on their connections.
  if (resource === "connections" && id && !action) {
    if (!uuid.safeParse(id).success) throw notFound("connection");
    if (method === "PATCH") {
      const patch = await readJson(req, connectionPatch);
      const [visible] = await asUser(who.claims, (tx) =>
        tx<{ provider: string; credentials_secret_id: string | null }[]>`
          select provider, credentials_secret_id from sync.connections where id = ${id} and owner_id = ${userId}
        `);
      if (!visible) throw notFound("connection");
      if (patch.credentials) await replaceCredentials(id, visible, patch.credentials);
      const [row] = await db().unsafe(
        `update sync.connections set
           label = coalesce($2, label), auto_sync = coalesce($3, auto_sync),
           cadence = coalesce($4::interval, cadence), lookback_days = coalesce($5, lookback_days),
           next_sync_at = case when coalesce($3, auto_sync) then coalesce(next_sync_at, now()) else null end,
           updated_at = now()
         where id = $1 returning ${CONNECTION_FIELDS}`,
        [id, patch.label ?? null, patch.auto_sync ?? null, patch.cadence ?? null, patch.lookback_days ?? null],
      ).catch((e) => {
        if (String(e.message).includes("cadence")) throw new HttpError(400, "invalid_request", "cadence: must be at least 5 minutes");
        throw e;
      });
      return json(row);
    }
    if (method === "DELETE") {
      const visible = await asUser(who.claims, (tx) => tx`select credentials_secret_id from sync.connections where id = ${id} and owner_id = ${userId}`);
      if (visible.length === 0) throw notFound("connection");
      await db().begin(async (tx) => {
        await tx`delete from sync.connections where id = ${id}`;
        if (visible[0].credentials_secret_id) await tx`delete from vault.secrets where id = ${visible[0].credentials_secret_id}`;
      });
      return new Response(null, { status: 204, headers: { "access-control-allow-origin": "*" } });
    }
  }
  if (resource === "jobs" && !id) {
    if (method === "POST") {
      const input = await readJson(req, newJob);
      const [conn] = await asUser(who.claims, (tx) => tx`
        select c.id, c.provider,
               (select extract(epoch from now() - max(j.created_at)) from sync.jobs j
                 where j.connection_id = c.id and j.created_at > now() - make_interval(secs => ${TRIGGER_COOLDOWN_S})
                   and j.status in ('succeeded', 'failed', 'cancelled'))::float8 as since_last,
               exists (select 1 from sync.jobs j where j.connection_id = c.id and j.kind = ${input.kind}
                        and j.status in ('queued', 'running')) as active
        from sync.connections c where c.id = ${input.connection_id} and c.owner_id = ${userId}
      `);
      if (!conn) throw notFound("connection");
      input.params = validateJob(conn.provider, input.kind, input.params);
      if (!conn.active && conn.since_last !== null) {
        const wait = Math.max(1, Math.ceil(TRIGGER_COOLDOWN_S - conn.since_last));
        throw new HttpError(429, "cooldown", `This connection just synced; try again in ${wait} s.`, { "retry-after": String(wait) });
      }
      const [job] = await db().begin(async (tx) => {
        const [{ id: jobId }] = await tx`select sync.enqueue(${input.connection_id}, ${input.kind}, ${tx.json(input.params as never)}) as id`;
        if (input.dry_run && !conn.active) await tx`update sync.jobs set dry_run = true where id = ${jobId} and status = 'queued'`;
        return await tx`select id, status from sync.jobs where id = ${jobId}`;
      });
      return json({ job_id: job.id, status: job.status, deduplicated: conn.active }, 202);
    }
    if (method === "GET") {
      const query = validate(jobList, Object.fromEntries(url.searchParams));
      const rows = await asUser(who.claims, (tx) =>
        tx.unsafe(
          `select ${JOB_FIELDS} from sync.jobs where owner_id = $3 and ($1::sync.job_status is null or status = $1::sync.job_status)
           order by created_at desc limit $2`,
          [query.status ?? null, query.limit, userId],
        ));
      return json({ jobs: rows });
    }
  }
  if (resource === "jobs" && id) {
    if (!uuid.safeParse(id).success) throw notFound("job");
    const [job] = await asUser(who.claims, (tx) => tx.unsafe(`select ${JOB_FIELDS} from sync.jobs where id = $1 and owner_id = $2`, [id, userId]));
    if (!job) throw notFound("job");
    if (!action && method === "GET") return json(job);
    if (action === "cancel" && method === "POST") {
      const [{ cancelled }] = await db()`select sync.cancel(${id}) as cancelled`;
      return json({ job_id: id, cancelled });
    }
    if (action === "retry" && method === "POST") return json(await retryJob(id, job.provider));
  }
  throw new HttpError(404, "no_route", `${method} ${path} is not a sync-api route.`);
}

serveRoutes("sync-api", route);
