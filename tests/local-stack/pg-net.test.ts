/**
 * The pg_net stand-in end to end: requests queued with net.http_* from SQL are sent by
 * the stack's worker only after commit, and land in net._http_response with pg_net's
 * semantics for success, HTTP errors, transport errors and timeouts.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { db, eventually } from "../support/stack.ts";

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** A local upstream that records what reaches it and answers per path. */
function upstream() {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    });
    if (url.pathname === "/slow") await new Promise((r) => setTimeout(r, 1500));
    if (url.pathname === "/boom") return new Response("upstream broke", { status: 500 });
    if (url.pathname === "/empty") return new Response(null, { status: 204 });
    return Response.json({ ok: true, path: url.pathname }, { headers: { "x-upstream": "yes" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { seen, base, close: () => server.shutdown() };
}

async function response(sql: postgres.Sql, id: string) {
  return await eventually(`response ${id}`, async () => {
    const [row] = await sql`select * from net._http_response where id = ${id}`;
    return row;
  });
}

Deno.test("a committed net.http_post reaches the server intact and its response is recorded", async () => {
  const sql = db();
  const up = upstream();
  try {
    const [{ id }] = await sql`
      select net.http_post(
        url := ${up.base + "/hook"},
        body := '{"job": 7, "name": "ünïcode"}'::jsonb,
        params := '{"a b": "c&d", "n": "1"}'::jsonb,
        headers := '{"Content-Type": "application/json", "Authorization": "Bearer t0k", "X-Dropped": null}'::jsonb
      ) as id
    `;
    const row = await response(sql, id);
    assert.equal(row.status_code, 200);
    assert.equal(row.timed_out, false);
    assert.equal(row.error_msg, null);
    assert.equal(row.content_type, "application/json");
    assert.equal(row.headers["x-upstream"], "yes");
    assert.deepEqual(JSON.parse(row.content), { ok: true, path: "/hook" });

    assert.equal(up.seen.length, 1);
    const [req] = up.seen;
    assert.equal(req.method, "POST");
    assert.deepEqual(req.query, { "a b": "c&d", n: "1" });
    assert.equal(req.headers["authorization"], "Bearer t0k");
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.headers["x-dropped"], undefined, "a null header is dropped");
    assert.deepEqual(JSON.parse(req.body), { job: 7, name: "ünïcode" });

    const [{ r }] = await sql`select net._http_collect_response(${id}, async := false) as r`;
    assert.match(r, /^\(SUCCESS,ok,"\(200,/);
  } finally {
    await up.close();
    await sql.end();
  }
});

Deno.test("a rolled-back request is never sent", async () => {
  const sql = db();
  const up = upstream();
  try {
    await sql.begin(async (tx) => {
      await tx`select net.http_get(${up.base + "/rolled-back"})`;
      throw new Error("roll back");
    }).catch(() => {});
    // Requests go out oldest first, so once a later one has been seen, the earlier would have been.
    const [{ id }] = await sql`select net.http_get(${up.base + "/after"}) as id`;
    await response(sql, id);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(up.seen.map((s) => s.path), ["/after"]);
  } finally {
    await up.close();
    await sql.end();
  }
});

Deno.test("nothing is sent before commit, even when the transaction stays open a while", async () => {
  const sql = db();
  const up = upstream();
  const conn = await sql.reserve();
  try {
    await conn`begin`;
    const [{ id }] = await conn`select net.http_delete(${up.base + "/later"}, body := '{"x":1}'::jsonb) as id`;
    await new Promise((r) => setTimeout(r, 1200)); // longer than the worker's poll interval
    assert.equal(up.seen.length, 0);
    await conn`commit`;
    await response(sql, id);
    assert.deepEqual(up.seen.map((s) => [s.method, s.path, s.body]), [["DELETE", "/later", '{"x": 1}']]);
  } finally {
    conn.release();
    await up.close();
    await sql.end();
  }
});

Deno.test("a slow server yields timed_out with pg_net's message; 5xx and 204 are deliveries", async () => {
  const sql = db();
  const up = upstream();
  try {
    const [{ slow, boom, empty }] = await sql`
      select net.http_get(${up.base + "/slow"}, timeout_milliseconds := 300) as slow,
             net.http_get(${up.base + "/boom"}) as boom,
             net.http_get(${up.base + "/empty"}) as empty
    `;
    const timedOut = await response(sql, slow);
    assert.equal(timedOut.timed_out, true);
    assert.equal(timedOut.status_code, null);
    assert.match(timedOut.error_msg, /^Timeout of 300 ms reached\. Total time: \d+\.\d{6} ms \(DNS time: /);
    const [{ r }] = await sql`select (net._http_collect_response(${slow})).status::text as r`;
    assert.equal(r, "ERROR");

    const broken = await response(sql, boom);
    assert.equal(broken.status_code, 500);
    assert.equal(broken.error_msg, null);
    assert.equal(broken.content, "upstream broke");

    const noContent = await response(sql, empty);
    assert.equal(noContent.status_code, 204);
    assert.equal(noContent.content, null);
  } finally {
    await up.close();
    await sql.end();
  }
});

Deno.test("a refused connection leaves status_code null and says why, and requests run concurrently", async () => {
  const sql = db();
  const up = upstream();
  try {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const [{ id }] = await sql`select net.http_get(${`http://127.0.0.1:${deadPort}/`}) as id`;
    const row = await response(sql, id);
    assert.equal(row.status_code, null);
    assert.equal(row.timed_out, false);
    assert.equal(row.error_msg, "Couldn't connect to server");

    // Five 1.5 s requests in one transaction finish together, not one after another.
    const started = Date.now();
    const ids = await sql`select net.http_get(${up.base + "/slow"}, timeout_milliseconds := 5000) as id from generate_series(1, 5)`;
    for (const { id } of ids) assert.equal((await response(sql, id)).status_code, 200);
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
  } finally {
    await up.close();
    await sql.end();
  }
});

Deno.test("responses older than pg_net.ttl are deleted by the worker", async () => {
  const sql = db();
  const up = upstream();
  try {
    const [{ id: stale }] = await sql`
      insert into net._http_response (id, status_code, created) values (-1 * (random() * 1e9)::bigint, 200, now() - interval '7 hours')
      returning id
    `;
    const [{ id }] = await sql`select net.http_get(${up.base + "/wake"}) as id`;
    await response(sql, id);
    await eventually("the stale response to be swept", async () =>
      (await sql`select 1 from net._http_response where id = ${stale}`).length === 0
    );
  } finally {
    await up.close();
    await sql.end();
  }
});
