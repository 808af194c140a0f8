/**
 * The security matrix: every caller against every function route, every `sync` and
 * `synced` table and function, and every Realtime topic pattern, each pair asserted
 * allowed or denied. Serial, because the allowed calls act for real (an admin pauses
 * the queue, the worker secret runs the workers).
 */
import assert from "node:assert/strict";
import { fake, fakesUrl } from "../support/fakes.ts";
import { connect } from "../support/providers.ts";
import { closeClient, RawSocket } from "../support/realtime.ts";
import { db } from "../support/stack.ts";
import { type Answer, call, type Caller, CALLERS, type CallerName, cast, isJsonRefusal } from "./callers.ts";

const test = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Who a route is for; the expected answer of every caller follows from it. */
type Audience = "anyone" | "owner" | "user" | "admin" | "worker";

const INVALID_CREDENTIAL: CallerName[] = ["no key", "forged token", "expired token"];

function expected(audience: Audience, who: CallerName): "allow" | 401 | 403 | 404 {
  if (audience === "anyone") return "allow";
  if (audience === "worker") return who === "service role" || who === "worker secret" ? "allow" : 401;
  if (INVALID_CREDENTIAL.includes(who) || who === "worker secret") return 401;
  if (audience === "admin") return who === "admin" || who === "service role" ? "allow" : 403;
  // sync-api: signed-in users only; the service_role key and the anon key are not users.
  if (who === "anon" || who === "service role") return 401;
  if (audience === "user") return "allow";
  return who === "user" ? "allow" : 404; // someone else's resource is not found
}

function judge(answer: Answer, expect: "allow" | number): string | null {
  if (answer.status >= 500 && !(expect === "allow" && answer.status === 503)) return `a ${answer.status}: ${answer.text.slice(0, 200)}`;
  if (expect === "allow") {
    // Allowed: past every check. A 409 is the job's state saying no (retrying a queued job), not authorization.
    return answer.status < 400 || answer.status === 409 || answer.status === 503 ? null : `refused with ${answer.status}: ${answer.text.slice(0, 200)}`;
  }
  if (answer.status !== expect) return `${answer.status} instead of ${expect}: ${answer.text.slice(0, 200)}`;
  return isJsonRefusal(answer) ? null : `a ${answer.status} without a JSON error body: ${answer.text.slice(0, 200)}`;
}

test("security matrix: callers × function routes, tables, functions and Realtime topics", async (t) => {
  const sql = db();
  const who = await cast(sql);
  const { user, other } = who;
  const secret = `rk_${crypto.randomUUID()}`;
  const upstream = fake("records-api", secret);
  await upstream.seed({ records: 3 });
  const account = { url: `${fakesUrl}/records-api/items?page=1`, records_path: "items", next_path: "meta.next" };
  const connection = await connect(user, "http-json", account, { headers: { "x-api-key": secret } });
  const doomed = await connect(user, "http-json", account, { headers: { "x-api-key": secret } });
  // A job far in the future: only the matrix moves it.
  const [{ id: job }] = await sql`select sync.enqueue(${connection}, 'full', '{}', now() + interval '1 day') as id`;
  const answers: Answer[] = [];

  try {
    await t.step("function routes", async () => {
      const routes: [Audience, string, string, unknown?][] = [
        ["anyone", "GET", "sync-health"],
        ["user", "GET", "sync-api/me"],
        ["user", "GET", "sync-api/providers"],
        ["user", "GET", "sync-api/connections"],
        ["user", "POST", "sync-api/connections", { provider: "http-json", label: "matrix", account, credentials: {} }],
        ["owner", "PATCH", `sync-api/connections/${connection}`, { label: "renamed by the matrix" }],
        ["owner", "POST", "sync-api/jobs", { connection_id: connection, kind: "full" }],
        ["user", "GET", "sync-api/jobs"],
        ["owner", "GET", `sync-api/jobs/${job}`],
        ["owner", "POST", `sync-api/jobs/${job}/cancel`],
        ["owner", "POST", `sync-api/jobs/${job}/retry`],
        ["owner", "DELETE", `sync-api/connections/${doomed}`],
        ["admin", "GET", "sync-admin/health"],
        ["admin", "GET", "sync-admin/jobs"],
        ["admin", "POST", `sync-admin/jobs/${job}/cancel`],
        ["admin", "POST", `sync-admin/jobs/${job}/retry`],
        ["admin", "POST", "sync-admin/pause", { reason: "security matrix" }],
        ["admin", "POST", "sync-admin/resume"],
        ...["http-json", "steam", "spotify", "google-sheets", "google-ads", "meta-ads", "linkedin-ads", "tiktok-ads"]
          .map((p): [Audience, string, string, unknown] => ["worker", "POST", `sync-${p}`, { max_jobs: 1 }]),
      ];
      const wrong: string[] = [];
      for (const [audience, method, path, body] of routes) {
        // The owner goes last, so a destructive call (DELETE) is refused to everyone else first.
        for (const name of [...CALLERS.filter((c) => c !== "user"), "user" as const]) {
          const answer = await call(who.callers[name], method, path, body === undefined ? undefined : JSON.stringify(body));
          answers.push(answer);
          const problem = judge(answer, expected(audience, name));
          if (problem) wrong.push(`${name} → ${method} ${path}: ${problem}`);
        }
      }
      await sql`select sync.resume()`; // whatever happened above, leave the queue running
      assert.deepEqual(wrong, [], `${wrong.length} of ${routes.length * CALLERS.length} pairs answered wrongly`);
    });

    await t.step("tables: RLS on, owners read only their own rows, nobody but service_role writes", async () => {
      const tables = await sql<{ name: string; rls: boolean; owned: boolean; first: string }[]>`
        select format('%I.%I', n.nspname, c.relname) as name, c.relrowsecurity as rls,
               (select quote_ident(a.attname) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                  and a.attidentity = '' and a.attgenerated = '' order by a.attnum limit 1) as first,
               exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'owner_id' and not a.attisdropped) as owned
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('sync', 'synced') and c.relkind in ('r', 'p')
        order by 1
      `;
      assert.ok(tables.length >= 12, `found the tables (${tables.length})`);
      const wrong: string[] = [];
      const as = async <T>(role: "anon" | "authenticated" | "service_role", uid: string | null, admin: boolean, fn: (tx: typeof sql) => Promise<T>) =>
        await sql.begin(async (tx) => {
          const claims = uid ? { sub: uid, role, app_metadata: admin ? { role: "admin" } : {} } : { role };
          await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', ${role}, true)`;
          return await fn(tx as unknown as typeof sql);
        });
      /** The row count `fn` sees, or "denied" for a permission error. */
      const seen = async (role: "anon" | "authenticated" | "service_role", uid: string | null, admin: boolean, query: string, params: string[] = []) => {
        try {
          return await as(role, uid, admin, async (tx) => (await tx.unsafe(query, params))[0].n as number);
        } catch (e) {
          if ((e as { code?: string }).code === "42501") return "denied";
          throw e;
        }
      };
      for (const { name, rls, owned, first } of tables) {
        if (!rls) wrong.push(`${name}: row level security is off`);
        const [{ all }] = await sql.unsafe(`select count(*)::int as "all" from ${name}`);
        const anon = await seen("anon", null, false, `select count(*)::int as n from ${name}`);
        if (anon !== "denied" && anon !== 0) wrong.push(`${name}: anon reads ${anon} rows`);
        if (owned) {
          const [{ mine }] = await sql.unsafe(`select count(*)::int as mine from ${name} where owner_id = $1`, [user.id]);
          const asUser = await seen("authenticated", user.id, false, `select count(*)::int as n from ${name}`);
          if (asUser !== mine) wrong.push(`${name}: the user sees ${asUser} rows, owns ${mine}`);
          const asOther = await seen("authenticated", other.id, false, `select count(*)::int as n from ${name} where owner_id = $1`, [user.id]);
          if (asOther !== 0) wrong.push(`${name}: another user sees ${asOther} of the user's rows`);
          const asAdmin = await seen("authenticated", who.admin.id, true, `select count(*)::int as n from ${name}`);
          if (asAdmin !== all) wrong.push(`${name}: an admin sees ${asAdmin} of ${all} rows`);
        }
        const asService = await seen("service_role", null, false, `select count(*)::int as n from ${name}`);
        if (asService !== all) wrong.push(`${name}: service_role sees ${asService} of ${all} rows`);
        // Writes by users: refused outright, or (RLS) touching nothing.
        for (const [what, query] of [
          ["insert", `insert into ${name} default values`],
          ["update", `with u as (update ${name} set ${first} = ${first} returning 1) select count(*)::int as n from u`],
          ["delete", `with d as (delete from ${name} returning 1) select count(*)::int as n from d`],
        ]) {
          for (const [role, uid, admin] of [["anon", null, false], ["authenticated", user.id, false], ["authenticated", who.admin.id, true]] as const) {
            try {
              const n = await as(role, uid, admin, async (tx) => (await tx.unsafe(query))[0]?.n ?? 1);
              if (n !== 0) wrong.push(`${name}: ${role}${admin ? " (admin)" : ""} may ${what} (${n} rows)`);
            } catch (e) {
              const code = (e as { code?: string }).code;
              // 42501: no privilege, or RLS's own refusal.
              if (code !== "42501") wrong.push(`${name}: ${role} ${what} failed with ${code} (${(e as Error).message}), not a permission refusal`);
            }
          }
        }
      }
      assert.deepEqual(wrong, []);
    });

    await t.step("database functions: operators for service_role only", async () => {
      const functions = await sql<{ fn: string; anon: boolean; authenticated: boolean; service: boolean }[]>`
        select p.oid::regprocedure::text as fn,
               has_function_privilege('anon', p.oid, 'execute') as anon,
               has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
               has_function_privilege('service_role', p.oid, 'execute') as service
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('sync', 'synced', 'vault')
        order by 1
      `;
      // What RLS policies call as the caller: they read only the caller's own claims.
      const policyHelpers = ["sync.is_admin()", "sync.try_uuid(text)"];
      const operators = ["enqueue", "claim", "checkpoint", "complete", "fail", "cancel", "retry", "pause", "resume", "reset_stale", "cleanup", "schedule_due", "dispatch"];
      const wrong: string[] = [];
      for (const f of functions) {
        if (f.anon && !policyHelpers.includes(f.fn)) wrong.push(`anon may execute ${f.fn}`);
        if (f.authenticated && !policyHelpers.includes(f.fn)) wrong.push(`authenticated may execute ${f.fn}`);
      }
      for (const op of operators) {
        const mine = functions.filter((f) => f.fn.startsWith(`sync.${op}(`));
        if (mine.length === 0) wrong.push(`sync.${op} is missing`);
        for (const f of mine) if (!f.service) wrong.push(`service_role may not execute ${f.fn}`);
      }
      assert.deepEqual(wrong, []);
    });

    await t.step("Realtime topics: sync:user:<owner> and sync:job:<id>", async () => {
      const topics = [`sync:user:${user.id}`, `sync:job:${job}`];
      const expect = (name: CallerName): "allow" | "deny" | "refused" =>
        name === "no key" || name === "worker secret"
          ? "refused"
          : ["user", "admin", "service role"].includes(name)
          ? "allow"
          : "deny";
      const wrong: string[] = [];
      for (const name of CALLERS) {
        const c: Caller = who.callers[name];
        const socket = new RawSocket("2.0.0", c.realtime.apikey);
        const opened = await socket.opened.then(() => true, () => false);
        if (!opened) {
          if (expect(name) !== "refused") wrong.push(`${name}: the socket was refused`);
          continue;
        }
        if (expect(name) === "refused") wrong.push(`${name}: the socket opened`);
        for (const topic of topics) {
          const ref = socket.push(`realtime:${topic}`, "phx_join", {
            config: { broadcast: { ack: false, self: false }, presence: { key: "", enabled: false }, postgres_changes: [], private: true },
            ...(c.realtime.token ? { access_token: c.realtime.token } : {}),
          }, null);
          const reply = await socket.reply(ref);
          const got = reply.payload.status === "ok" ? "allow" : "deny";
          if (got !== expect(name)) wrong.push(`${name} joining ${topic.replace(/[0-9a-f-]{36}/, "<id>")}: ${got} (${JSON.stringify(reply.payload.response)})`);
        }
        await socket.close();
      }
      assert.deepEqual(wrong, []);
    });

    await t.step("the planted credential is in no answer", () => {
      assert.ok(answers.length > 0);
      for (const a of answers) assert.ok(!a.text.includes(secret), "a function answered with the credential");
    });
  } finally {
    await closeClient(user.client);
    await closeClient(other.client);
    await closeClient(who.admin.client);
    await sql.end();
  }
});
