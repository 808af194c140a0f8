-- sync.schedule_due, set-based. The first version looped over due connections calling
-- sync.enqueue once each: about 1,000 connections a second, so after an outage that left
-- 100,000 connections due, the tick held one transaction (and 100,000 row locks) for
-- over a minute and a half (bench/scale). This does the same in one statement per step:
--
--   due       the due connections, locked (SKIP LOCKED: a concurrent tick takes others);
--   advanced  their next run moves one cadence on (dedupe below may enqueue nothing,
--             as before, when a job is already queued or running: the run is not owed twice);
--   lanes     each new job's place in its owner's line, as sync.next_lane numbers it: the
--             owner's last queued lane, plus the job's rank among this batch's jobs of
--             the same owner and provider;
--   inserted  the jobs, skipping any connection with an active incremental job
--             (the same partial unique index sync.enqueue relies on);
--   events    an `enqueued` event per new job, as sync.enqueue writes.
--
-- The jobs' insert triggers fire as for sync.enqueue: progress broadcasts per job, and
-- one wake-up per provider for the whole statement.
create or replace function sync.schedule_due() returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  scheduled integer;
begin
  with due as (
    select c.id, c.owner_id, c.provider, c.cadence, c.lookback_days
    from sync.connections c
    join sync.providers p on p.name = c.provider and p.enabled
    where c.auto_sync and c.reconnect_reason is null and coalesce(c.next_sync_at, '-infinity') <= now()
    for update of c skip locked
  ), advanced as (
    update sync.connections c set next_sync_at = now() + d.cadence, updated_at = now()
    from due d
    where c.id = d.id
    returning d.id, d.owner_id, d.provider, d.lookback_days
  ), lanes as (
    select a.*,
           jsonb_build_object(
             'lookback_days', a.lookback_days,
             'since', to_char((now() - make_interval(days => a.lookback_days)) at time zone 'utc', 'YYYY-MM-DD'),
             'scheduled', true
           ) as params,
           (select coalesce(max(j.lane), 0) from sync.jobs j
            where j.provider = a.provider and j.owner_id = a.owner_id and j.status = 'queued')
             + row_number() over (partition by a.provider, a.owner_id order by a.id) as lane
    from advanced a
  ), inserted as (
    insert into sync.jobs (owner_id, connection_id, provider, kind, params, lane)
    select l.owner_id, l.id, l.provider, 'incremental', l.params, l.lane from lanes l
    on conflict (connection_id, kind) where status in ('queued', 'running') do nothing
    returning id, owner_id, kind, params
  ), events as (
    insert into sync.job_events (job_id, owner_id, event, status, data)
    select i.id, i.owner_id, 'enqueued', 'queued', jsonb_build_object('kind', i.kind, 'params', i.params)
    from inserted i
  )
  select count(*) into scheduled from advanced;
  return scheduled;
end
$$;
