/**
 * The fuzz pass: hostile and random bodies, paths and query strings against every route,
 * each as a caller the route lets in (so the input, not the auth check, is what is
 * tested). Nothing may answer 5xx, and every refusal must be a JSON 4xx saying what was
 * wrong. Serial: some bodies are valid, and a valid pause pauses the queue.
 */
import assert from "node:assert/strict";
import { connect } from "../support/providers.ts";
import { closeClient } from "../support/realtime.ts";
import { db } from "../support/stack.ts";
import { random } from "../../chaos/workload.ts";
import { type Answer, call, type Caller, cast, isJsonRefusal } from "./callers.ts";

const deep = (depth: number, open: string, close: string, inner = "1") => open.repeat(depth) + inner + close.repeat(depth);

/** Values that break naive handlers: wrong types, extremes, injection, awkward unicode. */
const HOSTILE: unknown[] = [
  null, true, 0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, "", " ", "x".repeat(100_000),
  "'; drop table sync.jobs; --", "' or '1'='1", "$1", "%s%s%n", "${jndi:ldap://x}", "<script>alert(1)</script>",
  "../../etc/passwd", "\u0000", "nul\u0000inside", "\ud800", "🦀🚀", "\u202eRTL", "ß".repeat(10_000),
  [], [1, "two", null], {}, { $gt: "" }, { __proto__: { admin: true } }, { constructor: { prototype: { x: 1 } } },
  "00000000-0000-0000-0000-000000000000", "not-a-uuid", "P1Y2M3DT4H5M6S", "-5 minutes", "1e9 days",
];

/** Whole bodies that are not what any route expects, including text that is not JSON. */
const RAW_BODIES: string[] = [
  "", "null", "[]", "\"a string\"", "42", "{", "}", "{\"a\":", "{'single':'quotes'}", "undefined", "NaN",
  deep(50_000, "[", "]"), deep(20_000, "{\"a\":", "}"), JSON.stringify({ big: "y".repeat(3_000_000) }),
  "\u0000\u0001\u0002", "\xff\xfe", JSON.stringify({ __proto__: null }), `{"a":1,"a":2}`,
];

interface Target {
  caller: Caller;
  method: string;
  path: string;
  /** A valid body; each field is swapped for each hostile value in turn. */
  template?: Record<string, unknown>;
}

function variants(template: Record<string, unknown>, rand: () => number): string[] {
  const out: string[] = [];
  for (const key of Object.keys(template)) {
    for (const value of HOSTILE) out.push(JSON.stringify({ ...template, [key]: value }));
  }
  for (const value of HOSTILE) out.push(JSON.stringify({ ...template, [`extra_${Math.floor(rand() * 1000)}`]: value }));
  // Random mixes: several fields hostile at once, nested a level down.
  for (let i = 0; i < 20; i++) {
    const body: Record<string, unknown> = { ...template };
    for (const key of Object.keys(template)) if (rand() < 0.5) body[key] = HOSTILE[Math.floor(rand() * HOSTILE.length)];
    if (rand() < 0.3) body.nested = { inner: HOSTILE[Math.floor(rand() * HOSTILE.length)] };
    out.push(JSON.stringify(body));
  }
  return out;
}

Deno.test({
  name: "fuzz: hostile bodies, paths and queries get a JSON 4xx (or succeed), never a 5xx",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sql = db();
    const who = await cast(sql);
    const rand = random(20261123);
    const { user, admin } = { user: who.callers.user, admin: who.callers.admin };
    const account = { url: "http://127.0.0.1:9/items", records_path: "items" };
    const connection = await connect(who.user, "http-json", account, {});
    const [{ id: job }] = await sql`select sync.enqueue(${connection}, 'full', '{}', now() + interval '1 day') as id`;

    const targets: Target[] = [
      { caller: user, method: "POST", path: "sync-api/connections", template: { provider: "http-json", label: "fuzz", account, credentials: { headers: { "x-api-key": "k" } } } },
      { caller: user, method: "PATCH", path: `sync-api/connections/${connection}`, template: { label: "fuzz", auto_sync: true, cadence: "1 hour", lookback_days: 3 } },
      { caller: user, method: "POST", path: "sync-api/jobs", template: { connection_id: connection, kind: "full", params: {}, dry_run: true } },
      { caller: user, method: "POST", path: `sync-api/jobs/${job}/cancel`, template: {} },
      { caller: admin, method: "POST", path: "sync-admin/pause", template: { reason: "fuzz" } },
      { caller: admin, method: "POST", path: `sync-admin/jobs/${job}/retry`, template: {} },
      ...["http-json", "steam", "spotify", "google-sheets", "google-ads", "meta-ads", "linkedin-ads", "tiktok-ads"]
        .map((p): Target => ({ caller: who.callers["service role"], method: "POST", path: `sync-${p}`, template: { max_jobs: 1 } })),
    ];
    // Paths and queries: ids that are not ids, unknown routes, parameters out of range.
    const oddPaths: [Caller, string, string][] = [
      ...["x", "'%20or%201=1--", "%00", "..%2F..%2Fetc", "0".repeat(5000), "00000000-0000-0000-0000-000000000000"].flatMap(
        (id): [Caller, string, string][] => [
          [user, "GET", `sync-api/jobs/${id}`],
          [user, "POST", `sync-api/jobs/${id}/retry`],
          [user, "PATCH", `sync-api/connections/${id}`],
          [user, "DELETE", `sync-api/connections/${id}`],
          [admin, "POST", `sync-admin/jobs/${id}/cancel`],
        ],
      ),
      ...["limit=-5", "limit=1e9", "limit=abc", "status=DROP", "status=queued&status=failed", "status[]=x", "provider=%00", `limit=${"9".repeat(400)}`]
        .flatMap((q): [Caller, string, string][] => [[user, "GET", `sync-api/jobs?${q}`], [admin, "GET", `sync-admin/jobs?${q}`]]),
      [user, "GET", "sync-api/nothing-here"],
      [user, "PUT", "sync-api/connections"],
      [user, "DELETE", "sync-api/jobs"],
      [admin, "GET", "sync-admin/pause"],
      [admin, "DELETE", "sync-admin/health"],
      [who.callers["service role"], "GET", "sync-steam"],
    ];

    const wrong: string[] = [];
    let calls = 0;
    const check = (what: string, a: Answer) => {
      calls++;
      if (a.status >= 500) wrong.push(`${what}: ${a.status} ${a.text.slice(0, 160)}`);
      else if (a.status >= 400 && !isJsonRefusal(a)) wrong.push(`${what}: ${a.status} without a JSON error: ${a.text.slice(0, 160)}`);
    };
    try {
      for (const target of targets) {
        const bodies = [...variants(target.template ?? {}, rand), ...RAW_BODIES];
        for (const body of bodies) {
          check(`${target.method} ${target.path} ${body.slice(0, 80)}`, await call(target.caller, target.method, target.path, body));
        }
        // The same, sent as form data and as plain text: the content type is not trusted either.
        check(`${target.method} ${target.path} as a form`, await call(target.caller, target.method, target.path, "a=1&b=2", { "content-type": "application/x-www-form-urlencoded" }));
      }
      for (const [caller, method, path] of oddPaths) check(`${method} ${path.slice(0, 100)}`, await call(caller, method, path));
    } finally {
      await sql`select sync.resume()`;
      await closeClient(who.user.client);
      await closeClient(who.other.client);
      await closeClient(who.admin.client);
      await sql.end();
    }
    assert.ok(calls > 1000, `${calls} calls made`);
    assert.deepEqual(wrong, [], `${wrong.length} of ${calls} fuzzed calls answered badly`);
  },
});
