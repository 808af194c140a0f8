-- sync.release: a worker hands a running job back to the queue, unfinished but
-- unharmed: its time budget is spent, or its worker is shutting down. The job keeps
-- its cursor, runs again at once, and gets its attempt back (nothing failed).
-- Compare-and-set on the lease token, like checkpoint.
create function sync.release(job_id uuid, lease_token uuid) returns boolean
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
  set status = 'queued',
      run_at = now(),
      attempts = greatest(j.attempts - 1, 0),
      lease_token = null,
      lease_expires_at = null,
      progress = j.progress || '{"phase": "waiting"}'::jsonb,
      updated_at = now()
  where j.id = release.job_id and j.lease_token = release.lease_token and j.status = 'running'
  returning j.* into job;
  if not found then
    return false;
  end if;
  insert into sync.job_events (job_id, owner_id, event, status, attempt, data)
  values (job.id, job.owner_id, 'released', 'queued', job.attempts, jsonb_build_object('cursor', job.cursor));
  return true;
end
$$;

revoke all on function sync.release(uuid, uuid) from public, anon, authenticated;
grant execute on function sync.release(uuid, uuid) to service_role;
