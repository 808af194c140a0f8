/**
 * The chaos soak, small (`npm run soak` is the full one): two dozen jobs over the
 * http-json provider, Steam, Spotify and Meta against their fakes, with workers killed
 * mid-chunk, upstream 429s, 5xx and timeouts, revoked credentials, a pause and a Postgres
 * restart. Serial: it restarts the test stack's Postgres and kills its workers.
 */
import assert from "node:assert/strict";
import { profile } from "../../local-stack/profile.ts";
import { formatReport, runSoak, verdict } from "../../chaos/run.ts";
import { fakesUrl } from "../support/fakes.ts";
import { dbUrl } from "../support/stack.ts";

Deno.test({
  name: "chaos soak (small): nothing lost, duplicated, stuck or leaked; only revoked credentials fail",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const stack = profile("test");
    // The restart needs the stack's own cluster; a run by hand against another stack skips it.
    const ours = stack.dbUrl === dbUrl;
    const report = await runSoak({
      profile: stack,
      fakesUrl,
      functionLog: Deno.env.get("TRIBUTARY_FUNCTION_LOG"),
      jobs: 24,
      seed: 7,
      // The full soak's fault rates; enough revoked credentials that two dozen jobs meet two.
      rates: { rateLimit: 0.10, serverError: 0.05, timeout: 0.05, permanent: 0.05 },
      tickSeconds: 10,
      restart: ours,
      maxSeconds: 240,
    });
    console.log(formatReport(report));
    assert.deepEqual(verdict(report), []);
    // The chaos really happened.
    assert.ok(report.kills.events > 0, "workers were killed mid-chunk");
    assert.ok(report.pause, "the queue was paused and resumed");
    if (ours) assert.ok(report.restart, "Postgres was restarted");
    assert.ok((report.faultsServed["rate-limit"] ?? 0) > 0 && (report.faultsServed["server-error"] ?? 0) + (report.faultsServed.timeout ?? 0) > 0);
    assert.ok(report.jobAudit.byStatus.failed >= 2, "the revoked credentials failed their jobs");
    assert.ok(report.rows.expected > 500, `rows were synced (${report.rows.expected})`);
  },
});
