/**
 * The bound on Tributary's queue throughput: a queue that does nothing but the writes
 * SPEC section 5 and issue 3 require of every job, with none of Tributary's logic.
 *
 * Per job, whatever the design:
 * - two status changes of the job row (queued -> running at claim, running -> succeeded
 *   at completion), each behind the lease token that makes it a compare-and-set;
 * - two `job_events` rows ("every transition appends to sync.job_events");
 * - four `realtime.messages` rows: a `progress` broadcast to `sync:job:<id>` and to
 *   `sync:user:<owner>` for each of the two changes ("every change of a job's status
 *   or progress sends the event progress").
 *
 * Left out on purpose, so that the figure is an upper bound: fairness lanes, provider
 * concurrency caps, the pause switch, dedupe, connection watermarks, leases' expiry
 * index, triggers, security definer. The job table has one partial index, as
 * graphile-worker's has. The broadcasts go into the same `realtime.messages` stand-in
 * (and its indexes) that `realtime.send` writes to.
 *
 * Same loop as bench/queue/tributary.ts: `concurrency` sessions, each claiming `batch`
 * then completing what it got, one statement each.
 */
import postgres from "postgres";
import { result, timed, type ThroughputOptions, type ThroughputResult } from "./stats.ts";

const schema = `
  drop schema if exists bench_required_writes cascade;
  create schema bench_required_writes;
  create table bench_required_writes.jobs (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null,
    status text not null default 'queued',
    priority integer not null default 0,
    run_at timestamptz not null default now(),
    attempts integer not null default 0,
    lease_token uuid,
    progress jsonb not null default '{"phase": "queued", "done": 0, "total": null, "percent": 0, "message": null}',
    updated_at timestamptz not null default now(),
    finished_at timestamptz
  );
  create index on bench_required_writes.jobs (priority desc, run_at, id) where status = 'queued';
  create table bench_required_writes.job_events (
    job_id uuid not null,
    id bigint generated always as identity,
    status text not null,
    attempt integer not null,
    created_at timestamptz not null default now(),
    primary key (job_id, id)
  );

  -- One statement per transition: the row change, its event and its two broadcasts.
  create function bench_required_writes.claim(n integer) returns table (id uuid, lease_token uuid)
  language sql as $$
    with candidates as (
      select j.id from bench_required_writes.jobs j where j.status = 'queued'
      order by j.priority desc, j.run_at, j.id limit n for update skip locked
    ), claimed as (
      update bench_required_writes.jobs j
      set status = 'running', lease_token = gen_random_uuid(), attempts = j.attempts + 1, updated_at = now()
      where j.id = any (array(select id from candidates))
      returning j.*
    ), events as (
      insert into bench_required_writes.job_events (job_id, status, attempt)
      select c.id, c.status, c.attempts from claimed c
    ), broadcasts as (
      insert into realtime.messages (topic, extension, event, payload, private)
      select topic, 'broadcast', 'progress',
             jsonb_build_object('job_id', c.id, 'status', c.status, 'progress', c.progress, 'updated_at', c.updated_at), true
      from claimed c, lateral (values ('sync:job:' || c.id), ('sync:user:' || c.owner_id)) t (topic)
    )
    select c.id, c.lease_token from claimed c
  $$;

  create function bench_required_writes.complete(ids uuid[], tokens uuid[]) returns bigint
  language sql as $$
    with completed as (
      update bench_required_writes.jobs j
      set status = 'succeeded', lease_token = null, updated_at = now(), finished_at = now(),
          progress = j.progress || '{"phase": "done", "percent": 100}'
      from unnest(ids, tokens) as done (id, token)
      where j.id = done.id and j.lease_token = done.token and j.status = 'running'
      returning j.*
    ), events as (
      insert into bench_required_writes.job_events (job_id, status, attempt)
      select c.id, c.status, c.attempts from completed c
    ), broadcasts as (
      insert into realtime.messages (topic, extension, event, payload, private)
      select topic, 'broadcast', 'progress',
             jsonb_build_object('job_id', c.id, 'status', c.status, 'progress', c.progress, 'updated_at', c.updated_at), true
      from completed c, lateral (values ('sync:job:' || c.id), ('sync:user:' || c.owner_id)) t (topic)
    )
    select count(*) from completed
  $$;
`;

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const sql = postgres(o.dbUrl, { max: 1, onnotice: () => {} });
  await sql.unsafe(schema);
  // 100 owners, as in Tributary's run.
  await sql`
    insert into bench_required_writes.jobs (owner_id)
    select owners.id from generate_series(1, ${o.jobs}) i
    join (select n, gen_random_uuid() as id from generate_series(0, 99) n) owners on owners.n = i % 100
  `;
  await sql`vacuum analyze bench_required_writes.jobs`;
  const sessions = Array.from({ length: o.concurrency }, () => postgres(o.dbUrl, { max: 1, onnotice: () => {} }));
  let done = 0;
  const deadline = performance.now() + o.maxSeconds * 1000;
  const seconds = await timed(async () => {
    await Promise.all(sessions.map(async (session) => {
      while (done < o.jobs && performance.now() < deadline) {
        const claimed = await session<{ id: string; lease_token: string }[]>`
          select id, lease_token from bench_required_writes.claim(${o.batch})
        `;
        if (claimed.length === 0) continue;
        await session`
          select bench_required_writes.complete(${claimed.map((c) => c.id)}::uuid[], ${claimed.map((c) => c.lease_token)}::uuid[])
        `;
        done += claimed.length;
      }
    }));
  });
  await Promise.all(sessions.map((s) => s.end()));
  await sql`drop schema bench_required_writes cascade`;
  await sql.end();
  return result("required-writes", o, seconds, Math.min(done, o.jobs));
}
