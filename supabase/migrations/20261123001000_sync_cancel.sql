-- sync.cancel: stop a job. A queued job never runs; a running job's worker sees the
-- cancellation at its next checkpoint (which then returns false) and stops. Finished
-- jobs are left as they are (false).
create function sync.cancel(job_id uuid) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  job sync.jobs;
begin
  update sync.jobs j
  set status = 'cancelled',
      lease_token = null,
      lease_expires_at = null,
      finished_at = now(),
      progress = j.progress || '{"phase": "cancelled"}'::jsonb,
      updated_at = now()
  where j.id = cancel.job_id and j.status in ('queued', 'running')
  returning j.* into job;
  if not found then
    return false;
  end if;
  insert into sync.job_events (job_id, owner_id, event, status, attempt)
  values (job.id, job.owner_id, 'cancelled', 'cancelled', job.attempts);
  return true;
end
$$;
