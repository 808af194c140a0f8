/** pg-boss on the same Postgres: `concurrency` local workers, fetching `batch` jobs at a time. */
import { PgBoss } from "pg-boss";
import { capped, result, timed, type ThroughputOptions, type ThroughputResult } from "./stats.ts";

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const boss = new PgBoss({ connectionString: o.dbUrl, max: o.concurrency + 2, supervise: false, schedule: false });
  boss.on("error", (e: unknown) => console.error("[pg-boss]", e));
  await boss.start();
  const queue = `noop_${crypto.randomUUID().slice(0, 8)}`;
  await boss.createQueue(queue);
  for (let from = 0; from < o.jobs; from += 2000) {
    await boss.insert(queue, Array.from({ length: Math.min(2000, o.jobs - from) }, () => ({ data: {} })));
  }

  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const seconds = await timed(async () => {
    await boss.work(
      queue,
      { batchSize: o.batch, localConcurrency: o.concurrency, pollingIntervalSeconds: 0.5 },
      (jobs: unknown[]) => {
        done += jobs.length;
        if (done >= o.jobs) finish();
        return Promise.resolve();
      },
    );
    await capped(finished, o.maxSeconds);
  });
  await boss.stop({ graceful: false, timeout: 5000 });
  return result("pg-boss", o, seconds, Math.min(done, o.jobs));
}
