-- sync.complete: a worker finished its job.
--
-- Compare-and-set like sync.checkpoint. The final cursor becomes the connection's
-- high-watermark (not for dry runs), which is where its next incremental sync starts.
create function sync.complete(
  job_id uuid,
  lease_token uuid,
  stats jsonb default '{}'::jsonb,
  cursor jsonb default null
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  done sync.jobs;
begin
  update sync.jobs j
  set status = 'succeeded',
      cursor = coalesce(complete.cursor, j.cursor),
      stats = coalesce(complete.stats, j.stats),
      progress = sync.normalize_progress(j.progress, '{"phase": "done", "percent": 100}'::jsonb),
      lease_token = null,
      lease_expires_at = null,
      last_error = null,
      finished_at = now(),
      updated_at = now()
  where j.id = complete.job_id
    and j.lease_token = complete.lease_token
    and j.status = 'running'
  returning j.* into done;
  if not found then
    return false;
  end if;

  update sync.connections c
  set high_watermark = case when done.dry_run or done.cursor is null then c.high_watermark else done.cursor end,
      last_synced_at = case when done.dry_run then c.last_synced_at else now() end,
      consecutive_failures = 0,
      updated_at = now()
  where c.id = done.connection_id;

  insert into sync.job_events (job_id, owner_id, event, status, attempt, data)
  values (done.id, done.owner_id, 'succeeded', 'succeeded', done.attempts, jsonb_build_object('stats', done.stats));
  return true;
end
$$;
