/**
 * The client in Node (the machine's Node 20, with the app's own supabase-js from
 * node_modules), built by client/build.ts: sign-in check, a connection, a sync watched
 * to the end over Realtime. Node 20 has no WebSocket of its own, so, as Supabase
 * documents for Node < 22, the app passes the \`ws\` package as Realtime's transport.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildClient } from "../../client/build.ts";
import { ROOT } from "../../local-stack/profile.ts";
import { pagedApi } from "../support/paged-api.ts";
import { anonKey, apiUrl, createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const SCRIPT = `
import { createClient } from "@supabase/supabase-js";
import WebSocket from "ws";
import { createSyncClient } from "./mod.js";
const [url, anonKey, token, account] = process.argv.slice(2);
const supabase = createClient(url, anonKey, {
  accessToken: async () => token,
  realtime: { transport: WebSocket, params: { apikey: anonKey } },
});
const sync = createSyncClient(supabase);
const me = await sync.me();
const { id } = await sync.connections.create({ provider: "http-json", label: "From Node", account: JSON.parse(account) });
const { job_id } = await sync.startSync(id);
const modes = [];
const final = await sync.waitForJob(job_id, undefined, { onModeChange: (m) => modes.push(m) });
console.log(JSON.stringify({ me, status: final.status, percent: final.progress.percent, stats: final.stats, modes }));
process.exit(0);
`;

e2e(
  "in Node 20 the built client signs in, starts a sync and watches it to the end over Realtime",
  async () => {
    const sql = db();
    const user = await createUser(sql);
    const upstream = pagedApi({ pages: 3, perPage: 4, delayMs: 50 });
    // Inside the repository, so Node resolves @supabase/supabase-js from its node_modules.
    const dir = await Deno.makeTempDir({ dir: join(ROOT, ".tributary"), prefix: "node-client-" });
    try {
      await buildClient(dir);
      await Deno.writeTextFile(join(dir, "run.mjs"), SCRIPT);
      const { code, stdout, stderr } = await new Deno.Command("node", {
        args: [join(dir, "run.mjs"), apiUrl, anonKey, user.token, JSON.stringify(upstream.account)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(stderr);
      assert.equal(code, 0, err);
      const result = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
      assert.equal(result.me.id, user.id);
      assert.equal(result.status, "succeeded");
      assert.equal(result.percent, 100);
      assert.deepEqual(result.stats, { records: 12, pages: 3 });
      assert.deepEqual(result.modes, ["realtime"]);
    } finally {
      upstream.close();
      await Deno.remove(dir, { recursive: true });
      await sql.end();
    }
  },
);
