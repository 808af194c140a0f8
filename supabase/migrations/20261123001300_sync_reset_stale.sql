-- sync.reset_stale: rescue jobs whose worker stopped renewing its lease (crashed,
-- killed at the wall-clock limit, lost its network). Each goes back to the queue from
-- its last checkpoint; the lost run counts as an attempt, so a job that kills every
-- worker ends `failed` instead of looping forever.
--
-- Only rows still `running` with an expired lease are touched, in one UPDATE with
-- SKIP LOCKED: a worker completing the job at this moment holds its row lock, and we
-- skip it rather than overwrite its result.
create function sync.reset_stale() returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  reset_count integer;
begin
  with stale as (
    select j.id from sync.jobs j
    where j.status = 'running' and j.lease_expires_at < now()
    for update skip locked
  ),
  reset as (
    update sync.jobs j
    set status = case when j.attempts >= j.max_attempts then 'failed'::sync.job_status else 'queued'::sync.job_status end,
        run_at = now(),
        lease_token = null,
        lease_expires_at = null,
        last_error = 'the worker stopped renewing its lease (it crashed or was stopped)',
        finished_at = case when j.attempts >= j.max_attempts then now() end,
        progress = j.progress || jsonb_build_object('phase', case when j.attempts >= j.max_attempts then 'failed' else 'waiting' end),
        updated_at = now()
    from stale
    where j.id = stale.id
    returning j.*
  ),
  logged as (
    insert into sync.job_events (job_id, owner_id, event, status, attempt, message, data)
    select id, owner_id, 'lease_expired', status, attempts, last_error, jsonb_build_object('cursor', cursor)
    from reset
  )
  select count(*) into reset_count from reset;
  return reset_count;
end
$$;
