/**
 * pg_cron on the local stack: the schedule created by our migration is registered and
 * runs. Debian's pg_cron 1.4 only knows minute schedules, so this waits for the next
 * minute boundary (up to ~70 s); `deno test --parallel` runs it beside the other files.
 */
import assert from "node:assert/strict";
import { db, eventually } from "../support/stack.ts";

Deno.test("the migration's tributary-tick job is registered and runs", async () => {
  const sql = db();
  try {
    const [job] = await sql`select jobid, schedule, command, active from cron.job where jobname = 'tributary-tick'`;
    assert.ok(job, "the job exists");
    assert.equal(job.command, "select sync.tick()");
    assert.ok(job.active);
    assert.match(job.schedule, /^(\* \* \* \* \*|10 seconds)$/);

    const run = await eventually("a cron run of tributary-tick", async () => {
      const [row] = await sql`
        select status, return_message, start_time, end_time from cron.job_run_details
        where jobid = ${job.jobid} and status in ('succeeded', 'failed')
        order by start_time desc limit 1
      `;
      return row;
    }, 75_000);
    assert.equal(run.status, "succeeded", run.return_message);
  } finally {
    await sql.end();
  }
});
