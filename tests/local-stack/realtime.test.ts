/**
 * The local Realtime server, through the unmodified supabase-js client (protocol
 * versions 2.0.0 and 1.0.0) and through a raw Phoenix socket for the wire format.
 *
 * Tests guard their topics `test:<user id>` with policies on realtime.messages of the
 * same shape Tributary's migrations use for `sync:user:<id>`.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { closeClient, RawSocket, subscribe } from "../support/realtime.ts";
import { createUser, db, eventually, userClient } from "../support/stack.ts";
import { signUserToken } from "../../local-stack/keys.ts";

const realtimeTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function ensurePolicies(sql: postgres.Sql) {
  await sql.unsafe(`
    drop policy if exists "tests: read own test topic" on realtime.messages;
    create policy "tests: read own test topic" on realtime.messages for select to authenticated
      using ((select realtime.topic()) = 'test:' || (select auth.uid())::text and extension = 'broadcast');
    drop policy if exists "tests: write own test topic" on realtime.messages;
    create policy "tests: write own test topic" on realtime.messages for insert to authenticated
      with check ((select realtime.topic()) = 'test:' || (select auth.uid())::text and extension = 'broadcast');
  `);
}

/** Sends from SQL on any connection: pooled, reserved, or inside a transaction. */
const send = (
  sql: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql,
  topic: string,
  payload: Record<string, unknown>,
  isPrivate = true,
) => sql.unsafe("select realtime.send($1::jsonb, 'ping', $2, $3)", [payload as never, topic, isPrivate]);

for (const vsn of ["2.0.0", "1.0.0"] as const) {
  realtimeTest(`vsn ${vsn}: a private channel gets committed realtime.send() in order, never a rolled-back one`, async () => {
    const sql = db();
    const owner = await createUser(sql, { realtime: { vsn } });
    try {
      await ensurePolicies(sql);
      const topic = `test:${owner.id}`;
      const sub = await subscribe(owner.client, topic);
      assert.equal(sub.status, "SUBSCRIBED", String(sub.error));

      await sql.begin(async (tx) => {
        await send(tx, topic, { n: "rolled back" });
        throw new Error("roll back");
      }).catch(() => {});
      await send(sql, topic, { n: 1 });
      await send(sql, topic, { n: 2 });

      // Commit order, not statement order: `a` is sent first but commits second.
      const first = await sql.reserve();
      const second = await sql.reserve();
      try {
        await first`begin`;
        await send(first, topic, { n: "a" });
        await second`begin`;
        await send(second, topic, { n: "b" });
        await second`commit`;
        await first`commit`;
      } finally {
        first.release();
        second.release();
      }

      await eventually("four broadcasts", () => Promise.resolve(sub.received.length >= 4));
      assert.deepEqual(sub.received.map((m) => m.payload.n), [1, 2, "b", "a"]);
      assert.ok(sub.received.every((m) => m.event === "ping" && typeof m.payload.id === "string"));
    } finally {
      await closeClient(owner.client);
      await sql.end();
    }
  });

  realtimeTest(`vsn ${vsn}: a user the RLS policy refuses gets a join error and no messages`, async () => {
    const sql = db();
    const owner = await createUser(sql, { realtime: { vsn } });
    const intruder = await createUser(sql, { realtime: { vsn } });
    try {
      await ensurePolicies(sql);
      const topic = `test:${owner.id}`;
      const own = await subscribe(owner.client, topic);
      const refused = await subscribe(intruder.client, topic);
      assert.equal(own.status, "SUBSCRIBED");
      assert.equal(refused.status, "CHANNEL_ERROR");
      assert.match(
        String(refused.error?.message),
        new RegExp(`Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`),
      );
      await send(sql, topic, { secret: "for the owner only" });
      await eventually("the owner's copy", () => Promise.resolve(own.received.length === 1));
      assert.equal(refused.received.length, 0);
    } finally {
      await closeClient(owner.client);
      await closeClient(intruder.client);
      await sql.end();
    }
  });
}

realtimeTest("public and private channels of one name are separate", async () => {
  const sql = db();
  const owner = await createUser(sql);
  // realtime-js keeps one channel per topic per client, so the public one needs its own client.
  const second = userClient(owner.token);
  try {
    await ensurePolicies(sql);
    const topic = `test:${owner.id}`;
    const privateSub = await subscribe(owner.client, topic, { private: true });
    const publicSub = await subscribe(second, topic, { private: false });
    assert.equal(privateSub.status, "SUBSCRIBED");
    assert.equal(publicSub.status, "SUBSCRIBED");
    await send(sql, topic, { to: "private" }, true);
    await send(sql, topic, { to: "public" }, false);
    await eventually("both deliveries", () => Promise.resolve(privateSub.received.length + publicSub.received.length === 2));
    assert.deepEqual(privateSub.received.map((m) => m.payload.to), ["private"]);
    assert.deepEqual(publicSub.received.map((m) => m.payload.to), ["public"]);
  } finally {
    await closeClient(owner.client);
    await closeClient(second);
    await sql.end();
  }
});

realtimeTest("client broadcasts reach other subscribers, with ack, and skip the sender unless self", async () => {
  const sql = db();
  const alice = await createUser(sql, { realtime: { vsn: "2.0.0" } });
  const bob = await createUser(sql, { realtime: { vsn: "1.0.0" } });
  try {
    const room = `room:${crypto.randomUUID()}`;
    const a = await subscribe(alice.client, room, { private: false, ack: true });
    const b = await subscribe(bob.client, room, { private: false, self: true });
    assert.equal(a.status, "SUBSCRIBED");
    assert.equal(b.status, "SUBSCRIBED");
    assert.equal(await a.channel.send({ type: "broadcast", event: "hello", payload: { from: "alice" } }), "ok");
    await b.channel.send({ type: "broadcast", event: "hello", payload: { from: "bob" } });
    await eventually("bob's two messages", () => Promise.resolve(b.received.length === 2));
    await eventually("alice's one message", () => Promise.resolve(a.received.length === 1));
    assert.deepEqual(b.received.map((m) => m.payload.from).sort(), ["alice", "bob"]);
    assert.deepEqual(a.received.map((m) => m.payload.from), ["bob"]);
  } finally {
    await closeClient(alice.client);
    await closeClient(bob.client);
    await sql.end();
  }
});

realtimeTest("wire: vsn 2.0.0 gets database broadcasts as binary kind-4 frames; 1.0.0 as JSON", async () => {
  const sql = db();
  const user = await createUser(sql);
  const v2 = new RawSocket("2.0.0");
  const v1 = new RawSocket("1.0.0");
  try {
    await ensurePolicies(sql);
    await Promise.all([v2.opened, v1.opened]);
    const topic = `test:${user.id}`;
    const joinPayload = { config: { broadcast: { self: false }, private: true, postgres_changes: [] }, access_token: user.token };
    for (const socket of [v2, v1]) {
      const ref = socket.push(`realtime:${topic}`, "phx_join", joinPayload, "j1");
      const reply = await socket.reply(ref);
      assert.deepEqual(reply.payload, { status: "ok", response: { postgres_changes: [] } });
    }
    await send(sql, topic, { n: 42 });

    const binary = await v2.waitFor("a binary frame", () => v2.frames.find((f) => f instanceof ArrayBuffer) as ArrayBuffer);
    const bytes = new Uint8Array(binary);
    const [kind, topicLen, eventLen, metaLen, encoding] = bytes;
    assert.equal(kind, 4);
    assert.equal(encoding, 1);
    const text = (from: number, len: number) => new TextDecoder().decode(bytes.subarray(from, from + len));
    assert.equal(text(5, topicLen), `realtime:${topic}`);
    assert.equal(text(5 + topicLen, eventLen), "ping");
    const meta = JSON.parse(text(5 + topicLen + eventLen, metaLen));
    const payload = JSON.parse(text(5 + topicLen + eventLen + metaLen, bytes.length));
    assert.equal(payload.n, 42);
    assert.equal(typeof meta.id, "string");

    const json = await v1.waitFor("a broadcast", () => v1.messages().find((m) => m.event === "broadcast"));
    assert.equal(json.topic, `realtime:${topic}`);
    assert.equal(json.payload.type, "broadcast");
    assert.equal(json.payload.event, "ping");
    assert.equal(json.payload.payload.n, 42);
    assert.equal(json.payload.meta.id, meta.id);
  } finally {
    await Promise.all([v2.close(), v1.close()]);
    await sql.end();
  }
});

realtimeTest("wire: heartbeats are answered, and malformed frames never break the socket", async () => {
  for (const vsn of ["2.0.0", "1.0.0"] as const) {
    const socket = new RawSocket(vsn);
    try {
      await socket.opened;
      for (const junk of ["not json", "[1,2]", "{}", '{"topic": 5}', "[null,null,null,null,null]", "null", "[]"]) {
        socket.send(junk);
      }
      socket.send(new Uint8Array([9, 9, 9]));
      socket.send(new Uint8Array([3, 200, 200, 200, 200, 200, 1, 65])); // lengths past the end
      socket.send(new Uint8Array([3, 0, 1, 3, 1, 0, 1, 49, 97, 98, 99, 101, 123])); // truncated JSON
      const ref = socket.push("phoenix", "heartbeat", {});
      const reply = await socket.reply(ref);
      assert.deepEqual(reply.payload, { status: "ok", response: {} });
      const stray = socket.push("realtime:never-joined", "broadcast", { type: "broadcast", event: "x", payload: {} });
      assert.deepEqual((await socket.reply(stray)).payload, { status: "error", response: { reason: "unmatched topic" } });
    } finally {
      await socket.close();
    }
  }
});

realtimeTest("wire: a bad apikey is refused at connect", async () => {
  const socket = new RawSocket("2.0.0", "not-a-jwt");
  await assert.rejects(socket.opened);
  await socket.closed;
});

realtimeTest("wire: join errors name the token problem", async () => {
  const sql = db();
  const socket = new RawSocket("1.0.0");
  try {
    await socket.opened;
    const expired = await signUserToken({ id: crypto.randomUUID() }, -30);
    const cases: [string, RegExp][] = [
      [expired, /^InvalidJWTToken: Token has expired \d+ seconds ago$/],
      ["garbage", /^MalformedJWT: The token provided is not a valid JWT$/],
      [expired.slice(0, -4) + "AAAA", /^(JwtSignatureError: Failed to validate JWT signature|InvalidJWTToken: Token has expired.*)$/],
    ];
    for (const [token, reason] of cases) {
      const ref = socket.push("realtime:test:x", "phx_join", { config: { private: true }, access_token: token });
      const reply = await socket.reply(ref);
      assert.equal(reply.payload.status, "error");
      assert.match(reply.payload.response.reason, reason);
    }
  } finally {
    await socket.close();
    await sql.end();
  }
});

realtimeTest("wire: a channel closes when its token expires, unless access_token renewed it", async () => {
  const sql = db();
  const user = await createUser(sql);
  const lapsing = new RawSocket("1.0.0");
  const renewed = new RawSocket("1.0.0");
  try {
    await ensurePolicies(sql);
    await Promise.all([lapsing.opened, renewed.opened]);
    const topic = `realtime:test:${user.id}`;
    const shortToken = await signUserToken({ id: user.id, email: user.email }, 2);
    for (const socket of [lapsing, renewed]) {
      const ref = socket.push(topic, "phx_join", { config: { private: true }, access_token: shortToken }, "j");
      assert.equal((await socket.reply(ref)).payload.status, "ok");
    }
    renewed.push(topic, "access_token", { access_token: user.token }, "j");

    const system = await lapsing.waitFor("the expiry notice", () => lapsing.messages().find((m) => m.event === "system"));
    assert.equal(system.payload.status, "error");
    assert.match(system.payload.message, /^Token has expired \d+ seconds ago$/);
    await lapsing.waitFor("phx_close", () => lapsing.messages().find((m) => m.event === "phx_close"));

    await send(sql, `test:${user.id}`, { still: "here" });
    await renewed.waitFor("a broadcast after renewal", () => renewed.messages().find((m) => m.event === "broadcast"));
    assert.equal(renewed.messages().some((m) => m.event === "phx_close"), false);
  } finally {
    await Promise.all([lapsing.close(), renewed.close()]);
    await sql.end();
  }
});
