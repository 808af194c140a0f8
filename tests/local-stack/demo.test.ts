/**
 * The demos `npm start` runs, through sync-api and Realtime: by default 240 orders land
 * in synced.records; with `--demo <provider>`, that provider's fake upstream is synced.
 */
import assert from "node:assert/strict";
import { DEMO_USER, FAKE_DEMOS, ordersSource, runDemo, serveDemoApi } from "../../local-stack/demo.ts";
import { fakesUrl } from "../support/fakes.ts";
import { apiUrl, db } from "../support/stack.ts";

const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

test("the npm start demo syncs every order and sees the job succeed over Realtime", async () => {
  const sql = db();
  const api = serveDemoApi();
  try {
    const outcome = await runDemo(apiUrl, sql, ordersSource(api.url));
    assert.equal(outcome.status, "succeeded", outcome.error);
    assert.equal(outcome.records, 240);
    const [{ n }] = await sql`
      select count(*)::int as n from synced.records r join sync.connections c on c.id = r.connection_id
      where c.owner_id = ${DEMO_USER.id} and c.label = 'Demo orders'
    `;
    assert.equal(n, 240);
  } finally {
    await api.close();
    await sql.end();
  }
});

/** Runs a provider's demo as `npm start -- --demo <provider>` does, and checks what landed. */
async function providerDemo(sql: ReturnType<typeof db>, provider: string) {
  const source = await FAKE_DEMOS[provider](fakesUrl);
  const outcome = await runDemo(apiUrl, sql, source);
  assert.equal(outcome.status, "succeeded", outcome.error);
  assert.ok(Number(outcome.records) > 0, "synced something");
  const [{ n }] = await sql.unsafe(
    `select count(*)::int as n from ${source.table} t join sync.connections c on c.id = t.connection_id
     where c.owner_id = $1 and c.label = $2`,
    [DEMO_USER.id, source.label],
  );
  assert.ok(n >= Number(outcome.records), `${source.table} holds what the demo reported`);
}

// Spotify's demo runs twice in the restart test below (a connection may trigger once per cooldown).
for (const provider of Object.keys(FAKE_DEMOS).filter((p) => p !== "spotify")) {
  test(`npm start -- --demo ${provider} syncs from the fake ${provider} API`, async () => {
    const sql = db();
    try {
      await providerDemo(sql, provider);
    } finally {
      await sql.end();
    }
  });
}

test("a second start re-seeds the fake and reconnects the same demo connection", async () => {
  const sql = db();
  try {
    // The spotify demo rotates its refresh token: the stored one is dead after a restart.
    await providerDemo(sql, "spotify");
    await new Promise((r) => setTimeout(r, 10_500)); // sync-api's trigger cooldown
    await providerDemo(sql, "spotify");
  } finally {
    await sql.end();
  }
});
