-- sync.complete_and_chain_many: a worker completes many jobs at once, each with its own
-- stats and final cursor, and enqueues each one's follow-up, in one statement.
--
-- Why: a Spotify sync writes at most 50 rows, so its cost is the queue's, and of that
-- most is per statement, not per job: the statement-level triggers that write the
-- progress broadcasts and the wake-ups, the plan's start-up, the round trip. A worker
-- running small jobs side by side (a provider's batchSize, worker.ts) collects the
-- completions that come while one is being written and sends them together here. At
-- batch 1 this is sync.complete_and_chain, which is now written on top of it, and so is
-- sync.complete_many: there is one way a job succeeds.
--
-- Each element of `completions` is
--   {job_id, lease_token, stats?, cursor?, progress?, follow_up?, follow_up_params?}
-- where `progress` is the last chunk's (the worker completes with it instead of
-- checkpointing it), so a finished job shows its final count and message.
-- and the function returns the ids of the jobs it completed. As with sync.complete, a
-- job completes only while it is `running` under the presented lease token; the others
-- are left alone (the caller learns which from the ids), and only a completed job
-- chains its follow-up, so the follow-up exists if and only if the completion went
-- through.
--
-- The steps, one statement each:
--   done        the jobs, compare-and-set on the lease, the last chunk's progress merged
--               in as done (100 %), `done` catching up with `total`;
--   watermarks  each connection's high-watermark from its job's final cursor (dry runs
--               leave it), one job per connection if a batch holds two;
--   logged      a `succeeded` event per job;
-- then the follow-ups, as sync.schedule_due enqueues in bulk:
--   lanes       each follow-up's place in its owner's line for the provider, as
--               sync.next_lane numbers it, plus its rank in this batch;
--   inserted    the jobs, deduplicated as sync.enqueue deduplicates (a connection's
--               follow-up already queued or running is not enqueued twice);
--   events      an `enqueued` event per follow-up.
--
-- No wake-up for the follow-ups: the completing worker claims again as soon as it is
-- done, and is itself that wake-up (see 20261201000300_sync_complete_and_chain.sql).
-- Their providers are marked woken for this transaction before the insert, so the
-- insert trigger sends none. Should the worker die right after committing, the tick's
-- dispatch finds them.
create function sync.complete_and_chain_many(completions jsonb) returns setof uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  done_ids uuid[];
  done_providers text[];
  woken text[];
begin
  if completions is null or jsonb_typeof(completions) <> 'array' then
    raise exception 'completions must be a JSON array of {job_id, lease_token, stats, cursor, follow_up, follow_up_params}'
      using errcode = 'invalid_parameter_value';
  end if;
  if exists (
    select 1 from jsonb_array_elements(completions) e
    where jsonb_typeof(e -> 'follow_up_params') not in ('object', 'null')
  ) then
    raise exception 'follow_up_params must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;

  with t as (
    select * from jsonb_to_recordset(completions) as t (job_id uuid, lease_token uuid, stats jsonb, cursor jsonb, progress jsonb)
  ),
  done as (
    update sync.jobs j
    set status = 'succeeded',
        cursor = coalesce(t.cursor, j.cursor),
        stats = coalesce(t.stats, j.stats),
        -- The last chunk's progress, as done. A job that succeeded did all it counted:
        -- where the worker gave no final count, `done` catches up with `total`.
        progress = (
          select p || case when jsonb_typeof(p -> 'total') = 'number' and jsonb_typeof(p -> 'done') = 'number'
                                and (p ->> 'done')::numeric < (p ->> 'total')::numeric
                           then jsonb_build_object('done', p -> 'total') else '{}'::jsonb end
          from (select j.progress || coalesce(t.progress, '{}'::jsonb) || '{"phase": "done", "percent": 100}'::jsonb as p) merged
        ),
        lease_token = null,
        lease_expires_at = null,
        last_error = null,
        finished_at = now(),
        updated_at = now()
    from t
    where j.id = t.job_id and j.lease_token = t.lease_token and j.status = 'running'
    returning j.*
  ),
  watermarks as (
    update sync.connections c
    set high_watermark = case when w.dry_run or w.cursor is null then c.high_watermark else w.cursor end,
        last_synced_at = case when w.dry_run then c.last_synced_at else now() end,
        consecutive_failures = 0,
        updated_at = now()
    from (
      select distinct on (d.connection_id) d.connection_id, d.cursor, d.dry_run
      from done d
      order by d.connection_id, d.dry_run, d.id
    ) w
    where c.id = w.connection_id
  ),
  logged as (
    insert into sync.job_events (job_id, owner_id, event, status, attempt, data)
    select d.id, d.owner_id, 'succeeded', 'succeeded', d.attempts, jsonb_build_object('stats', d.stats)
    from done d
  )
  select coalesce(array_agg(d.id), '{}'), coalesce(array_agg(distinct d.provider), '{}')
  into done_ids, done_providers
  from done d;

  if not exists (
    select 1 from jsonb_to_recordset(completions) as t (job_id uuid, follow_up text)
    where t.follow_up is not null and t.job_id = any (done_ids)
  ) then
    return query select unnest(done_ids);
    return;
  end if;

  woken := coalesce(nullif(current_setting('sync.woken_providers', true), ''), '{}')::text[];
  perform set_config('sync.woken_providers', (woken || done_providers)::text, true);

  with chained as (
    select j.owner_id, j.connection_id, j.provider, t.follow_up as kind, coalesce(t.follow_up_params, '{}'::jsonb) as params
    from jsonb_to_recordset(completions) as t (job_id uuid, follow_up text, follow_up_params jsonb)
    join sync.jobs j on j.id = t.job_id
    where t.follow_up is not null and t.job_id = any (done_ids)
  ),
  lanes as (
    select c.*,
           (select coalesce(max(j.lane), 0) from sync.jobs j
            where j.provider = c.provider and j.owner_id = c.owner_id and j.status = 'queued')
             + row_number() over (partition by c.provider, c.owner_id order by c.connection_id, c.kind) as lane
    from chained c
  ),
  inserted as (
    insert into sync.jobs (owner_id, connection_id, provider, kind, params, lane)
    select l.owner_id, l.connection_id, l.provider, l.kind, l.params, l.lane from lanes l
    on conflict (connection_id, kind) where status in ('queued', 'running') do nothing
    returning id, owner_id, kind, params
  )
  insert into sync.job_events (job_id, owner_id, event, status, data)
  select i.id, i.owner_id, 'enqueued', 'queued', jsonb_build_object('kind', i.kind, 'params', i.params)
  from inserted i;

  return query select unnest(done_ids);
end
$$;

revoke all on function sync.complete_and_chain_many(jsonb) from public, anon, authenticated;
grant execute on function sync.complete_and_chain_many(jsonb) to service_role;

-- The single-job form, now a batch of one: same signature and answer as before.
create or replace function sync.complete_and_chain(
  job_id uuid,
  lease_token uuid,
  stats jsonb,
  cursor jsonb,
  follow_up text,
  follow_up_params jsonb default '{}'::jsonb
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return exists (
    select 1 from sync.complete_and_chain_many(jsonb_build_array(jsonb_build_object(
      'job_id', complete_and_chain.job_id, 'lease_token', complete_and_chain.lease_token,
      'stats', complete_and_chain.stats, 'cursor', complete_and_chain.cursor,
      'follow_up', complete_and_chain.follow_up, 'follow_up_params', complete_and_chain.follow_up_params
    )))
  );
end
$$;

-- sync.complete_many keeps its signature (one stats for every job in the batch) and
-- completes through the same statement.
create or replace function sync.complete_many(
  job_ids uuid[],
  lease_tokens uuid[],
  stats jsonb default '{}'::jsonb,
  cursors jsonb[] default null
) returns setof uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return query select sync.complete_and_chain_many(coalesce((
    select jsonb_agg(jsonb_build_object('job_id', t.id, 'lease_token', t.token, 'stats', complete_many.stats, 'cursor', t.cursor))
    from unnest(complete_many.job_ids, complete_many.lease_tokens, complete_many.cursors) as t (id, token, cursor)
  ), '[]'::jsonb));
end
$$;
