-- sync.claim: hand a worker up to max_jobs runnable jobs of one provider.
--
-- Why it is shaped like this:
--
--   * One statement does the pick and the update: a CTE selects candidates with
--     `FOR UPDATE SKIP LOCKED`, and the UPDATE marks them running. Concurrent claimers
--     skip rows another claimer holds instead of waiting on them, and never get the
--     same job (the row lock is held until commit, and the UPDATE re-checks status).
--   * The candidate scan walks jobs_runnable_idx in its own order, (priority desc,
--     lane, run_at), and stops after `n` rows: its cost does not grow with queue depth.
--   * Fairness comes from `lane` (see sync.enqueue): ordering by lane before run_at
--     serves owners round-robin within a priority.
--   * The concurrency cap needs the number of running jobs, which concurrent claimers
--     would each read before the other commits. For capped providers we therefore take
--     a transaction-scoped advisory lock per provider first, which serialises claims of
--     that provider only (a claim holds it for one short statement). Uncapped
--     providers skip the lock and claim fully in parallel.
--   * The pause switch is read in the same statement, so nothing is claimed while paused.
--   * Each claim sets a fresh lease_token and counts an attempt: checkpoint, complete
--     and fail compare that token, so a worker whose lease moved on cannot write.
create function sync.claim(
  provider text,
  worker text,
  max_jobs integer default 1,
  lease_seconds integer default 120
) returns setof sync.jobs
language plpgsql
volatile
security definer
set search_path = ''
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
    from candidates c
    where j.id = c.id and j.status = 'queued'
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
