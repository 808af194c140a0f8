-- The queue's hot path, made cheaper (bench/queue, BENCHMARKS.md). Same contract and
-- behaviour; only how PostgreSQL executes it changes.
--
-- 1. SQL-language helpers called per row (progress_payload, normalize_progress) were
--    never inlined: a `set search_path` clause forbids inlining, so every call went
--    through fmgr_sql, which parses and plans its body afresh on each call of each
--    statement. About 15% of the queue's CPU was re-planning them. As PL/pgSQL they
--    keep their plans and evaluate as simple expressions.
--
-- 2. sync.claim was planned anew on every call: PL/pgSQL's plan cache kept choosing
--    custom plans, because the generic plan of `UPDATE ... FROM candidates` estimated
--    thousands of candidates and hash-joined sync.jobs. Matching the claimed rows with
--    `id = any (array(select ...))` makes the generic plan a primary-key lookup, so the
--    function now forces the generic plan and plans once per session. The UPDATE
--    matches ids only (see there why it leaves out the status recheck).
--
-- 3. complete_many merges the final progress inline instead of calling
--    normalize_progress with a constant.
--
-- 4. Every claim leaves a dead entry at the front of jobs_runnable_idx (the job's
--    queued version), and the claim scan walks past all of them until VACUUM removes
--    them: under load the claim slows by the number of jobs claimed since the last
--    vacuum. With the default scale factor (20% of the table), a jobs table holding a
--    million finished jobs would wait for 200,000 dead rows. Vacuum it by count instead.

alter table sync.jobs set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

create or replace function sync.progress_payload(job sync.jobs) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return jsonb_build_object(
    'job_id', job.id,
    'connection_id', job.connection_id,
    'provider', job.provider,
    'kind', job.kind,
    'status', job.status,
    'progress', job.progress,
    'stats', job.stats,
    'error', job.last_error,
    'updated_at', job.updated_at
  );
end
$$;

-- Merges a worker's progress into the stored one. `percent` is the worker's if it gave
-- one, else derived from the done/total it gave, else the stored one; always 0..100.
create or replace function sync.normalize_progress(current_progress jsonb, update_progress jsonb) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  u jsonb := coalesce(update_progress, '{}'::jsonb);
  merged jsonb := coalesce(current_progress, '{}'::jsonb) || coalesce(update_progress, '{}'::jsonb);
begin
  return merged || jsonb_build_object('percent',
    case
      when jsonb_typeof(u -> 'percent') = 'number' then greatest(0, least(100, (u ->> 'percent')::numeric))
      when jsonb_typeof(merged -> 'done') = 'number' and jsonb_typeof(merged -> 'total') = 'number'
           and (merged ->> 'total')::numeric > 0 and (u ? 'done' or u ? 'total')
        then round(greatest(0, least(100, 100 * (merged ->> 'done')::numeric / (merged ->> 'total')::numeric)), 1)
      else coalesce((current_progress ->> 'percent')::numeric, 0)
    end);
end
$$;

-- sync.claim as in 20261123000600_sync_claim.sql, whose comment says why it is shaped
-- so; only the UPDATE's match of the candidates changes (point 2), and the UPDATE
-- matches ids only.
create or replace function sync.claim(
  provider text,
  worker text,
  max_jobs integer default 1,
  lease_seconds integer default 120
) returns setof sync.jobs
language plpgsql
volatile
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  cap integer;
  room integer;
begin
  if max_jobs is null or max_jobs < 1 then
    return;
  end if;
  if lease_seconds is null or lease_seconds < 1 then
    raise exception 'lease_seconds must be at least 1' using errcode = 'invalid_parameter_value';
  end if;

  select p.max_concurrency into cap from sync.providers p where p.name = claim.provider and p.enabled;
  if not found then
    return;
  end if;

  room := max_jobs;
  if cap is not null then
    perform pg_advisory_xact_lock(hashtextextended('sync.claim:' || claim.provider, 0));
    room := least(max_jobs, cap - (
      select count(*) from sync.jobs j where j.provider = claim.provider and j.status = 'running'
    ));
    if room <= 0 then
      return;
    end if;
  end if;

  return query
  with candidates as (
    select j.id
    from sync.jobs j
    where j.provider = claim.provider
      and j.status = 'queued'
      and j.run_at <= now()
      and not (select s.paused from sync.settings s)
    order by j.priority desc, j.lane, j.run_at, j.id
    limit room
    for update skip locked
  ),
  claimed as (
    update sync.jobs j
    set status = 'running',
        lease_token = gen_random_uuid(),
        lease_expires_at = now() + make_interval(secs => claim.lease_seconds),
        lease_seconds = claim.lease_seconds,
        attempts = j.attempts + 1,
        worker = claim.worker,
        started_at = coalesce(j.started_at, now()),
        progress = j.progress || '{"phase": "running"}'::jsonb,
        updated_at = now()
    -- No `status = 'queued'` recheck here: the candidates are locked by this statement,
    -- and FOR UPDATE rechecked their status on the newest version when it locked them.
    -- With the recheck, the planner may prove the partial indexes on queued jobs usable
    -- and, when statistics say few jobs are queued, scan jobs_owner_lane_idx for the ids:
    -- the whole queue per claim. That was the bench's "slow state" (a quarter of the rate).
    where j.id = any (array(select c.id from candidates c))
    returning j.*
  ),
  logged as (
    insert into sync.job_events (job_id, owner_id, event, status, attempt, data)
    select id, owner_id, 'claimed', 'running', attempts, jsonb_build_object('worker', claim.worker)
    from claimed
  )
  select * from claimed;
end
$$;

-- sync.complete_many as in 20261123000800_sync_complete.sql, with point 3.
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
#variable_conflict use_column
begin
  return query
  with done as (
    update sync.jobs j
    set status = 'succeeded',
        cursor = coalesce(t.cursor, j.cursor),
        stats = coalesce(complete_many.stats, j.stats),
        -- As sync.normalize_progress would merge it: a given percent wins.
        progress = j.progress || '{"phase": "done", "percent": 100}'::jsonb,
        lease_token = null,
        lease_expires_at = null,
        last_error = null,
        finished_at = now(),
        updated_at = now()
    from unnest(complete_many.job_ids, complete_many.lease_tokens, complete_many.cursors) as t (id, token, cursor)
    where j.id = t.id and j.lease_token = t.token and j.status = 'running'
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
  select d.id from done d;
end
$$;
