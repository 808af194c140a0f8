/** graphile-worker on the same Postgres: `concurrency` jobs at a time, localQueue for batches. */
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";
import { capped, result, timed, type ThroughputOptions, type ThroughputResult } from "./stats.ts";

const quiet = new Logger(() => () => {});

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  await runMigrations({ connectionString: o.dbUrl, logger: quiet });
  const utils = await makeWorkerUtils({ connectionString: o.dbUrl, logger: quiet });
  const queue = `noop_${crypto.randomUUID().slice(0, 8)}`;
  for (let from = 0; from < o.jobs; from += 2000) {
    await utils.addJobs(Array.from({ length: Math.min(2000, o.jobs - from) }, () => ({ identifier: queue, payload: {} })));
  }
  await utils.release();

  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  const seconds = await timed(async () => {
    runner = await run({
      logger: quiet,
      noHandleSignals: true,
      taskList: {
        [queue]: () => {
          if (++done === o.jobs) finish();
          return Promise.resolve();
        },
      },
      preset: {
        worker: {
          connectionString: o.dbUrl,
          concurrentJobs: o.concurrency,
          maxPoolSize: o.concurrency + 2,
          pollInterval: 100,
          localQueue: { size: o.batch > 1 ? o.batch : -1 },
          completeJobBatchDelay: o.batch > 1 ? 0 : -1,
        },
      },
    });
    await capped(finished, o.maxSeconds);
  });
  await runner?.stop();
  return result("graphile-worker", o, seconds, Math.min(done, o.jobs));
}
