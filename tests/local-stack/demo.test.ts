/** The demo `npm start` runs: through sync-api and Realtime, 240 orders land in synced.records. */
import assert from "node:assert/strict";
import { DEMO_USER, runDemo, serveDemoApi } from "../../local-stack/demo.ts";
import { apiUrl, db } from "../support/stack.ts";

Deno.test({
  name: "the npm start demo syncs every order and sees the job succeed over Realtime",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sql = db();
    const api = serveDemoApi();
    try {
      const outcome = await runDemo(apiUrl, sql, api.url);
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
  },
});
