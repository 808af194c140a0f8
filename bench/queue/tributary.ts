/**
 * Tributary's side of the queue benchmark: `concurrency` sessions, each looping
 * sync.claim(batch) then sync.complete_many on what it got, in one round trip.
 */
import postgres from "postgres";
import { percentile, result, timed, type ThroughputOptions, type ThroughputResult } from "./stats.ts";

async function arrange(sql: postgres.Sql, owners: number, connectionsPerOwner = 1) {
  const provider = `bench-${crypto.randomUUID().slice(0, 8)}`;
  await sql`insert into sync.providers (name, max_concurrency) values (${provider}, null)`;
  const connections = await sql<{ id: string; owner_id: string }[]>`
    with users as (
      insert into auth.users (id, email)
      select gen_random_uuid(), 'bench-' || gen_random_uuid() || '@example.test' from generate_series(1, ${owners})
      returning id
    )
    insert into sync.connections (owner_id, provider, label)
    select id, ${provider}, 'bench' from users, generate_series(1, ${connectionsPerOwner})
    returning id, owner_id
  `;
  return { provider, connections };
}

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const sql = postgres(o.dbUrl, { max: 4, onnotice: () => {} });
  // One job per connection (a connection has one active job per kind), over 100 owners.
  const { provider } = await arrange(sql, 100, Math.ceil(o.jobs / 100));
  await sql`
    select count(sync.enqueue(c.id, 'noop'))
    from (select id from sync.connections where provider = ${provider} order by id limit ${o.jobs}) c
  `;
  const sessions = Array.from({ length: o.concurrency }, () => postgres(o.dbUrl, { max: 1, onnotice: () => {} }));
  let done = 0;
  const deadline = performance.now() + o.maxSeconds * 1000;
  const seconds = await timed(async () => {
    await Promise.all(sessions.map(async (session, n) => {
      while (done < o.jobs && performance.now() < deadline) {
        const claimed = await session<{ id: string; lease_token: string; connection_id: string }[]>`
          select id, lease_token, connection_id from sync.claim(${provider}, ${"bench-" + n}, ${o.batch})
        `;
        if (claimed.length === 0) continue;
        // One transaction completes the batch; taking connection rows in one order
        // keeps two sessions' batches from deadlocking on them.
        claimed.sort((a, b) => a.connection_id.localeCompare(b.connection_id));
        await session`
          select count(*) from sync.complete_many(${claimed.map((c) => c.id)}::uuid[], ${claimed.map((c) => c.lease_token)}::uuid[])
        `;
        done += claimed.length;
      }
    }));
  });
  await Promise.all(sessions.map((s) => s.end()));
  await sql.end();
  return result("tributary", o, seconds, Math.min(done, o.jobs));
}

/**
 * Claim latency at a given queue depth. The depth is bulk-loaded straight into
 * sync.jobs (1,000 owners, lanes as enqueue would give them) with the progress trigger
 * off, since a million enqueues with their events would take longer than the measurement.
 */
export async function claimLatency(dbUrl: string, depth: number, samples: number) {
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  const owners = Math.min(1000, depth);
  const { provider, connections } = await arrange(sql, owners);
  await sql`alter table sync.jobs disable trigger jobs_publish_progress_on_insert`;
  try {
    for (let from = 0; from < depth; from += 100_000) {
      await sql`
        insert into sync.jobs (owner_id, connection_id, provider, kind, lane, run_at)
        select (${sql.json(connections as never)}::jsonb -> (i % ${owners}) ->> 'owner_id')::uuid,
               (${sql.json(connections as never)}::jsonb -> (i % ${owners}) ->> 'id')::uuid,
               ${provider}, 'k' || i, i / ${owners} + 1, now() - interval '1 hour'
        from generate_series(${from}::int, ${Math.min(depth, from + 100_000) - 1}::int) i
      `;
    }
  } finally {
    await sql`alter table sync.jobs enable trigger jobs_publish_progress_on_insert`;
  }
  await sql`analyze sync.jobs`;

  const session = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const claims: number[] = [];
  for (let i = 0; i < samples + 20; i++) {
    const started = performance.now();
    const [job] = await session`select id, lease_token from sync.claim(${provider}, 'latency', 1)`;
    const took = performance.now() - started;
    await session`select sync.complete(${job.id}, ${job.lease_token})`;
    if (i >= 20) claims.push(took); // the first claims warm the cache
  }
  await session.end();
  await sql`delete from sync.jobs where provider = ${provider}`;
  await sql.end();
  claims.sort((a, b) => a - b);
  return { depth, p50: percentile(claims, 50), p99: percentile(claims, 99) };
}
