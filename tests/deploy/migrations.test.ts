/**
 * The hosted deploy path, as far as this machine allows: the migrations go onto a fresh
 * cluster whose database holds only Supabase's own schemas (the platform stand-ins:
 * auth, vault, net, realtime, and pg_cron), with the real CLI's `supabase db push`, twice
 * in a row, and `supabase db lint` finds nothing. DEPLOY.md describes the same steps
 * against a hosted project.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { applyStandIns, cliDbUrl, pushMigrations, supabaseCli } from "../../local-stack/database.ts";
import { startCluster } from "../../local-stack/postgres.ts";
import { profile, ROOT } from "../../local-stack/profile.ts";

Deno.test({
  name: "migrations: a fresh Supabase database takes them, twice in a row, and db lint stays clean",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const fresh = profile("deploy-check");
    const cluster = await startCluster(fresh);
    const sql = postgres(fresh.dbUrl, { max: 1, onnotice: () => {} });
    try {
      await applyStandIns(sql);
      const schemas = async () =>
        (await sql`select nspname from pg_namespace where nspname !~ '^(pg_|information_schema)' order by 1`).map((r) => r.nspname);
      const before = await schemas();
      assert.ok(!before.includes("sync") && !before.includes("synced"), `only Supabase's schemas before: ${before}`);

      await pushMigrations(fresh);
      const files = readdirSync(join(ROOT, "supabase", "migrations")).filter((f) => /^\d+_.+\.sql$/.test(f));
      const applied = async () => (await sql`select version from supabase_migrations.schema_migrations order by version`).map((r) => r.version);
      assert.equal((await applied()).length, files.length, "every migration recorded");
      const shape = async () =>
        (await sql`
          select string_agg(format('%s.%s %s', n.nspname, c.relname, c.relkind), ',' order by 1) as relations,
                 (select string_agg(p.oid::regprocedure::text || md5(p.prosrc), ',' order by 1)
                  from pg_proc p where p.pronamespace in ('sync'::regnamespace, 'synced'::regnamespace)) as functions,
                 (select string_agg(jobname || ' ' || schedule, ',' order by jobname) from cron.job) as cron
          from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('sync', 'synced')
        `)[0];
      const first = await shape();
      assert.match(first.cron, /tributary-tick \* \* \* \* \*/, "the tick is scheduled (minute schedules on pg_cron 1.4)");

      // Again: nothing left to apply, nothing changed.
      const again = await supabaseCli(["db", "push", `--remote=${cliDbUrl(fresh)}`, "--yes", "--include-all"]);
      assert.ok(again.ok, again.output);
      assert.match(again.output, /up to date/i);
      assert.deepEqual(await applied(), files.map((f) => f.split("_")[0]).sort());
      assert.deepEqual(await shape(), first);

      const lint = await supabaseCli(["db", "lint", `--remote=${cliDbUrl(fresh)}`, "--level", "warning", "--fail-on", "error"]);
      assert.ok(lint.ok, lint.output);
    } finally {
      await sql.end();
      await cluster.stop();
    }
  },
});
