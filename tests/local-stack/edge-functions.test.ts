/**
 * The local Edge runtime, through the unmodified supabase-js client and plain fetch:
 * JWT verification, default env vars, secrets files, CORS preflight, routing,
 * boot errors, wall-clock, memory and CPU limits, waitUntil and beforeunload.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import { anonKey, apiUrl, createUser, db, dbUrl, eventually, functionLogMark, functionLogSince, serviceRoleKey } from "../support/stack.ts";

const fn = (path: string) => `${apiUrl}/functions/v1/${path}`;

Deno.test("a signed-in user's functions.invoke reaches the function with their claims and the platform env", async () => {
  const sql = db();
  try {
    const user = await createUser(sql, { appMetadata: { role: "admin" } });
    const { data, error } = await user.client.functions.invoke("echo/some/path?x=1", { body: { hello: "world" } });
    assert.deepEqual(error, null);
    assert.deepEqual(data.method, "POST");
    assert.deepEqual(data.path, "/echo/some/path");
    assert.deepEqual(data.query, { x: "1" });
    assert.deepEqual(JSON.parse(data.body), { hello: "world" });
    assert.deepEqual(data.claims.sub, user.id);
    assert.deepEqual(data.claims.role, "authenticated");
    assert.deepEqual(data.claims.aud, "authenticated");
    assert.deepEqual(data.claims.app_metadata.role, "admin");
    assert.deepEqual(data.env.SUPABASE_URL, apiUrl);
    assert.deepEqual(data.env.SUPABASE_ANON_KEY, anonKey);
    assert.deepEqual(data.env.SUPABASE_SERVICE_ROLE_KEY, serviceRoleKey);
    assert.deepEqual(data.env.SUPABASE_DB_URL, dbUrl);
    assert(data.hasWaitUntil, "EdgeRuntime.waitUntil is provided");
  } finally {
    await sql.end();
  }
});

Deno.test("function secrets come from supabase/functions/.env, then TRIBUTARY_FUNCTIONS_ENV, which wins", async () => {
  const res = await fetch(fn("echo-public"));
  const data = await res.json();
  assert.deepEqual(data.env.FIXTURE_SECRET, "from-the-fixture-env-file");
  assert.deepEqual(data.env.TRIBUTARY_WORKER_BUDGET_MS, "20000", "the fixture file's value wins");
  assert.deepEqual(data.env.HTTP_JSON_ALLOW_PRIVATE, "true", "values only in supabase/functions/.env still arrive");
  // Reserved names cannot be overridden by a secrets file.
  assert.deepEqual(data.env.SUPABASE_URL, apiUrl);
  // The function sees its env, not the stack's.
  assert(!data.envNames.includes("TRIBUTARY_DB_URL"), "stack variables do not leak into functions");
  assert(!data.envNames.some((n: string) => n.startsWith("TRIBUTARY_HOST_")), "host control variables are removed");
});

Deno.test("a forged token gets 401 Invalid JWT, through supabase-js and plain fetch", async () => {
  const forged = await new SignJWT({ role: "authenticated", sub: crypto.randomUUID() })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode("not-the-project-secret-but-long-enough-to-sign"));
  const res = await fetch(fn("echo"), { method: "POST", headers: { authorization: `Bearer ${forged}` } });
  assert.deepEqual(res.status, 401);
  assert.deepEqual(await res.json(), { msg: "Invalid JWT" });

  const { createClient } = await import("@supabase/supabase-js");
  const client = createClient(apiUrl, anonKey, { accessToken: () => Promise.resolve(forged) });
  const { error } = await client.functions.invoke("echo", { body: {} });
  assert(error instanceof FunctionsHttpError, "a non-2xx reply is a FunctionsHttpError");
  assert.deepEqual(error.context.status, 401);
  assert.deepEqual(await error.context.json(), { msg: "Invalid JWT" });
});

Deno.test("an expired token and a missing header are refused; verify_jwt = false lets anyone in", async () => {
  const sql = db();
  try {
    const user = await createUser(sql, { expiresIn: -10 });
    const expired = await fetch(fn("echo"), { method: "POST", headers: { authorization: `Bearer ${user.token}` } });
    assert.deepEqual(expired.status, 401);
    assert.deepEqual(await expired.json(), { msg: "Invalid JWT" });
  } finally {
    await sql.end();
  }
  const missing = await fetch(fn("echo"), { method: "POST" });
  assert.deepEqual(missing.status, 401);
  assert.deepEqual(await missing.json(), { msg: "Error: Missing authorization header" });

  const open = await fetch(fn("echo-public"), { method: "POST", body: "x" });
  assert.deepEqual(open.status, 200);
  assert.deepEqual((await open.json()).claims, null);
});

Deno.test("the anon and service_role keys are accepted as JWTs", async () => {
  for (const key of [anonKey, serviceRoleKey]) {
    const res = await fetch(fn("echo"), { headers: { authorization: `Bearer ${key}` } });
    assert.deepEqual(res.status, 200);
    const { claims } = await res.json();
    assert.match(claims.role, /^(anon|service_role)$/);
  }
});

Deno.test("a CORS preflight passes without a token and reaches the function", async () => {
  const res = await fetch(fn("echo"), {
    method: "OPTIONS",
    headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
  });
  assert.deepEqual(res.status, 200);
  assert.deepEqual((await res.json()).method, "OPTIONS");
});

Deno.test("unknown, disabled and oddly named functions get a JSON 404", async () => {
  for (const name of ["no-such-function", "disabled", "..%2F..%2Fetc", "_shared"]) {
    const res = await fetch(fn(name), { method: "POST", headers: { authorization: `Bearer ${anonKey}` } });
    assert.deepEqual(res.status, 404, name);
    assert.deepEqual(await res.json(), { code: "NOT_FOUND", message: "Requested function was not found" });
  }
});

Deno.test("a function that throws while loading answers 503 BOOT_ERROR", async () => {
  const res = await fetch(fn("boot-fail"));
  assert.deepEqual(res.status, 503);
  assert.deepEqual((await res.json()).code, "BOOT_ERROR");
});

Deno.test("the wall-clock limit answers 546 and fires beforeunload with reason wall_clock", async () => {
  const log = await Deno.makeTempFile();
  try {
    const started = Date.now();
    const res = await fetch(fn(`slow?ms=10000&log=${encodeURIComponent(log)}`));
    assert.deepEqual(res.status, 546);
    assert.deepEqual((await res.json()).code, "WORKER_LIMIT");
    const took = Date.now() - started;
    assert(took < 8000, `cut off by the 2.5 s budget, not after the 10 s sleep (took ${took} ms)`);
    assert.deepEqual((await Deno.readTextFile(log)).trim().split("\n"), ["beforeunload:wall_clock"]);
    // The next request gets a fresh worker.
    const again = await fetch(fn(`slow?ms=10`));
    assert.deepEqual(again.status, 200);
    await again.body?.cancel();
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("memory past the limit (heap + external, as edge-runtime counts it) answers 546 with beforeunload reason memory", async () => {
  const log = await Deno.makeTempFile();
  try {
    const small = await fetch(fn(`slow?mode=hoard&mb=64`));
    assert.deepEqual(await small.json(), { held_mb: 64 }, "64 MB is within the 256 MB limit");
    const res = await fetch(fn(`slow?mode=hoard&mb=512&log=${encodeURIComponent(log)}`));
    assert.deepEqual(res.status, 546);
    assert.deepEqual((await res.json()).code, "WORKER_LIMIT");
    assert.deepEqual((await Deno.readTextFile(log)).trim().split("\n"), ["beforeunload:memory"]);
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("CPU past the soft limit: the request finishes, and the next one boots a fresh worker", async () => {
  const first = await fetch(fn("busy?mode=burn&ms=10")).then((r) => r.json());
  const from = await functionLogMark();
  const burned = await fetch(fn("busy?mode=burn&ms=1300"));
  assert.deepEqual(burned.status, 200, "1.3 s of CPU is past the 1 s soft limit but within the 2 s hard one");
  const { pid } = await burned.json();
  assert.deepEqual(pid, first.pid, "the worker that had used 10 ms took the request");
  await eventually("the worker to retire", async () => (await functionLogSince(from, "busy")).some((e) => e.event === "Retire"));
  const next = await fetch(fn("busy?mode=burn&ms=10")).then((r) => r.json());
  assert.notDeepEqual(next.pid, pid, "a retired worker takes no new request");
});

Deno.test("a worker retiring at the soft limit answers every request already routed to it", async () => {
  // Quick requests keep arriving while one request takes the worker past 1 s of CPU.
  // Each was routed to some worker, and no worker may drain away under one on its way.
  let burnt = false;
  const burning = fetch(fn("busy?mode=burn&ms=1100")).then((r) => r.status).finally(() => (burnt = true));
  const statuses: number[] = [];
  let sentDuringBurn = 0;
  let done = false;
  burning.finally(() => setTimeout(() => (done = true), 300));
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (!done) {
      if (!burnt) sentDuringBurn++;
      const res = await fetch(fn("busy?ms=0"));
      await res.body?.cancel();
      statuses.push(res.status);
    }
  }));
  assert.deepEqual(await burning, 200);
  // How many get through meanwhile depends on the machine's load (the burning worker
  // answers none until its loop ends); what matters is that some were on their way.
  assert.ok(sentDuringBurn >= 4, `requests were on their way while the worker retired: ${sentDuringBurn}`);
  assert.deepEqual(statuses.filter((s) => s !== 200), [], "every request answered by its function");
});

Deno.test("CPU past the hard limit answers 546 WORKER_LIMIT and logs shutdown reason CPUTime, with no beforeunload", async () => {
  const log = await Deno.makeTempFile();
  try {
    const from = await functionLogMark();
    const started = Date.now();
    const res = await fetch(fn(`busy?mode=burn&ms=60000&log=${encodeURIComponent(log)}`));
    assert.deepEqual(res.status, 546);
    assert.deepEqual((await res.json()).code, "WORKER_LIMIT");
    assert(Date.now() - started < 20_000, "stopped at 2 s of CPU, not after the minute of burning asked for");
    const shutdown = (await functionLogSince(from, "busy")).find((e) => e.event === "Shutdown" && e.reason === "CPUTime");
    assert(shutdown, "the function log says why");
    assert(shutdown.cpu_time_used >= 2000);
    assert.deepEqual(await Deno.readTextFile(log), "", "terminated at once, as hosted: no beforeunload, nothing survived");
    const again = await fetch(fn("busy?mode=burn&ms=10"));
    assert.deepEqual(again.status, 200, "the next request gets a fresh worker");
    await again.body?.cancel();
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("EdgeRuntime.waitUntil keeps background work running after the response", async () => {
  const log = await Deno.makeTempFile();
  try {
    const res = await fetch(fn(`slow?mode=background&ms=300&log=${encodeURIComponent(log)}`));
    assert.deepEqual(res.status, 202);
    await res.body?.cancel();
    await eventually("background work to finish", async () => (await Deno.readTextFile(log)).includes("background-done"));
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("concurrent requests to one function are served concurrently", async () => {
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 5 }, () => fetch(fn("slow?ms=400")).then((r) => r.json())));
  assert.deepEqual(replies.map((r) => r.slept), [400, 400, 400, 400, 400]);
  assert(Date.now() - started < 1800, "five 400 ms requests overlap");
});
