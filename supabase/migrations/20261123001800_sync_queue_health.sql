-- sync.queue_health: one row per provider for operators and the health endpoint.

-- Failed runs of Tributary's pg_cron jobs in the last hour. Read through a function
-- because pg_cron may be absent (the view must still exist), and cron.job_run_details
-- belongs to the cron schema's owner.
create function sync.cron_failures_last_hour() returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  failures integer := 0;
begin
  if to_regclass('cron.job_run_details') is not null then
    execute $q$
      select count(*)::integer from cron.job_run_details d join cron.job j using (jobid)
      where j.jobname like 'tributary-%' and d.status = 'failed' and d.start_time > now() - interval '1 hour'
    $q$ into failures;
  end if;
  return failures;
end
$$;

create view sync.queue_health with (security_invoker = true) as
select
  p.name as provider,
  count(j.id) filter (where j.status = 'queued') as queued,
  count(j.id) filter (where j.status = 'queued' and j.run_at <= now()) as runnable,
  count(j.id) filter (where j.status = 'running') as running,
  count(j.id) filter (where j.status = 'succeeded') as succeeded,
  count(j.id) filter (where j.status = 'failed') as failed,
  count(j.id) filter (where j.status = 'cancelled') as cancelled,
  coalesce(extract(epoch from now() - min(j.run_at) filter (where j.status = 'queued' and j.run_at <= now())), 0)::integer
    as oldest_runnable_age_seconds,
  count(j.id) filter (where j.status = 'failed' and j.finished_at > now() - interval '1 hour') as failures_last_hour,
  p.max_concurrency,
  p.requests_per_minute,
  (p.enabled and not s.paused) as processing_enabled,
  s.paused_reason,
  sync.cron_failures_last_hour() as cron_failures_last_hour,
  s.last_tick_at
from sync.providers p
cross join sync.settings s
left join sync.jobs j on j.provider = p.name
group by p.name, p.max_concurrency, p.requests_per_minute, p.enabled, s.paused, s.paused_reason, s.last_tick_at;

revoke all on sync.queue_health from public, anon, authenticated;
grant select on sync.queue_health to service_role;
