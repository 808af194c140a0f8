-- sync.retry: an operator gives a failed or cancelled job another go. The same job is
-- queued again with fresh attempts and keeps its cursor, so it resumes where it
-- stopped. If the connection meanwhile has an active job of the same kind, that job's
-- id is returned instead (the dedupe rule of sync.enqueue).
create function sync.retry(job_id uuid) returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  job sync.jobs;
  active_id uuid;
begin
  select * into job from sync.jobs j where j.id = retry.job_id for update;
  if not found then
    raise exception 'job % does not exist', retry.job_id using errcode = 'no_data_found';
  end if;
  if job.status not in ('failed', 'cancelled') then
    raise exception 'job % is %; only failed or cancelled jobs can be retried', job.id, job.status
      using errcode = 'object_not_in_prerequisite_state';
  end if;

  select j.id into active_id from sync.jobs j
  where j.connection_id = job.connection_id and j.kind = job.kind and j.status in ('queued', 'running');
  if active_id is not null then
    return active_id;
  end if;

  update sync.jobs j
  set status = 'queued',
      run_at = now(),
      attempts = 0,
      finished_at = null,
      lane = sync.next_lane(j.provider, j.owner_id),
      progress = j.progress || '{"phase": "queued"}'::jsonb,
      updated_at = now()
  where j.id = job.id;

  insert into sync.job_events (job_id, owner_id, event, status, message, data)
  values (job.id, job.owner_id, 'retried', 'queued', job.last_error, jsonb_build_object('from', job.status, 'cursor', job.cursor));
  return job.id;
end
$$;
